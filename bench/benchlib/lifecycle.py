"""Start-up and recovery: one more broker of the same kind, on a data dir
of its own, started, filled, killed and restarted, each restart timed.

1. Start on an empty data dir: time to the first acknowledged record (the
   probe creates its one-partition topic first, as a new cluster's first
   producer would need).
2. Fill a 6-partition topic (1 KiB records, acks=all, Java producer) and
   note every partition's end offset.
3. SIGKILL the broker, restart it: time to the first acknowledged record
   (the probe topic) and, in parallel, to the last record of every
   partition of the filled topic being readable.
4. Stop it cleanly (SIGTERM), restart: the same two times.

Times run from the start of the broker process (for Kafka, from the start
of the JVM that runs kafka.Kafka: scripts/kafka first formats the storage
dir in a JVM of its own, which a real deployment does once) on the
CLOCK_BOOTTIME clock that /proc reports process start times on. The probe
waits for the port to accept connections (polling every 5 ms), then
produces with librdkafka's retry and reconnect backoffs cut to 10-100 ms,
so the client adds little of its own waiting.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from . import brokers
from .ports import free_ports
from .procs import CLOCK_TICKS, Finished, ResourceSampler

PROBE_TOPIC = "bench-lifecycle-probe"
FILL_TOPIC = "bench-lifecycle-fill"
FILL_PARTITIONS = 6
# Short client backoffs: the probe should find the broker ready within
# tens of ms of it being ready, not after librdkafka's default backoff.
FAST_RETRY = {
    "reconnect.backoff.ms": 10,
    "reconnect.backoff.max.ms": 100,
    "retry.backoff.ms": 10,
    "retry.backoff.max.ms": 100,
    "topic.metadata.refresh.fast.interval.ms": 50,
    "log_level": 3,
}


def _now() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _process_start(pid: int) -> float | None:
    """When process `pid` started, in CLOCK_BOOTTIME seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]) / CLOCK_TICKS  # starttime, field 22 of stat


class LifecycleBroker:
    """One broker on a fixed port and data dir, started again and again."""

    def __init__(self, label: str, settings: dict, strom: Path | None, repo_root: Path, work_dir: Path):
        self.label = label
        (self.port,) = free_ports(1)
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.dir = work_dir / f"lifecycle-{label}"
        self.dir.mkdir()
        if label == "kafka":
            self.command = brokers.kafka_command(repo_root, self.dir / "kafka", settings, self.port)
            self.data_dir = self.dir / "kafka" / "data"
        else:
            self.data_dir = self.dir / "data"
            self.data_dir.mkdir()
            self.command = brokers.strom_command(strom, self.data_dir, settings, self.port)
        self.process: subprocess.Popen | None = None
        self.server_pid = 0

    def start(self, deadline: float) -> float:
        """Starts the broker; returns when its server process started."""
        launched = _now()
        with open(self.dir / "stderr.log", "ab") as stderr:
            self.process = subprocess.Popen(
                self.command, stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL
            )
        if self.label != "kafka":
            self.server_pid = self.process.pid
            return launched
        self.server_pid = brokers._child_pid(self.process.pid, "kafka.Kafka", max(1.0, deadline - _now()))
        started = _process_start(self.server_pid)
        if self.server_pid == self.process.pid or started is None:
            raise RuntimeError("scripts/kafka did not start kafka.Kafka")
        return started

    def stop(self) -> None:
        """SIGTERM, as the bench stops its brokers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(brokers.STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """SIGKILL the server process itself (for Kafka the JVM, whose
        launcher script then exits)."""
        if self.process is None:
            return
        try:
            os.kill(self.server_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def data_mib(self) -> float:
        """Disk blocks in use, not file sizes: Kafka's preallocated, sparse
        index files would count 10 MiB each."""
        total = sum(path.stat().st_blocks * 512 for path in self.data_dir.rglob("*") if path.is_file())
        return round(total / 1024 / 1024, 1)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _wait_for_port(port: int, deadline: float) -> None:
    while _now() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.005)
    raise TimeoutError(f"port {port} never accepted a connection")


def _create_topic(bootstrap: str, name: str, partitions: int, deadline: float) -> None:
    """CreateTopics, retried while the broker is still coming up."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **FAST_RETRY})
    while True:
        future = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name]
        try:
            future.result(timeout=max(1.0, deadline - _now()))
            return
        except KafkaException as err:
            if "TOPIC_ALREADY_EXISTS" in str(err):
                return
            if _now() > deadline:
                raise
            time.sleep(0.01)


def first_ack(broker: LifecycleBroker, create: bool, deadline: float) -> float:
    """Produces one record to the probe topic until one is acknowledged;
    returns when (CLOCK_BOOTTIME)."""
    _wait_for_port(broker.port, deadline)
    if create:
        _create_topic(broker.bootstrap, PROBE_TOPIC, 1, deadline)
    while _now() < deadline:
        remaining_ms = int((deadline - _now()) * 1000)
        producer = Producer(
            {"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0,
             "message.timeout.ms": max(1000, remaining_ms), **FAST_RETRY}
        )  # fmt: skip
        delivered: list = []
        producer.produce(PROBE_TOPIC, b"probe", on_delivery=lambda err, _msg: delivered.append(err))
        producer.flush(max(1.0, deadline - _now()))
        if delivered and delivered[0] is None:
            return _now()
        time.sleep(0.01)
    raise TimeoutError("no produce acknowledged")


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-lifecycle", "log_level": 3})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    finally:
        consumer.close()


def last_records_readable(broker: LifecycleBroker, ends: dict[int, int], deadline: float) -> float:
    """Fetches the last record of every partition of the filled topic until
    each came back; returns when (CLOCK_BOOTTIME)."""
    _wait_for_port(broker.port, deadline)
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "bench-lifecycle", "enable.auto.commit": False,
         "auto.offset.reset": "error", "fetch.error.backoff.ms": 10, "fetch.wait.max.ms": 100, **FAST_RETRY}
    )  # fmt: skip
    pending = {p for p, end in ends.items() if end > 0}
    try:
        consumer.assign([TopicPartition(FILL_TOPIC, p, ends[p] - 1) for p in pending])
        while pending and _now() < deadline:
            message = consumer.poll(0.05)
            if message is None:
                continue
            if message.error() is not None:
                # Not served yet (the broker still loading its logs):
                # ask again from the same offsets.
                time.sleep(0.01)
                consumer.assign([TopicPartition(FILL_TOPIC, p, ends[p] - 1) for p in pending])
                continue
            if message.offset() >= ends[message.partition()] - 1:
                pending.discard(message.partition())
        if pending:
            raise TimeoutError(f"partitions {sorted(pending)} never served their last record")
        return _now()
    finally:
        consumer.close()


def restart_times(broker: LifecycleBroker, ends: dict[int, int], deadline: float) -> tuple[float, float]:
    """Starts the broker; seconds to the first acknowledged record and to
    every partition's last record read, measured in parallel."""
    started = broker.start(deadline)
    readable: dict = {}

    def read() -> None:
        try:
            readable["at"] = last_records_readable(broker, ends, deadline)
        except Exception as err:  # reported by the caller
            readable["error"] = err

    reader = threading.Thread(target=read)
    reader.start()
    try:
        acked = first_ack(broker, create=False, deadline=deadline)
    finally:
        reader.join()
    if "error" in readable:
        raise readable["error"]
    return round(acked - started, 3), round(readable["at"] - started, 3)


def run(broker: LifecycleBroker, fill, records: int, size: int, timeout_s: float) -> tuple[dict, Finished]:
    """The whole sequence; `fill(bootstrap, topic, records, timeout_s)`
    writes the backlog and returns (metrics, Finished) like a load."""
    began = _now()
    deadline = began + timeout_s
    metrics: dict = {}
    try:
        with ResourceSampler(lambda: broker.server_pid) as sampled:
            started = broker.start(deadline)
            metrics["empty_first_ack_s"] = round(first_ack(broker, create=True, deadline=deadline) - started, 3)
            _create_topic(broker.bootstrap, FILL_TOPIC, FILL_PARTITIONS, deadline)
            filled, finished = fill(broker.bootstrap, FILL_TOPIC, records, deadline - _now())
            if finished.failure() is not None or filled.get("records", 0) < records:
                return {}, finished
            ends = end_offsets(broker.bootstrap, FILL_TOPIC, FILL_PARTITIONS)
            metrics["data_mib"] = broker.data_mib()
            broker.kill()
            metrics["kill_first_ack_s"], metrics["kill_last_readable_s"] = restart_times(broker, ends, deadline)
            broker.stop()
            metrics["restart_first_ack_s"], metrics["restart_last_readable_s"] = restart_times(broker, ends, deadline)
            broker.stop()
    except (KafkaException, TimeoutError, RuntimeError, OSError) as err:
        return {}, Finished(1, "", f"{type(err).__name__}: {err}", round(_now() - began, 2), False)
    finally:
        broker.remove()
    metrics.update(
        records=records,
        records_per_s=filled["records_per_s"],
        mib_per_s=filled["mib_per_s"],
        bytes_moved=records * size,
        broker_cpu_s=sampled.cpu_s,
        broker_peak_rss_mib=sampled.peak_rss_mib,
    )
    return metrics, Finished(0, "", "", round(_now() - began, 2), False)
