"""ListOffsets by timestamp and max timestamp inside batches of every codec,
checked against the same data on Apache Kafka (the reference broker): the
answer is the exact record (the first at or after the time, and the first
with the largest timestamp), never the start of its batch."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import OffsetSpec

from kafka_admin import admin_client, create_topic

TIMEOUT_S = 30.0
BASE = 1_700_000_000_000
# Offsets 0-1 in a plain batch, then offsets 2-7 in one batch of the codec
# under test, timestamps out of order and the largest one twice.
FIRST_BATCH = [0, 5]
SECOND_BATCH = [10, 30, 20, 50, 40, 50]
TARGETS = [-1000, 0, 3, 10, 15, 25, 35, 45, 50, 51]


def produce_batch(bootstrap: str, topic: str, codec: str, timestamps: list[int]) -> None:
    """One batch: everything is queued before the flush, linger is long."""
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5000})
    for ms in timestamps:
        producer.produce(topic, value=b"value-%d" % ms, partition=0, timestamp=BASE + ms)
    assert producer.flush(TIMEOUT_S) == 0


def answers(bootstrap: str, codec: str) -> dict[str, tuple[int, int]]:
    """(offset, timestamp) for every target and for max timestamp."""
    topic = f"times-{codec}-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    produce_batch(bootstrap, topic, "none", FIRST_BATCH)
    produce_batch(bootstrap, topic, codec, SECOND_BATCH)
    specs = {f"+{t}": OffsetSpec.for_timestamp(BASE + t) for t in TARGETS}
    specs["max"] = OffsetSpec.max_timestamp()
    admin = admin_client(bootstrap)
    found = {}
    for name, spec in specs.items():
        futures = admin.list_offsets({TopicPartition(topic, 0): spec}, request_timeout=TIMEOUT_S)
        result = next(iter(futures.values())).result(timeout=TIMEOUT_S)
        found[name] = (result.offset, result.timestamp)
    return found


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_list_offsets_inside_a_batch_matches_kafka(broker, reference_kafka, codec):
    strom = answers(broker.bootstrap, codec)
    kafka = answers(reference_kafka.bootstrap, codec)
    assert strom == kafka
    # And what that is: the exact record.
    assert strom["+15"] == (3, BASE + 30)
    assert strom["+35"] == (5, BASE + 50)
    assert strom["max"] == (5, BASE + 50)
    assert strom["+51"][0] == -1
