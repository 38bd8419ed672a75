"""The Keras 3 GAN idiom with the toggles in a helper module: d is made trainable for its own
first step and frozen for the combined model's: right under both Kerases."""

import keras
import numpy as np
from helpers import set_trainable

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
d.compile(optimizer="sgd", loss="mse")
set_trainable(d, False)
z = keras.Input((2,))
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="sgd", loss="mse")
for _ in range(2):
    set_trainable(d, True)
    d.train_on_batch(real, ones)  # trains: d
    set_trainable(d, False)
    gan.train_on_batch(noise, ones)  # trains: g
