"""TFC004 keras-trainable-ignored."""

from __future__ import annotations

from tfcollections.lint import keras_fixes, keras_flow
from tfcollections.lint.analysis.summaries import elsewhere


class KerasTrainableIgnored(keras_flow.KerasFlowRule):
    """`.trainable` set after Keras read the trainable set of a model that trains on it.

    Keras 2 (`tf_keras`, tf.keras up to TensorFlow 2.15) takes a model's trainable set at
    `compile()`; Keras 3 reads it at the first training call (`fit`, `train_on_batch`,
    `fit_generator`) after `compile()`. A change made after that moment is ignored until the
    model is compiled again: the layer keeps training (or stays frozen) with no warning. So
    `compile(); x.trainable = False; fit()` is ignored under Keras 2 and honoured under Keras 3,
    and `compile(); fit(); x.trainable = True; fit()` is ignored under both. Followed along every
    path (branches, loops whose first iteration differs, same-file helpers and methods), for each
    model that may contain `x`, under the Keras the file uses (`--keras`, `[tool.tfc-lint] keras`).
    A toggle that another model reads when it is compiled (the Keras 2 GAN idiom) is not
    reported. Freeze with `tfcollections.keras.DynamicOptimizer` (no recompile, no retrace), or
    call `compile()` again after changing `trainable`.
    """

    code = "TFC004"
    name = "keras-trainable-ignored"
    MESSAGE = (
        "under Keras {keras}, {model} read its trainable set {when}, before this change: "
        "{model} trains on as if it had not happened; call {model}.compile() again after it, "
        "or freeze with tfcollections.keras.DynamicOptimizer"
    )
    PRECHECK = ((b"trainable",), (b"fit", b"train_on_batch"))
    KERAS = {
        2: "A model's trainable set is taken at `compile()`: any `.trainable` change after it "
        "is ignored until the next `compile()`.",
        3: "The set is read at the first training call after `compile()`: a change between "
        "`compile()` and that call is honoured, a change after it is ignored.",
    }
    FIX = (
        "unsafe",
        "`model.compile(...)` again right after the change (after the loop, when the "
        "change is in a loop that only sets flags), with the arguments of the compile() that "
        "took the set, as written. Offered only when that compile() is a statement of the same "
        "function (or a method of the same class, through `self`) and its arguments make the "
        "same thing again: literals, and names and calls of imported modules (a new optimizer "
        "each time, never a shared optimizer object). Compiling again resets the optimizer's "
        "state; `tfcollections.keras.DynamicOptimizer` keeps it.",
    )

    VALID = [
        # Freeze, then compile, then fit: the usual transfer-learning recipe.
        """
import keras
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
""",
        # A recompile after the toggle, on every path.
        """
import keras
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3)
base.trainable = True
if small:
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
else:
    model.compile(optimizer=keras.optimizers.SGD(1e-4), loss="mse")
model.fit(x, y, epochs=3)
""",
        # No training after the toggle; a model that cannot hold `head` trains; `re.compile`.
        """
import re
import keras
body = keras.layers.Dense(4)
head = keras.layers.Dense(1)
other = keras.Sequential([body])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
base.trainable = False
model.save("frozen.keras")
pattern = re.compile("x")
other.compile(optimizer="adam", loss="mse")
other.fit(x, y)
head.trainable = False
other.fit(x, y)
""",
        # Keras 3 reads the set at the first fit after compile(): this freeze is honoured.
        """
import keras
model.compile(optimizer="adam", loss="mse")
base.trainable = False
model.fit(x, y)
""",
        # Keras 3, toggles around each model's training call: each model's first call reads
        # the state that every later toggle restores.
        """
import keras
d.compile(optimizer="adam", loss="mse")
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    d.trainable = True
    d.train_on_batch(real, ones)
    d.trainable = False
    gan.train_on_batch(noise, ones)
""",
        # Keras 2 (tf_keras), Keras's own mnist_acgan idiom: `gan.compile()` reads the freeze,
        # `d` keeps the trainable set its own compile() took.
        """
import tf_keras as keras
d.compile(optimizer="adam", loss="mse")
d.trainable = False
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    d.train_on_batch(real, ones)
    gan.train_on_batch(noise, ones)
""",
        # The helper sets a value it is given: unknown here, so never reported.
        """
import keras
def set_trainable(net, value):
    net.trainable = value
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
set_trainable(base, flag)
model.fit(x, y)
""",
    ]

    INVALID = [
        # Keras 2: compile() took the set; the freeze before the first fit is ignored.
        """
import tf_keras as keras
model.compile(optimizer="adam", loss="mse")
base.trainable = False  # <- TFC004
model.fit(x, y)
""",
        # Fine-tuning without a recompile: ignored under both versions.
        """
import keras
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3)
model.get_layer("backbone").trainable = False  # <- TFC004
base.trainable = True  # <- TFC004
model.fit(x, y, epochs=3)
""",
        # A loop whose later iterations differ from the first.
        """
import keras
base.trainable = False
model.compile(optimizer="adam", loss="mse")
for epoch in range(10):
    if epoch == 5:
        base.trainable = (  # <- TFC004
            True
        )
    model.fit(x, y)
""",
        # Keras 2, gan compiled while d was trainable, d toggled around the calls: gan trains d
        # too. Through a helper; reported at the call.
        """
import tf_keras as keras
def make_trainable(net, value):
    net.trainable = value
    for layer in net.layers:
        layer.trainable = value
d.compile(optimizer="adam", loss="mse")
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    make_trainable(d, True)
    d.train_on_batch(real, ones)
    make_trainable(d, False)  # <- TFC004
    gan.train_on_batch(noise, ones)
""",
        # A method compiles; another toggles and trains (Keras 2: compile() took the set).
        """
import tf_keras as keras
class Tuner:
    def build(self):
        self.model.compile(optimizer="adam", loss="mse")
    def fine_tune(self, data):
        self.build()
        for layer in self.model.layers[:-2]:
            layer.trainable = False  # <- TFC004
        self.model.train_on_batch(*data)
""",
    ]

    FIXED = [
        # Compile again after the change, with compile()'s arguments as written (unsafe: the
        # layers start to train). After a loop that only sets flags: once, not per layer.
        (
            """
import keras
base.trainable = False
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
model.fit(x, y, epochs=3)
for layer in base.layers[-4:]:
    layer.trainable = True  # unfreeze the top
model.fit(x, y, epochs=3)
""",
            """
import keras
base.trainable = False
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
model.fit(x, y, epochs=3)
for layer in base.layers[-4:]:
    layer.trainable = True  # unfreeze the top
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
model.fit(x, y, epochs=3)
""",
        ),
        # Keras 2, gan compiled while d was trainable: gan compiled again with d frozen (a new
        # optimizer each time it is written as a call).
        (
            """
import tf_keras as keras
d.compile(optimizer="adam", loss="mse")
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
for step in range(1000):
    d.trainable = True
    d.train_on_batch(real, ones)
    d.trainable = False
    gan.train_on_batch(noise, ones)
""",
            """
import tf_keras as keras
d.compile(optimizer="adam", loss="mse")
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
for step in range(1000):
    d.trainable = True
    d.train_on_batch(real, ones)
    d.trainable = False
    gan.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    gan.train_on_batch(noise, ones)
""",
        ),
    ]

    def report_from(self, analysis: keras_flow.KerasFlow) -> None:
        for ignored in analysis.ignored.values():
            message = self.MESSAGE.format(
                keras=analysis.keras, model=ignored.model, when=analysis.when_read()
            )
            read = elsewhere(ignored.read_at, f"{ignored.model} read its set")
            fix = keras_fixes.recompile_after(
                ignored.node, ignored.compiled_at, self.flow, self.tree()
            )
            self.report(ignored.node, message + read, fix)
