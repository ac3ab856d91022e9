"""The client benchmark's loads (bench/run-clients): the same loads through
the Strom client and librdkafka (both driven by bench/clients' client-perf
binary) and the Java client (kafka-tools ProducerPerformance /
ConsumerPerformance), against one broker.

Every producer gets the same settings (PRODUCER_SETTINGS, acks=all); the
rest is each client's default. Produce loads write their own topic per
client and repetition; every consumer reads the same topic per record
size, written once before the repetitions by the Java producer with those
settings, so all consumers read identical batches.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .brokers import BrokerRun
from .harness import BENCH_DIR, REPO_ROOT, log
from .java_tools import JavaTools
from .loads import PARTITIONS, Load
from .procs import Finished, run_bounded

CLIENT_PERF_MANIFEST = BENCH_DIR / "clients" / "Cargo.toml"
# Its own target dir: the release build of librdkafka and the load
# generator never holds the lock on the main target dir.
CLIENT_PERF_TARGET = REPO_ROOT / "target" / "bench-clients"

ACKS = "all"
PRODUCER_SETTINGS = {"linger.ms": "5", "batch.size": "16384", "compression.type": "none"}

CLIENTS = {
    "strom": {
        "title": "Strom client",
        "settings": "strom-client (this commit) through `client-perf --client strom`, on a multi-threaded "
        "tokio runtime. Defaults: enable.idempotence=true, max.in.flight.requests.per.connection=5; "
        "buffer.memory=32 MiB with send_wait_with_callback (waits for room, as Java's send() blocks; "
        "deliveries reported to callbacks, like librdkafka's delivery reports), and the harness "
        "holds at most 100,000 unacknowledged (librdkafka's queue.buffering.max.messages). "
        "Consumer: assign() every partition at the "
        "earliest offset, no group; max.poll.records=500, fetch.max.wait.ms=500, "
        "max.partition.fetch.bytes=1 MiB.",
    },
    "rdkafka": {
        "title": "librdkafka",
        "settings": "librdkafka {version} built from source (rdkafka crate, cmake-build) through "
        "`client-perf --client rdkafka`: ThreadedProducer, delivery reports on its polling thread. "
        "Defaults: enable.idempotence=false, max.in.flight=1,000,000, queue.buffering.max.messages=100,000. "
        "Consumer: BaseConsumer, assign() every partition at the earliest offset, no group; "
        "fetch.wait.max.ms=500, max.partition.fetch.bytes=1 MiB, prefetching up to queued.min.messages=100,000.",
    },
    "java": {
        "title": "Java client",
        "settings": "kafka-clients 4.1.1 through kafka-tools ProducerPerformance / ConsumerPerformance "
        "({java}). Defaults: enable.idempotence=true, max.in.flight.requests.per.connection=5, "
        "buffer.memory=32 MiB (send() blocks when full). Consumer: ConsumerPerformance in a new group "
        "each run (subscribe, classic protocol), max.poll.records=500, fetch.max.wait.ms=500, "
        "max.partition.fetch.bytes=1 MiB; its rate leaves out joining the group.",
    },
}


@dataclass(frozen=True)
class Row:
    """One line of the report: the same load through every client."""

    key: str
    title: str
    kind: str  # "produce", "consume" or "latency"
    size: int
    records: int
    throughput: int = -1


def plan(scale: float, latency_rate: int, latency_seconds: int) -> list[Row]:
    def n(count: int) -> int:
        return max(1000, int(count * scale))

    rows = []
    for size, count, size_name in ((100, n(1_000_000), "100 B"), (1024, n(300_000), "1 KiB")):
        rows.append(Row(f"produce-{size}", f"Producer, {count:,} × {size_name}, acks=all", "produce", size, count))
    for size, count, size_name in ((100, n(1_000_000), "100 B"), (1024, n(300_000), "1 KiB")):
        rows.append(Row(f"consume-{size}", f"Consumer, {count:,} × {size_name}", "consume", size, count))
    latency_records = max(1000, latency_rate * latency_seconds)
    latency_title = f"Producer at {latency_rate:,} rec/s for {latency_seconds} s, 100 B, acks=all"
    rows.append(Row("latency-100", latency_title, "latency", 100, latency_records, latency_rate))
    return rows


def fill_topic(row: Row) -> str:
    return f"clients-fill-{row.size}"


def load_for(row: Row, client: str, rep: int) -> Load:
    """The load of `row` for `client` in repetition `rep`."""
    topic = fill_topic(row) if row.kind == "consume" else f"clients-{client}-{row.key}-r{rep}"
    return Load(
        key=row.key,
        title=row.title,
        client=client,
        kind=row.kind,
        topic=topic,
        records=row.records,
        size=row.size,
        acks=ACKS,
        throughput=row.throughput,
    )


def topics(rows: list[Row], clients: list[str], reps: int) -> list[str]:
    names = {fill_topic(row) for row in rows if row.kind == "consume"}
    names |= {
        load_for(row, client, rep).topic
        for row in rows
        if row.kind != "consume"
        for client in clients
        for rep in range(reps)
    }
    return sorted(names)


def fill(rows: list[Row], broker: BrokerRun, tools: JavaTools, timeout_s: float) -> list[str]:
    """Writes the consumers' topics; returns the failures."""
    failures = []
    for row in rows:
        if row.kind != "consume":
            continue
        log(f"filling {fill_topic(row)}: {row.records:,} × {row.size} B (Java producer)")
        metrics, finished = tools.produce(
            broker.bootstrap, fill_topic(row), row.records, row.size, ACKS, -1, timeout_s, PRODUCER_SETTINGS
        )
        error = finished.failure()
        if error is None and metrics.get("records", 0) < row.records:
            error = f"only {metrics.get('records', 0):,} of {row.records:,} records"
        if error is not None:
            failures.append(f"filling {fill_topic(row)}: {error}")
    return failures


def build_client_perf() -> Path:
    log(f"cargo build --release --manifest-path bench/clients/Cargo.toml (target dir {CLIENT_PERF_TARGET})")
    env = {**os.environ, "CARGO_TARGET_DIR": str(CLIENT_PERF_TARGET)}
    subprocess.run(["cargo", "build", "--release", "--manifest-path", str(CLIENT_PERF_MANIFEST)], env=env, check=True)
    return client_perf_binary()


def client_perf_binary() -> Path:
    return CLIENT_PERF_TARGET / "release" / "client-perf"


def java_version() -> str:
    result = subprocess.run(["java", "-version"], capture_output=True, text=True)
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[0] if lines else "unknown"


def make_runner(client_perf: Path):
    """The `runner` for loads.run_load: client-perf for the Strom client
    and librdkafka, the kafka-tools classes for Java."""

    def run(load: Load, broker: BrokerRun, tools: JavaTools, timeout_s: float) -> tuple[dict, Finished]:
        if load.client == "java" and load.kind == "consume":
            group = f"clients-{load.key}-{time.monotonic_ns()}"  # a new group: read from the start
            return tools.consume(broker.bootstrap, load.topic, load.records, group, timeout_s)
        if load.client == "java":
            return tools.produce(
                broker.bootstrap,
                load.topic,
                load.records,
                load.size,
                load.acks,
                load.throughput,
                timeout_s,
                PRODUCER_SETTINGS,
            )
        common = ["--bootstrap", broker.bootstrap, "--topic", load.topic, "--records", str(load.records)]
        if load.kind == "consume":
            argv = [str(client_perf), "--client", load.client, "consume", *common, "--partitions", str(PARTITIONS)]
        else:
            argv = [str(client_perf), "--client", load.client, "produce", *common,
                    "--record-size", str(load.size), "--acks", load.acks,
                    "--linger-ms", PRODUCER_SETTINGS["linger.ms"],
                    "--batch-size", PRODUCER_SETTINGS["batch.size"]]  # fmt: skip
            if load.throughput > 0:
                argv += ["--rate", str(load.throughput)]
        finished = run_bounded(argv, timeout_s)
        return finished.last_json_line(), finished

    return run
