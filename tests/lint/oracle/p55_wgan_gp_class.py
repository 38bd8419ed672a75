"""The WGAN-GP layout in a class (keras-contrib's improved_wgan): __init__ compiles both."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")


class WGANGP:
    def __init__(self):
        self.generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
        self.critic = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="c")])
        self.generator.trainable = False
        real_img = keras.Input((4,))
        z_disc = keras.Input((2,))
        fake = self.critic(self.generator(z_disc))
        self.critic_model = keras.Model([real_img, z_disc], [self.critic(real_img), fake])
        self.critic_model.compile(optimizer="sgd", loss=["mse", "mse"])
        self.critic.trainable = False
        self.generator.trainable = True
        z_gen = keras.Input((2,))
        self.generator_model = keras.Model(z_gen, self.critic(self.generator(z_gen)))
        self.generator_model.compile(optimizer="sgd", loss="mse")

    def train(self, steps):
        for _ in range(steps):
            self.critic_model.train_on_batch([real, noise], [ones, ones])  # trains: c | K3: TFC005
            self.generator_model.train_on_batch(noise, ones)  # trains: g


WGANGP().train(2)
