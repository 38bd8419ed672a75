"""Unfreeze in the second epoch of a loop, no recompile."""

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
        base.trainable = True  # K2 K3: TFC004
    model.fit(x, y, verbose=0)  # trains: head ; base, head
