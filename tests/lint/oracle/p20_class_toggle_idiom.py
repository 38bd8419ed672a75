"""The toggle idiom in a class, trained through an instance."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")


class GAN:
    def __init__(self):
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
        self.discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
        self.discriminator.compile(optimizer="sgd", loss="mse")
        z = keras.Input((2,))
        self.combined = keras.Model(z, self.discriminator(self.generator(z)))
        self.combined.compile(optimizer="sgd", loss="mse")

    def train(self, steps):
        for _ in range(steps):
            self.discriminator.trainable = True
            self.discriminator.train_on_batch(real, ones)  # trains: d
            self.discriminator.trainable = False  # K2: TFC004
            self.combined.train_on_batch(noise, ones)  # trains: g


gan = GAN()
gan.train(2)
