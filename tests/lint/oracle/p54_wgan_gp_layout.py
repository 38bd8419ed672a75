"""WGAN-GP: critic_model compiled with g frozen, then the toggles for generator_model."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")
g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
c = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="c")])
g.trainable = False
real_in = keras.Input((4,))
z = keras.Input((2,))
critic_model = keras.Model([real_in, z], [c(real_in), c(g(z))])
critic_model.compile(optimizer="sgd", loss=["mse", "mse"])
c.trainable = False
g.trainable = True
z_gen = keras.Input((2,))
generator_model = keras.Model(z_gen, c(g(z_gen)))
generator_model.compile(optimizer="sgd", loss="mse")
for _ in range(2):
    critic_model.train_on_batch([real, noise], [ones, ones])  # trains: c | K3: TFC005
    generator_model.train_on_batch(noise, ones)  # trains: g
