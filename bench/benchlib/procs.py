"""Running one load generator as a child process, bounded in time, and
sampling a broker process's CPU and memory while it runs."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Finished:
    """What a load generator did: exit status, output, wall time."""

    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool

    def failure(self) -> str | None:
        """A one-line reason when the run did not complete, else None."""
        if self.timed_out:
            return f"timed out after {self.wall_s:.0f} s"
        if self.returncode != 0:
            last = (self.stderr.strip().splitlines() or self.stdout.strip().splitlines() or [""])[-1]
            return f"exit status {self.returncode}: {last[:300]}"
        return None

    def last_json_line(self) -> dict:
        """The metrics a load generator prints as its last stdout line
        (one JSON object); {} when there is none."""
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {}


def run_bounded(argv: list[str], timeout_s: float, env: dict | None = None) -> Finished:
    """Runs argv to completion, or kills it after timeout_s."""
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        timed_out = True
    return Finished(
        returncode=process.returncode,
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        wall_s=round(time.monotonic() - started, 2),
        timed_out=timed_out,
    )


class ResourceSampler:
    """A broker's CPU time and peak resident memory over one stretch of a run.

    VmHWM is the peak over the process's whole life, so a per-load peak
    needs VmRSS sampled while the load runs; a thread does that every
    SAMPLE_S. CPU is utime + stime from /proc/PID/stat before and after.
    `pid()` is asked anew each sample: a broker restarted mid-load (the
    start-up loads) changes process.

        with ResourceSampler(lambda: broker.server_pid) as sampled:
            ...
        sampled.cpu_s, sampled.peak_rss_mib
    """

    SAMPLE_S = 0.1

    def __init__(self, pid):
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu_by_pid: dict[int, tuple[float, float]] = {}
        self.peak_rss_kib = 0

    def __enter__(self) -> ResourceSampler:
        self._record()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._record()

    @property
    def cpu_s(self) -> float:
        """CPU seconds used between the first and last sample of each
        process seen (a process killed in between counts up to its last
        sample)."""
        return round(sum(last - first for first, last in self._cpu_by_pid.values()), 2)

    @property
    def peak_rss_mib(self) -> float:
        return round(self.peak_rss_kib / 1024, 1)

    def _sample(self) -> None:
        while not self._stop.wait(self.SAMPLE_S):
            self._record()

    def _record(self) -> None:
        pid = self._pid()
        if not pid:
            return
        cpu = process_cpu_s(pid)
        if cpu is not None:
            first, _ = self._cpu_by_pid.get(pid, (cpu, cpu))
            self._cpu_by_pid[pid] = (first, cpu)
        self.peak_rss_kib = max(self.peak_rss_kib, process_rss_kib(pid))


def children_cpu_s() -> float:
    """User + system CPU time of this process's finished children (and
    theirs, once waited for) so far: the clients a load ran, before and
    after it."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU time of process `pid` so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_rss_kib(pid: int) -> int:
    """Current resident memory (VmRSS) of process `pid`; 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0
