"""Helpers of a training script."""


def freeze(model):
    model.trainable = False
    for layer in model.layers:
        layer.trainable = False
