"""Training through a helper; the base frozen between two calls."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))


def train(net):
    net.fit(x, y, verbose=0)  # trains: base, head ; head


model.compile(optimizer="sgd", loss="mse")
train(model)
base.trainable = False  # K2 K3: TFC004
train(model)
