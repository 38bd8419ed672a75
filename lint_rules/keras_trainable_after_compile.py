"""TFC004 keras-trainable-after-compile."""

from __future__ import annotations

import libcst as cst

from tfcollections import tfnames
from tfcollections.lint import patterns
from tfcollections.lint.flow import Place, can_follow
from tfcollections.lint.rule import LintRule

_EMPTY = cst.Module(body=[])


class KerasTrainableAfterCompile(LintRule):
    """`.trainable` set after `model.compile()` and trained on without compiling again.

    Keras builds its train function from the trainable weights it sees when it traces, after
    `compile()`. Setting `layer.trainable = False` (or True) and then calling `model.fit()`,
    `train_on_batch()` or `fit_generator()` without a new `model.compile()` is silently ignored
    once the model has trained: Keras 3 keeps training the frozen layer, with no warning. Freeze
    with `tfcollections.keras.DynamicOptimizer` (no recompile, no retrace), or call
    `model.compile()` again after changing `trainable` (a string optimizer then starts afresh).
    """

    code = "TFC004"
    name = "keras-trainable-after-compile"
    MESSAGE = (
        "trainable set after compile() and trained on without compiling again: Keras keeps the "
        "trainable set it traced, so the change is silently ignored; freeze with "
        "tfcollections.keras.DynamicOptimizer, or call compile() again after changing trainable"
    )
    PRECHECK = ((b"trainable",), (b"compile",), (b"fit", b"train_on_batch"))

    VALID = [
        # Freeze, then compile, then fit: the usual transfer-learning recipe.
        """
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
""",
        # A recompile after the toggle.
        """
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3)
base.trainable = True
model.compile(
    optimizer=keras.optimizers.Adam(1e-5),
    loss="mse",
)
model.fit(x, y, epochs=3)
""",
        # No training after the toggle; another model trained after it; `re.compile`.
        """
import re
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
base.trainable = False
model.save("frozen.keras")
pattern = re.compile("x")
other.fit(x, y)
""",
    ]

    INVALID = [
        # Between compile() and the first fit(): Keras 3 happens to honour it, Keras 2 did not,
        # and it breaks as soon as a fit() moves above it; Keras asks for a recompile.
        """
model.compile(optimizer="adam", loss="mse")
base.trainable = False  # <- TFC004
model.fit(x, y)
""",
        """
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3)
model.get_layer("backbone").trainable = True  # <- TFC004
model.fit(x, y, epochs=3)
""",
        """
def fine_tune(self, data):
    self.model.compile(optimizer="adam", loss="mse")
    for layer in self.model.layers[:-2]:
        layer.trainable = (  # <- TFC004
            False
        )
    self.model.train_on_batch(*data)
""",
    ]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self._compiles: list[tuple[str, Place]] = []
        self._trainings: list[tuple[str, Place]] = []
        self._toggles: list[tuple[cst.CSTNode, Place]] = []

    def visit_Call(self, node: cst.Call) -> None:
        target = patterns.receiver(node)
        if target is None or not self.flow.is_object(target):
            return
        name = patterns.method_name(node)
        if name in tfnames.KERAS_COMPILE_METHODS:
            self._compiles.append((_EMPTY.code_for_node(target), self.flow.place()))
        elif name in tfnames.KERAS_TRAINING_METHODS:
            self._trainings.append((_EMPTY.code_for_node(target), self.flow.place()))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Attribute) and target.target.attr.value == "trainable":
                self._toggles.append((node, self.flow.place()))
                return

    def finish(self) -> None:
        for node, toggle in self._toggles:
            if any(self._trained_without_recompile(model, toggle) for model, _ in self._compiles):
                self.report(node)

    def _trained_without_recompile(self, model: str, toggle: Place) -> bool:
        compiles = [place for name, place in self._compiles if name == model]
        if not any(can_follow(place, toggle) for place in compiles):
            return False
        return any(
            name == model
            and can_follow(toggle, training)
            and not any(
                can_follow(toggle, again)
                and can_follow(again, training)
                and toggle.order < again.order < training.order
                for again in compiles
            )
            for name, training in self._trainings
        )
