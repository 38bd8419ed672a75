"""The discriminator is trained in another module, after it was frozen for the combined
model: Keras 3 reads it frozen at that first training call."""

import keras
import numpy as np
from train_utils import fit_one_epoch

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
d.compile(optimizer="sgd", loss="mse")
d.trainable = False
z = keras.Input((2,))
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="sgd", loss="mse")
fit_one_epoch(d, real, ones)  # trains: d | K3: TFC005
gan.train_on_batch(noise, ones)  # trains: g
