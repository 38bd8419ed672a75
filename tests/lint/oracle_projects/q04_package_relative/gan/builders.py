import keras

from . import layers
from .layers import discriminator


def build_gan():
    """The Keras 3 way: d compiled, then the combined model over a frozen d."""
    g = layers.generator()
    d = discriminator()
    d.compile(optimizer="sgd", loss="mse")
    d.trainable = False
    z = keras.Input((2,))
    gan = keras.Model(z, d(g(z)))
    gan.compile(optimizer="sgd", loss="mse")
    return g, d, gan
