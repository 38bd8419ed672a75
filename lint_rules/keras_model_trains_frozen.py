"""TFC005 keras-model-trains-frozen."""

from __future__ import annotations

from tfcollections.lint import keras_fixes, keras_flow
from tfcollections.lint.analysis.summaries import elsewhere


class KerasModelTrainsFrozen(keras_flow.KerasFlowRule):
    """A model trained on a trainable set it was not meant to have: frozen, or another model's.

    Keras 2 took the set at `compile()`; Keras 3 reads it at the first training call after
    `compile()`. Keras's own GAN idiom, `d.compile(); d.trainable = False; gan = Model(z, d(g(z)));
    gan.compile()` and then `d.train_on_batch()` in the loop, is right under Keras 2 and under
    Keras 3 the discriminator never trains (the only sign is a "no trainable weights" warning).
    The same holds when the combined model is built over `d`'s outputs unpacked
    (`valid, label = d(img)`), when `d` comes from a builder or from `load_model`, and when a
    frozen view over `d`'s tensors (`Model(d.inputs, d.outputs)`) shares its layers. Under any
    Keras, `m.trainable = False` before `m.compile()` and `m.fit()` trains nothing. Under Keras 3
    a model compiled before the toggles meant for the next model (WGAN-GP: `critic_model`
    compiled with `g` frozen, then `c.trainable = False; g.trainable = True` for
    `generator_model`) trains with the next model's set: its step trains `g`, never `c`.
    Reported at the training call. Set the flags the model needs before its first training
    call (and back before the other model's), or freeze per model with
    `tfcollections.keras.DynamicOptimizer`.
    """

    code = "TFC005"
    name = "keras-model-trains-frozen"
    MESSAGE = (
        "under Keras {keras}, {model} is frozen{by} when Keras reads its trainable set {when}, "
        "so this call trains nothing{contrast}; set {model}.trainable = True before {before}, "
        "or freeze per model with tfcollections.keras.DynamicOptimizer"
    )
    MESSAGE_OTHER_SET = (
        "under Keras 3, {model} reads its trainable set at its first training call, after "
        "{changes} made for {target}: this call trains with {target}'s set, not the one {model} "
        "was compiled with (Keras 2 took that at compile()); set them back before {model}'s "
        "training calls, or freeze per model with tfcollections.keras.DynamicOptimizer"
    )
    KERAS = {
        2: "The set is taken at `compile()`: `d.compile(); d.trainable = False; gan.compile()` "
        "trains `d` in `d.train_on_batch()` and freezes it in `gan`'s (Keras's own GAN idiom).",
        3: "The set is read at each model's first training call after `compile()`: the same "
        "code makes `d`'s first `train_on_batch()` read `d` frozen, and `d` never trains.",
    }
    FIX = (
        "unsafe",
        "Keras 3 only: `d.trainable = True` before `d`'s training call and "
        "`d.trainable = False` before the next training call of another model in the same "
        "block (the combined model). Offered when `d` itself was frozen and that second call "
        "exists; otherwise no fix.",
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
        # One name rebound to a new model over the frozen one: the new model trains its head.
        """
import keras
model = keras.applications.MobileNetV2(include_top=False, weights=None)
model.trainable = False
model = keras.Model(model.input, keras.layers.Dense(1)(model.output))
model.compile(optimizer="adam", loss="mse")
model.fit(x, y)
""",
        # Keras 2: the combined model over d's unpacked outputs holds d; d's compile() came
        # first. A builder returning the models; load_model compiles what it loads.
        """
import tf_keras as keras
def build():
    d = keras.models.load_model("d.keras")
    d.trainable = False
    valid, label = d(g(z))
    combined = keras.Model(z, [valid, label])
    combined.compile(optimizer="adam", loss="mse")
    return d, combined
d, combined = build()
for step in range(1000):
    d.train_on_batch(real, ones)
    combined.train_on_batch(noise, ones)
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
        # Keras 3: a frozen view over d's tensors shares d's layers.
        """
import keras
d.compile(optimizer="adam", loss="mse")
frozen_d = keras.Model(d.inputs, d.outputs)
frozen_d.trainable = False
gan = keras.Model(z, frozen_d(g(z)))
gan.compile(optimizer="adam", loss="mse")
d.train_on_batch(real, ones)  # <- TFC005
""",
        # Keras 3, WGAN-GP: critic_model reads the toggles made for generator_model.
        """
import keras
g.trainable = False
critic_model = keras.Model([real_in, z], [c(real_in), c(g(z))])
critic_model.compile(optimizer="adam", loss=["mse", "mse"])
c.trainable = False
g.trainable = True
generator_model = keras.Model(z, c(g(z)))
generator_model.compile(optimizer="adam", loss="mse")
for step in range(1000):
    critic_model.train_on_batch([real, noise], [ones, ones])  # <- TFC005
    generator_model.train_on_batch(noise, ones)
""",
    ]

    FIXED = [
        # Keras 3's GAN: d trainable for its own step, frozen again for the combined model's
        # (unsafe: d starts to train), in the loop, comments kept.
        (
            """
import keras
d.compile(optimizer="adam", loss="mse")
d.trainable = False
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    # the discriminator's step
    d_loss = d.train_on_batch(real, ones)
    g_loss = gan.train_on_batch(noise, ones)  # the generator's
""",
            """
import keras
d.compile(optimizer="adam", loss="mse")
d.trainable = False
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="adam", loss="mse")
for step in range(1000):
    # the discriminator's step
    d.trainable = True
    d_loss = d.train_on_batch(real, ones)
    d.trainable = False
    g_loss = gan.train_on_batch(noise, ones)  # the generator's
""",
        ),
    ]

    def report_from(self, analysis: keras_flow.KerasFlow) -> None:
        keras3 = analysis.keras == 3
        for frozen in analysis.frozen.values():
            if frozen.target:
                message = self.MESSAGE_OTHER_SET.format(
                    model=frozen.model, changes=", ".join(frozen.changes), target=frozen.target
                )
            else:
                message = self.MESSAGE.format(
                    keras=analysis.keras,
                    model=frozen.model,
                    by=f" (by {frozen.changes[0]})" if frozen.changes else "",
                    when=analysis.when_read(),
                    contrast=" (Keras 2 took the set at compile(); Keras 3 does not)"
                    if keras3
                    else "",
                    before="its first training call after compile()" if keras3 else "compile()",
                )
            fix = None
            if keras3 and not frozen.target and not frozen.changes:  # d itself was frozen
                fix = keras_fixes.toggle_around(frozen.node, frozen.model, self.tree())
            self.report(frozen.node, message + elsewhere(frozen.cause, "frozen"), fix)
