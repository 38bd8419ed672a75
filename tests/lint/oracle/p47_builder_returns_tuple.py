"""A builder that compiles and returns (g, d, gan): Keras's GAN idiom inside it."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")


def build_networks():
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
    discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
    discriminator.compile(optimizer="sgd", loss="mse")
    discriminator.trainable = False
    z = keras.Input((2,))
    combined = keras.Model(z, discriminator(generator(z)))
    combined.compile(optimizer="sgd", loss="mse")
    return generator, discriminator, combined


gen, disc, gan = build_networks()
for _ in range(2):
    disc.train_on_batch(real, ones)  # trains: d | K3: TFC005
    gan.train_on_batch(noise, ones)  # trains: g
