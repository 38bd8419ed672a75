"""The GAN package: its public builder."""

from .builders import build_gan

__all__ = ["build_gan"]
