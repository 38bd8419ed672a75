"""Optimizer wrappers that freeze and unfreeze variables at run time, without rebuilding.

`graph.py` wraps `tf.compat.v1.train` optimizers, `keras.py` Keras 3 optimizers, `keras2.py`
tf_keras (Keras 2) ones, and `dynamic()` picks the right one. (The package is not called
`dynamic`: `tfc.dynamic` is that function.)
"""

from __future__ import annotations

from typing import Any

from tfcollections._tf import tf
from tfcollections.errors import TfCollectionsError


def dynamic(optimizer: Any) -> Any:
    """The dynamic-trainable wrapper for `optimizer`: `tfcollections.DynamicOptimizer` for a
    `tf.compat.v1.train.Optimizer`, `tfcollections.keras.DynamicOptimizer` for a Keras 3 or a
    tf_keras (Keras 2) one."""
    if isinstance(optimizer, tf().compat.v1.train.Optimizer):
        from tfcollections.freeze.graph import DynamicOptimizer

        return DynamicOptimizer(optimizer)
    from tfcollections.freeze.keras_model import kind_of

    if kind_of(optimizer) is not None:
        from tfcollections.freeze.keras import DynamicOptimizer as KerasDynamicOptimizer

        return KerasDynamicOptimizer(optimizer)
    raise TfCollectionsError(
        "tfcollections.dynamic() wraps a tf.compat.v1.train.Optimizer, a keras Optimizer or a "
        f"tf_keras Optimizer, got {type(optimizer).__module__}.{type(optimizer).__name__}"
    )
