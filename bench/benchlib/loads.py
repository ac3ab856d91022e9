"""The loads every broker gets, and running one load against one broker.

Each load is bounded in count and in time (`timeout_s`): a load that does
not finish is killed and recorded as failed with the reason, and the run
goes on. Every produce load writes its own topic per repetition; a consume
load reads the topic an earlier produce load of the same repetition wrote,
so it reads exactly what was acknowledged. The loads that write the most
(end-to-end, fan-out, catch-up, 1,000 partitions) delete their topic when
done, and bench/run deletes a repetition's other topics after it, so the
disk holds about one repetition's data per broker at a time.

Every load's broker CPU time and peak resident memory are sampled while it
runs (procs.ResourceSampler), and divided by the bytes the load moved
through the broker (produced plus consumed) for CPU seconds per GB.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from . import harness, http_pressure, lifecycle, loopback, raw_fetch
from .brokers import BrokerRun
from .java_tools import JavaTools
from .procs import Finished, ResourceSampler, children_cpu_s, run_bounded

PARTITIONS = 6
RDKAFKA_LOAD = Path(__file__).resolve().parent / "rdkafka_load.py"
FLOW_LOAD = Path(__file__).resolve().parent / "flow_load.py"
GB = 1e9
MIB = 1024 * 1024
# Record sizes and counts (before --scale) of the added loads.
KIB = 1024
# The fan-out's run lasts about ten seconds: at 300,000 it lasted two, and
# Kafka's rate moved between 73k and 184k records/s from run to run.
FANOUT_RECORDS = 1_200_000
FANOUT_GROUPS = 4
BACKLOG_RECORDS = 2_000_000  # 1 KiB each: about 2 GB per broker at --scale 1
LIFECYCLE_RECORDS = 10_000_000  # 1 KiB each: the 10 GB start-up and recovery fill at --scale 1
MANY_PARTITIONS = 1000
MANY_PARTITIONS_RATE = 5000  # records/s of 1 KiB: 5 MB/s spread over all partitions
MANY_PARTITIONS_SECONDS = 30
# The throughput loads' counts: each run lasts several seconds, so that the
# clients' start-up, first metadata and ramp-up (and the JVM's JIT warm-up)
# are a small part of it. At a fifth of these the librdkafka runs lasted
# under a second and their rates moved by up to ±34% between repetitions.
JAVA_RECORDS = {100: 3_000_000, 1024: 1_000_000}
RDKAFKA_RECORDS = {100: 3_000_000, 1024: 1_000_000}
# The load groups --loads chooses from, in the order they run.
GROUPS = (
    "java-produce", "java-consume", "rdkafka-produce", "rdkafka-consume", "latency",
    "e2e", "fanout", "catchup", "partitions", "lifecycle",
)  # fmt: skip


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
    group: str = ""  # the name --loads selects it by (GROUPS)
    needs: str = ""  # the group whose topic it reads
    rate: float = 0.0  # records/s of a paced producer (e2e, partitions)
    seconds: float = 0.0  # how long a paced producer runs
    partitions: int = PARTITIONS
    consumer_groups: int = 0  # fan-out readers
    delete_after: bool = False  # delete the topic once done (free the disk)
    http_pressure: bool = False  # slow clients and a scraper on Strom's HTTP listener meanwhile


def plan(
    scale: float,
    latency_rate: int,
    latency_seconds: int,
    e2e_mb_per_s: float = 50.0,
    e2e_seconds: float | None = None,
    only: list[str] | None = None,
) -> list[Load]:
    """The load list; `scale` multiplies every record count (and the
    end-to-end and 1,000-partition run times). `only`: the groups to run
    (GROUPS), plus the groups whose topics those read."""
    loads = classic_loads(scale, latency_rate, latency_seconds) + added_loads(scale, e2e_mb_per_s, e2e_seconds)
    if only is None:
        return loads
    wanted = set(only) | {load.needs for load in loads if load.group in only and load.needs}
    return [load for load in loads if load.group in wanted]


def classic_loads(scale: float, latency_rate: int, latency_seconds: int) -> list[Load]:
    """The throughput and produce-latency loads."""

    def n(count: int) -> int:
        return max(1000, int(count * scale))

    latency_records = max(1000, latency_rate * latency_seconds)
    loads = []
    java = ((100, n(JAVA_RECORDS[100]), "100 B"), (1024, n(JAVA_RECORDS[1024]), "1 KiB"))
    for size, count, size_name in java:
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
                    group="java-produce",
                )
            )
    for size, count, size_name in java:
        loads.append(
            Load(
                key=f"java-consume-{size}",
                title=f"Java consumer (group), {count:,} × {size_name}",
                client="java",
                kind="consume",
                topic=f"bench-java-{size}-acks1",
                records=count,
                size=size,
                group="java-consume",
                needs="java-produce",
            )
        )
    rdkafka = ((100, n(RDKAFKA_RECORDS[100]), "100 B"), (1024, n(RDKAFKA_RECORDS[1024]), "1 KiB"))
    for size, count, size_name in rdkafka:
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
                group="rdkafka-produce",
            )
        )
    loads.append(
        Load(
            key="rdkafka-consume-100",
            title=f"librdkafka consumer (assign), {n(RDKAFKA_RECORDS[100]):,} × 100 B",
            client="librdkafka",
            kind="consume",
            topic="bench-rdkafka-100",
            records=n(RDKAFKA_RECORDS[100]),
            size=100,
            group="rdkafka-consume",
            needs="rdkafka-produce",
        )
    )
    fixed_rate = Load(
        key="java-latency-100-acksall",
        title=f"Java producer at {latency_rate:,} rec/s for {latency_seconds} s, 100 B, acks=all",
        client="java",
        kind="latency",
        topic="bench-latency",
        records=latency_records,
        size=100,
        acks="all",
        throughput=latency_rate,
        group="latency",
    )
    loads.append(fixed_rate)
    loads.append(
        replace(
            fixed_rate,
            key="java-latency-100-acksall-slow-http",
            title=f"… the same while {http_pressure.SLOW_CLIENTS} slow HTTP clients dribble headers and /metrics and "
            "/v1 are read every 100 ms (Strom's HTTP listener; Kafka has none, so its run is the same load again)",
            topic="bench-latency-http",
            http_pressure=True,
        )
    )
    return loads


def added_loads(scale: float, e2e_mb_per_s: float, e2e_seconds: float | None) -> list[Load]:
    """End-to-end latency, fan-out, catch-up read, 1,000 partitions,
    start-up and recovery: 1 KiB records throughout."""

    def n(count: int) -> int:
        return max(1000, int(count * scale))

    e2e_rate = e2e_mb_per_s * 1e6 / KIB  # MB = 10^6 bytes
    e2e_s = e2e_seconds if e2e_seconds is not None else max(2.0, 20 * scale)
    partitions_s = max(2.0, MANY_PARTITIONS_SECONDS * scale)
    backlog = n(BACKLOG_RECORDS)
    backlog_gb = backlog * KIB / GB
    lifecycle_fill = n(LIFECYCLE_RECORDS)
    return [
        Load(
            key="e2e-1024",
            title=f"End-to-end, 1 KiB at {e2e_mb_per_s:g} MB/s for {e2e_s:g} s, acks=all (librdkafka)",
            client="librdkafka",
            kind="e2e",
            topic="bench-e2e",
            records=max(1, int(e2e_rate * e2e_s)),
            size=KIB,
            acks="all",
            group="e2e",
            rate=e2e_rate,
            seconds=e2e_s,
            delete_after=True,
        ),
        Load(
            key="fanout-1024",
            title=f"1 producer, {FANOUT_GROUPS} consumer groups, {n(FANOUT_RECORDS):,} × 1 KiB (librdkafka)",
            client="librdkafka",
            kind="fanout",
            topic="bench-fanout",
            records=n(FANOUT_RECORDS),
            size=KIB,
            acks="all",
            group="fanout",
            consumer_groups=FANOUT_GROUPS,
            delete_after=True,
        ),
        Load(
            key="catchup-1024",
            title=f"Catch-up read of a {backlog_gb:.2g} GB backlog, {backlog:,} × 1 KiB (Java consumer)",
            client="java",
            kind="catchup",
            topic="bench-catchup",
            records=backlog,
            size=KIB,
            acks="1",
            group="catchup",
            delete_after=True,
        ),
        Load(
            key="partitions-1000",
            title=f"{MANY_PARTITIONS:,} partitions, {MANY_PARTITIONS_RATE:,} × 1 KiB/s for {partitions_s:g} s, "
            "acks=all (librdkafka)",
            client="librdkafka",
            kind="partitions",
            topic="bench-partitions",
            records=int(MANY_PARTITIONS_RATE * partitions_s),
            size=KIB,
            acks="all",
            group="partitions",
            rate=MANY_PARTITIONS_RATE,
            seconds=partitions_s,
            partitions=MANY_PARTITIONS,
            delete_after=True,
        ),
        Load(
            key="lifecycle",
            title=f"Start-up and recovery with {lifecycle_fill * KIB / GB:.2g} GB ({lifecycle_fill:,} × 1 KiB)",
            client="java",
            kind="lifecycle",
            topic="bench-lifecycle",  # on a broker of its own; no topic on the running one
            records=lifecycle_fill,
            size=KIB,
            acks="all",
            group="lifecycle",
            partitions=0,
        ),
    ]


def create_topics(bootstrap: str, names: list[str] | dict[str, int]) -> None:
    """Every topic the loads use, before any load: a list of names gets
    PARTITIONS partitions each, a dict names with their partition counts."""
    counts = names if isinstance(names, dict) else dict.fromkeys(names, PARTITIONS)
    if not counts:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=count, replication_factor=1) for name, count in counts.items()],
        operation_timeout=60,
        request_timeout=60,
    )
    for future in futures.values():
        future.result(timeout=120)


def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Deletes topics to free the disk; a topic that is gone already, or a
    broker that does not answer, is not an error here."""
    if not names:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    futures = admin.delete_topics(names, operation_timeout=60, request_timeout=60)
    for name, future in futures.items():
        try:
            future.result(timeout=120)
        except Exception as err:  # cleanup must not fail the run
            harness.log(f"deleting {name}: {err}")


def _run_one(load: Load, broker: BrokerRun, tools: JavaTools, timeout_s: float) -> tuple[dict, object]:
    if load.kind in ADDED_RUNNERS:
        return ADDED_RUNNERS[load.kind](load, broker, tools, timeout_s)
    if load.client == "java" and load.kind in ("produce", "latency"):
        if load.http_pressure and broker.http:
            with http_pressure.HttpPressure(broker.http) as pressure:
                metrics, finished = tools.produce(
                    broker.bootstrap, load.topic, load.records, load.size, load.acks, load.throughput, timeout_s
                )
            if metrics:
                metrics.update(pressure.summary())
            return metrics, finished
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


def _flow(load: Load, broker: BrokerRun, _tools: JavaTools, timeout_s: float) -> tuple[dict, Finished]:
    """End-to-end, fan-out and the 1,000-partition load: flow_load.py."""
    base = [sys.executable, str(FLOW_LOAD), load.kind if load.kind != "partitions" else "paced", broker.bootstrap,
            load.topic]  # fmt: skip
    if load.kind == "e2e":
        argv = base + [str(load.rate), str(load.seconds), str(load.size)]
    elif load.kind == "fanout":
        argv = base + [str(load.records), str(load.size), str(load.consumer_groups)]
    else:
        argv = base + [str(load.rate), str(load.seconds), str(load.size), str(load.partitions)]
    finished = run_bounded(argv, timeout_s)
    return finished.last_json_line(), finished


def _catchup(load: Load, broker: BrokerRun, tools: JavaTools, timeout_s: float) -> tuple[dict, Finished]:
    """Fills the topic (Java producer, acks=1), then one Java consumer in a
    new group reads it all from the start. Only the read is the figure:
    its rate, and the broker's CPU and memory while it ran; as its
    ceiling, the same segment files sent over loopback with sendfile
    (loopback.py), in the same page cache state; and what the broker's
    read path allows, fetches of it all by a reader that only walks the
    batch headers (raw_fetch.py), with the broker's CPU during them."""
    filled, finished = tools.produce(broker.bootstrap, load.topic, load.records, load.size, "1", -1, timeout_s)
    if finished.failure() is not None or filled.get("records", 0) < load.records:
        return {}, finished
    with ResourceSampler(lambda: broker.server_pid) as sampled:
        metrics, finished = tools.consume(broker.bootstrap, load.topic, load.records, f"bench-{load.topic}", timeout_s)
    if metrics:
        ceiling_s = loopback.best_send_time_s(loopback.segment_files(broker.data_dir, load.topic), timeout_s)
        ceiling_mib_per_s = load.records * load.size / MIB / ceiling_s
        with ResourceSampler(lambda: broker.server_pid) as raw_sampled:
            raw = raw_fetch.read_all(broker.bootstrap, load.topic, PARTITIONS, load.records, timeout_s)
        raw_mib_per_s = load.records * load.size / MIB / raw["seconds"]
        metrics.update(
            ceiling_mib_per_s=ceiling_mib_per_s,
            ceiling_share=metrics["mib_per_s"] / ceiling_mib_per_s,
            raw_records=raw["records"],
            raw_mib_per_s=raw_mib_per_s,
            raw_share=raw_mib_per_s / ceiling_mib_per_s,
            raw_cpu_s_per_gb=raw_sampled.cpu_s / (load.records * load.size / GB),
            fill_mib_per_s=filled["mib_per_s"],
            backlog_mib=load.records * load.size / MIB,
            bytes_moved=metrics["records"] * load.size,
            broker_cpu_s=sampled.cpu_s,
            broker_peak_rss_mib=sampled.peak_rss_mib,
        )
    return metrics, finished


def _lifecycle(load: Load, broker: BrokerRun, tools: JavaTools, timeout_s: float) -> tuple[dict, Finished]:
    """Start-up and recovery on a broker of the same kind of its own."""
    settings = harness.BROKERS[broker.label]["settings"]
    instance = lifecycle.LifecycleBroker(broker.label, settings, broker.binary, harness.REPO_ROOT, tools.work_dir)

    def fill(bootstrap: str, topic: str, records: int, fill_timeout_s: float) -> tuple[dict, Finished]:
        return tools.produce(bootstrap, topic, records, load.size, load.acks, -1, max(1.0, fill_timeout_s))

    # Its fill alone is 10 GB at --scale 1 (Kafka writes it in about two
    # minutes here): the per-load limit, scaled by the fill over 2 GB.
    limit_s = timeout_s * max(1.0, load.records / BACKLOG_RECORDS)
    return lifecycle.run(instance, fill, load.records, load.size, limit_s)


ADDED_RUNNERS = {
    "e2e": _flow,
    "fanout": _flow,
    "partitions": _flow,
    "catchup": _catchup,
    "lifecycle": _lifecycle,
}


def for_rep(load: Load, rep: int) -> Load:
    """The same load writing (or reading) the topic of repetition `rep`."""
    return replace(load, topic=f"{load.topic}-r{rep}")


def _kept(load: Load) -> bool:
    """Whether the load's topic lives for its repetition (made up front,
    deleted after the repetition), not just for the load itself."""
    return load.partitions > 0 and not load.delete_after


def topics(loads: list[Load], reps: int) -> dict[str, int]:
    """The topics made up front, of every repetition, with their partition
    counts. A load that deletes its topic makes it itself, so a 1,000-
    partition topic is not on the broker during the other loads."""
    return {for_rep(load, rep).topic: load.partitions for load in loads for rep in range(reps) if _kept(load)}


def rep_topics(loads: list[Load], rep: int) -> list[str]:
    """The topics repetition `rep` wrote, to delete once it is over."""
    return sorted({for_rep(load, rep).topic for load in loads if _kept(load)})


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
    if load.delete_after:
        try:
            started = time.monotonic()
            create_topics(broker.bootstrap, {load.topic: load.partitions})
            result["create_topic_s"] = round(time.monotonic() - started, 2)
        except Exception as err:  # this load fails, the run goes on
            result["error"] = f"creating {load.topic}: {type(err).__name__}: {err}"
            return result
    cpu_before = {run.label: run.cpu_seconds() for run in [broker, *others]}
    clients_before, started = children_cpu_s(), time.monotonic()
    with ResourceSampler(lambda: broker.server_pid) as sampled:
        metrics, finished = runner(load, broker, tools, timeout_s)
    clients_cpu_s, load_s = children_cpu_s() - clients_before, time.monotonic() - started
    cpu_after = {run.label: run.cpu_seconds() for run in [broker, *others]}
    cpu = {
        label: round(cpu_after[label] - before, 2)
        for label, before in cpu_before.items()
        if before is not None and cpu_after[label] is not None
    }
    if metrics and "create_topic_s" in result:
        metrics["create_topic_s"] = result["create_topic_s"]
    result["metrics"] = metrics
    result["wall_s"] = finished.wall_s
    if broker.label in cpu:
        result["broker_cpu_s"] = cpu.pop(broker.label)
    result["idle_brokers_cpu_s"] = cpu
    result["memory_kib"] = broker.memory_kib()
    result.update(load_resources(load, metrics, result.get("broker_cpu_s"), sampled.peak_rss_mib))
    result.update(machine_use(metrics, result.get("broker_cpu_s"), clients_cpu_s, load_s))
    if load.delete_after and broker.alive():
        delete_topics(broker.bootstrap, [load.topic])
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


def load_resources(load: Load, metrics: dict, broker_cpu_s: float | None, peak_rss_mib: float) -> dict:
    """The broker's CPU seconds per GB moved (10^9 bytes into the broker
    plus out of it) and its peak RSS during the load. A load that measures
    a part of itself (the catch-up read) or another broker (start-up)
    reports its own figures in `metrics`."""
    cpu = metrics.get("broker_cpu_s", broker_cpu_s)
    moved = metrics.get("bytes_moved", metrics.get("records", 0) * load.size)
    result = {"broker_peak_rss_mib": metrics.get("broker_peak_rss_mib", peak_rss_mib), "gb_moved": round(moved / GB, 4)}
    if cpu is not None and moved > 0:
        result["cpu_s_per_gb"] = round(cpu / (moved / GB), 2)
    return result


def machine_use(metrics: dict, broker_cpu_s: float | None, clients_cpu_s: float, load_s: float) -> dict:
    """The CPU the load's clients used (the processes it ran, the JVM's
    start-up included) and how busy the machine's cores were with them and
    the broker: near 100%, the load measures the machine as much as the
    broker, and a broker that used less CPU left it to the clients. Left
    out for loads that time a part of themselves (the catch-up read, the
    start-up broker): their broker figure covers less than the clients'."""
    if "broker_cpu_s" in metrics or broker_cpu_s is None or load_s <= 0:
        return {}
    cores = len(os.sched_getaffinity(0))
    return {
        "clients_cpu_s": round(clients_cpu_s, 2),
        "machine_busy": round((broker_cpu_s + clients_cpu_s) / (cores * load_s), 3),
    }
