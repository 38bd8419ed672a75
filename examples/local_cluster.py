"""What the cluster examples (and the multi-worker benchmark) share: free localhost ports, and
their processes started in order and always stopped."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_ports(count: int) -> list[int]:
    """Ports the system has just handed out (bound, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("localhost", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


@contextmanager
def running(
    commands: list[list[str]], *, ready: int | None = None, **options: Any
) -> Iterator[list[subprocess.Popen]]:
    """Start `commands` in order, each its own process (`options` go to Popen; stdout a pipe).
    The one at index `ready` is waited for until it prints its first line: a
    MonitoredTrainingSession chief says when the model is initialised, and a worker started
    before that retries only 30 s later. Every process is killed on leaving, whatever
    happened."""
    processes: list[subprocess.Popen] = []
    try:
        for index, argv in enumerate(commands):
            processes.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, **options))
            if index == ready:
                processes[-1].stdout.readline()
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait()
