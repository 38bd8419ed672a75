"""`import math` is the standard library's even with a project `math.py` beside the script:
the count check freezes nothing, and the freeze after fit() is ignored by both Kerases."""

import math

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
assert math.isfinite(d.count_params())
d.compile(optimizer="sgd", loss="mse")
d.fit(x, y, verbose=0)  # trains: d
d.trainable = False  # K2 K3: TFC004
d.fit(x, y, verbose=0)  # trains: -
