"""Builds the models and compiles both, the Keras 2 way: d before it is frozen, the combined
model after."""

import keras


def build():
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="g")])
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, name="d")])
    d.compile(optimizer="sgd", loss="mse")
    d.trainable = False
    z = keras.Input((2,))
    gan = keras.Model(z, d(g(z)))
    gan.compile(optimizer="sgd", loss="mse")
    return g, d, gan
