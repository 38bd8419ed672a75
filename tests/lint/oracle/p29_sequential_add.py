"""The acgan idiom with the combined model built by Sequential.add."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
d.compile(optimizer="sgd", loss="mse")
d.trainable = False
gan = keras.Sequential()
gan.add(keras.Input((2,)))
gan.add(g)
gan.add(d)
gan.compile(optimizer="sgd", loss="mse")
for _ in range(2):
    d.train_on_batch(real, ones)  # trains: d | K3: TFC005
    gan.train_on_batch(noise, ones)  # trains: g
