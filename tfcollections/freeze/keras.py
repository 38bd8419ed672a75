"""DynamicOptimizer for Keras 3 (TensorFlow backend): freeze and unfreeze without recompiling.

The wrapper builds the wrapped optimizer for every candidate variable, keeps one frozen flag
per candidate as an optimizer variable (saved with the model and with tf.train.Checkpoint),
and gates, inside the traced step, each variable's `update_step` and weight decay with a
`tf.cond` on its flag. Changing a flag assigns a variable: nothing retraces. For global
clipping and gradient accumulation, frozen gradients are zeroed first, so the global norm
covers unfrozen gradients only and frozen accumulators add nothing. Given its model
(`attach`), the wrapper also applies each frozen set to the model's trainable flags and keeps
a train function per pattern (`keras_model.py`), so frozen layers cost no backward pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tfcollections._tf import tf as _tensorflow
from tfcollections.errors import TfCollectionsError, TrainOpStateError
from tfcollections.freeze import targets as _targets

tf = _tensorflow()  # this module is itself imported lazily, by `tfc.keras`
import keras  # noqa: E402 - after TensorFlow, whose missing-package error names the extra

from tfcollections.freeze import keras_model as _keras_model  # noqa: E402 - imports keras


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
    `model=` (or `attach(model)`) makes freezing make training faster: see `attach`.
    """

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
                f"tfcollections.keras.DynamicOptimizer wraps a keras Optimizer, got "
                f"{type(inner_optimizer).__name__}"
            )
        super().__init__(learning_rate=0.0, name=name or f"dynamic_{inner_optimizer.name}")
        self.inner_optimizer = inner_optimizer
        self._pending: list[tuple[str, Any]] = []
        self._frozen_flags: list = []
        self._patterns: _keras_model.ModelPatterns | None = None
        if model is not None:
            self.attach(model, batchnorm=batchnorm)

    def attach(self, model: Any, *, batchnorm: str = "inference") -> None:
        """Apply every frozen set to `model` as `trainable = False` would, with a train
        function kept per pattern: frozen layers then cost no backward pass, and a frozen
        BatchNormalization runs in inference mode (`batchnorm="training"` keeps it
        normalizing with batch statistics and updating its moving mean and variance).

        The first use of a pattern costs Keras one trace; a pattern seen before costs a swap.
        Builds the optimizer for `model.trainable_variables` now if it is not built. Raises
        TfCollectionsError for a model that is not built, or that the optimizer was not
        built for.
        """
        if batchnorm not in _keras_model.BATCHNORM_MODES:
            raise TfCollectionsError(
                f"batchnorm must be one of {_keras_model.BATCHNORM_MODES}, got {batchnorm!r}"
            )
        if not isinstance(model, keras.Model) or not model.built or not model.weights:
            raise TfCollectionsError(
                f"attach takes a built keras Model, got {type(model).__name__}: call it on a "
                "batch or model.build(input_shape) first"
            )
        if not self.built:
            with self._distribution_strategy.scope():
                self.build(model.trainable_variables)
        in_model = {id(variable) for variable in model.weights}
        if not any(id(candidate) in in_model for candidate in self._trainable_variables):
            raise TfCollectionsError(
                f"{self.name} was built for the variables of another model than {model.name!r}"
            )
        self._patterns = _keras_model.ModelPatterns(
            model, list(self._trainable_variables), batchnorm
        )
        self._patterns.use(self._flag_values())

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
        if self._patterns is not None:
            self._patterns.use(new)

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
        pattern = self._patterns.pattern_for(variables) if self._patterns and variables else None
        if pattern is not None:
            # Traced for the frozen set the model has: the variables are exactly the unfrozen
            # candidates, so the wrapped optimizer runs ungated, as Keras itself runs it. If
            # the flags changed behind the optimizer's back since, the step raises (a
            # control dependency on the check would change how TF fuses the update's math).
            tf.debugging.assert_equal(
                tf.stack([flag.value for flag in self._frozen_flags]),
                tf.constant(pattern),
                message=f"{self.name}: the frozen flags changed without freeze/unfreeze/"
                "set_frozen (a restored checkpoint?) since this step was traced: call "
                "attach(model) again, or retrace your own train function",
            )
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
                lambda: _no_output(update_step, gradient, variable, learning_rate),
            )

        def gated_weight_decay(variables: Sequence[Any]) -> None:
            if not self._gating:
                apply_weight_decay(variables)
                return
            _gated_weight_decay(inner, variables, frozen_of)

        inner.update_step = gated_update_step
        if inner.weight_decay is not None:
            inner._apply_weight_decay = gated_weight_decay

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
        if self._patterns is not None:
            self._patterns.use(self._flag_values())

    def get_config(self) -> dict:
        """`attached`: the model's frozen layers were saved with the trainable flag they were
        built with (see `attach`); read by `tfcollections audit`, ignored when loading."""
        return {
            "name": self.name,
            "inner_optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
            "attached": self._patterns is not None,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> DynamicOptimizer:
        config = dict(config)
        config.pop("attached", None)
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


class TrainableGuard(keras.callbacks.Callback):
    """Catch the Keras trap: `trainable` changed after the train function was traced.

    Keras keeps training with the trainable set it traced, silently. By default the guard
    raises TrainableChangedError naming the layers; `action="retrace"` instead rebuilds the
    train function so the change takes effect (unfreezing a variable the optimizer was not
    built with still needs a new optimizer: use DynamicOptimizer for that). Added to a later
    `fit`, it compares with what the optimizer was built with (or, for a DynamicOptimizer
    given the model, with the frozen set it applied).
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
        function = self.model.train_function
        if function is None:
            return
        traced = _keras_model.TRACED_WITH.get(function) or _untraced_record(self.model)
        if not traced:
            return
        now = _keras_model.trainable_flags(self.model)
        changed = sorted(path for path, flag in now.items() if traced.get(path, flag) != flag)
        if not changed:
            return
        if self.action == "retrace":
            _keras_model.TRACED_WITH.pop(function, None)
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
        getattr(layer, "path", layer.name): any(id(v) in built for v in layer._trainable_variables)
        for layer in model._flatten_layers(include_self=False)
        if layer._trainable_variables
    }
