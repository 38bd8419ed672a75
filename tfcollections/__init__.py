"""tfcollections: TF graph collections, dynamic trainable optimizers, and the trap they avoid.

`import tfcollections as tfc` loads no TensorFlow: the functions import it on first use, and the
optimizer wrappers are lazy attributes.
"""

from __future__ import annotations

import importlib
from typing import Any

from tfcollections.collections import add, clear, discard, get, keys, ref, remove
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
from tfcollections.losses import add_l2, add_loss, total_loss

__version__ = "0.2.0"

_LAZY = {
    "DynamicOptimizer": ("tfcollections.freeze.graph", "DynamicOptimizer"),
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
    "GraphKey",
    "add",
    "add_l2",
    "add_loss",
    "clear",
    "discard",
    "get",
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
    *_LAZY,
]
