"""DynamicOptimizer for Keras 3 (TensorFlow backend): freeze and unfreeze without recompiling.

The wrapper builds the wrapped optimizer for every candidate variable, keeps one frozen flag
per candidate as an optimizer variable (saved with the model and with tf.train.Checkpoint),
and gates, inside the traced step, each variable's `update_step` and weight decay with a
`tf.cond` on its flag. Changing a flag assigns a variable: nothing retraces. For global
clipping and gradient accumulation, frozen gradients are zeroed first, so the global norm
covers unfrozen gradients only and frozen accumulators add nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from tfcollections._tf import tf as _tensorflow
from tfcollections.errors import TfCollectionsError, TrainOpStateError
from tfcollections.freeze import targets as _targets

tf = _tensorflow()  # this module is itself imported lazily, by `tfc.keras`
import keras  # noqa: E402 - after TensorFlow, whose missing-package error names the extra


def _path(variable: Any) -> str:
    return getattr(variable, "path", None) or variable.name


def _expand(target: Any) -> list | None:
    """A Keras layer or model stands for all its weights."""
    if isinstance(target, keras.layers.Layer):
        return list(target.weights)
    return None


def _aliases(candidate: Any) -> tuple:
    """A candidate (a Keras variable) and the TensorFlow variable it wraps."""
    return (candidate, getattr(candidate, "value", candidate))


def _after(kind: str, state: list[bool], chosen: list[bool]) -> list[bool]:
    """The frozen flags after a freeze / unfreeze / set request naming `chosen`."""
    if kind == "set":
        return list(chosen)
    return [(kind == "freeze") if hit else old for old, hit in zip(state, chosen)]


@keras.saving.register_keras_serializable(package="tfcollections")
class DynamicOptimizer(keras.optimizers.Optimizer):
    """Wrap a Keras optimizer so variables can be frozen between steps, with no retracing.

    A step with frozen set F updates the variables and optimizer variables exactly as the
    wrapped optimizer would if applied to the gradients of the unfrozen variables only:
    frozen variables and their slots are untouched; `iterations` advances every step.
    """

    def __init__(self, inner_optimizer: Any, name: str | None = None) -> None:
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise TfCollectionsError(
                f"tfcollections.keras.DynamicOptimizer wraps a keras Optimizer, got "
                f"{type(inner_optimizer).__name__}"
            )
        super().__init__(learning_rate=0.0, name=name or f"dynamic_{inner_optimizer.name}")
        self.inner_optimizer = inner_optimizer
        self._pending: list[tuple[str, Any]] = []
        self._frozen_flags: list = []

    # -- the freeze API -----------------------------------------------------------------

    def freeze(self, targets: Any) -> None:
        """Freeze `targets` (variables, layers, models, names, globs) from the next step on."""
        self._request("freeze", targets)

    def unfreeze(self, targets: Any) -> None:
        """Make `targets` trainable again from the next step on."""
        self._request("unfreeze", targets)

    def set_frozen(self, targets: Any) -> None:
        """Freeze exactly `targets`; every other candidate becomes trainable."""
        self._request("set", targets)

    @property
    def frozen(self) -> list:
        """The frozen candidates, in candidate order."""
        if not self.built:
            raise TrainOpStateError(
                "the optimizer is built at the first training step: nothing is frozen yet"
            )
        return [v for v, flag in zip(self._trainable_variables, self._flag_values()) if flag]

    @property
    def candidates(self) -> list:
        return list(self._trainable_variables) if self.built else []

    def _request(self, kind: str, targets: Any) -> None:
        if not self.built:
            self._pending.append((kind, targets))  # build() starts the flags from these
            return
        chosen = self._select(targets)
        new = chosen if kind == "set" else _after(kind, self._flag_values(), chosen)
        self._write_flags(tf.constant(new, tf.bool))

    def _select(self, targets: Any) -> list[bool]:
        return _targets.select(
            targets, self._trainable_variables, _path, expand=_expand, aliases=_aliases
        )

    # -- keras.optimizers.Optimizer -----------------------------------------------------

    def build(self, var_list: Sequence[Any]) -> None:
        inner = self.inner_optimizer
        if not inner.built:
            inner.build(var_list)
        # The flags follow the wrapped optimizer's own variable order, which its update step
        # looks variables up by (it may have been built before it was wrapped).
        candidates = list(inner._trainable_variables)
        super().build(candidates)
        state = [False] * len(candidates)
        for kind, targets in self._pending:
            state = _after(kind, state, self._select(targets))
        self._pending.clear()
        self._frozen_flags = [
            self.add_variable(
                shape=(),
                dtype="bool",
                initializer=keras.initializers.Constant(flag),
                aggregation="only_first_replica",
                name=f"frozen_{index}",
            )
            for index, flag in enumerate(state)
        ]
        self._gate(inner)
        flags = self._frozen_flags
        # One call reads or writes every flag: a switch costs one function call, not one eager
        # op per variable. Traced once, on first use, outside the training step.
        self._read_flags = tf.function(lambda: tf.stack([flag.value for flag in flags]))
        self._write_flags = tf.function(
            lambda values: [
                flag.assign(v) for flag, v in zip(flags, tf.unstack(values, len(flags)))
            ],
            input_signature=[tf.TensorSpec([len(flags)], tf.bool)],
        )

    def _flag_values(self) -> list[bool]:
        return [bool(flag) for flag in self._read_flags().numpy()] if self._frozen_flags else []

    @property
    def variables(self) -> list:
        return self._variables + self.inner_optimizer.variables

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None) -> None:
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
        inner = self.inner_optimizer
        variables = list(trainable_variables) if trainable_variables is not None else None
        if inner.global_clipnorm or inner.gradient_accumulation_steps:
            grads = [
                g if g is None else tf.where(self._frozen_of(v), tf.zeros_like(g), g)
                for g, v in zip(grads, variables or self._trainable_variables)
            ]
        inner.apply(grads, variables)

    def _frozen_of(self, variable: Any) -> Any:
        return self._frozen_flags[self.inner_optimizer._get_variable_index(variable)]

    def _gate(self, inner: Any) -> None:
        """Make the wrapped optimizer skip frozen variables, per variable, inside the step."""
        update_step = inner.update_step
        frozen_of = self._frozen_of

        def gated_update_step(gradient: Any, variable: Any, learning_rate: Any) -> None:
            tf.cond(
                tf.convert_to_tensor(frozen_of(variable)),
                lambda: tf.no_op(),
                lambda: _no_output(update_step, gradient, variable, learning_rate),
            )

        inner.update_step = gated_update_step
        if inner.weight_decay is not None:
            inner._apply_weight_decay = lambda variables: _gated_weight_decay(
                inner, variables, frozen_of
            )

    @property
    def learning_rate(self) -> Any:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self) -> Any:
        return self.inner_optimizer.iterations

    def finalize_variable_values(self, var_list: Any) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "inner_optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> DynamicOptimizer:
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(
            config.pop("inner_optimizer"), custom_objects=custom_objects
        )
        return cls(inner, **config)


def _no_output(function: Any, *args: Any) -> Any:
    function(*args)
    return tf.no_op()


def _gated_weight_decay(inner: Any, variables: Sequence[Any], frozen_of: Any) -> None:
    """TF's own weight decay, per variable, skipped for frozen ones (AdamW, `weight_decay=`)."""

    def per_variable(distribution: Any, variables: Sequence[Any]) -> None:
        def decay(variable: Any) -> None:
            if inner._use_weight_decay(variable):
                lr = tf.cast(inner.learning_rate, variable.dtype)
                wd = tf.cast(inner.weight_decay, variable.dtype)
                tf.cond(
                    tf.convert_to_tensor(frozen_of(variable)),
                    lambda: tf.no_op(),
                    lambda: tf.group(variable.assign_sub(variable * wd * lr)),
                )

        for variable in variables:
            if isinstance(variable, keras.Variable):
                variable = variable.value
            distribution.extended.update(variable, decay, group=False)

    tf.__internal__.distribute.interim.maybe_merge_call(
        per_variable, inner._distribution_strategy, variables
    )


class FreezeSchedule(keras.callbacks.Callback):
    """Set the frozen set at the start of chosen epochs: `{0: ["backbone"], 3: []}` freezes
    the backbone for epochs 0-2 and unfreezes everything from epoch 3 on."""

    def __init__(self, optimizer: DynamicOptimizer, schedule: Mapping[int, Any]) -> None:
        super().__init__()
        self.optimizer = optimizer
        self.schedule = dict(schedule)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if epoch in self.schedule:
            self.optimizer.set_frozen(self.schedule[epoch])


class TrainableChangedError(TfCollectionsError):
    """A layer's `trainable` changed after Keras traced the train function."""


_TRACED_WITH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class TrainableGuard(keras.callbacks.Callback):
    """Catch the Keras trap: `trainable` changed after the train function was traced.

    Keras keeps training with the trainable set it traced, silently. By default the guard
    raises TrainableChangedError naming the layers; `action="retrace"` instead rebuilds the
    train function so the change takes effect (unfreezing a variable the optimizer was not
    built with still needs a new optimizer: use DynamicOptimizer for that).
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
        if function is not None and function not in _TRACED_WITH:
            _TRACED_WITH[function] = _trainable_flags(self.model)

    def _check(self) -> None:
        function = self.model.train_function
        traced = _TRACED_WITH.get(function) if function is not None else None
        if traced is None:
            return
        now = _trainable_flags(self.model)
        changed = sorted(path for path, flag in now.items() if traced.get(path, flag) != flag)
        if not changed:
            return
        if self.action == "retrace":
            del _TRACED_WITH[function]
            self.model.make_train_function(force=True)
            return
        listing = ", ".join(
            f"{path} ({'now trainable' if now[path] else 'now frozen'})" for path in changed
        )
        raise TrainableChangedError(
            f"trainable changed after the train function was traced: {listing}; Keras keeps "
            "training the set it traced. Freeze with tfcollections.keras.DynamicOptimizer, or "
            "recompile the model"
        )


def _trainable_flags(model: Any) -> dict[str, bool]:
    return {
        getattr(layer, "path", layer.name): layer.trainable
        for layer in model._flatten_layers(include_self=False)
    }
