"""The freeze and the second fit are under opposite conditions: they never both run."""

import sys

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
training = len(sys.argv) < 100
base = keras.layers.Dense(3, name="base")
inputs = keras.Input((4,))
model = keras.Model(inputs, keras.layers.Dense(1, name="head")(base(inputs)))
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, verbose=0)  # trains: base, head
if not training:
    base.trainable = False
    model.save("frozen.keras")
if training:
    model.fit(x, y, verbose=0)  # trains: base, head
