"""A feature extractor over d's first layer, frozen after d trained: d does not see it."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
layers = [keras.layers.Dense(3, name="d1"), keras.layers.Dense(1, name="d2")]
d = keras.Sequential([keras.Input((4,)), *layers])
d.compile(optimizer="sgd", loss="mse")
d.fit(x, y, verbose=0)  # trains: d1, d2
extractor = keras.Model(d.inputs, d.layers[0].output)
extractor.trainable = False  # K2 K3: TFC004
d.fit(x, y, verbose=0)  # trains: d2
