"""Freezes through a helper of another module, after compile() and before the first fit:
Keras 3 reads the frozen set at fit (correct), Keras 2 read it at compile() (the freeze is
ignored)."""

import keras
import numpy as np
from utils import freeze

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
backbone = keras.Sequential([keras.Input((4,)), base])
model = keras.Model(inputs, head(backbone(inputs)))
model.compile(optimizer="sgd", loss="mse")
freeze(backbone)  # K2: TFC004
model.fit(x, y, verbose=0)  # trains: head
