"""Fine-tuning over the backbone's tensors, then unfreezing it without a recompile."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")
image = keras.Input((4,))
backbone = keras.Model(image, keras.layers.Dense(4, name="base")(image))
backbone.trainable = False
model = keras.Model(backbone.input, keras.layers.Dense(1, name="head")(backbone.output))
model.compile(optimizer="sgd", loss="mse")
model.fit(real, ones, verbose=0)  # trains: head
backbone.trainable = True  # K2 K3: TFC004
model.fit(real, ones, verbose=0)  # trains: base, head
