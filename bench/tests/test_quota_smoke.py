"""Smoke test of bench/quota: it runs end to end against Strom on a short
load and prints its table. It asserts no figure."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent


def test_bench_quota_runs_end_to_end() -> None:
    strom = os.environ.get("STROM_BIN") or str(BENCH_DIR.parent / "target" / "release" / "strom")
    argv = [str(BENCH_DIR / "quota"), "--seconds", "6", "--warm-up", "0", "--quota", "262144",
            "--brokers", "strom", "--strom-bin", strom]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| strom |")]
    assert len(rows) == 1, done.stdout
