#!/usr/bin/env python3
"""Records the request frames real Kafka clients send, as the seed corpus of
the wire fuzzer (core/protocol/tests/corpus_fuzz.rs).

    core/protocol/fuzz/capture.py [--strom PATH] [--out DIR]

Starts `strom server` advertising a recording proxy's address, so every
connection of every client goes through the proxy; runs librdkafka
(confluent-kafka), kafka-python and the Java client (the compatibility
tests' driver, tests/compat/java, built by scripts/setup) through
producers (every codec, idempotent and not), group consumers, and admin
calls; and writes each
distinct request frame (without its length prefix) to
DIR/<client>-<api key>-v<version>-<n>.bin, a few per API version. Frames
above 64 KiB are skipped: seeds should be small. The files are checked in;
rerun this when a client starts sending something new.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PER_VERSION = 3
# Produce frames carry the record batches: one per codec and producer kind.
PER_PRODUCE_VERSION = 12
PRODUCE = 0
MAX_FRAME = 64 * 1024
HERE = Path(__file__).resolve().parent


class Recorder:
    def __init__(self, out: Path):
        self.out = out
        self.client = "unknown"
        self.seen: set[bytes] = set()
        self.counts: dict[tuple[str, int, int], int] = {}
        self.lock = threading.Lock()

    def record(self, frame: bytes) -> None:
        if len(frame) < 4 or len(frame) > MAX_FRAME:
            return
        api = int.from_bytes(frame[0:2], "big", signed=True)
        version = int.from_bytes(frame[2:4], "big", signed=True)
        # The correlation id differs per request; it says nothing new.
        digest = hashlib.sha256(frame[:4] + frame[8:]).digest()
        with self.lock:
            key = (self.client, api, version)
            limit = PER_PRODUCE_VERSION if api == PRODUCE else PER_VERSION
            if digest in self.seen or self.counts.get(key, 0) >= limit:
                return
            self.seen.add(digest)
            n = self.counts.get(key, 0)
            self.counts[key] = n + 1
            name = f"{self.client}-{api:02d}-v{version:02d}-{n:02d}.bin"
            (self.out / name).write_bytes(frame)


async def pump_requests(reader, writer, recorder: Recorder) -> None:
    try:
        while True:
            prefix = await reader.readexactly(4)
            size = int.from_bytes(prefix, "big", signed=True)
            frame = await reader.readexactly(size)
            recorder.record(frame)
            writer.write(prefix + frame)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def pump_raw(reader, writer) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def run_proxy(listen: socket.socket, upstream_port: int, recorder: Recorder) -> None:
    async def serve(client_reader, client_writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(
            pump_requests(client_reader, up_writer, recorder),
            pump_raw(up_reader, client_writer),
        )

    async def main():
        server = await asyncio.start_server(serve, sock=listen)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def librdkafka_load(bootstrap: str) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic, OffsetSpec

    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [f"seed-{codec}" for codec in ("none", "gzip", "snappy", "lz4", "zstd")]
    for future in admin.create_topics([NewTopic(t, 3, 1) for t in topics]).values():
        future.result(30)
    for topic in topics:
        codec = topic.removeprefix("seed-")
        for idempotent in (True, False):
            producer = Producer(
                {"bootstrap.servers": bootstrap, "compression.type": codec, "enable.idempotence": idempotent}
            )
            for i in range(20):
                producer.produce(topic, key=b"k%d" % (i % 4), value=b"v" * (i * 7), headers=[("h", b"x")])
            producer.flush(30)
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "seed-group", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(topics)
    got = 0
    deadline = time.monotonic() + 30
    while got < 40 and time.monotonic() < deadline:
        if (msg := consumer.poll(1.0)) is not None and msg.error() is None:
            got += 1
    consumer.commit(asynchronous=False)
    consumer.committed([TopicPartition(topics[0], 0)])
    consumer.close()
    admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topics[0])])[
        ConfigResource(ConfigResource.Type.TOPIC, topics[0])
    ].result(30)
    for spec in (OffsetSpec.earliest(), OffsetSpec.latest(), OffsetSpec.max_timestamp()):
        for future in admin.list_offsets({TopicPartition(topics[0], 0): spec}).values():
            future.result(30)
    admin.create_partitions([NewPartitions(topics[0], 4)])[topics[0]].result(30)
    admin.list_consumer_groups().result(30)
    admin.describe_consumer_groups(["seed-group"])["seed-group"].result(30)
    for future in admin.delete_topics([topics[-1]]).values():
        future.result(30)


def kafka_python_load(bootstrap: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    for codec in (None, "gzip", "snappy", "lz4", "zstd"):
        producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, acks="all")
        for i in range(10):
            producer.send("seed-kafka-python", key=b"k%d" % i, value=b"value %d" % i)
        producer.flush(30)
        producer.close()
    consumer = KafkaConsumer(
        "seed-kafka-python",
        bootstrap_servers=bootstrap,
        group_id="seed-kafka-python",
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    for count, _ in enumerate(consumer, 1):
        if count >= 50:
            break
    consumer.commit()
    consumer.close()


def java_load(bootstrap: str) -> None:
    root = HERE.parents[2]
    classpath = f"{root}/tests/compat/java/target/classes:{root}/.deps/kafka-clients/*"

    def driver(*args: str, stdin: str = "") -> str:
        return subprocess.run(
            ["java", "-cp", classpath, "KafkaDriver", *args],
            input=stdin, text=True, capture_output=True, timeout=120, check=True,
        ).stdout

    topic = "seed-java"
    admin = [
        f"create\t{topic}\t3\tfalse\tcleanup.policy=delete",
        f"describe\t{topic}",
        f"configs\t{topic}",
        f"alter\t{topic}\tset\tretention.ms\t3600000",
        "topics",
    ]
    driver("admin", bootstrap, stdin="\n".join(admin) + "\n")
    b64 = lambda raw: base64.b64encode(raw).decode()
    records = "".join(
        f"{b64(b'k%d' % i)}\t{b64(b'v' * (i * 7))}\t{b64(b'h')}:{b64(b'x')}\n" for i in range(20)
    )
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        driver("produce", bootstrap, topic, codec, stdin=records)
    driver("consume", bootstrap, topic, "40", "20000")
    member = subprocess.Popen(
        ["java", "-cp", classpath, "KafkaDriver", "member", bootstrap, topic, "seed-java-group"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    got = 0
    for line in member.stdout:
        got += '"record"' in line
        if got >= 40:
            break
    member.stdin.write("close\n")
    member.stdin.flush()
    member.wait(60)
    more = [
        f"offsets\t{topic}\t0\t{spec}" for spec in ("earliest", "latest", "max_timestamp", "0")
    ] + [
        f"delete_group_offsets\tseed-java-group\t{topic}\t0",
        f"add_partitions\t{topic}\t4",
        f"delete\t{topic}",
    ]
    driver("admin", bootstrap, stdin="\n".join(more) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strom", default=os.environ.get("STROM_BIN", "target/debug/strom"))
    parser.add_argument("--out", type=Path, default=HERE / "corpus")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.bin"):
        old.unlink()

    recorder = Recorder(args.out)
    proxy_socket = free_socket()
    proxy_port = proxy_socket.getsockname()[1]
    broker_socket = free_socket()
    broker_port = broker_socket.getsockname()[1]
    broker_socket.close()
    with tempfile.TemporaryDirectory() as data:
        broker = subprocess.Popen(
            [args.strom, "server", "--listen", f"127.0.0.1:{broker_port}",
             "--advertised-listener", f"127.0.0.1:{proxy_port}", "--data-dir", data,
             "--set", "strom.flush.policy=page-cache"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            broker.stdout.readline()
            threading.Thread(target=run_proxy, args=(proxy_socket, broker_port, recorder), daemon=True).start()
            bootstrap = f"127.0.0.1:{proxy_port}"
            loads = (("librdkafka", librdkafka_load), ("kafka-python", kafka_python_load), ("java", java_load))
            for client, load in loads:
                recorder.client = client
                load(bootstrap)
        finally:
            broker.kill()
            broker.wait()
    print(f"capture: {len(list(args.out.glob('*.bin')))} frames in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
