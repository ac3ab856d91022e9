"""Broker processes the compatibility suite runs against.

A broker here is either the `strom` binary, the Apache Kafka reference broker
(scripts/kafka), or an external broker named by STROM_TEST_BOOTSTRAP. The
first two are child processes that print one ready line on stdout:

    ... serving Kafka on 127.0.0.1:PORT (data dir DIR)

and can be killed and restarted on the same port and data dir.
"""

from __future__ import annotations

import atexit
import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

from ports import free_ports  # noqa: F401 - the suites take it from here

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PATTERN = re.compile(r"serving Kafka on (\S+) ")
READY_TIMEOUT_S = float(os.environ.get("STROM_TEST_READY_TIMEOUT_S", "120"))
STOP_TIMEOUT_S = 60.0
# Broker settings for both brokers, so group and compaction tests run in
# seconds: no wait for more members before a group's first rebalance, short
# consumer session timeouts allowed, and a log cleaner that looks for work
# often. Each broker ignores (with a warning) a setting it does not know.
SUITE_BROKER_SETTINGS = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "log.cleaner.backoff.ms": "200",
    # The suites write records stamped in 2023 (to check that timestamps
    # survive), which a retention pass in mid-suite deletes between their
    # write and their read. Strom's first pass comes one interval after
    # start (5 minutes by default, about how long compat's broker lives).
    "log.retention.check.interval.ms": "3600000",
}


# Kafka only: its first retention pass runs log.initial.task.delay.ms
# (30 s) after start, whatever the interval.
KAFKA_SUITE_SETTINGS = {"log.initial.task.delay.ms": "3600000"}


def _set_flags(settings: dict[str, str] = SUITE_BROKER_SETTINGS) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("--set", f"{name}={value}")]


class BrokerStartError(RuntimeError):
    """The broker process exited or stayed silent instead of getting ready."""


class ExternalBroker:
    """A broker someone else runs; the suite can only talk to it."""

    kind = "external"
    can_restart = False

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def ensure_running(self) -> None:
        """Nothing to do: an external broker's lifetime is not ours."""

    def restart(self, kill: bool = True) -> None:
        raise RuntimeError("cannot restart an external broker")

    def stop(self) -> None:
        """Nothing to do: an external broker's lifetime is not ours."""

    def log_sizes(self) -> dict:
        return {}

    def log_tail(self, max_lines: int = 60, since: dict | None = None) -> str:
        return ""


# Brokers started by this test process. Any still running when it exits (a
# test that failed before its cleanup) are killed then, so no broker
# outlives its suite to slow down or disturb what runs next.
_LAUNCHED: list[subprocess.Popen] = []


@atexit.register
def _kill_leftover_brokers() -> None:
    for proc in _LAUNCHED:
        # Not yet reaped, so its pid (the group's id) is still its own.
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class BrokerProcess:
    """A broker child process that can be SIGKILLed and started again.

    `command(listen_port)` builds the argv; port 0 asks for a free port on
    the first start, and every restart passes the port bound the first time,
    so clients keep the same bootstrap address.
    """

    can_restart = True

    def __init__(self, kind: str, command, data_dir: Path, log_path: Path, extra_logs=()):
        self.kind = kind
        self._command = command
        self.data_dir = data_dir
        self.log_path = log_path
        self._extra_logs = list(extra_logs)
        self._proc: subprocess.Popen | None = None
        self._port = 0
        self.bootstrap = ""

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Starts the process without waiting for its ready line (a cluster
        node is ready only once a majority of its quorum runs)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            # A new session makes the broker a process-group leader, so a
            # kill reaches any children (scripts/kafka runs java under bash).
            self._proc = subprocess.Popen(
                self._command(self._port),
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=broker_environment(),
            )
            _LAUNCHED.append(self._proc)
        finally:
            log.close()

    def wait_ready(self) -> None:
        address = self._wait_for_ready_line()
        self.bootstrap = address
        self._port = int(address.rsplit(":", 1)[1])

    def _wait_for_ready_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        selector = selectors.DefaultSelector()
        selector.register(self._proc.stdout, selectors.EVENT_READ)
        pending = b""
        try:
            while time.monotonic() < deadline:
                if not selector.select(timeout=0.5):
                    if self._proc.poll() is not None:
                        break
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                pending += chunk
                for line in pending.decode(errors="replace").splitlines():
                    found = READY_PATTERN.search(line)
                    if found:
                        return found.group(1)
        finally:
            selector.close()
        self._kill_group(signal.SIGKILL)
        raise BrokerStartError(
            f"{self.kind} broker did not print its ready line within "
            f"{READY_TIMEOUT_S:.0f}s (exit status {self._proc.poll()}); "
            f"stdout so far: {pending!r}\n--- log tail ---\n{self.log_tail()}"
        )

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ensure_running(self) -> None:
        """Start the broker again if an earlier test left it dead."""
        if not self.is_running():
            self.start()

    def restart(self, kill: bool = True) -> None:
        """SIGKILL (kill=True) or SIGTERM the broker, then start it again on
        the same port and data dir. A SIGTERM must end the broker cleanly."""
        if kill:
            self._kill_group(signal.SIGKILL)
        else:
            status = self._terminate()
            if status != 0:
                raise AssertionError(f"{self.kind} broker exited with status {status} on SIGTERM")
        self.start()

    def request_stop(self) -> None:
        """SIGTERM without waiting for the exit (`stop` waits)."""
        if self.is_running():
            self._proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.is_running():
            self._terminate()
        self._kill_group(signal.SIGKILL)

    def _terminate(self) -> int:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._kill_group(signal.SIGKILL)
            raise AssertionError(
                f"{self.kind} broker ignored SIGTERM for {STOP_TIMEOUT_S:.0f}s\n--- log tail ---\n{self.log_tail()}"
            )

    def _kill_group(self, sig: int) -> None:
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self._proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def log_sizes(self) -> dict:
        """Current size of each log file: pass to log_tail(since=...) to see
        only what the broker logged after this point."""
        sizes = {}
        for path in [self.log_path, *self._extra_logs]:
            try:
                sizes[path] = path.stat().st_size
            except OSError:
                sizes[path] = 0
        return sizes

    def log_tail(self, max_lines: int = 60, since: dict | None = None) -> str:
        """The last lines of the broker's stderr (and Kafka's own log file)."""
        parts = []
        for path in [self.log_path, *self._extra_logs]:
            try:
                with open(path, "rb") as log:
                    start = (since or {}).get(path, 0)
                    log.seek(max(start, path.stat().st_size - 200_000))
                    lines = log.read().decode(errors="replace").splitlines()
            except OSError:
                continue
            parts.append(f"--- {path} (last {max_lines} lines) ---\n" + "\n".join(lines[-max_lines:]))
        return "\n".join(parts)


def broker_environment() -> dict[str, str]:
    """This process's environment without STROM_BIN: the broker reads every
    STROM_* variable as a setting and would warn that `bin` is not one."""
    return {name: value for name, value in os.environ.items() if name != "STROM_BIN"}


def strom_binary() -> Path:
    """The `strom` binary under test: $STROM_BIN, else the debug build."""
    binary = Path(os.environ.get("STROM_BIN", REPO_ROOT / "target" / "debug" / "strom"))
    if not binary.exists():
        raise BrokerStartError(
            f"no strom binary at {binary}: build it with `cargo build -p strom-server` or point STROM_BIN at it"
        )
    return binary


def strom_broker(workdir: Path) -> BrokerProcess:
    binary = strom_binary()
    data_dir = workdir / "strom-data"

    def command(port: int):
        return [str(binary), "server", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}", *_set_flags()]

    return BrokerProcess("strom", command, data_dir, workdir / "strom.stderr")


def kafka_broker(workdir: Path) -> BrokerProcess:
    """The Apache Kafka reference broker, from scripts/kafka."""
    data_dir = workdir / "kafka"
    script = REPO_ROOT / "scripts" / "kafka"

    def command(port: int):
        settings = {**SUITE_BROKER_SETTINGS, **KAFKA_SUITE_SETTINGS}
        return [str(script), "--dir", str(data_dir), "--port", str(port), *_set_flags(settings)]

    return BrokerProcess("kafka", command, data_dir, workdir / "kafka.stderr", extra_logs=[data_dir / "kafka.log"])
