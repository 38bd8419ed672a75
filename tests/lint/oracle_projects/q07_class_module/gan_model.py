"""A GAN class in its own module, built the Keras 2 way in __init__."""

import keras
from utils import set_trainable


class GAN:
    def __init__(self):
        self.g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
        self.d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
        self.d.compile(optimizer="sgd", loss="mse")
        set_trainable(self.d, False)
        z = keras.Input((2,))
        self.combined = keras.Model(z, self.d(self.g(z)))
        self.combined.compile(optimizer="sgd", loss="mse")

    def train_step(self, noise, real, ones):
        self.d.train_on_batch(real, ones)
        self.combined.train_on_batch(noise, ones)
