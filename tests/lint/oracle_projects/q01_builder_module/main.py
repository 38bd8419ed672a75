"""The Keras 2 GAN idiom, built in another module: Keras 3 reads d's set at its first
training call, after the builder froze it."""

import numpy as np
from gan_builder import build

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g, d, gan = build()
for _ in range(2):
    d.train_on_batch(real, ones)  # trains: d | K3: TFC005
    gan.train_on_batch(noise, ones)  # trains: g
