"""What the page cache and loopback allow for a catch-up read.

A broker serving a backlog moves the bytes of its segment files to a
client over TCP. The least any broker can do for those bytes is send the
files with sendfile to a reader that only receives them: this module
times exactly that, over the broker's own files of the topic, in the page
cache state the consumer just read them in. A broker's catch-up rate over
this rate is the share of the ceiling it reaches.

Run as a script it is the reader:

    python3 loopback.py read PORT BYTES

connects to 127.0.0.1:PORT, receives BYTES into a reused buffer, and
answers one byte when it has them all.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

READ_BUFFER = 1 << 20


def segment_files(data_dir: Path, topic: str) -> list[Path]:
    """The topic's segment files: both brokers keep `<topic>-<partition>/*.log`."""
    return sorted(path for path in data_dir.glob(f"{topic}-*/*.log") if path.parent.name.rpartition("-")[0] == topic)


def best_send_time_s(files: list[Path], timeout_s: float, tries: int = 5) -> float:
    """The fastest of `tries` sends: other work on the machine only slows
    a send down, and the ceiling is what the machine allows."""
    return min(send_time_s(files, timeout_s) for _ in range(tries))


def send_time_s(files: list[Path], timeout_s: float) -> float:
    """Seconds from the reader's connection until it confirms every byte
    of `files`, sent one after the other on one loopback connection."""
    total = sum(path.stat().st_size for path in files)
    if total == 0:
        raise RuntimeError("no segment data to send")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(timeout_s)
        port = listener.getsockname()[1]
        reader = subprocess.Popen([sys.executable, __file__, "read", str(port), str(total)])
        try:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(timeout_s)
                started = time.perf_counter()
                for path in files:
                    _send_file(connection, path)
                if connection.recv(1) != b"k":
                    raise RuntimeError("the loopback reader stopped before it had every byte")
                elapsed = time.perf_counter() - started
            if reader.wait(timeout=timeout_s) != 0:
                raise RuntimeError(f"the loopback reader exited with {reader.returncode}")
            return elapsed
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()


def _send_file(connection: socket.socket, path: Path) -> None:
    """With sendfile (socket.sendfile waits out a full socket buffer)."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        sent = connection.sendfile(file)
        if sent != size:
            raise RuntimeError(f"{path}: sent {sent} of {size} bytes")


def _read(port: int, total: int) -> None:
    buffer = bytearray(READ_BUFFER)
    with socket.create_connection(("127.0.0.1", port)) as connection:
        received = 0
        while received < total:
            count = connection.recv_into(buffer)
            if count == 0:
                raise SystemExit(f"the sender closed after {received} of {total} bytes")
            received += count
        connection.sendall(b"k")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "read":
        raise SystemExit("usage: loopback.py read PORT BYTES")
    _read(int(sys.argv[2]), int(sys.argv[3]))
