"""Kafka's own perf tools (kafka-tools 4.1.1) as load generators.

`ProducerPerformance` and `ConsumerPerformance` come from the kafka-tools
jar that bench/pom.xml resolves into .deps/bench/. Their summary lines are
parsed into dicts with the same keys the librdkafka loads report:
records, records_per_s, mib_per_s and latency_ms {avg, p50, p95, p99, p999,
max}. ProducerPerformance prints percentiles in whole milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

from .procs import Finished, run_bounded

PRODUCER_CLASS = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_CLASS = "org.apache.kafka.tools.ConsumerPerformance"

PRODUCER_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99\.9th"
)

LOG4J_CONFIG = """status = warn
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = err
"""


class JavaTools:
    """Builds and runs the perf tool command lines."""

    def __init__(self, jars_dir: Path, work_dir: Path):
        self.classpath = f"{jars_dir}/*"
        self.work_dir = work_dir
        self.log4j = work_dir / "tools-log4j2.properties"
        self.log4j.write_text(LOG4J_CONFIG)

    def _java(self, main_class: str) -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.log4j}",
            "-cp",
            self.classpath,
            main_class,
        ]

    def produce(
        self,
        bootstrap: str,
        topic: str,
        records: int,
        size: int,
        acks: str,
        throughput: int,
        timeout_s: float,
        extra_props: dict[str, str] | None = None,
    ) -> tuple[dict, Finished]:
        """ProducerPerformance with the producer's defaults except acks and
        `extra_props`."""
        props = [f"{name}={value}" for name, value in (extra_props or {}).items()]
        argv = self._java(PRODUCER_CLASS) + [
            "--topic", topic,
            "--num-records", str(records),
            "--record-size", str(size),
            "--throughput", str(throughput),
            "--producer-props", f"bootstrap.servers={bootstrap}", f"acks={acks}", *props,
        ]  # fmt: skip
        finished = run_bounded(argv, timeout_s)
        match = None
        for match in PRODUCER_SUMMARY.finditer(finished.stdout):
            pass  # the last summary line is the total
        if match is None:
            return {}, finished
        return {
            "records": int(match["records"]),
            "records_per_s": float(match["rps"]),
            "mib_per_s": float(match["mbps"]),
            "latency_ms": {
                "avg": float(match["avg"]),
                "p50": float(match["p50"]),
                "p95": float(match["p95"]),
                "p99": float(match["p99"]),
                "p999": float(match["p999"]),
                "max": float(match["max"]),
            },
        }, finished

    def consume(self, bootstrap: str, topic: str, records: int, group: str, timeout_s: float) -> tuple[dict, Finished]:
        """ConsumerPerformance in a consumer group (classic protocol)."""
        argv = self._java(CONSUMER_CLASS) + [
            "--bootstrap-server", bootstrap,
            "--topic", topic,
            "--messages", str(records),
            "--group", group,
            "--timeout", "30000",
            "--hide-header",
        ]  # fmt: skip
        finished = run_bounded(argv, timeout_s)
        return parse_consumer_summary(finished.stdout), finished


def parse_consumer_summary(stdout: str) -> dict:
    """The CSV line: start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms,
    fetch ms, fetch MB/s, fetch nMsg/s. Rates over the fetch time leave out
    joining the group, which is reported separately."""
    for line in reversed(stdout.strip().splitlines()):
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 10:
            continue
        try:
            numbers = [float(field) for field in fields[2:]]
        except ValueError:
            continue
        _mb, _mbps, messages, _mps, rebalance_ms, fetch_ms, fetch_mbps, fetch_mps = numbers
        return {
            "records": int(messages),
            "records_per_s": fetch_mps,
            "mib_per_s": fetch_mbps,
            "group_join_ms": rebalance_ms,
            "fetch_ms": fetch_ms,
        }
    return {}
