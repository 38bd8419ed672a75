"""Helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


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
