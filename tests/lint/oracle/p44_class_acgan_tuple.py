"""The Keras-GAN ACGAN layout: builders in methods, outputs unpacked in __init__."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")


class ACGAN:
    def __init__(self):
        self.discriminator = self.build_discriminator()
        self.discriminator.compile(optimizer="sgd", loss=["mse", "mse"])
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
        z = keras.Input((2,))
        self.discriminator.trainable = False
        valid, target_label = self.discriminator(self.generator(z))
        self.combined = keras.Model(z, [valid, target_label])
        self.combined.compile(optimizer="sgd", loss=["mse", "mse"])

    def build_discriminator(self):
        img = keras.Input((4,))
        features = keras.layers.Dense(3, name="d")(img)
        validity = keras.layers.Dense(1, name="valid")(features)
        label = keras.layers.Dense(2, name="label")(features)
        return keras.Model(img, [validity, label])

    def train(self, steps):
        for _ in range(steps):
            d = self.discriminator
            d.train_on_batch(real, [ones, twos])  # trains: d, valid, label | K3: TFC005
            self.combined.train_on_batch(noise, [ones, twos])  # trains: g


ACGAN().train(2)
