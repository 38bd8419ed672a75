"""Shared fixtures: a fresh default graph per test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def graph():
    """A new tf.Graph entered as the default graph for the test's duration."""
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        yield g
