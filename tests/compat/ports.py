"""Ports for brokers that must know theirs before they start."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Ports handed out by free_ports in this process: never handed out twice, so
# a stopped broker's port (maybe still in TIME_WAIT) goes to nobody else.
_PORTS_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 for brokers that must know
    their ports before they start (a cluster's voters name each other's).

    They come from below the kernel's ephemeral range: a port that bind(0)
    found free is in that range, and any outgoing connection (a node dialing
    a peer, a client) may take it as its local port before the broker binds
    it ("Address already in use"). Outside the range only an explicit bind
    can take it."""
    low = _ephemeral_low()
    first = 10000 if low > 12000 else 1024
    if low - first < 1000:
        # No room below the range (a kernel tuned to use nearly every
        # port): the kernel's pick, with the race described above.
        return _kernel_picks(count)
    ports: list[int] = []
    rng = random.Random()  # seeded from the OS: processes pick apart
    for _ in range(100 * count):
        if len(ports) == count:
            break
        port = rng.randrange(first, low)
        if port in _PORTS_HANDED_OUT:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PORTS_HANDED_OUT.add(port)
        ports.append(port)
    if len(ports) < count:
        raise RuntimeError(f"found only {len(ports)} of {count} free ports below {low}")
    return ports


def _kernel_picks(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


if __name__ == "__main__":
    import sys

    print(" ".join(str(port) for port in free_ports(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
