"""Recompiled through a helper after each toggle."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))


def recompile(net):
    net.compile(optimizer="sgd", loss="mse")


base.trainable = False
recompile(model)
model.fit(x, y, verbose=0)  # trains: head
base.trainable = True
recompile(model)
model.fit(x, y, verbose=0)  # trains: base, head
