"""What machine the numbers came from: CPUs, memory, kernel, disk sync."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

SYNC_PROBES = 200
SYNC_WRITE = b"x" * 16384


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return 0.0


def fdatasync_ms(directory: Path) -> dict:
    """p50/p99 of fdatasync after a 16 KiB append: the cost an fsync
    broker pays per group commit on this disk."""
    path = directory / "fsync-probe"
    timings = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(SYNC_PROBES):
            os.write(fd, SYNC_WRITE)
            started = time.perf_counter()
            os.fdatasync(fd)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    timings.sort()
    return {"p50": timings[len(timings) // 2], "p99": timings[int(len(timings) * 0.99)]}


def describe_machine(work_dir: Path) -> dict:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "fdatasync_ms": fdatasync_ms(work_dir),
    }
