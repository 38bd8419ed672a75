"""DynamicOptimizer for Keras 2 (`tf_keras`, and `tf.keras` with TF_USE_LEGACY_KERAS=1).

The same contract as Keras 3's wrapper, for tf_keras's two optimizer families: the current
ones (`tf_keras.optimizers.Adam`, ...) and the legacy OptimizerV2 ones
(`tf_keras.optimizers.legacy.Adam`, ...). The wrapper builds the wrapped optimizer for every
candidate (slots included), keeps a bool flag per candidate as its own variable, and gates each
variable's update (`update_step`; for OptimizerV2 the dense and sparse `_resource_apply_*`) and
weight decay with a `tf.cond` on its flag. Changing a flag assigns a variable: nothing retraces.
`tfcollections.keras.DynamicOptimizer(...)` returns one of these for a tf_keras optimizer.

Keras 2 differs from Keras 3 in when it reads `trainable` (at `compile()`, and it puts the
compiled flags back around every `fit` and `train_on_batch`), and in its variables: a
tf.Variable's `trainable` is read-only, so given the model (`attach`) a layer is frozen as a
whole; a layer frozen in part keeps the per-variable gates.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import tf_keras

from tfcollections._tf import tf as _tensorflow
from tfcollections.errors import TfCollectionsError
from tfcollections.freeze import keras_model as _keras_model
from tfcollections.freeze.frozen_set import FrozenSet, gated_weight_decay, no_output

tf = _tensorflow()
KERAS2 = _keras_model.KerasKind(2, tf_keras)


def wrap(inner_optimizer: Any, name: str | None = None, **options: Any) -> Any:
    """The Keras 2 wrapper for a tf_keras optimizer of either family."""
    if isinstance(inner_optimizer, tf_keras.optimizers.legacy.Optimizer):
        return LegacyDynamicOptimizer(inner_optimizer, name, **options)
    if isinstance(inner_optimizer, tf_keras.optimizers.Optimizer):
        return DynamicOptimizer(inner_optimizer, name, **options)
    raise TfCollectionsError(
        "tfcollections.keras.DynamicOptimizer wraps a keras or tf_keras Optimizer, got "
        f"{type(inner_optimizer).__module__}.{type(inner_optimizer).__name__}"
    )


class _Keras2Wrapper(FrozenSet):
    """What both families share: the candidates in build order, the gate's flag lookup, the
    step that runs ungated when it was traced for the model's current frozen set, and the
    configuration."""

    KERAS = KERAS2

    def _setup(self, inner_optimizer: Any, model: Any, batchnorm: str) -> None:
        self.inner_optimizer = inner_optimizer
        self._init_frozen_set()
        self._candidate_list: list = []
        self._index: dict[Any, int] = {}  # by the key tf_keras gives a variable
        self._gating = True
        self._state_loaded = True  # a new optimizer has nothing to load
        if model is not None:
            self.attach(model, batchnorm=batchnorm)

    def _candidates(self) -> list:
        return list(self._candidate_list)

    def _is_built(self) -> bool:
        return bool(self._candidate_list)

    def _remember(self, candidates: Sequence[Any]) -> None:
        self._candidate_list = list(candidates)
        self._index = {_key(variable): i for i, variable in enumerate(candidates)}

    def _frozen_of(self, variable: Any) -> Any:
        return tf.convert_to_tensor(self._frozen_flags[self._index[_key(variable)]])

    def _apply_to_inner(self, grads_and_vars: list, apply: Any) -> Any:
        if not self._state_loaded:
            self._state_loaded = True
            warnings.warn(
                f"{self._wrapper_name()} was loaded from a saved model without its state: "
                "nothing is frozen and the slots start anew. tf_keras drops optimizer state "
                "from a SavedModel folder (call tfcollections.keras.restore_optimizer(model, "
                "folder) after loading) and keeps none of a legacy optimizer in a .keras file "
                "(save as .h5); ignore this if you restored it from a checkpoint",
                UserWarning,
                stacklevel=3,
            )
        variables = [variable for _, variable in grads_and_vars]
        patterns = self._patterns
        pattern = patterns.pattern_for(variables) if patterns is not None and variables else None
        if pattern is not None:
            # Traced for the frozen set the model has: the variables are exactly the unfrozen
            # candidates, so the wrapped optimizer runs ungated, as Keras itself runs it.
            self._check_pattern(pattern)
            self._gating = False
            try:
                return apply(grads_and_vars)
            finally:
                self._gating = True
        if getattr(self.inner_optimizer, "global_clipnorm", None):
            grads_and_vars = [  # the global norm covers the unfrozen gradients only
                (g if g is None else tf.where(self._frozen_of(v), tf.zeros_like(g), g), v)
                for g, v in grads_and_vars
            ]
        return apply(grads_and_vars)

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> Any:
        optimizer = super().from_config(config, custom_objects)
        optimizer._state_loaded = False  # until a loader gives the flags and slots back
        return optimizer


@tf_keras.saving.register_keras_serializable(package="tfcollections")
class DynamicOptimizer(_Keras2Wrapper, tf_keras.optimizers.Optimizer):
    """Wrap a tf_keras optimizer (`tf_keras.optimizers.Adam`, ...) so variables can be frozen
    between steps with no retracing; the contract of `tfcollections.keras.DynamicOptimizer`."""

    def __init__(
        self,
        inner_optimizer: Any,
        name: str | None = None,
        *,
        model: Any = None,
        batchnorm: str = "inference",
    ) -> None:
        if getattr(inner_optimizer, "use_ema", False):
            raise TfCollectionsError(
                "tfcollections.keras.DynamicOptimizer cannot wrap an optimizer with "
                "use_ema=True: its moving averages of frozen variables would still move"
            )
        super().__init__(name=name or f"dynamic_{inner_optimizer.name}", jit_compile=False)
        self._setup(inner_optimizer, model, batchnorm)

    def _wrapper_name(self) -> str:
        return self.name

    def _add_flag(self, index: int, value: bool) -> Any:
        return self.add_variable(
            shape=(), dtype=tf.bool, initializer=_constant(value), name=f"frozen_{index}"
        )

    def _build_for(self, variables: Sequence[Any]) -> None:
        with self._distribution_strategy.scope(), tf.init_scope():
            self.build(variables)

    def build(self, var_list: Sequence[Any]) -> None:
        if getattr(self, "_built", False):
            return
        inner = self.inner_optimizer
        inner.build(var_list)
        # The wrapped optimizer's own order (it may have been built before it was wrapped).
        order = inner._index_dict
        candidates = sorted(var_list, key=lambda v: order[inner._var_key(v)])
        super().build(candidates)
        self._remember(candidates)
        self._create_flags()
        self._gate(inner)
        self._built = True

    def apply_gradients(self, grads_and_vars: Any, name: str | None = None, **kwargs: Any) -> Any:
        grads_and_vars = list(grads_and_vars)
        if not getattr(self, "_built", False):
            with tf.init_scope():
                self.build([variable for _, variable in grads_and_vars])
        return self._apply_to_inner(
            grads_and_vars,
            lambda pairs: self.inner_optimizer.apply_gradients(pairs, name, **kwargs),
        )

    def _gate(self, inner: Any) -> None:
        update_step = inner.update_step
        apply_weight_decay = inner._apply_weight_decay

        def gated_update_step(gradient: Any, variable: Any) -> Any:
            if not self._gating:
                return update_step(gradient, variable)
            return tf.cond(
                self._frozen_of(variable),
                lambda: tf.no_op(),
                lambda: no_output(update_step, gradient, variable),
            )

        def gated_decay(variables: Sequence[Any]) -> None:
            if not self._gating:
                apply_weight_decay(variables)
                return
            gated_weight_decay(inner, variables, self._frozen_of)

        inner.update_step = gated_update_step
        if inner.weight_decay:
            inner._apply_weight_decay = gated_decay

    @property
    def variables(self) -> list:
        """The wrapped optimizer's variables, then the flags: what an h5 file saves (the
        wrapper's own step counter is unused: `iterations` is the wrapped optimizer's)."""
        return list(self.inner_optimizer.variables) + self._frozen_flags

    def set_weights(self, weights: Sequence[Any]) -> None:
        inner = self.inner_optimizer
        _set_weights(self, inner.set_weights, len(inner.variables), weights)

    def finalize_variable_values(self, var_list: Any) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def save_own_variables(self, store: Any) -> None:
        """The wrapper's own variables only (its step counter and the frozen flags): the
        wrapped optimizer saves its own under `inner_optimizer`."""
        for index, variable in enumerate(self._variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store: Any) -> None:
        if len(store.keys()) != len(self._variables):
            raise TfCollectionsError(
                f"cannot load {self.name}: the file holds {len(store.keys())} of its "
                f"variables, expected {len(self._variables)} (a flag per candidate and a step "
                "counter); was it saved from a model with other trainable weights?"
            )
        for index, variable in enumerate(self._variables):
            variable.assign(store[str(index)])
        self._state_loaded = True
        self._reapply_patterns()


@tf_keras.saving.register_keras_serializable(package="tfcollections")
class LegacyDynamicOptimizer(_Keras2Wrapper, tf_keras.optimizers.legacy.Optimizer):
    """Wrap a legacy OptimizerV2 (`tf_keras.optimizers.legacy.Adam`, ...): the same contract,
    gating the optimizer's dense and sparse per-variable updates."""

    def __init__(
        self,
        inner_optimizer: Any,
        name: str | None = None,
        *,
        model: Any = None,
        batchnorm: str = "inference",
    ) -> None:
        super().__init__(name=name or f"dynamic_{inner_optimizer._name}")
        # OptimizerV2 tracks only what it is told to: the wrapped optimizer and its slots are
        # saved under `inner_optimizer` in checkpoints and SavedModels.
        self._track_trackable(inner_optimizer, name="inner_optimizer")
        self._setup(inner_optimizer, model, batchnorm)

    def _wrapper_name(self) -> str:
        return self._name

    def _add_flag(self, index: int, value: bool) -> Any:
        return self.add_weight(
            f"frozen_{index}",
            shape=(),
            dtype=tf.bool,
            initializer=_constant(value),
            trainable=False,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )

    def _build_for(self, variables: Sequence[Any]) -> None:
        with tf.init_scope():
            self._create_all_weights(variables)

    def _create_all_weights(self, var_list: Sequence[Any]) -> None:
        """Build for every candidate at once (Keras calls this before loading h5 weights)."""
        if self._candidate_list:
            return
        inner = self.inner_optimizer
        inner._create_all_weights(list(var_list))
        self._remember(var_list)
        self._create_flags()
        self._gate(inner)

    def apply_gradients(
        self, grads_and_vars: Any, name: str | None = None, experimental_aggregate_gradients=True
    ) -> Any:
        grads_and_vars = list(grads_and_vars)
        if not self._candidate_list:
            with tf.init_scope():
                self._create_all_weights([variable for _, variable in grads_and_vars])
        return self._apply_to_inner(
            grads_and_vars,
            lambda pairs: self.inner_optimizer.apply_gradients(
                pairs, name, experimental_aggregate_gradients
            ),
        )

    def _gate(self, inner: Any) -> None:
        dense = inner._resource_apply_dense
        sparse = inner._resource_apply_sparse_duplicate_indices

        def gated_dense(grad: Any, handle: Any, apply_state: Any = None) -> Any:
            if not self._gating:
                return dense(grad, handle, apply_state)
            return tf.cond(
                self._frozen_of(handle),
                lambda: tf.no_op(),
                lambda: no_output(dense, grad, handle, apply_state),
            )

        def gated_sparse(grad: Any, handle: Any, indices: Any, **kwargs: Any) -> Any:
            if not self._gating:
                return sparse(grad, handle, indices, **kwargs)
            return tf.cond(
                self._frozen_of(handle),
                lambda: tf.no_op(),
                lambda: no_output(lambda *a: sparse(*a, **kwargs), grad, handle, indices),
            )

        inner._resource_apply_dense = gated_dense
        inner._resource_apply_sparse_duplicate_indices = gated_sparse

    @property
    def weights(self) -> list:
        """The wrapped optimizer's weights, then the flags: what an h5 file saves."""
        return self.inner_optimizer.weights + self._frozen_flags

    def variables(self) -> list:
        """As `weights` (OptimizerV2's `variables` is a method)."""
        return self.weights

    def set_weights(self, weights: Sequence[Any]) -> None:
        _set_weights(
            self, self.inner_optimizer.set_weights, len(self.inner_optimizer.weights), weights
        )


def _set_weights(wrapper: Any, set_inner: Any, inner_count: int, weights: Sequence[Any]) -> None:
    """Load what `weights`/`variables` list (an h5 file's optimizer weights): the wrapped
    optimizer's, then one flag per candidate."""
    expected = inner_count + len(wrapper._frozen_flags)
    if len(weights) != expected:
        raise TfCollectionsError(
            f"cannot load {wrapper._wrapper_name()}: the file holds {len(weights)} optimizer "
            f"weights, expected {expected} (the wrapped optimizer's and a flag per candidate); "
            "was it saved from a model with other trainable weights?"
        )
    set_inner(list(weights[:inner_count]))
    for flag, value in zip(wrapper._frozen_flags, weights[inner_count:]):
        flag.assign(value)
    wrapper._state_loaded = True
    wrapper._reapply_patterns()


def _key(variable: Any) -> Any:
    """One key for a variable and its distributed container (MirroredStrategy's per-replica
    variables in an update: on the variable, or on its handle), as tf_keras keys slots."""
    container = getattr(variable, "_distributed_container", None)
    if container is None and not isinstance(variable, tf.distribute.DistributedValues):
        container = getattr(getattr(variable, "handle", None), "_distributed_container", None)
    if container is not None:
        variable = container()
    return variable._unique_id


def _constant(value: bool) -> Any:
    def initializer(shape: Any, dtype: Any = None, **_: Any) -> Any:
        return tf.constant(value, dtype=tf.bool, shape=shape)

    return initializer


def restore_optimizer(model: Any, path: str) -> None:
    """Restore the optimizer state that `tf_keras.models.load_model` drops from a SavedModel
    folder (`model.save("folder")`): the wrapped optimizer's slots and step, and the frozen
    set. tf_keras rebuilds and compiles the model but leaves its optimizer fresh, with a plain
    optimizer as with a DynamicOptimizer; this builds the optimizer for the model's trainable
    variables and reads its variables from the folder's checkpoint.

    Raises TfCollectionsError for a folder without a SavedModel checkpoint or a model without
    an optimizer.
    """
    prefix = os.path.join(os.fspath(path), "variables", "variables")
    if not tf.io.gfile.exists(f"{prefix}.index"):
        raise TfCollectionsError(f"{path}: not a SavedModel folder (no variables/variables.index)")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise TfCollectionsError(f"restore_optimizer: {model.name!r} has no optimizer (compile it)")
    wrapper = isinstance(optimizer, _Keras2Wrapper)
    if wrapper:
        if not optimizer._is_built():
            optimizer._build_for(model.trainable_variables)
    elif isinstance(optimizer, tf_keras.optimizers.legacy.Optimizer):
        optimizer._create_all_weights(model.trainable_variables)
    else:
        optimizer.build(model.trainable_variables)
    tf.train.Checkpoint(root=model).read(prefix).expect_partial()
    if wrapper:
        optimizer._state_loaded = True
        optimizer._reapply_patterns()
