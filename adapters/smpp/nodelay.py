"""TCP_NODELAY on smpp34's sockets, which it leaves off.

With Nagle's algorithm on, a small PDU written while another is unacknowledged waits for the
peer's delayed ACK (a few ms on Linux): when receipts interleave with submits, every deliver_sm_resp
holds the next submit_sm back, and one bind with one submit in flight makes about 170 submits/s
instead of over 1,000 (measured against node-smpp on loopback). smpp34 exposes no socket, so the
connection is found among the process's open descriptors (Linux ``/proc/self/fd``) by its peer
port, and the option is set on a duplicate of the descriptor: options belong to the socket, not
the descriptor. Elsewhere, or if anything is odd, nothing is changed.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

_FDS = Path("/proc/self/fd")


def set_nodelay(peer_port: int) -> int:
    """Turn Nagle off on every TCP connection of this process to ``peer_port``; how many were changed.

    Other connections to that port (another bind to the same SMSC) only gain from it.
    """
    changed = 0
    with contextlib.suppress(OSError):
        names = os.listdir(_FDS)
        for name in names:
            changed += _tune(int(name), peer_port)
    return changed


def _tune(fd: int, peer_port: int) -> int:
    try:
        if not os.readlink(_FDS / str(fd)).startswith("socket:"):
            return 0
        sock = socket.socket(fileno=os.dup(fd))
    except (OSError, ValueError):
        return 0
    with sock:
        try:
            if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
                return 0
            peer = sock.getpeername()
            if peer[1] != peer_port or sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                return 0
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            return 0
    return 1
