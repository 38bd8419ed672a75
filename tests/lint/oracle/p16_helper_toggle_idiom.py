"""The toggle idiom through a make_trainable helper."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])


def make_trainable(net, value):
    net.trainable = value
    for layer in net.layers:
        layer.trainable = value


d.compile(optimizer="sgd", loss="mse")
z = keras.Input((2,))
gan = keras.Model(z, d(g(z)))
gan.compile(optimizer="sgd", loss="mse")
for _ in range(2):
    make_trainable(d, True)
    d.train_on_batch(real, ones)  # trains: d
    make_trainable(d, False)  # K2: TFC004
    gan.train_on_batch(noise, ones)  # trains: g
