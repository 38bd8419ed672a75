"""ACGAN: the discriminator's two outputs unpacked, the combined model built over them."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
img = keras.Input((4,))
features = keras.layers.Dense(3, name="d")(img)
valid_head = keras.layers.Dense(1, name="valid")(features)
label_head = keras.layers.Dense(2, name="label")(features)
d = keras.Model(img, [valid_head, label_head])
d.compile(optimizer="sgd", loss=["mse", "mse"])
d.trainable = False
z = keras.Input((2,))
valid, label = d(g(z))
combined = keras.Model(z, [valid, label])
combined.compile(optimizer="sgd", loss=["mse", "mse"])
for _ in range(2):
    d.train_on_batch(real, [ones, twos])  # trains: d, valid, label | K3: TFC005
    combined.train_on_batch(noise, [ones, twos])  # trains: g
