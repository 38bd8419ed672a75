"""DynamicOptimizer for Keras 3 (TensorFlow backend): freeze and unfreeze without recompiling.

The wrapper builds the wrapped optimizer for every candidate variable, keeps one frozen flag
per candidate as an optimizer variable (saved with the model and with tf.train.Checkpoint),
and gates, inside the traced step, each variable's `update_step` and weight decay with a
`tf.cond` on its flag. Changing a flag assigns a variable: nothing retraces. For global
clipping and gradient accumulation, frozen gradients are zeroed first, so the global norm
covers unfrozen gradients only and frozen accumulators add nothing. Given its model
(`attach`), the wrapper also applies each frozen set to the model's trainable flags and keeps
a train function per pattern (`keras_model.py`), so frozen layers cost no backward pass.

`tfcollections.keras` is also Keras 2's entry point: given a tf_keras optimizer, the
constructor returns `keras2.py`'s wrapper, and FreezeSchedule and TrainableGuard take tf_keras
models (`restore_optimizer` is Keras 2's, loaded on first use).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tfcollections._tf import tf as _tensorflow
from tfcollections.errors import TfCollectionsError

tf = _tensorflow()  # this module is itself imported lazily, by `tfc.keras`
import keras  # noqa: E402 - after TensorFlow, whose missing-package error names the extra

from tfcollections.freeze import keras_model as _keras_model  # noqa: E402
from tfcollections.freeze.frozen_set import (  # noqa: E402
    FrozenSet,
    gated_weight_decay,
    no_output,
)


class _EitherKeras(type):
    """`isinstance(x, tfc.keras.DynamicOptimizer)` holds for the Keras 2 wrappers too: the
    constructor returns them for tf_keras optimizers."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if super().__instancecheck__(instance):
            return True
        keras2 = sys.modules.get("tfcollections.freeze.keras2")  # loaded by the first wrap
        return (
            cls is DynamicOptimizer
            and keras2 is not None
            and isinstance(instance, (keras2.DynamicOptimizer, keras2.LegacyDynamicOptimizer))
        )


@keras.saving.register_keras_serializable(package="tfcollections")
class DynamicOptimizer(FrozenSet, keras.optimizers.Optimizer, metaclass=_EitherKeras):
    """Wrap a Keras optimizer so variables can be frozen between steps, with no retracing.

    Given a tf_keras (Keras 2) optimizer, returns the Keras 2 wrapper for its family
    (`keras2.DynamicOptimizer`, `keras2.LegacyDynamicOptimizer`), with the same contract.

    A step with frozen set F updates the variables and optimizer variables exactly as the
    wrapped optimizer would if applied to the gradients of the unfrozen variables only:
    frozen variables and their slots are untouched; `iterations` advances every step.
    `model=` (or `attach(model)`) makes freezing make training faster: see `attach`.
    """

    KERAS = _keras_model.KerasKind(3, keras)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """A tf_keras optimizer gets the Keras 2 wrapper (`keras2.py`): which Keras an
        optimizer belongs to is read from the optimizer, so a process may hold both."""
        inner = args[0] if args else kwargs.get("inner_optimizer")
        kind = _keras_model.kind_of(inner)
        if cls is DynamicOptimizer and kind is not None and kind.major == 2:
            from tfcollections.freeze import keras2

            return keras2.wrap(*args, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        inner_optimizer: Any,
        name: str | None = None,
        *,
        model: Any = None,
        batchnorm: str = "inference",
    ) -> None:
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise TfCollectionsError(
                "tfcollections.keras.DynamicOptimizer wraps a keras or tf_keras Optimizer, "
                f"got {type(inner_optimizer).__module__}.{type(inner_optimizer).__name__}"
            )
        super().__init__(learning_rate=0.0, name=name or f"dynamic_{inner_optimizer.name}")
        self.inner_optimizer = inner_optimizer
        self._init_frozen_set()
        if model is not None:
            self.attach(model, batchnorm=batchnorm)

    # -- FrozenSet ------------------------------------------------------------------------

    def _candidates(self) -> list[Any]:
        return list(self._trainable_variables)

    def _is_built(self) -> bool:
        return bool(self.built)

    def _add_flag(self, index: int, value: bool) -> Any:
        return self.add_variable(
            shape=(),
            dtype="bool",
            initializer=keras.initializers.Constant(value),
            aggregation="only_first_replica",
            name=f"frozen_{index}",
        )

    def _build_for(self, variables: Sequence[Any]) -> None:
        with self._distribution_strategy.scope():
            self.build(variables)

    def _wrapper_name(self) -> str:
        return str(self.name)

    # -- keras.optimizers.Optimizer -----------------------------------------------------

    def build(self, var_list: Sequence[Any]) -> None:
        inner = self.inner_optimizer
        if not inner.built:
            inner.build(var_list)
        # The flags follow the wrapped optimizer's own variable order, which its update step
        # looks variables up by (it may have been built before it was wrapped).
        candidates = list(inner._trainable_variables)
        super().build(candidates)
        self._create_flags()
        self._gate(inner)

    @property
    def variables(self) -> list[Any]:
        return [*self._variables, *self.inner_optimizer.variables]

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None) -> None:
        if not self.built and trainable_variables is not None:  # else Keras says it must be
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
        inner = self.inner_optimizer
        variables = list(trainable_variables) if trainable_variables is not None else None
        pattern = self._patterns.pattern_for(variables) if self._patterns and variables else None
        if pattern is not None:
            # Traced for the frozen set the model has: the variables are exactly the unfrozen
            # candidates, so the wrapped optimizer runs ungated, as Keras itself runs it.
            self._check_pattern(pattern)
            self._gating = False
            try:
                inner.apply(grads, variables)
            finally:
                self._gating = True
            return
        if inner.global_clipnorm or inner.gradient_accumulation_steps:
            grads = [
                g if g is None else tf.where(self._frozen_of(v), tf.zeros_like(g), g)
                for g, v in zip(grads, variables or self._trainable_variables)
            ]
        inner.apply(grads, variables)

    def _frozen_of(self, variable: Any) -> Any:
        return self._frozen_flags[self.inner_optimizer._get_variable_index(variable)]

    def _gate(self, inner: Any) -> None:
        """Make the wrapped optimizer skip frozen variables, per variable, inside the step
        (unless `apply` found the step traced for exactly the unfrozen variables)."""
        update_step = inner.update_step
        apply_weight_decay = inner._apply_weight_decay
        frozen_of = self._frozen_of
        self._gating = True

        def gated_update_step(gradient: Any, variable: Any, learning_rate: Any) -> None:
            if not self._gating:
                update_step(gradient, variable, learning_rate)
                return
            tf.cond(
                tf.convert_to_tensor(frozen_of(variable)),
                lambda: tf.no_op(),
                lambda: no_output(update_step, gradient, variable, learning_rate),
            )

        def gated_decay(variables: Sequence[Any]) -> None:
            if not self._gating:
                apply_weight_decay(variables)
                return
            gated_weight_decay(inner, variables, frozen_of)

        inner.update_step = gated_update_step
        if inner.weight_decay is not None:
            inner._apply_weight_decay = gated_decay

    def finalize_variable_values(self, var_list: Any) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def save_own_variables(self, store: Any) -> None:
        """The wrapper's own variables (its step counter and the frozen flags) only: the
        wrapped optimizer saves its own under `inner_optimizer`, so each is saved once."""
        for index, variable in enumerate(self._variables):
            store[str(index)] = variable.numpy()

    def load_own_variables(self, store: Any) -> None:
        """Loads what `save_own_variables` saved, and files from tfcollections 0.1, which
        saved the wrapped optimizer's variables here too, after the wrapper's own."""
        own, inner = len(self._variables), len(self.inner_optimizer.variables)
        if len(store.keys()) not in (own, own + inner):
            raise TfCollectionsError(
                f"cannot load {self.name}: the file holds {len(store.keys())} of its "
                f"variables, expected {own} (the wrapper's own: a flag per candidate and a "
                "step counter); was it saved from a model with other trainable weights?"
            )
        for index, variable in enumerate(self._variables):
            variable.assign(store[str(index)])
        self._reapply_patterns()


class Callback(keras.callbacks.Callback):
    """A Keras 3 callback that tf_keras's `fit` takes too (tf_keras asks each callback which
    batch hooks it implements): subclass it for a callback that runs under both Kerases, as
    FreezeSchedule and TrainableGuard do. It runs the training batch hooks only."""

    def _implements_train_batch_hooks(self) -> bool:
        return True

    def _implements_test_batch_hooks(self) -> bool:
        return False

    def _implements_predict_batch_hooks(self) -> bool:
        return False


class FreezeSchedule(Callback):
    """Set the frozen set at the start of chosen epochs: `{0: ["backbone"], 3: []}` freezes
    the backbone for epochs 0-2 and unfreezes everything from epoch 3 on. At the other epochs
    the model follows the flags as they are, so a run that `BackupAndRestore` resumes in
    epoch 1 goes on with the backbone frozen."""

    def __init__(self, optimizer: DynamicOptimizer, schedule: Mapping[int, Any]) -> None:
        super().__init__()
        self.optimizer = optimizer
        self.schedule = dict(schedule)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch in self.schedule:
            self.optimizer.set_frozen(self.schedule[epoch])
        else:  # flags a checkpoint restored since (BackupAndRestore): the model follows them
            self.optimizer._reapply_patterns()


class TrainableChangedError(TfCollectionsError):
    """A layer's `trainable` changed after Keras traced the train function."""


class TrainableGuard(Callback):
    """Catch the Keras trap: `trainable` changed after the train function was traced.

    Keras keeps training with the trainable set it traced, silently. By default the guard
    raises TrainableChangedError naming the layers; `action="retrace"` instead rebuilds the
    train function so the change takes effect (unfreezing a variable the optimizer was not
    built with still needs a new optimizer: use DynamicOptimizer for that). Added to a later
    `fit`, it compares with what the optimizer was built with (or, for a DynamicOptimizer
    given the model, with the frozen set it applied). On a Keras 2 (tf_keras) model the set
    is the one `compile()` took, which Keras 2 puts back for every `fit`; `retrace` makes the
    current flags the compiled ones.
    """

    def __init__(self, action: str = "raise") -> None:
        super().__init__()
        if action not in ("raise", "retrace"):
            raise TfCollectionsError(
                f"TrainableGuard action must be 'raise' or 'retrace', got {action!r}"
            )
        self.action = action

    def on_train_begin(self, logs: Any = None) -> None:
        self._check()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._check()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        function = self.model.train_function
        if function is not None and function not in _keras_model.TRACED_WITH:
            _keras_model.TRACED_WITH[function] = _keras_model.trainable_flags(self.model)

    def _check(self) -> None:
        model = self.model
        kind = _keras_model.kind_of(model)
        keras2 = kind is not None and kind.major == 2
        function = model.train_function
        now = _keras_model.trainable_flags(model)
        if keras2:
            traced = _compiled_flags(model)
            users = _keras2_user_state(model)
            now = {
                _keras_model.layer_path(layer): flag
                for layer, flag in users.items()
                if layer is not model
            }
        elif function is None:
            return
        else:
            traced = _keras_model.TRACED_WITH.get(function) or _untraced_record(model)
        if not traced:
            return
        changed = sorted(path for path, flag in now.items() if traced.get(path, flag) != flag)
        if not changed:
            return
        if self.action == "retrace":
            _keras_model.TRACED_WITH.pop(function, None)
            if keras2:  # the user's flags become the compiled ones, now and for every fit
                object.__setattr__(model, "_compiled_trainable_state", users)
                model._set_trainable_state(users)
            model.make_train_function(force=True)
            return
        listing = ", ".join(
            f"{path} ({'now trainable' if now[path] else 'now frozen'})" for path in changed
        )
        raise TrainableChangedError(
            f"trainable changed after the train function was traced: {listing}; Keras keeps "
            "training the set it traced. Freeze with tfcollections.keras.DynamicOptimizer, or "
            "recompile the model"
        )


def _untraced_record(model: Any) -> dict[str, bool]:
    """The flags a train function traced before the guard saw it was traced with, as far
    as the optimizer tells: a layer was trainable if the optimizer was built with any of its
    weights (Keras builds it at the first trace). Empty when the optimizer is not built."""
    optimizer = model.optimizer
    if isinstance(optimizer, DynamicOptimizer) and optimizer._patterns is not None:
        return optimizer._patterns.expected_flags
    if optimizer is None or not optimizer.built:
        return {}
    built = {id(variable) for variable in optimizer._trainable_variables}
    return {
        _keras_model.layer_path(layer): any(id(v) in built for v in layer._trainable_variables)
        for layer in model._flatten_layers(include_self=False)
        if layer._trainable_variables
    }


def _compiled_flags(model: Any) -> dict[str, bool]:
    """Keras 2: the flags `compile()` took, which `fit` and `train_on_batch` train with."""
    compiled = getattr(model, "_compiled_trainable_state", None) or {}
    return {
        _keras_model.layer_path(layer): flag
        for layer, flag in compiled.items()
        if layer is not model
    }


def _keras2_user_state(model: Any) -> Any:
    """Keras 2: the flags the user set, {layer: trainable}. Inside `fit` and `train_on_batch`
    Keras 2 has put the compiled flags on the layers (RespectCompiledTrainableState) and kept
    the user's aside, on that context object: found among the model's referrers."""
    for referrer in gc.get_referrers(model):
        fields = referrer if isinstance(referrer, dict) else getattr(referrer, "__dict__", {})
        if fields.get("_model") is model and fields.get("_should_set_trainable"):
            saved = fields.get("_current_trainable_state")
            if saved is not None:
                return saved
    return model._get_trainable_state()


def __getattr__(name: str) -> Any:
    """Keras 2 helpers, imported on first use: `tf_keras` is needed only by its users."""
    if name == "restore_optimizer":
        from tfcollections.freeze.keras2 import restore_optimizer

        return restore_optimizer
    raise AttributeError(f"module 'tfcollections.keras' has no attribute {name!r}")
