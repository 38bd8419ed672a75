"""The fine-tune idiom with one name reused: the second `model` holds the frozen one's layers."""

import keras
import numpy as np

noise = np.random.rand(8, 2).astype("float32")
real = np.random.rand(8, 4).astype("float32")
ones = np.ones((8, 1), "float32")
twos = np.ones((8, 2), "float32")
image = keras.Input((4,))
model = keras.Model(image, keras.layers.Dense(4, name="base")(image))
model.trainable = False
model = keras.Model(model.inputs, keras.layers.Dense(1, name="head")(model.output))
model.compile(optimizer="sgd", loss="mse")
model.fit(real, ones, verbose=0)  # trains: head
model.train_on_batch(real, ones)  # trains: head
