"""Shared fixtures: a fresh default graph per test, and running code in a clean interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def graph():
    """A new tf.Graph entered as the default graph for the test's duration."""
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        yield g


def run_python(code: str, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter: for process-global TF modes (eager off, v1 behaviour)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        timeout=300,
    )
