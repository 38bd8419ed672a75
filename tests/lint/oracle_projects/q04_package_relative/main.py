"""A package re-exports its builder (relative imports inside): the Keras 3 idiom of toggling
d around its own step is right under Keras 3, and fine under Keras 2 too."""

import numpy as np
from gan import build_gan

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g, d, gan = build_gan()
d.trainable = True
d.train_on_batch(real, ones)  # trains: d
d.trainable = False
gan.train_on_batch(noise, ones)  # trains: g
