"""Helpers; imports the model module back (a cycle between modules)."""

import gan_model


def set_trainable(model, flag):
    model.trainable = flag


def describe(gan: "gan_model.GAN") -> str:
    return str(gan)
