"""Keras 3: the trap (trainable=False after fit is ignored), then the fix.

Run: python examples/keras_freeze.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfcollections as tfc  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 8)).astype("float32")
Y = RNG.normal(size=(256, 1)).astype("float32")


def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, name="backbone"),
            keras.layers.Dense(1, name="head"),
        ]
    )


def backbone_moved(m: keras.Model, before: np.ndarray) -> bool:
    return not np.array_equal(before, m.get_layer("backbone").kernel.numpy())


def main() -> None:
    trapped = model()
    trapped.compile(optimizer="adam", loss="mse")
    trapped.fit(X, Y, epochs=1, verbose=0)
    trapped.get_layer("backbone").trainable = False  # ignored: the train function is traced
    before = trapped.get_layer("backbone").kernel.numpy().copy()
    trapped.fit(X, Y, epochs=1, verbose=0)
    print(
        f"the trap: backbone.trainable = False, backbone moved: {backbone_moved(trapped, before)}"
    )

    fixed = model()
    # model=: a frozen layer costs no backward pass, as with trainable=False and a recompile
    optimizer = tfc.keras.DynamicOptimizer(keras.optimizers.Adam(1e-3), model=fixed)
    fixed.compile(optimizer=optimizer, loss="mse")
    schedule = tfc.keras.FreezeSchedule(optimizer, {0: ["backbone"], 2: []})
    before = fixed.get_layer("backbone").kernel.numpy().copy()
    fixed.fit(X, Y, epochs=2, verbose=0, callbacks=[schedule])
    print(
        f"the fix: epochs 0-1 with backbone frozen, backbone moved: {backbone_moved(fixed, before)}"
    )
    fixed.fit(X, Y, epochs=3, initial_epoch=2, verbose=0, callbacks=[schedule])
    print(f"from epoch 2 unfrozen (no recompile), backbone moved: {backbone_moved(fixed, before)}")


if __name__ == "__main__":
    main()
