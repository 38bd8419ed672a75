"""__init__ calls a compiling builder, then a freezing method; train() fits."""

import keras
import numpy as np

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
inputs = keras.Input((4,))
base = keras.layers.Dense(4, name="base")
head = keras.layers.Dense(1, name="head")
model = keras.Model(inputs, head(base(inputs)))


class Trainer:
    def __init__(self):
        self.model = keras.Model(inputs, head(base(inputs)))
        self.build()
        self.freeze_base()

    def build(self):
        self.model.compile(optimizer="sgd", loss="mse")

    def freeze_base(self):
        base.trainable = False  # K2: TFC004

    def train(self):
        self.model.fit(x, y, verbose=0)  # trains: head


Trainer().train()
