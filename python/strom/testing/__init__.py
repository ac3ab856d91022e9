"""A real Strom broker for tests, started in a moment, in a temporary dir.

    from strom.testing import Broker

    with Broker() as bootstrap:
        producer = strom.Producer({"bootstrap.servers": bootstrap})

The broker is this package's own `strom server` (the wheel carries it, no
JVM, no Docker), run as a child process on a free port of 127.0.0.1 with a
temporary data dir; leaving the block stops it and removes the dir. If the
test process dies first, even by SIGKILL, the broker stops and removes the
dir itself. The pytest plugin offers it as the `strom_broker` fixture.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Mapping, Optional, Sequence, Type

__all__ = ["Broker", "BrokerStartError"]

_READY = re.compile(rb"serving Kafka on (\S+) [^\n]*\n")
_LISTENERS = re.compile(rb"listeners (\S+)")

# Settings that make a test broker quick to use: groups rebalance at once,
# short consumer session timeouts are allowed.
TEST_SETTINGS: Mapping[str, str] = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "500",
}


class BrokerStartError(RuntimeError):
    """The broker exited, or did not get ready in time."""


class Broker:
    """A single-node Strom broker in a child process.

    `settings` are broker settings by Kafka's names (`num.partitions`,
    `auto.create.topics.enable`, ...), applied over `TEST_SETTINGS`.
    Use it as a context manager (it yields the bootstrap address), or call
    `start()` and `stop()`.
    """

    def __init__(
        self,
        settings: Optional[Mapping[str, str]] = None,
        *,
        data_dir: Optional[str] = None,
        ready_timeout: float = 30.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        self.ready_timeout = ready_timeout
        self.extra_args = list(extra_args)
        self._given_dir = data_dir
        self._temp_dir: Optional[str] = None
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._log: Optional[Path] = None
        self.bootstrap_servers: str = ""
        # Every listener's address by name ("PLAINTEXT", "SASL_SSL", ...).
        self.listeners: dict[str, str] = {}

    @property
    def data_dir(self) -> str:
        directory = self._given_dir or self._temp_dir
        if directory is None:
            raise BrokerStartError("the broker has not been started")
        return directory

    def command(self) -> list[str]:
        """The command line that runs the broker."""
        flags = [arg for name, value in self.settings.items() for arg in ("--set", f"{name}={value}")]
        # The child removes a temporary dir itself if this process dies
        # without stop(): see strom.testing._broker_process.
        owned = self._temp_dir if self._given_dir is None and self._temp_dir else ""
        return [
            sys.executable,
            "-m",
            "strom.testing._broker_process",
            owned,
            "server",
            "--stop-on-stdin-close",
            # Given `listeners` (e.g. PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0)
            # the broker binds those; else one PLAINTEXT listener on a free port.
            *([] if "listeners" in self.settings else ["--listen", "127.0.0.1:0"]),
            "--data-dir",
            self.data_dir,
            *flags,
            *self.extra_args,
        ]

    def start(self) -> str:
        """Starts the broker and returns its bootstrap address."""
        if self._process is not None:
            raise BrokerStartError("the broker is already running")
        if self._given_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="strom-test-")
        self._log = Path(self.data_dir).parent / f"{Path(self.data_dir).name}.log"
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=subprocess.PIPE,
                stderr=log,
                # Held open by this process: the broker stops when it closes.
                stdin=subprocess.PIPE,
            )
        try:
            self.bootstrap_servers = self._wait_until_ready()
        except BrokerStartError:
            # The error carries the log; the temporary dir and log go.
            self.stop()
            raise
        return self.bootstrap_servers

    def _wait_until_ready(self) -> str:
        process = self._process
        assert process is not None and process.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        seen = b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=0.1):
                    if process.poll() is not None:
                        break
                    continue
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
                found = _READY.search(seen)
                if found:
                    named = _LISTENERS.search(found.group(0))
                    for entry in named.group(1).decode().split(",") if named else []:
                        name, _, address = entry.partition("://")
                        self.listeners[name] = address
                    return found.group(1).decode()
        status = process.poll()
        self._kill()
        raise BrokerStartError(
            f"the strom broker did not get ready within {self.ready_timeout:.0f}s "
            f"(exit status {status}); its log:\n{self.log_text()}"
        )

    def log_text(self) -> str:
        """What the broker wrote to stderr so far."""
        try:
            return self._log.read_text(errors="replace") if self._log else ""
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the broker (SIGTERM, then SIGKILL after `timeout`) and
        removes the temporary data dir."""
        process = self._process
        self._process = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for pipe in (process.stdout, process.stdin):
                if pipe is not None:
                    pipe.close()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            if self._log is not None:
                self._log.unlink(missing_ok=True)
            self._temp_dir = None

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __del__(self) -> None:
        self._kill()
