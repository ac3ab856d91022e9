"""What the language-client benches (bench/python/run, bench/node/run)
share: one load process per run with its checks, the medians with the
client's own resources, and the consumers' topic written once."""

from __future__ import annotations

import statistics
from pathlib import Path

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
    log(f"{client}: {load}: {m['records_per_s']:,.0f} records/s{extra}, peak RSS {m['peak_rss_mib']:.0f} MiB, CPU {m['cpu_s']:.1f} s")
