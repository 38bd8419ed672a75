"""A freeze undone before the model trains again changes nothing, under any Keras."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
base = keras.layers.Dense(3, name="base")
inputs = keras.Input((4,))
model = keras.Model(inputs, keras.layers.Dense(1, name="head")(base(inputs)))
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, verbose=0)  # trains: base, head
base.trainable = False
frozen_copy = model.get_weights()
base.trainable = True
model.fit(x, y, verbose=0)  # trains: base, head
