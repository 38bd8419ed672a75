"""A functional model built through intermediate names; the base frozen after fit."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))
features = base(inputs)
outputs = head(features)
net = keras.Model(inputs, outputs)
net.compile(optimizer="sgd", loss="mse")
net.fit(x, y, verbose=0)  # trains: base, head
base.trainable = False  # K2 K3: TFC004
net.fit(x, y, verbose=0)  # trains: head
