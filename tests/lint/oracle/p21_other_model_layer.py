"""A layer of another model frozen between two fits: not in the trained model."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))
other_layer = keras.layers.Dense(1, name="other")
other = keras.Model(inputs, other_layer(inputs))
model.compile(optimizer="sgd", loss="mse")
other.compile(optimizer="sgd", loss="mse")
model.fit(x, y, verbose=0)  # trains: base, head
other_layer.trainable = False
model.fit(x, y, verbose=0)  # trains: base, head
