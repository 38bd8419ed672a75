"""A loaded, compiled model whose first layer is frozen before the first fit."""

import os
import tempfile

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
path = os.path.join(tempfile.mkdtemp(), "m.keras")
layers = [keras.layers.Dense(3, name="base"), keras.layers.Dense(1, name="head")]
saved = keras.Sequential([keras.Input((4,)), *layers])
saved.compile(optimizer="sgd", loss="mse")
saved.save(path)
model = keras.models.load_model(path)
model.layers[0].trainable = False  # K2: TFC004
model.fit(x, y, verbose=0)  # trains: head
unloaded = keras.models.load_model(path, compile=False)
unloaded.layers[0].trainable = False
unloaded.compile(optimizer="sgd", loss="mse")
unloaded.fit(x, y, verbose=0)  # trains: head
