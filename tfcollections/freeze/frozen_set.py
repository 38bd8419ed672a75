"""The freeze API every Keras wrapper shares: requests, one bool flag per candidate, patterns.

A wrapper (Keras 3's, and Keras 2's for its two optimizer families) provides the candidates in
the wrapped optimizer's own order, a way to add a flag variable, and a way to build; this mixin
turns freeze / unfreeze / set_frozen requests into flag values (queued until the optimizer is
built), reads and writes all flags in one call each, and, given the model, applies each frozen
set to it (`keras_model.ModelPatterns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tfcollections._tf import tf as _tensorflow
from tfcollections.errors import TfCollectionsError, TrainOpStateError
from tfcollections.freeze import keras_model as _keras_model
from tfcollections.freeze import targets as _targets

tf = _tensorflow()


def variable_path(variable: Any) -> str:
    """Keras 3's variable path (`sequential/base/kernel`), else the TF name (`base/kernel:0`)."""
    return getattr(variable, "path", None) or variable.name


def _after(kind: str, state: list[bool], chosen: list[bool]) -> list[bool]:
    """The frozen flags after a freeze / unfreeze / set request naming `chosen`."""
    if kind == "set":
        return list(chosen)
    return [(kind == "freeze") if hit else old for old, hit in zip(state, chosen)]


def _aliases(candidate: Any) -> tuple:
    """A candidate (a Keras 3 variable) and the TensorFlow variable it wraps."""
    return (candidate, getattr(candidate, "value", candidate))


class FrozenSet:
    """Mixed into a Keras optimizer wrapper (see the module docstring), before the Keras
    optimizer class. The host sets `KERAS` and `inner_optimizer`, calls `_init_frozen_set()` in
    `__init__`
    and `_create_flags()` when it builds, and implements `_candidates`, `_is_built`,
    `_add_flag`, `_build_for` and `_wrapper_name`."""

    KERAS: ClassVar[_keras_model.KerasKind]
    """The Keras the host wraps optimizers of."""

    def _init_frozen_set(self) -> None:
        self._pending: list[tuple[str, Any]] = []
        self._frozen_flags: list = []
        self._patterns: _keras_model.ModelPatterns | None = None

    # -- what the host provides ---------------------------------------------------------

    def _candidates(self) -> list:
        """The variables the wrapped optimizer was built for, in its own order."""
        raise NotImplementedError

    def _is_built(self) -> bool:
        raise NotImplementedError

    def _add_flag(self, index: int, value: bool) -> Any:
        """A new bool optimizer variable (saved with the optimizer) holding `value`."""
        raise NotImplementedError

    def _build_for(self, variables: Sequence[Any]) -> None:
        raise NotImplementedError

    def _wrapper_name(self) -> str:
        raise NotImplementedError

    # -- the wrapped optimizer's step and learning rate ----------------------------------

    inner_optimizer: Any

    @property
    def iterations(self) -> Any:
        """The wrapped optimizer's step counter: it advances every step, frozen or not."""
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, variable: Any) -> None:
        self.inner_optimizer.iterations = variable

    @property
    def learning_rate(self) -> Any:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        self.inner_optimizer.learning_rate = learning_rate

    # -- configuration -------------------------------------------------------------------

    def get_config(self) -> dict:
        """`attached`: the model's frozen layers were saved with the trainable flag they were
        built with (see `attach`); read by `tfcollections audit`, ignored when loading."""
        return {
            "name": self._wrapper_name(),
            "inner_optimizer": self.KERAS.serialize(self.inner_optimizer),
            "attached": self._patterns is not None,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: Any = None) -> Any:
        config = dict(config)
        config.pop("attached", None)
        inner = cls.KERAS.deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)

    # -- the freeze API -----------------------------------------------------------------

    def attach(self, model: Any, *, batchnorm: str = "inference") -> None:
        """Apply every frozen set to `model` as `trainable = False` would, with a train
        function kept per pattern: frozen layers then cost no backward pass, and a frozen
        BatchNormalization runs in inference mode (`batchnorm="training"` keeps it
        normalizing with batch statistics and updating its moving mean and variance).

        The first use of a pattern costs Keras one trace; a pattern seen before costs a swap.
        Builds the optimizer for `model.trainable_variables` now if it is not built. Raises
        TfCollectionsError for a model that is not built, of the other Keras, or that the
        optimizer was not built for.
        """
        if batchnorm not in _keras_model.BATCHNORM_MODES:
            raise TfCollectionsError(
                f"batchnorm must be one of {_keras_model.BATCHNORM_MODES}, got {batchnorm!r}"
            )
        keras_module = self.KERAS.module
        if not isinstance(model, keras_module.Model) or not model.built or not model.weights:
            raise TfCollectionsError(
                f"attach takes a built {keras_module.__name__} Model, got "
                f"{type(model).__module__}.{type(model).__name__}: call it on a batch or "
                "model.build(input_shape) first"
            )
        if not self._is_built():
            self._build_for(model.trainable_variables)
        in_model = {id(variable) for variable in model.weights}
        if not any(id(candidate) in in_model for candidate in self._candidates()):
            raise TfCollectionsError(
                f"{self._wrapper_name()} was built for the variables of another model than "
                f"{model.name!r}"
            )
        self._patterns = _keras_model.ModelPatterns(model, self._candidates(), batchnorm)
        self._patterns.use(self._flag_values())

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
        if not self._is_built():
            raise TrainOpStateError(
                "the optimizer is built at the first training step: nothing is frozen yet"
            )
        return [v for v, flag in zip(self._candidates(), self._flag_values()) if flag]

    @property
    def candidates(self) -> list:
        return self._candidates() if self._is_built() else []

    def _request(self, kind: str, targets: Any) -> None:
        if not self._is_built():
            self._pending.append((kind, targets))  # building starts the flags from these
            return
        chosen = self._select(targets)
        new = chosen if kind == "set" else _after(kind, self._flag_values(), chosen)
        self._write_flags(tf.constant(new, tf.bool))
        if self._patterns is not None:
            self._patterns.use(new)

    def _select(self, targets: Any) -> list[bool]:
        layer_class = self.KERAS.module.layers.Layer

        def expand(target: Any) -> list | None:  # a layer or model stands for its weights
            return list(target.weights) if isinstance(target, layer_class) else None

        return _targets.select(
            targets, self._candidates(), variable_path, expand=expand, aliases=_aliases
        )

    # -- flags ---------------------------------------------------------------------------

    def _create_flags(self) -> None:
        """One flag per candidate, starting from the requests made before building."""
        state = [False] * len(self._candidates())
        for kind, targets in self._pending:
            state = _after(kind, state, self._select(targets))
        self._pending.clear()
        self._frozen_flags = [self._add_flag(index, flag) for index, flag in enumerate(state)]
        flags = self._frozen_flags
        # One call reads or writes every flag: a switch costs one function call, not one eager
        # op per variable. Traced once, on first use, outside the training step.
        self._read_flags = tf.function(lambda: tf.stack([_value(flag) for flag in flags]))
        self._write_flags = tf.function(
            lambda values: [
                flag.assign(v) for flag, v in zip(flags, tf.unstack(values, len(flags)))
            ],
            input_signature=[tf.TensorSpec([len(flags)], tf.bool)],
        )

    def _flag_values(self) -> list[bool]:
        return [bool(flag) for flag in self._read_flags().numpy()] if self._frozen_flags else []

    def _stacked_flags(self) -> Any:
        """Every flag as one tensor, inside a step."""
        return tf.stack([_value(flag) for flag in self._frozen_flags])

    def _check_pattern(self, pattern: tuple[bool, ...]) -> None:
        """In a step traced for `pattern`: stop if the flags changed behind the optimizer's
        back since (a restored checkpoint). A control dependency on the check would change
        how TF fuses the update's math, so it is an assert alone."""
        tf.debugging.assert_equal(
            self._stacked_flags(),
            tf.constant(pattern),
            message=f"{self._wrapper_name()}: the frozen flags changed without freeze/unfreeze/"
            "set_frozen (a restored checkpoint?) since this step was traced: call "
            "attach(model) again, or retrace your own train function",
        )

    def _reapply_patterns(self) -> None:
        """After loading flags: the model's trainable set follows them again."""
        if self._patterns is not None:
            self._patterns.use(self._flag_values())


def _value(flag: Any) -> Any:
    """A flag as TensorFlow sees it: Keras 3 variables wrap a tf.Variable in `.value`; a
    tf.Variable's own `value` is a method."""
    inner = getattr(flag, "value", None)
    return flag if inner is None or callable(inner) else inner


def no_output(function: Any, *args: Any) -> Any:
    """Run an update inside a `tf.cond` branch, which must return the same on both sides."""
    function(*args)
    return tf.no_op()


def gated_weight_decay(inner: Any, variables: Sequence[Any], frozen_of: Any) -> None:
    """TensorFlow's own weight decay (AdamW, `weight_decay=`), per variable as the Keras
    optimizers run it under a distribution strategy, skipped for frozen variables."""

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
            distribution.extended.update(_value(variable), decay, group=False)

    tf.__internal__.distribute.interim.maybe_merge_call(
        per_variable, inner._distribution_strategy, variables
    )
