"""A classifier over a backbone, compiled here; and the usual fine-tuning helpers."""

import keras


def classifier():
    inputs = keras.Input((4,))
    base = keras.layers.Dense(4, name="base")
    head = keras.layers.Dense(1, name="head")
    model = keras.Model(inputs, head(base(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    return model


def unfreeze_all(model):
    for layer in model.layers:
        layer.trainable = True
