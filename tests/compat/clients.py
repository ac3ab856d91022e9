"""One adapter per real Kafka client, all with the same two calls:

    produce(bootstrap, topic, records, compression) -> acked positions or None
    consume(bootstrap, topic, count, partitions)    -> list[Consumed]

Consumers read from the beginning with manual partition assignment, never a
consumer group (the broker may have no group coordinator). kcat, kafkajs,
the Java client and Strom's own client (the `strom produce` / `strom
consume` commands) run as subprocesses; see node/driver.js and java/.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

from brokers import strom_binary
from records import RECORD_COUNT, Consumed, Record, make_records

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
JAVA_CLASSES = HERE / "java" / "target" / "classes"
JAVA_CLASSPATH = f"{JAVA_CLASSES}:{REPO_ROOT / '.deps' / 'kafka-clients'}/*"
NODE_DRIVER = HERE / "node" / "driver.js"
CONSUME_TIMEOUT_S = 60.0
SUBPROCESS_TIMEOUT_S = 120.0
COMPRESSIONS = ["gzip", "snappy", "lz4", "zstd"]


def _run(argv: list[str], stdin: bytes = b"") -> bytes:
    done = subprocess.run(argv, input=stdin, capture_output=True, timeout=SUBPROCESS_TIMEOUT_S)
    if done.returncode != 0:
        raise AssertionError(
            f"{argv[0]} exited with {done.returncode}\n--- stderr ---\n{done.stderr.decode(errors='replace')[-5000:]}"
        )
    return done.stdout


def _b64(data: bytes | None) -> str:
    return "" if data is None else base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


class ConfluentKafkaClient:
    """librdkafka through confluent-kafka, partitioning keys by murmur2 like Java."""

    name = "confluent-kafka"
    murmur2_keys = True

    def produce(self, bootstrap, topic, records, compression):
        producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "compression.type": compression,
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                "enable.idempotence": True,
            }
        )
        acked: list = [None] * len(records)
        errors = []

        def on_delivery(index):
            def report(err, msg):
                if err is not None:
                    errors.append(err)
                else:
                    acked[index] = (msg.partition(), msg.offset())

            return report

        for index, record in enumerate(records):
            producer.produce(
                topic, key=record.key, value=record.value, headers=list(record.headers), on_delivery=on_delivery(index)
            )
            producer.poll(0)
        remaining = producer.flush(CONSUME_TIMEOUT_S)
        assert remaining == 0, f"{remaining} records not delivered"
        assert not errors, f"delivery errors: {errors[:5]}"
        return acked

    def consume(self, bootstrap, topic, count, partitions):
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                # librdkafka wants a group.id even for manual assignment; no
                # offsets are committed, so no group coordinator is used.
                "group.id": "strom-compat-unused",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
            }
        )
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
            consumed = []
            deadline = time.monotonic() + CONSUME_TIMEOUT_S
            while len(consumed) < count and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=500, timeout=0.5):
                    assert msg.error() is None, f"consume error: {msg.error()}"
                    consumed.append(
                        Consumed(msg.partition(), msg.offset(), msg.key(), msg.value(), tuple(msg.headers() or ()))
                    )
            return consumed
        finally:
            consumer.close()


class KafkaPythonClient:
    """kafka-python: pure Python, murmur2 default partitioner."""

    name = "kafka-python"
    murmur2_keys = True

    def produce(self, bootstrap, topic, records, compression):
        producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=compression, linger_ms=5, acks="all")
        try:
            futures = [producer.send(topic, key=r.key, value=r.value, headers=list(r.headers)) for r in records]
            producer.flush(timeout=CONSUME_TIMEOUT_S)
            return [(meta.partition, meta.offset) for meta in (f.get(timeout=CONSUME_TIMEOUT_S) for f in futures)]
        finally:
            producer.close(timeout=10)

    def consume(self, bootstrap, topic, count, partitions):
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        try:
            consumer.assign([KpTopicPartition(topic, p) for p in range(partitions)])
            consumer.seek_to_beginning()
            consumed = []
            deadline = time.monotonic() + CONSUME_TIMEOUT_S
            while len(consumed) < count and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    consumed.extend(Consumed(m.partition, m.offset, m.key, m.value, tuple(m.headers)) for m in batch)
            return consumed
        finally:
            consumer.close()


class KcatClient:
    """kcat (librdkafka 2.0 from Debian), driven through its CLI."""

    name = "kcat"
    murmur2_keys = True
    # kcat's -H sets one header list for the whole run.
    per_record_headers = False

    def produce(self, bootstrap, topic, records, compression):
        headers = records[0].headers
        assert all(r.headers == headers for r in records), "kcat sends one header set per run"
        argv = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "|", "-z", compression]
        argv += ["-X", "partitioner=murmur2_random", "-X", "linger.ms=5"]
        for name, value in headers:
            argv += ["-H", f"{name}={value.decode()}"]
        lines = b"".join(r.key + b"|" + r.value + b"\n" for r in records)
        _run(argv, lines)
        return None  # kcat reports no offsets

    def consume(self, bootstrap, topic, count, partitions):
        # Plain -C (no -G) assigns every partition without a group; -e exits
        # once all partitions are read to their end.
        out = _run(
            ["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p\t%o\t%k\t%s\t%h\n"]
        )
        consumed = []
        for line in out.decode().splitlines():
            partition, offset, key, value, header_text = line.split("\t")
            headers = tuple(
                (name, text.encode())
                for name, _, text in (item.partition("=") for item in header_text.split(",") if item)
            )
            consumed.append(Consumed(int(partition), int(offset), key.encode(), value.encode(), headers))
        return consumed


class KafkajsClient:
    """kafkajs through node/driver.js (JSON on stdin and stdout). kafkajs has
    no consumer without a group, so its records are read back by kafka-python
    (see consume_group for the group-based reader)."""

    name = "kafkajs"
    murmur2_keys = True  # kafkajs 2.x's default partitioner is Java-compatible

    def _call(self, request: dict) -> dict:
        out = _run(["node", str(NODE_DRIVER)], json.dumps(request).encode())
        return json.loads(out)

    def produce(self, bootstrap, topic, records, compression):
        self._call(
            {
                "op": "produce",
                "bootstrap": bootstrap,
                "topic": topic,
                "compression": compression,
                "records": [
                    {"key": _b64(r.key), "value": _b64(r.value), "headers": [[n, _b64(v)] for n, v in r.headers]}
                    for r in records
                ],
            }
        )
        return None  # kafkajs reports a base offset per partition, not per record

    def consume(self, bootstrap, topic, count, partitions):
        return KafkaPythonClient().consume(bootstrap, topic, count, partitions)

    def consume_group(self, bootstrap, topic, count, group_id):
        reply = self._call(
            {"op": "consume_group", "bootstrap": bootstrap, "topic": topic, "count": count, "groupId": group_id}
        )
        return [
            Consumed(
                r["partition"],
                int(r["offset"]),
                _unb64(r["key"]),
                _unb64(r["value"]),
                tuple((n, _unb64(v)) for n, v in r["headers"]),
            )
            for r in reply["records"]
        ]


class JavaClient:
    """The Apache Kafka Java client (java/KafkaDriver.java), with its
    defaults: enable.idempotence=true, acks=all, murmur2 partitioner."""

    name = "java"
    murmur2_keys = True

    def _java(self, args: list[str], stdin: bytes = b"") -> bytes:
        return _run(["java", "-cp", JAVA_CLASSPATH, "KafkaDriver", *args], stdin)

    def produce(self, bootstrap, topic, records, compression):
        lines = "".join(
            f"{_b64(r.key)}\t{_b64(r.value)}\t{','.join(f'{_b64(n.encode())}:{_b64(v)}' for n, v in r.headers)}\n"
            for r in records
        )
        out = self._java(["produce", bootstrap, topic, compression], lines.encode())
        return [tuple(int(x) for x in line.split("\t")) for line in out.decode().splitlines()]

    def consume(self, bootstrap, topic, count, partitions):
        out = self._java(["consume", bootstrap, topic, str(count), str(int(CONSUME_TIMEOUT_S * 1000))])
        consumed = []
        for line in out.decode().splitlines():
            partition, offset, key, value, header_text = (line.split("\t") + [""])[:5]
            headers = tuple(
                (_unb64(n).decode(), _unb64(v)) for n, v in (item.split(":") for item in header_text.split(",") if item)
            )
            consumed.append(Consumed(int(partition), int(offset), _unb64(key), _unb64(value), headers))
        return consumed


class StromClient:
    """Strom's Rust client (strom-client) through the `strom` binary's
    client commands, with its defaults: idempotence, acks=all, murmur2 for
    keyed records. Records travel as the JSON lines `strom consume --format
    json` prints and `strom produce --format json` reads, bytes in base64."""

    name = "strom"
    murmur2_keys = True

    def produce(self, bootstrap, topic, records, compression):
        lines = "".join(
            json.dumps(
                {
                    "key": _b64(r.key),
                    "key_encoding": "base64",
                    "value": _b64(r.value),
                    "value_encoding": "base64",
                    "headers": [{"key": n, "value": _b64(v), "value_encoding": "base64"} for n, v in r.headers],
                }
            )
            + "\n"
            for r in records
        )
        argv = [str(strom_binary()), "produce", topic, "--format", "json", "--compression", compression]
        _run([*argv, "--brokers", bootstrap], lines.encode())
        return None  # `strom produce` reports a summary, not each record's offset

    def consume(self, bootstrap, topic, count, partitions):
        argv = [str(strom_binary()), "consume", topic, "--from-beginning", "--count", str(count), "--format", "json"]
        out = _run([*argv, "--brokers", bootstrap])
        return [_strom_consumed(json.loads(line)) for line in out.decode().splitlines()]


def _strom_bytes(value, encoding) -> bytes | None:
    if value is None:
        return None
    return _unb64(value) if encoding == "base64" else value.encode()


def _strom_consumed(r: dict) -> Consumed:
    headers = tuple((h["key"], _strom_bytes(h["value"], h["value_encoding"])) for h in r["headers"])
    return Consumed(
        r["partition"],
        r["offset"],
        _strom_bytes(r["key"], r["key_encoding"]),
        _strom_bytes(r["value"], r["value_encoding"]),
        headers,
    )


ALL_CLIENTS = [KcatClient(), ConfluentKafkaClient(), KafkaPythonClient(), KafkajsClient(), JavaClient(), StromClient()]


def records_for(client, count: int = RECORD_COUNT) -> list[Record]:
    return make_records(client.name, count, per_record_headers=getattr(client, "per_record_headers", True))
