"""The GAN class of another module trains d after freezing it for the combined model: right
under Keras 2, d trains nothing under Keras 3."""

import numpy as np
from gan_model import GAN

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
gan = GAN()
for _ in range(2):
    gan.train_step(noise, real, ones)  # trains: d ; g ; d ; g | K3: TFC005
