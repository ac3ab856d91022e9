"""The loads every broker gets, and running one load against one broker.

Each load is bounded in count and in time (`timeout_s`): a load that does
not finish is killed and recorded as failed with the reason, and the run
goes on. Every produce load writes its own topic per repetition; a consume
load reads the topic an earlier produce load of the same repetition wrote,
so it reads exactly what was acknowledged.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from .brokers import BrokerRun
from .java_tools import JavaTools
from .procs import run_bounded

PARTITIONS = 6
RDKAFKA_LOAD = Path(__file__).resolve().parent / "rdkafka_load.py"


@dataclass(frozen=True)
class Load:
    key: str
    title: str
    client: str  # "java" or "librdkafka"
    kind: str  # "produce", "consume" or "latency"
    topic: str
    records: int
    size: int = 0
    acks: str = ""
    throughput: int = -1  # records/s cap for the fixed-rate run; -1: none


def plan(scale: float, latency_rate: int, latency_seconds: int) -> list[Load]:
    """The load list; `scale` multiplies every record count."""

    def n(count: int) -> int:
        return max(1000, int(count * scale))

    latency_records = max(1000, latency_rate * latency_seconds)
    loads = []
    for size, count, size_name in ((100, n(1_000_000), "100 B"), (1024, n(300_000), "1 KiB")):
        for acks, acks_name in (("1", "acks=1"), ("all", "acks=all")):
            loads.append(
                Load(
                    key=f"java-produce-{size}-acks{acks}",
                    title=f"Java producer, {count:,} × {size_name}, {acks_name}",
                    client="java",
                    kind="produce",
                    topic=f"bench-java-{size}-acks{acks}",
                    records=count,
                    size=size,
                    acks=acks,
                )
            )
    for size, count, size_name in ((100, n(1_000_000), "100 B"), (1024, n(300_000), "1 KiB")):
        loads.append(
            Load(
                key=f"java-consume-{size}",
                title=f"Java consumer (group), {count:,} × {size_name}",
                client="java",
                kind="consume",
                topic=f"bench-java-{size}-acks1",
                records=count,
                size=size,
            )
        )
    for size, count, size_name in ((100, n(500_000), "100 B"), (1024, n(150_000), "1 KiB")):
        loads.append(
            Load(
                key=f"rdkafka-produce-{size}-acksall",
                title=f"librdkafka producer, {count:,} × {size_name}, acks=all",
                client="librdkafka",
                kind="produce",
                topic=f"bench-rdkafka-{size}",
                records=count,
                size=size,
                acks="all",
            )
        )
    loads.append(
        Load(
            key="rdkafka-consume-100",
            title=f"librdkafka consumer (assign), {n(500_000):,} × 100 B",
            client="librdkafka",
            kind="consume",
            topic="bench-rdkafka-100",
            records=n(500_000),
            size=100,
        )
    )
    loads.append(
        Load(
            key="java-latency-100-acksall",
            title=f"Java producer at {latency_rate:,} rec/s for {latency_seconds} s, 100 B, acks=all",
            client="java",
            kind="latency",
            topic="bench-latency",
            records=latency_records,
            size=100,
            acks="all",
            throughput=latency_rate,
        )
    )
    return loads


def create_topics(bootstrap: str, names: list[str]) -> None:
    """Every topic the loads use, with PARTITIONS partitions, before any load."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=PARTITIONS, replication_factor=1) for name in names],
        operation_timeout=30,
        request_timeout=30,
    )
    for future in futures.values():
        future.result(timeout=60)


def _run_one(load: Load, broker: BrokerRun, tools: JavaTools, timeout_s: float) -> tuple[dict, object]:
    if load.client == "java" and load.kind in ("produce", "latency"):
        return tools.produce(
            broker.bootstrap, load.topic, load.records, load.size, load.acks, load.throughput, timeout_s
        )
    if load.client == "java" and load.kind == "consume":
        group = f"bench-{load.key}"
        return tools.consume(broker.bootstrap, load.topic, load.records, group, timeout_s)
    if load.kind == "produce":
        argv = [sys.executable, str(RDKAFKA_LOAD), "produce", broker.bootstrap, load.topic,
                str(load.records), str(load.size), load.acks]  # fmt: skip
    else:
        argv = [sys.executable, str(RDKAFKA_LOAD), "consume", broker.bootstrap, load.topic,
                str(load.records)]  # fmt: skip
    finished = run_bounded(argv, timeout_s)
    return finished.last_json_line(), finished


def for_rep(load: Load, rep: int) -> Load:
    """The same load writing (or reading) the topic of repetition `rep`."""
    return replace(load, topic=f"{load.topic}-r{rep}")


def topics(loads: list[Load], reps: int) -> list[str]:
    return sorted({for_rep(load, rep).topic for load in loads for rep in range(reps)})


def run_load(
    load: Load,
    broker: BrokerRun,
    others: list[BrokerRun],
    tools: JavaTools,
    timeout_s: float,
    runner=_run_one,
) -> dict:
    """Runs one load against one broker; `others` are the idle brokers,
    whose CPU use during the load is recorded to show they stayed idle.
    `runner(load, broker, tools, timeout_s)` runs the load generator and
    returns (metrics, Finished); bench/run-clients passes its own."""
    result: dict = {"topic": load.topic}
    if not broker.alive():
        result["error"] = f"broker exited (status {broker.process.returncode}) before this load"
        return result
    cpu_before = {run.label: run.cpu_seconds() for run in [broker, *others]}
    metrics, finished = runner(load, broker, tools, timeout_s)
    cpu_after = {run.label: run.cpu_seconds() for run in [broker, *others]}
    cpu = {
        label: round(cpu_after[label] - before, 2)
        for label, before in cpu_before.items()
        if before is not None and cpu_after[label] is not None
    }
    result["metrics"] = metrics
    result["wall_s"] = finished.wall_s
    if broker.label in cpu:
        result["broker_cpu_s"] = cpu.pop(broker.label)
    result["idle_brokers_cpu_s"] = cpu
    result["memory_kib"] = broker.memory_kib()
    error = finished.failure()
    if error is None and not metrics:
        error = "no summary in the tool's output"
    if error is None and metrics.get("records", 0) < load.records:
        error = f"only {metrics.get('records', 0):,} of {load.records:,} records"
    if error is None and metrics.get("errors"):
        error = f"{metrics['errors']} errors, first: {metrics.get('first_errors')}"
    if error is None and not broker.alive():
        error = f"broker exited (status {broker.process.returncode}) during this load"
    if error is not None:
        result["error"] = error
        result["output_tail"] = [finished.stdout[-1500:], finished.stderr[-3000:]]
    return result
