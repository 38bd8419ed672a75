"""Builders that compile and return the models (the acgan idiom)."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])


def build_discriminator():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def build_gan(generator, discriminator):
    discriminator.trainable = False
    z = keras.Input((2,))
    combined = keras.Model(z, discriminator(generator(z)))
    combined.compile(optimizer="sgd", loss="mse")
    return combined


d = build_discriminator()
gan = build_gan(g, d)
for _ in range(2):
    d.train_on_batch(real, ones)  # trains: d | K3: TFC005
    gan.train_on_batch(noise, ones)  # trains: g
