"""TFC005 keras-model-trains-frozen."""

from __future__ import annotations

from tfcollections.lint import keras_flow


class KerasModelTrainsFrozen(keras_flow.KerasFlowRule):
    """A model trained while it was frozen when Keras read its trainable set: it trains nothing.

    Keras 2 took the set at `compile()`; Keras 3 reads it at the first training call after
    `compile()`. Keras's own GAN idiom, `d.compile(); d.trainable = False; gan = Model(z, d(g(z)));
    gan.compile()` and then `d.train_on_batch()` in the loop, is right under Keras 2 and under
    Keras 3 the discriminator never trains (the only sign is a "no trainable weights" warning).
    Under any Keras, `m.trainable = False` before `m.compile()` and `m.fit()` trains nothing.
    Reported at the training call. Set `d.trainable = True` before its first training call (and
    False again before the combined model's), or freeze per model with
    `tfcollections.keras.DynamicOptimizer`.
    """

    code = "TFC005"
    name = "keras-model-trains-frozen"
    MESSAGE = (
        "under Keras {keras}, {model} is frozen when Keras reads its trainable set {when}, so "
        "this call trains nothing{contrast}; set {model}.trainable = True before {before}, or "
        "freeze per model with tfcollections.keras.DynamicOptimizer"
    )
    PRECHECK = ((b"trainable",), (b"fit", b"train_on_batch"))

    VALID = [
        # Keras 2 (tf_keras): d's compile() took its set while it was trainable.
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
        # Keras 3: unfrozen before each of its own training calls.
        """
import keras
d.compile(optimizer="adam", loss="mse")
d.trainable = False
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    d.trainable = True
    d.train_on_batch(real, ones)
    d.trainable = False
    gan.train_on_batch(noise, ones)
""",
        # Frozen, then unfrozen before the compile that matters; a frozen part is not the model.
        """
import keras
model.trainable = False
model.trainable = True
base.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
""",
    ]

    INVALID = [
        # Keras 3, Keras's mnist_acgan idiom: d's first train_on_batch sees it frozen.
        """
import keras
d.compile(optimizer="adam", loss="mse")
d.trainable = False
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    d.train_on_batch(real, ones)  # <- TFC005
    gan.train_on_batch(noise, ones)
""",
        # Any Keras: frozen before compile() and fit().
        """
import tf_keras as keras
model.trainable = False
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)  # <- TFC005
""",
        # The same idiom in a class: __init__ builds, train() trains (the Keras-GAN layout).
        """
import keras
class GAN:
    def __init__(self):
        self.discriminator = self.build_discriminator()
        self.discriminator.compile(loss="binary_crossentropy", optimizer="adam")
        self.discriminator.trainable = False
        validity = self.discriminator(self.generator(z))
        self.combined = keras.Model(z, validity)
        self.combined.compile(loss="binary_crossentropy", optimizer="adam")
    def build_discriminator(self):
        return keras.Sequential([keras.layers.Dense(1)])
    def train(self, epochs):
        for epoch in range(epochs):
            self.discriminator.train_on_batch(imgs, valid)  # <- TFC005
            self.combined.train_on_batch(noise, valid)
""",
    ]

    def report_from(self, analysis: keras_flow.KerasFlow) -> None:
        keras3 = analysis.keras == 3
        for frozen in analysis.frozen.values():
            message = self.MESSAGE.format(
                keras=analysis.keras,
                model=frozen.model,
                when=analysis.when_read(),
                contrast=" (Keras 2 took the set at compile(); Keras 3 does not)" if keras3 else "",
                before="its first training call after compile()" if keras3 else "compile()",
            )
            self.report(frozen.node, message)
