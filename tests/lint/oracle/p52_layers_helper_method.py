"""The same helper as a method of the GAN class, over self.discriminator's layers."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")


class GAN:
    def __init__(self):
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
        self.discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
        self.discriminator.compile(optimizer="sgd", loss="mse")
        self.set_trainable(self.discriminator, False)
        z = keras.Input((2,))
        self.gan = keras.Model(z, self.discriminator(self.generator(z)))
        self.gan.compile(optimizer="sgd", loss="mse")

    def set_trainable(self, net, value):
        net.trainable = value
        for layer in net.layers:
            layer.trainable = value

    def train(self, steps):
        for _ in range(steps):
            self.set_trainable(self.discriminator, True)
            self.discriminator.train_on_batch(real, ones)  # trains: d
            self.set_trainable(self.discriminator, False)
            self.gan.train_on_batch(noise, ones)  # trains: g


GAN().train(2)
