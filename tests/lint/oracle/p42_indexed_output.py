"""SGAN: only the first output of the discriminator's call, taken by indexing."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
img = keras.Input((4,))
features = keras.layers.Dense(3, name="d")(img)
d = keras.Model(img, [keras.layers.Dense(1, name="valid")(features), features])
d.compile(optimizer="sgd", loss=["mse", None])
d.trainable = False
z = keras.Input((2,))
validity = d(g(z))[0]
combined = keras.Model(z, validity)
combined.compile(optimizer="sgd", loss="mse")
for _ in range(2):
    d.train_on_batch(real, [ones, np.zeros((8, 3), "float32")])  # trains: d, valid | K3: TFC005
    combined.train_on_batch(noise, ones)  # trains: g
