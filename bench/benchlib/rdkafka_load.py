#!/usr/bin/env python3
"""librdkafka (confluent-kafka for Python) as a second load generator.

Run as its own process so the broker, this client and the Java tools each
get their own interpreter or VM:

    rdkafka_load.py produce BOOTSTRAP TOPIC RECORDS SIZE ACKS
    rdkafka_load.py consume BOOTSTRAP TOPIC RECORDS

Prints one JSON object on stdout with the keys the Java tools' parsers
produce (records, records_per_s, mib_per_s, latency_ms for produce) plus
errors. Produce latency is librdkafka's own per-message figure
(Message.latency(): from produce() to the delivery report). The consumer
assigns every partition at the earliest offset (no group), so it works on a
broker whatever its group support.
"""

from __future__ import annotations

import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

MIB = 1024 * 1024
IDLE_TIMEOUT_S = 30.0
# Every consumer of the broker bench (here and in flow_load.py) sets
# fetch.queue.backoff.ms, librdkafka's pause (default 1,000 ms) before a
# partition's next fetch once its local queue holds queued.min.messages
# (100,000). Python drains the queue more slowly than any broker fills it,
# so with the default a run measures how many of those pauses fall into it:
# by hand, 500,000 × 100 B over 6 partitions took 2.2-3.3 s (two or three
# pauses) on Strom and on Kafka alike, and 0.35-0.41 s with 10 ms.
CONSUMER_SETTINGS = {"fetch.queue.backoff.ms": 10}


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def produce(bootstrap: str, topic: str, records: int, size: int, acks: str) -> dict:
    # librdkafka's defaults otherwise (linger.ms=5, batch.size=1000000).
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks})
    payload = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZ" * (size // 26 + 1))[:size]
    latencies: list[float] = []
    errors: list[str] = []

    def on_delivery(err, msg) -> None:
        if err is not None:
            errors.append(str(err))
        else:
            latencies.append(msg.latency())

    started = time.perf_counter()
    for sent in range(records):
        while True:
            try:
                producer.produce(topic, payload, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.005)  # local queue full: serve delivery reports
        if sent % 1000 == 0:
            producer.poll(0)
    unsent = producer.flush(120)
    elapsed = time.perf_counter() - started
    latencies.sort()
    delivered = len(latencies)
    return {
        "records": delivered,
        "records_per_s": delivered / elapsed,
        "mib_per_s": delivered * size / MIB / elapsed,
        "latency_ms": {
            "avg": 1000 * sum(latencies) / delivered if delivered else float("nan"),
            "p50": 1000 * percentile(latencies, 0.50),
            "p95": 1000 * percentile(latencies, 0.95),
            "p99": 1000 * percentile(latencies, 0.99),
            "p999": 1000 * percentile(latencies, 0.999),
            "max": 1000 * latencies[-1] if latencies else float("nan"),
        },
        "errors": len(errors) + unsent,
        "first_errors": errors[:5],
    }


def consume(bootstrap: str, topic: str, records: int) -> dict:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-unused",  # required by the client; assign() never joins
            "enable.auto.commit": False,
            **CONSUMER_SETTINGS,
        }
    )
    metadata = consumer.list_topics(topic, timeout=30)
    partitions = sorted(metadata.topics[topic].partitions)
    started = time.perf_counter()
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    received = 0
    received_bytes = 0
    errors: list[str] = []
    last_data = time.perf_counter()
    while received < records and time.perf_counter() - last_data < IDLE_TIMEOUT_S:
        # Ask for no more than remain: consume() waits out its timeout
        # when fewer than num_messages arrive.
        for message in consumer.consume(num_messages=min(10000, records - received), timeout=1.0):
            if message.error() is not None:
                errors.append(str(message.error()))
                continue
            received += 1
            received_bytes += len(message.value() or b"")
            last_data = time.perf_counter()
    elapsed = last_data - started
    consumer.close()
    return {
        "records": received,
        "records_per_s": received / elapsed if elapsed > 0 else 0.0,
        "mib_per_s": received_bytes / MIB / elapsed if elapsed > 0 else 0.0,
        "errors": len(errors),
        "first_errors": errors[:5],
    }


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 6 and argv[0] == "produce":
            result = produce(argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5])
        elif len(argv) == 4 and argv[0] == "consume":
            result = consume(argv[1], argv[2], int(argv[3]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except KafkaException as err:
        print(f"rdkafka_load: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
