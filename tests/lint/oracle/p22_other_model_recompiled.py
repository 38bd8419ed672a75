"""Another model's layer frozen while this model trains; that model recompiled before its fit."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))
other_body = keras.layers.Dense(4, name="other_body")
other_head = keras.layers.Dense(1, name="other_head")
other = keras.Model(inputs, other_head(other_body(inputs)))
model.compile(optimizer="sgd", loss="mse")
other.compile(optimizer="sgd", loss="mse")
other.fit(x, y, verbose=0)  # trains: other_body, other_head
other_body.trainable = False
model.fit(x, y, verbose=0)  # trains: base, head
other.compile(optimizer="sgd", loss="mse")
other.fit(x, y, verbose=0)  # trains: other_head
