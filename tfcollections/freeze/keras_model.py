"""The frozen set made real on a Keras 3 or Keras 2 model: trainable flags and one train
function a pattern.

Keras differentiates `model.trainable_weights` as they were when the train function was traced;
gating only the updates still pays the backward pass of every frozen layer (MobileNetV2 with a
frozen backbone: 4.8x the step of the model compiled with `backbone.trainable = False`). So when
the optimizer knows its model, a frozen set is applied as a user freezing by hand would: each
frozen candidate's `trainable` is False, and a layer whose candidates are all frozen gets
`trainable = False` (a BatchNormalization then runs in inference mode). Each pattern's train
function is traced by Keras on its first use and kept here: switching back to a pattern seen
before swaps it in, with no trace. The optimizer stays built for every candidate, so unfreezing
never meets "Unknown variable". In a step traced for the current pattern (`pattern_for`) the
wrapped optimizer runs ungated, exactly as Keras runs it for a model compiled that way; the
step checks the flags still say that pattern. Any other step keeps the per-variable gates.
"""

from __future__ import annotations

import importlib
import weakref
from dataclasses import dataclass
from typing import Any

BATCHNORM_MODES = ("inference", "training")


@dataclass(frozen=True)
class KerasKind:
    """What differs between Keras 3 (`keras`) and Keras 2 (`tf_keras`) for the frozen set:
    where a layer keeps its own trainable variables, whether a variable's `trainable` can be
    set (Keras 3's can; a tf.Variable's is read-only), and the module itself."""

    major: int
    module: Any

    def own_trainable(self, layer: Any) -> list:
        return list(layer._trainable_variables if self.major == 3 else layer._trainable_weights)

    def sublayers(self, layer: Any) -> list:
        return list(layer._flatten_layers(include_self=False, recursive=False))

    def is_compiled(self, model: Any) -> bool:
        return bool(getattr(model, "compiled" if self.major == 3 else "_is_compiled", False))

    def serialize(self, optimizer: Any) -> dict:
        if self.major == 3:
            return self.module.saving.serialize_keras_object(optimizer)
        return self.module.optimizers.serialize(optimizer)

    def deserialize(self, config: dict, custom_objects: Any = None) -> Any:
        """An optimizer from its config (Keras 2 reads the family from the config itself)."""
        if self.major == 3:
            return self.module.saving.deserialize_keras_object(
                config, custom_objects=custom_objects
            )
        return self.module.optimizers.deserialize(config, custom_objects=custom_objects)


def kind_of(obj: Any) -> KerasKind | None:
    """The Keras `obj` (a model, layer, optimizer or callback) belongs to, read from its class:
    a process may hold both. None for anything else."""
    for cls in type(obj).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root in _MAJORS:
            return KerasKind(_MAJORS[root], importlib.import_module(root))
    return None


_MAJORS = {"keras": 3, "tf_keras": 2}

# The trainable flags each train function was traced with, by function: read by TrainableGuard.
TRACED_WITH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Layers whose `trainable = False` is a pattern's doing, not the user's.
_FROZEN_BY_PATTERN: weakref.WeakSet = weakref.WeakSet()


def layer_path(layer: Any) -> str:
    """Keras 3's layer path (`sequential/backbone`), else the layer's name (Keras 2)."""
    return getattr(layer, "path", layer.name)


def trainable_flags(model: Any) -> dict[str, bool]:
    """Every sublayer's `trainable`, by path: what a train function is traced with."""
    return {
        layer_path(layer): layer.trainable for layer in model._flatten_layers(include_self=False)
    }


class ModelPatterns:
    """Applies frozen patterns to `model` and keeps the train function traced for each."""

    def __init__(self, model: Any, candidates: list, batchnorm: str) -> None:
        kind = kind_of(model)
        assert kind is not None
        self._model = model
        self._candidates = candidates
        self._flags_variables = kind.major == 3  # a tf.Variable's `trainable` is read-only
        index = {id(variable): i for i, variable in enumerate(candidates)}
        self._leaves = []  # (layer, candidate indices, its other variables, keeps training)
        for layer in model._flatten_layers(include_self=False):
            if kind.sublayers(layer):  # a container: its leaves carry the flags
                continue
            variables = kind.own_trainable(layer)
            own = [index[id(v)] for v in variables if id(v) in index]
            if not own:
                continue
            keep_training = batchnorm == "training" and isinstance(
                layer, kind.module.layers.BatchNormalization
            )
            others = [(v, v.trainable) for v in variables if id(v) not in index]
            self._leaves.append((layer, own, others, keep_training))
            if kind.major == 3:
                _save_as_built(layer)
        self._tracing_train_step = False
        train_step = getattr(model.train_step, "unmarked", model.train_step)  # attached again

        def marked_train_step(data: Any) -> Any:
            self._tracing_train_step = True
            try:
                return train_step(data)
            finally:
                self._tracing_train_step = False

        marked_train_step.unmarked = train_step
        model.train_step = marked_train_step
        if kind.major == 2:
            self._save_model_as_built(model)
        self._kind = kind
        self._functions: dict[tuple[bool, ...], Any] = {}
        self._compiled = getattr(model, "_compile_config", None)
        self._current: tuple[bool, ...] | None = None
        self._expected: dict[str, bool] = {}
        self._frozen_layers: list = []  # the layers the current pattern freezes

    def pattern_for(self, variables: list) -> tuple[bool, ...] | None:
        """The current pattern when `variables` are exactly its unfrozen candidates in a step
        traced for it, else None. A step is for one pattern when Keras traces the model's
        train step (its function is swapped at every switch), or when something is frozen
        (the variables then came from `model.trainable_weights` as the pattern set them).
        Every candidate in another step, with nothing frozen, must serve every pattern."""
        if self._current is None or not (self._tracing_train_step or any(self._current)):
            return None
        unfrozen = {id(c) for c, frozen in zip(self._candidates, self._current) if not frozen}
        given = {id(variable) for variable in variables}
        return self._current if given == unfrozen and len(variables) == len(unfrozen) else None

    @property
    def expected_flags(self) -> dict[str, bool]:
        """The layers' trainable flags as the current pattern set them."""
        return self._expected

    def _save_model_as_built(self, model: Any) -> None:
        """Keras 2: `model.save()`, in any format, writes the layers the pattern froze with the
        flag they were built with, as Keras 3's `_save_as_built` does through `get_config`
        (Keras 2's SavedModel folder keeps the flag outside the config)."""
        save = getattr(model.save, "unwrapped", model.save)

        def save_as_built(*args: Any, **kwargs: Any) -> Any:
            frozen = list(self._frozen_layers)
            for layer in frozen:
                layer.trainable = True
            try:
                return save(*args, **kwargs)
            finally:
                for layer in frozen:
                    layer.trainable = False

        save_as_built.unwrapped = save
        model.save = save_as_built

    def use(self, frozen: list[bool]) -> None:
        """Make `frozen` (a flag per candidate) the model's trainable set and install its
        train function: the one kept for it, or a new one."""
        model = self._model
        pattern = tuple(frozen)
        compiled = getattr(model, "_compile_config", None)
        if compiled is not self._compiled:  # recompiled: the kept functions are stale
            self._functions.clear()
            self._compiled = compiled
        if self._current is not None and model.train_function is not None:
            function = self._functions.setdefault(self._current, model.train_function)
            TRACED_WITH.setdefault(function, self._expected)
        if pattern == self._current:
            return
        self._apply(pattern)
        self._current = pattern
        self._expected = trainable_flags(model)
        kept = self._functions.get(pattern)
        if kept is not None:
            model.train_function = kept
        elif self._kind.is_compiled(model):
            # A new function now, traced by Keras at its first call: `fit` reads
            # `model.train_function` at every step, so a switch from a callback works too.
            model.make_train_function(force=True)
        else:  # compile() will make one
            model.train_function = None
        if self._kind.major == 2:
            # Keras 2 trains with the flags `compile()` took: it puts them back on the layers
            # for the length of each fit and train_on_batch (RespectCompiledTrainableState).
            # Set past Keras 2's attribute tracking, in its own form.
            object.__setattr__(model, "_compiled_trainable_state", model._get_trainable_state())
        elif hasattr(model, "_compiled_trainable_state"):  # Keras 3: "changed since compile"
            model._compiled_trainable_state = {
                layer: layer.trainable for layer in model._flatten_layers()
            }

    def _apply(self, pattern: tuple[bool, ...]) -> None:
        self._frozen_layers = []
        for layer, own, others, keep_training in self._leaves:
            layer.trainable = keep_training or not all(pattern[i] for i in own)
            if layer.trainable:
                _FROZEN_BY_PATTERN.discard(layer)
            else:
                _FROZEN_BY_PATTERN.add(layer)
                self._frozen_layers.append(layer)
            if not self._flags_variables:
                continue  # Keras 2: a layer partly frozen keeps the optimizer's gates
            for i in own:
                self._candidates[i].trainable = not pattern[i]
            for variable, trainable in others:  # not the optimizer's: as they were
                variable.trainable = trainable


def _save_as_built(layer: Any) -> None:
    """Make `layer.get_config()` report `trainable: true` while a pattern (not the user) has
    it frozen. The frozen set is saved in the optimizer's flags; a saved model must load with
    every candidate trainable, or Keras builds the optimizer for fewer variables than it saved
    and cannot load its state (the wrapped optimizer's slots are skipped). After loading,
    `attach(model)` applies the saved frozen set again."""
    get_config = layer.get_config
    if getattr(get_config, "as_built", False):
        return

    def config_as_built() -> dict:
        config = get_config()
        if "trainable" in config and layer in _FROZEN_BY_PATTERN and not layer.trainable:
            config["trainable"] = True
        return config

    config_as_built.as_built = True
    layer.get_config = config_as_built
