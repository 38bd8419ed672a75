"""tfcollections: TF graph collections, dynamic trainable optimizers, and the trap they avoid.

`import tfcollections as tfc` loads no TensorFlow: the functions import it on first use, and
the collection functions and optimizer wrappers are lazy attributes (so `tfc-lint`, which
lives in this package, starts without loading them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tfcollections.errors import (
    EagerModeError,
    EmptyCollectionError,
    LossTermError,
    NotInCollectionError,
    StaleTrainOpWarning,
    TensorFlowMissingError,
    TfCollectionsError,
    TrainOpStateError,
    UnknownTargetError,
)
from tfcollections.graphkeys import *  # noqa: F403  (the key constants)
from tfcollections.graphkeys import GRAPH_KEYS, GraphKey

if TYPE_CHECKING:  # what type checkers see of the lazy attributes below
    from tfcollections.collections import add, clear, discard, get, keys, ref, remove
    from tfcollections.freeze import dynamic, keras
    from tfcollections.freeze.graph import DynamicOptimizer, FreezeScheduleHook
    from tfcollections.losses import add_l2, add_loss, total_loss

__version__ = "0.3.0"

_LAZY = {
    **{
        name: ("tfcollections.collections", name)
        for name in ("add", "clear", "discard", "get", "keys", "ref", "remove")
    },
    **{name: ("tfcollections.losses", name) for name in ("add_l2", "add_loss", "total_loss")},
    "DynamicOptimizer": ("tfcollections.freeze.graph", "DynamicOptimizer"),
    "FreezeScheduleHook": ("tfcollections.freeze.graph", "FreezeScheduleHook"),
    "dynamic": ("tfcollections.freeze", "dynamic"),
    "keras": ("tfcollections.freeze.keras", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name)
        value = module if attribute is None else getattr(module, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tfcollections' has no attribute {name!r}")


__all__ = [
    "GRAPH_KEYS",
    "DynamicOptimizer",
    "FreezeScheduleHook",
    "GraphKey",
    "add",
    "add_l2",
    "add_loss",
    "clear",
    "discard",
    "dynamic",
    "get",
    "keras",
    "keys",
    "ref",
    "remove",
    "total_loss",
    "EagerModeError",
    "EmptyCollectionError",
    "LossTermError",
    "NotInCollectionError",
    "StaleTrainOpWarning",
    "TensorFlowMissingError",
    "TfCollectionsError",
    "TrainOpStateError",
    "UnknownTargetError",
]
