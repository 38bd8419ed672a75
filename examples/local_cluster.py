"""What the two cluster examples share: free localhost ports for their processes."""

from __future__ import annotations

import socket


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
