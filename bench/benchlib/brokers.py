"""The two brokers under test, as child processes.

Both `strom server` and scripts/kafka print one line on stdout once they
serve requests:

    ... serving Kafka on 127.0.0.1:PORT (data dir DIR)

A broker here is started on a free loopback port with a fresh data dir,
sampled for CPU time and memory while the loads run, and stopped with
SIGTERM at the end.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_PATTERN = re.compile(r"serving Kafka on (\S+) ")
# Strom's ready line also names its HTTP listener.
HTTP_PATTERN = re.compile(r"console on http://([^;\s]+)")
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BrokerStartError(RuntimeError):
    """The broker exited or stayed silent instead of getting ready."""


@dataclass
class BrokerRun:
    """One broker process for the duration of one set of loads."""

    label: str
    process: subprocess.Popen
    stderr_path: Path
    data_dir: Path
    bootstrap: str = ""
    startup_s: float = 0.0
    # The process whose CPU and memory count as the broker's: strom itself,
    # or the JVM that scripts/kafka starts as its child.
    server_pid: int = 0
    stop_info: dict = field(default_factory=dict)
    # The strom binary this run uses (None for Kafka): loads that start a
    # broker of their own start the same one.
    binary: Path | None = None
    # Strom's HTTP listener (host:port); empty for Kafka.
    http: str = ""

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the broker process has used so far."""
        try:
            fields = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        # After the command name: state is field 3, utime 14, stime 15.
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_kib(self) -> dict:
        """Current (VmRSS) and peak (VmHWM) resident memory in KiB."""
        result = {}
        try:
            for line in Path(f"/proc/{self.server_pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    result[key] = int(value.split()[0])
        except (OSError, ValueError):
            pass
        return result

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> dict:
        """SIGTERM, wait, and report exit status, stop time and peak memory."""
        memory = self.memory_kib()
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.stop_info["killed_after_s"] = STOP_TIMEOUT_S
        self.stop_info.update(
            exit_status=self.process.returncode,
            stop_s=round(time.monotonic() - started, 2),
            peak_rss_mib=round(memory.get("VmHWM", 0) / 1024, 1),
            final_rss_mib=round(memory.get("VmRSS", 0) / 1024, 1),
        )
        return self.stop_info


def _wait_ready(run: BrokerRun) -> None:
    """Reads stdout until the ready line; fails if the broker exits first."""
    started = time.monotonic()
    deadline = started + READY_TIMEOUT_S
    selector = selectors.DefaultSelector()
    assert run.process.stdout is not None
    selector.register(run.process.stdout, selectors.EVENT_READ)
    pending = b""
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.5):
            if run.process.poll() is not None:
                break
            continue
        chunk = os.read(run.process.stdout.fileno(), 4096)
        if not chunk:
            break
        pending += chunk
        match = READY_PATTERN.search(pending.decode("utf-8", "replace"))
        if match:
            run.bootstrap = match.group(1)
            http = HTTP_PATTERN.search(pending.decode("utf-8", "replace"))
            run.http = http.group(1) if http else ""
            run.startup_s = round(time.monotonic() - started, 2)
            return
    run.process.kill()
    run.process.wait()
    tail = run.stderr_path.read_text(errors="replace")[-3000:] if run.stderr_path.exists() else ""
    raise BrokerStartError(f"{run.label} did not get ready; stdout {pending!r}; stderr tail:\n{tail}")


def _child_pid(pid: int, name_part: str, timeout_s: float = 10.0) -> int:
    """The first child of `pid` whose command line contains `name_part`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if name_part.encode() in cmdline:
                return int(child)
        time.sleep(0.1)
    return pid


def strom_command(binary: Path, data_dir: Path, settings: dict[str, str], port: int = 0) -> list[str]:
    """`strom server` on 127.0.0.1:`port` (0: a free one) with `data_dir`,
    and its HTTP listener on a free port (brokers side by side)."""
    command = [str(binary), "server", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}",
               "--http-listen", "127.0.0.1:0"]  # fmt: skip
    for name, value in settings.items():
        command += ["--set", f"{name}={value}"]
    return command


def kafka_command(repo_root: Path, kafka_dir: Path, settings: dict[str, str], port: int = 0) -> list[str]:
    """scripts/kafka on 127.0.0.1:`port` (0: a free one) in `kafka_dir`;
    the same dir and port again restart the same broker with its data."""
    command = [str(repo_root / "scripts" / "kafka"), "--dir", str(kafka_dir), "--port", str(port)]
    for name, value in settings.items():
        command += ["--set", f"{name}={value}"]
    return command


def start_strom(binary: Path, work_dir: Path, label: str, settings: dict[str, str]) -> BrokerRun:
    """`strom server` on a free loopback port with a new data dir."""
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True)
    stderr_path = work_dir / "strom.stderr.log"
    command = strom_command(binary, data_dir, settings)
    stderr = open(stderr_path, "wb")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
    stderr.close()
    run = BrokerRun(label, process, stderr_path, data_dir, server_pid=process.pid, binary=binary)
    _wait_ready(run)
    run.stop_info["settings"] = dict(settings)
    return run


def start_kafka(repo_root: Path, work_dir: Path, label: str, settings: dict[str, str]) -> BrokerRun:
    """Apache Kafka through scripts/kafka, with a new dir."""
    kafka_dir = work_dir / "kafka"
    stderr_path = work_dir / "kafka.stderr.log"
    command = kafka_command(repo_root, kafka_dir, settings)
    stderr = open(stderr_path, "wb")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
    stderr.close()
    run = BrokerRun(label, process, stderr_path, kafka_dir / "data", server_pid=process.pid)
    _wait_ready(run)
    run.server_pid = _child_pid(process.pid, "kafka.Kafka")
    run.stop_info["settings"] = dict(settings)
    return run
