"""Log compaction seen through a real client: many updates per key and some
tombstones go into a compacted topic; the broker's cleaner must shrink the
cleaned part of the log to one record per key, while a reader from the
beginning always finds every key's latest value and increasing offsets."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from groups import wait_until
from kafka_admin import create_topic

KEYS = 20
UPDATES_PER_KEY = 200
DELETED_KEYS = {f"key-{k:02d}" for k in range(0, KEYS, 5)}  # tombstones for every fifth key
MARKER_KEY = "marker"
COMPACTION_TIMEOUT_S = 120.0
READ_TIMEOUT_S = 30.0
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    # Kafka 4.x refuses segment.bytes under 1 MiB (KIP-1030), so segments
    # roll by age: segment.ms is what makes the data cleanable.
    "segment.bytes": "1048576",
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "100",
}


@dataclass(frozen=True)
class Entry:
    offset: int
    key: str
    value: bytes | None


def produce_updates(bootstrap: str, topic: str) -> dict[str, bytes | None]:
    """Every key updated UPDATES_PER_KEY times, then tombstones; returns
    each key's final value (None: deleted)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    latest: dict[str, bytes | None] = {}
    for update in range(UPDATES_PER_KEY):
        for k in range(KEYS):
            key = f"key-{k:02d}"
            latest[key] = f"{key}-update-{update:03d}".encode()
            producer.produce(topic, key=key.encode(), value=latest[key], partition=0)
        producer.poll(0)
    for key in sorted(DELETED_KEYS):
        producer.produce(topic, key=key.encode(), value=None, partition=0)
        latest[key] = None
    assert producer.flush(READ_TIMEOUT_S) == 0, "records not delivered"
    return latest


def produce_marker(bootstrap: str, topic: str, producer: Producer, index: int) -> int:
    """One record on a key of its own: it rolls the active segment once that
    is older than segment.ms, so what came before becomes cleanable."""
    offsets = []
    producer.produce(
        topic,
        key=MARKER_KEY.encode(),
        value=str(index).encode(),
        partition=0,
        on_delivery=lambda err, msg: offsets.append(msg.offset() if err is None else err),
    )
    assert producer.flush(READ_TIMEOUT_S) == 0
    assert isinstance(offsets[0], int), f"marker not delivered: {offsets[0]}"
    return offsets[0]


def read_log(bootstrap: str, topic: str) -> list[Entry]:
    """The whole partition from the beginning up to its high watermark."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-reader", "enable.auto.commit": False})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=READ_TIMEOUT_S)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        entries: list[Entry] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        # The last record (a marker in the active segment) is never cleaned.
        while (not entries or entries[-1].offset < high - 1) and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                assert msg.error() is None, f"consume error: {msg.error()}"
                entries.append(Entry(msg.offset(), msg.key().decode(), msg.value()))
        assert entries and entries[-1].offset == high - 1, f"read up to {entries[-1:]} of {high}"
        return entries
    finally:
        consumer.close()


def check_log(entries: list[Entry], latest: dict[str, bytes | None]) -> None:
    """What must hold at every moment, cleaned or not."""
    offsets = [e.offset for e in entries]
    assert all(a < b for a, b in zip(offsets, offsets[1:])), "offsets do not increase"
    last_value: dict[str, bytes | None] = {}
    for entry in entries:
        last_value[entry.key] = entry.value
    for key, value in latest.items():
        if value is None:
            assert last_value.get(key) is None, f"deleted key {key} came back as {last_value[key]!r}"
        else:
            assert last_value.get(key) == value, (
                f"key {key}: latest value {value!r}, log ends with {last_value.get(key)!r}"
            )


def test_compacted_topic_keeps_only_the_latest_value_of_each_key(broker):
    topic = f"compacted-{uuid.uuid4().hex[:12]}"
    create_topic(broker.bootstrap, topic, 1, TOPIC_CONFIG)
    latest = produce_updates(broker.bootstrap, topic)
    produced = KEYS * UPDATES_PER_KEY + len(DELETED_KEYS)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    first_marker = produce_marker(broker.bootstrap, topic, producer, 0)
    assert first_marker == produced, "offsets were not assigned one per record"
    markers = [first_marker]

    def cleaned():
        entries = read_log(broker.bootstrap, topic)
        check_log(entries, latest)
        data = [e for e in entries if e.offset < first_marker]
        if len(data) <= len(latest) and len({e.key for e in data}) == len(data):
            return entries
        # Keep rolling segments so the data stays behind the active one.
        markers.append(produce_marker(broker.bootstrap, topic, producer, len(markers)))
        return None

    entries = wait_until(cleaned, "the cleaner to leave one record per key", timeout_s=COMPACTION_TIMEOUT_S)
    live = {key for key, value in latest.items() if value is not None}
    survivors = {e.key: e.value for e in entries if e.offset < first_marker}
    assert live <= set(survivors), "a live key lost its latest value"
    assert len(entries) < produced // 10, f"{len(entries)} of {produced} records left after cleaning"
