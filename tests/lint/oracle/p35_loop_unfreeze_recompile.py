"""Unfreeze and recompile in the second epoch of a loop."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))
base.trainable = False
model.compile(optimizer="sgd", loss="mse")
for epoch in range(3):
    if epoch == 1:
        base.trainable = True
        model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, verbose=0)  # trains: head ; base, head
