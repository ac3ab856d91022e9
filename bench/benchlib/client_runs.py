"""What the language-client benches (bench/python/run, bench/node/run)
share: one load process per run with its checks, the medians with the
client's own resources, and the consumers' topic written once."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Callable

from . import aggregate
from .harness import log
from .loads import PARTITIONS
from .procs import run_bounded

# The consumers' topic is written by confluent-kafka (Python) with the
# partitions in turn, so each holds the same number of records.
FILL_LOAD = Path(__file__).resolve().parent.parent / "python" / "load.py"


def run_once(argv: list[str], broker, timeout_s: float, expect: int) -> dict:
    """One load generator process; its metrics, or the reason it failed."""
    cpu_before = broker.cpu_seconds()
    finished = run_bounded(argv, timeout_s)
    cpu_after = broker.cpu_seconds()
    run: dict = {"wall_s": finished.wall_s}
    if cpu_before is not None and cpu_after is not None:
        run["broker_cpu_s"] = round(cpu_after - cpu_before, 2)
    metrics = finished.last_json_line()
    failure = finished.failure()
    if failure is None and not metrics:
        failure = "no result line on stdout"
    if failure is None and metrics.get("errors"):
        failure = f"{metrics['errors']} errors; first: {metrics.get('first_errors')}"
    if failure is None and metrics.get("records", 0) < expect:
        failure = f"got {metrics.get('records')} of {expect} records"
    if failure is None and not broker.alive():
        failure = "the broker exited"
    if metrics:
        run["metrics"] = metrics
    if failure is not None:
        run["error"] = failure
        run["stderr_tail"] = finished.stderr[-3000:]
    return run


def fold(runs: list[dict]) -> dict:
    """aggregate.fold's medians, plus the client process's peak RSS and CPU."""
    folded = aggregate.fold(runs)
    good = [run for run in runs if "error" not in run and "metrics" in run]
    if good and "metrics" in folded:
        for key in ("peak_rss_mib", "cpu_s"):
            folded["metrics"][key] = statistics.median(run["metrics"][key] for run in good)
        broker_cpu = [run["broker_cpu_s"] for run in good if "broker_cpu_s" in run]
        if broker_cpu:
            folded["metrics"]["broker_cpu_s"] = statistics.median(broker_cpu)
    return folded


def fill(broker, python: str, topic: str, records: int, size: int, timeout_s: float) -> str | None:
    """The consumers' topic, written once by confluent-kafka under `python`;
    a reason when that failed."""
    log(f"filling {topic} with {records:,} × {size} B (confluent-kafka)")
    argv = [python, str(FILL_LOAD), "confluent", "fill", broker.bootstrap, topic, str(records), str(size)]
    run = run_once(argv, broker, timeout_s, records)
    if "error" in run:
        return f"filling {topic}: {run['error']}"
    log(f"filled at {run['metrics']['records_per_s']:,.0f} records/s")
    return None


def partition_counts(bootstrap: str, topic: str) -> list[int]:
    """Records per partition (high watermarks)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks", "log_level": 3})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(PARTITIONS)]
    finally:
        consumer.close()


def log_run(client: str, load: str, run: dict) -> None:
    """One line per run on stderr, with the failing tool's last lines."""
    if "error" in run:
        log(f"{client}: {load}: FAILED: {run['error']}")
        for line in run.get("stderr_tail", "").strip().splitlines()[-5:]:
            log(f"    {line}")
        return
    m = run["metrics"]
    extra = f", group join {m['group_join_ms']:.0f} ms" if m.get("group_join_ms") is not None else ""
    extra += f", BufferError {m['queue_full']:,} times" if m.get("queue_full") else ""
    rate = f"{m['records_per_s']:,.0f} records/s"
    log(f"{client}: {load}: {rate}{extra}, peak RSS {m['peak_rss_mib']:.0f} MiB, CPU {m['cpu_s']:.1f} s")


def run_all(
    broker,
    clients: list[str],
    loads: list[str],
    all_loads: tuple[str, ...],
    reps: int,
    expect: int,
    timeout_s: float,
    argv_for: Callable[[str, str, int], list[str]],
) -> dict:
    """Every load through each client in turn, `reps` times with the client
    order rotated; `argv_for(load, client, rep)` is one run's command."""
    raw: dict = {client: {load: [] for load in all_loads} for client in clients}
    for rep in range(reps):
        log(f"repetition {rep + 1} of {reps}; load average {os.getloadavg()[0]:.2f}")
        order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
        for load in loads:
            for client in order:
                if not broker.alive():
                    raw[client][load].append({"error": "the broker exited"})
                    continue
                run = run_once(argv_for(load, client, rep), broker, timeout_s, expect)
                raw[client][load].append(run)
                log_run(client, load, run)
    return raw


# Report cells, from fold()'s results.


def _usable(result: dict | None) -> bool:
    return bool(result) and "metrics" in result


def rate_cell(result: dict | None) -> str:
    """The median rate, its spread, and how many runs completed."""
    if not result:
        return "–"
    if not _usable(result):
        return f"FAILED ({result.get('completed', 0)}/{result.get('repetitions', '?')} ran)"
    metrics = result["metrics"]
    spread = metrics.get("spread", 0.0)
    noise = f" ±{spread * 100:.0f}%" if spread else ""
    done, runs = result["completed"], result["repetitions"]
    partial = "" if done == runs else f" ({done}/{runs})"
    return f"{metrics['records_per_s']:,.0f}{noise}{partial}"


def ratio_cell(result: dict | None, reference: dict | None) -> str:
    """The rate over the reference client's."""
    if not _usable(result) or not _usable(reference):
        return "–"
    theirs = reference["metrics"]["records_per_s"]
    return f"{result['metrics']['records_per_s'] / theirs:.2f}×" if theirs else "–"


def resources_cell(result: dict | None) -> str:
    """Client peak RSS · client CPU · broker CPU, and the group join."""
    if not _usable(result):
        return "–"
    m = result["metrics"]
    join = f" · join {m['group_join_ms']:.0f} ms" if m.get("group_join_ms") is not None else ""
    return f"{m['peak_rss_mib']:.0f} MiB · {m['cpu_s']:.1f} s · {m.get('broker_cpu_s', float('nan')):.1f} s{join}"
