"""Test records, and the checks every produce/consume round trip must pass."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

RECORD_COUNT = 200
KEY_COUNT = 23


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes
    headers: tuple = field(default_factory=tuple)  # ((name: str, value: bytes), ...)


@dataclass(frozen=True)
class Consumed:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple


def make_records(client: str, count: int = RECORD_COUNT, per_record_headers: bool = True) -> list[Record]:
    """Keyed records with headers. Values are unique (they carry the send
    index) and of varied size so compression has something to do. Text stays
    free of tabs, newlines, commas and '|' so kcat's line formats can carry it.

    kcat sets the same headers on every record of a run, so its records get
    fixed headers (per_record_headers=False)."""
    rng = random.Random(f"{client}-records")
    alphabet = string.ascii_letters + string.digits + " -_.:"
    records = []
    for index in range(count):
        filler_len = rng.choice([0, 10, 100, 1000, 3000])
        filler = "".join(rng.choice(alphabet) for _ in range(filler_len))
        value = f"value-{index:05d}-{filler}".encode()
        if per_record_headers:
            # A repeated header name must keep both values, in order.
            headers = (("seq", str(index).encode()), ("source", b"compat"), ("source", client.encode()))
        else:
            headers = (("suite", b"strom-compat"), ("client", client.encode()))
        records.append(Record(key=f"key-{index % KEY_COUNT}".encode(), value=value, headers=headers))
    return records


def send_index(value: bytes) -> int:
    return int(value.split(b"-", 2)[1])


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed int32."""
    seed = 0x9747B28C
    m = 0x5BD1E995
    length = len(data)
    h = (seed ^ length) & 0xFFFFFFFF
    body = length - (length % 4)
    for i in range(0, body, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = data[body:]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def murmur2_partition(key: bytes, partitions: int) -> int:
    """The partition the Java client's default partitioner picks for a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def verify_round_trip(
    produced: list[Record],
    consumed: list[Consumed],
    partitions: int,
    murmur2_keys: bool,
    acked: list[tuple[int, int]] | None = None,
) -> None:
    """Everything sent came back once, intact, in send order per partition.

    murmur2_keys: the producer used Kafka's murmur2 partitioner, so each key
    must sit in the partition the Java client would pick.
    acked: (partition, offset) the producer was told for each record, in send
    order; the consumer must find each record exactly there."""
    by_value = {record.value: record for record in produced}
    assert len(by_value) == len(produced), "test bug: values must be unique"
    seen_values = [c.value for c in consumed]
    missing = set(by_value) - set(seen_values)
    assert not missing, f"{len(missing)} of {len(produced)} records never came back"
    assert len(consumed) == len(produced), f"consumed {len(consumed)} records, produced {len(produced)} (duplicates?)"

    partition_of_key: dict[bytes, int] = {}
    last_in_partition: dict[int, tuple[int, int]] = {}
    for record in consumed:
        sent = by_value[record.value]
        assert record.key == sent.key, f"key changed at {record.partition}/{record.offset}"
        assert record.headers == sent.headers, (
            f"headers changed at {record.partition}/{record.offset}: {record.headers!r} != {sent.headers!r}"
        )
        assert 0 <= record.partition < partitions
        assert partition_of_key.setdefault(sent.key, record.partition) == record.partition, (
            f"key {sent.key!r} spread over partitions"
        )
        if murmur2_keys:
            assert record.partition == murmur2_partition(sent.key, partitions), (
                f"key {sent.key!r} in partition {record.partition}, murmur2 says "
                f"{murmur2_partition(sent.key, partitions)}"
            )
        index = send_index(record.value)
        previous = last_in_partition.get(record.partition)
        if previous is not None:
            assert record.offset > previous[0], f"offsets not increasing in partition {record.partition}"
            assert index > previous[1], f"partition {record.partition} not in send order"
        last_in_partition[record.partition] = (record.offset, index)

    if acked is not None:
        assert len(acked) == len(produced)
        position = {c.value: (c.partition, c.offset) for c in consumed}
        for record, ack in zip(produced, acked):
            assert position[record.value] == tuple(ack), f"record acked at {ack} but read at {position[record.value]}"
