"""A builder that freezes, rebinds its local name to the new model, compiles and returns it."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")


def build():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, name="base")])
    model.trainable = False
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(model(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    return model


classifier = build()
classifier.fit(real, ones, verbose=0)  # trains: head
