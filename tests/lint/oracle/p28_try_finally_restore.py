"""A freeze inside try, undone in finally, no recompile: each Keras ignores a different one."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))
model.compile(optimizer="sgd", loss="mse")
try:
    base.trainable = False  # K2: TFC004
    model.fit(x, y, verbose=0)  # trains: head
finally:
    base.trainable = True  # K3: TFC004
model.fit(x, y, verbose=0)  # trains: base, head
