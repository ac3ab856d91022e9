#!/usr/bin/env python3
"""Loads with more than one client at a time, or on a fixed schedule,
driven by librdkafka (confluent-kafka for Python):

    flow_load.py e2e BOOTSTRAP TOPIC RATE SECONDS SIZE
    flow_load.py fanout BOOTSTRAP TOPIC RECORDS SIZE GROUPS
    flow_load.py paced BOOTSTRAP TOPIC RATE SECONDS SIZE PARTITIONS

- e2e: one consumer (a child process, assign() at the start of a new topic)
  reads while this process produces RATE records/s for SECONDS, acks=all.
  Every value starts with the record's intended send time on the fixed
  schedule (CLOCK_MONOTONIC, shared by all processes on the machine), and
  the consumer's latency is measured from that, not from when the producer
  got to send it: a producer held up by a slow broker does not hide the
  wait (coordinated omission).
- fanout: GROUPS consumers, each in its own consumer group (child
  processes, subscribe()), read the topic while this process produces
  RECORDS unthrottled. Each group's rate runs from the producer's start to
  the group's last record.
- paced: RATE records/s for SECONDS, spread round-robin over PARTITIONS
  partitions; the latency is from each record's intended send time to its
  acknowledgement. One untimed record per partition goes first.

Children are this script again (`stamped-consumer`, `group-consumer`); they
print `ready` once they receive records, then one JSON line when done.
Prints one JSON object on stdout: records, records_per_s, mib_per_s,
bytes_moved (into the broker plus out of it), latency_ms, errors.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from array import array

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from rdkafka_load import CONSUMER_SETTINGS, percentile  # a sibling script: this dir is on sys.path

MIB = 1024 * 1024
STAMP = struct.Struct(">q")
WARM_UP = -1  # the stamp of the records that only show a consumer is reading
IDLE_TIMEOUT_S = 20.0
READY_TIMEOUT_S = 60.0
LATENCY_FIELDS = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))


def percentiles_ms(latencies_ns: array) -> dict:
    """avg, p50 … p99.9 and max of nanosecond latencies, in ms."""
    values = sorted(latencies_ns)
    if not values:
        return {name: float("nan") for name in ("avg", *dict(LATENCY_FIELDS), "max")}
    result = {"avg": sum(values) / len(values) / 1e6}
    for name, fraction in LATENCY_FIELDS:
        result[name] = percentile(values, fraction) / 1e6
    result["max"] = values[-1] / 1e6
    return result


def new_producer(bootstrap: str) -> Producer:
    # librdkafka's defaults (linger.ms=5, acks=all), as the other loads.
    return Producer({"bootstrap.servers": bootstrap})


class Acks:
    """Delivery reports: errors, and per record the time from its stamp
    (the intended send time) to the report."""

    def __init__(self) -> None:
        self.latencies_ns = array("q")
        self.errors: list[str] = []

    def __call__(self, err, msg) -> None:
        if err is not None:
            self.errors.append(str(err))
            return
        stamp = STAMP.unpack_from(msg.value())[0]
        if stamp != WARM_UP:
            self.latencies_ns.append(time.monotonic_ns() - stamp)


def _send(producer: Producer, topic: str, value: bytes, on_delivery, partition: int | None) -> None:
    while True:
        try:
            if partition is None:
                producer.produce(topic, value, on_delivery=on_delivery)
            else:
                producer.produce(topic, value, partition=partition, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.001)  # local queue full: serve delivery reports


def paced_produce(producer: Producer, topic: str, rate: float, records: int, size: int, partitions: int, acks: Acks):
    """Record i is due at start + i / rate and carries that time. Whatever
    is due is sent at once, so a producer that fell behind catches up in a
    burst and the lag shows in the stamped latency."""
    interval_ns = 1e9 / rate
    padding = b"x" * max(0, size - STAMP.size)
    start = time.monotonic_ns()
    sent = 0
    while sent < records:
        now = time.monotonic_ns()
        due = min(records, int((now - start) / interval_ns) + 1)
        if due <= sent:
            time.sleep((start + sent * interval_ns - now) / 1e9)
            continue
        while sent < due:
            value = STAMP.pack(start + int(sent * interval_ns)) + padding
            _send(producer, topic, value, acks, sent % partitions if partitions else None)
            sent += 1
        producer.poll(0)
    return start


def warm_up(producer: Producer, topic: str, partitions: int, acks: Acks) -> float:
    """One record per partition, so a consumer can show it is reading all
    and the timed run does not wait for partitions still being set up
    (Kafka's CreateTopics answers before its partitions take writes).
    Returns the seconds until all were acknowledged."""
    started = time.monotonic()
    for partition in range(partitions):
        _send(producer, topic, STAMP.pack(WARM_UP) + b"warm-up", acks, partition)
    while producer.flush(1) > 0 and time.monotonic() - started < READY_TIMEOUT_S * 2:
        pass
    return time.monotonic() - started


def partition_count(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-metadata"})
    try:
        return len(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
    finally:
        consumer.close()


def spawn_child(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )


def wait_ready(child: subprocess.Popen) -> None:
    line = child.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"consumer child did not get ready (said {line!r}, status {child.poll()})")


def child_result(child: subprocess.Popen, timeout_s: float) -> dict:
    try:
        out, _ = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"received": 0, "errors": 1, "first_errors": [f"consumer child: no result, status {child.returncode}"]}


def read_stamped(consumer: Consumer, partitions: int, records: int, on_record) -> tuple[int, list[str]]:
    """Says `ready` once a warm-up record from every partition came, then
    reads `records` stamped records (or stops after IDLE_TIMEOUT_S without
    any), calling on_record(stamp, received_ns) for each."""
    warm = 0
    received = 0
    errors: list[str] = []
    last_data = time.monotonic()
    while received < records and time.monotonic() - last_data < IDLE_TIMEOUT_S:
        # Whatever is already queued, without waiting; if nothing, wait for
        # one record (consume() with a timeout would wait for a full batch).
        batch = consumer.consume(num_messages=1000, timeout=0)
        if not batch:
            message = consumer.poll(0.05)
            batch = [message] if message is not None else []
        now = time.monotonic_ns()
        for message in batch:
            if message.error() is not None:
                errors.append(str(message.error()))
                continue
            stamp = STAMP.unpack_from(message.value())[0]
            if stamp == WARM_UP:
                warm += 1
                if warm == partitions:
                    print("ready", flush=True)
                continue
            on_record(stamp, now)
            received += 1
            last_data = time.monotonic()
    return received, errors


def stamped_consumer(bootstrap: str, topic: str, records: int) -> dict:
    """The e2e reader: assign() every partition at the start, no group."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-e2e-unused", "enable.auto.commit": False,
         **CONSUMER_SETTINGS}
    )  # fmt: skip
    partitions = sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    latencies = array("q")
    received, errors = read_stamped(
        consumer, len(partitions), records, lambda stamp, now: latencies.append(now - stamp)
    )
    consumer.close()
    return {"received": received, "latency_ms": percentiles_ms(latencies), "errors": len(errors),
            "first_errors": errors[:5]}  # fmt: skip


def group_consumer(bootstrap: str, topic: str, records: int, group: str) -> dict:
    """One fan-out reader: its own group, subscribe(), from the earliest offset."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
         "enable.auto.commit": False, **CONSUMER_SETTINGS}
    )  # fmt: skip
    consumer.subscribe([topic])
    partitions = len(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
    last = [0]

    def on_record(_stamp: int, now: int) -> None:
        last[0] = now

    received, errors = read_stamped(consumer, partitions, records, on_record)
    consumer.close()
    return {"received": received, "last_ns": last[0], "errors": len(errors), "first_errors": errors[:5]}


def e2e(bootstrap: str, topic: str, rate: float, seconds: float, size: int) -> dict:
    records = max(1, int(rate * seconds))
    producer = new_producer(bootstrap)
    acks = Acks()
    reader = spawn_child("stamped-consumer", bootstrap, topic, str(records))
    warm_up(producer, topic, partition_count(bootstrap, topic), acks)
    wait_ready(reader)
    start = paced_produce(producer, topic, rate, records, size, 0, acks)
    unsent = producer.flush(120)
    produce_s = (time.monotonic_ns() - start) / 1e9
    read = child_result(reader, IDLE_TIMEOUT_S + 60)
    return {
        "records": read["received"],
        "produced": len(acks.latencies_ns),
        "records_per_s": len(acks.latencies_ns) / produce_s,
        "mib_per_s": len(acks.latencies_ns) * size / MIB / produce_s,
        "target_records_per_s": rate,
        "bytes_moved": (len(acks.latencies_ns) + read["received"]) * size,
        "latency_ms": read["latency_ms"],
        "ack_latency_ms": percentiles_ms(acks.latencies_ns),
        "errors": len(acks.errors) + unsent + read["errors"],
        "first_errors": acks.errors[:5] + read.get("first_errors", []),
    }


def fanout(bootstrap: str, topic: str, records: int, size: int, groups: int) -> dict:
    producer = new_producer(bootstrap)
    acks = Acks()
    warm_up(producer, topic, partition_count(bootstrap, topic), acks)
    readers = [spawn_child("group-consumer", bootstrap, topic, str(records), f"{topic}-g{i}") for i in range(groups)]
    for reader in readers:
        wait_ready(reader)
    value = STAMP.pack(0) + b"x" * max(0, size - STAMP.size)
    start = time.monotonic_ns()
    for sent in range(records):
        _send(producer, topic, value, acks, None)
        if sent % 1000 == 0:
            producer.poll(0)
    unsent = producer.flush(120)
    produce_s = (time.monotonic_ns() - start) / 1e9
    reads = [child_result(reader, IDLE_TIMEOUT_S + 120) for reader in readers]
    group_rates = [read["received"] / ((read["last_ns"] - start) / 1e9) if read["received"] else 0.0 for read in reads]
    received = sum(read["received"] for read in reads)
    return {
        # The run is complete when every group read every record.
        "records": min(read["received"] for read in reads),
        "records_per_s": sum(group_rates),
        "mib_per_s": sum(group_rates) * size / MIB,
        "slowest_records_per_s": min(group_rates),
        "slowest_mib_per_s": min(group_rates) * size / MIB,
        "producer_records_per_s": len(acks.latencies_ns) / produce_s,
        "producer_mib_per_s": len(acks.latencies_ns) * size / MIB / produce_s,
        "bytes_moved": (len(acks.latencies_ns) + received) * size,
        "errors": len(acks.errors) + unsent + sum(read["errors"] for read in reads),
        "first_errors": acks.errors[:5] + [e for read in reads for e in read.get("first_errors", [])][:5],
    }


def paced(bootstrap: str, topic: str, rate: float, seconds: float, size: int, partitions: int) -> dict:
    records = max(1, int(rate * seconds))
    producer = new_producer(bootstrap)
    acks = Acks()
    # Untimed: the producer learns every partition's leader, and a broker
    # that has just created the topic gets every partition ready.
    ready_s = warm_up(producer, topic, partitions, acks)
    start = paced_produce(producer, topic, rate, records, size, partitions, acks)
    unsent = producer.flush(120)
    elapsed = (time.monotonic_ns() - start) / 1e9
    delivered = len(acks.latencies_ns)
    return {
        "records": delivered,
        "records_per_s": delivered / elapsed,
        "mib_per_s": delivered * size / MIB / elapsed,
        "target_records_per_s": rate,
        "partitions_ready_s": ready_s,
        "bytes_moved": delivered * size,
        "latency_ms": percentiles_ms(acks.latencies_ns),
        "errors": len(acks.errors) + unsent,
        "first_errors": acks.errors[:5],
    }


def die_with_parent() -> None:
    """A child outlives a parent killed on timeout; stop with it instead
    (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))
        if os.getppid() == 1:
            sys.exit(1)
    except (OSError, AttributeError):
        pass


COMMANDS = {
    "e2e": (e2e, (str, str, float, float, int)),
    "fanout": (fanout, (str, str, int, int, int)),
    "paced": (paced, (str, str, float, float, int, int)),
    "stamped-consumer": (stamped_consumer, (str, str, int)),
    "group-consumer": (group_consumer, (str, str, int, str)),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS or len(argv) - 1 != len(COMMANDS[argv[0]][1]):
        print(__doc__, file=sys.stderr)
        return 2
    function, types = COMMANDS[argv[0]]
    if argv[0].endswith("consumer"):
        die_with_parent()
    try:
        result = function(*(kind(arg) for kind, arg in zip(types, argv[1:])))
    except (KafkaException, RuntimeError) as err:
        print(f"flow_load: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
