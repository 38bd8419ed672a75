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


def run_together(commands: dict, *, timeout: float, **options) -> dict:
    """Run `commands` ({key: argv}) as processes at once; {key: CompletedProcess} (text
    output). Every process still running is killed when one times out or anything fails."""
    running = {
        key: subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options
        )
        for key, argv in commands.items()
    }
    try:
        results = {}
        for key, process in running.items():
            out, err = process.communicate(timeout=timeout)
            results[key] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        return results
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
