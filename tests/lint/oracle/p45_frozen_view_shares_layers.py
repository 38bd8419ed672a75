"""A frozen view over d's tensors: it shares d's layers, so freezing it freezes them."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
d.compile(optimizer="sgd", loss="mse")
frozen_d = keras.Model(d.inputs, d.outputs)
frozen_d.trainable = False
z = keras.Input((2,))
gan = keras.Model(z, frozen_d(g(z)))
gan.compile(optimizer="sgd", loss="mse")
for _ in range(2):
    d.train_on_batch(real, ones)  # trains: d | K3: TFC005
    gan.train_on_batch(noise, ones)  # trains: g
