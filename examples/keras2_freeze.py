"""Keras 2 (tf_keras): the trap (trainable=False after compile() is ignored), then the fix.

Keras 2 takes the trainable set at compile(): a freeze before the very first fit is ignored
too. tfcollections.keras.DynamicOptimizer wraps tf_keras optimizers, current and legacy.

Run: python examples/keras2_freeze.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

import tfcollections as tfc  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 8)).astype("float32")
Y = RNG.normal(size=(256, 1)).astype("float32")


def model() -> tf_keras.Model:
    tf_keras.utils.set_random_seed(0)
    return tf_keras.Sequential(
        [
            tf_keras.Input((8,)),
            tf_keras.layers.Dense(16, name="backbone"),
            tf_keras.layers.Dense(1, name="head"),
        ]
    )


def backbone_moved(m: tf_keras.Model, before: np.ndarray) -> bool:
    return not np.array_equal(before, m.get_layer("backbone").kernel.numpy())


def main() -> None:
    trapped = model()
    trapped.compile(optimizer="adam", loss="mse")
    trapped.get_layer("backbone").trainable = False  # ignored: compile() took the set
    before = trapped.get_layer("backbone").kernel.numpy().copy()
    trapped.fit(X, Y, epochs=1, verbose=0)
    print(
        f"the trap: backbone.trainable = False, backbone moved: {backbone_moved(trapped, before)}"
    )

    for inner in (tf_keras.optimizers.Adam(1e-3), tf_keras.optimizers.legacy.Adam(1e-3)):
        fixed = model()
        optimizer = tfc.keras.DynamicOptimizer(inner, model=fixed)
        fixed.compile(optimizer=optimizer, loss="mse")
        schedule = tfc.keras.FreezeSchedule(optimizer, {0: ["backbone"], 2: []})
        before = fixed.get_layer("backbone").kernel.numpy().copy()
        fixed.fit(X, Y, epochs=2, verbose=0, callbacks=[schedule])
        frozen = backbone_moved(fixed, before)
        fixed.fit(X, Y, epochs=3, initial_epoch=2, verbose=0, callbacks=[schedule])
        print(
            f"the fix with {type(optimizer).__name__}: epochs 0-1 frozen, backbone moved: "
            f"{frozen}; from epoch 2 unfrozen, moved: {backbone_moved(fixed, before)}"
        )


if __name__ == "__main__":
    main()
