"""Each real client produces a few records over a secured listener and reads
them back, configured the way its own documentation says. A login or TLS
failure raises `LoginFailed` carrying the client's own error text.

`Security` is the client-neutral description: protocol, SASL mechanism and
credentials, CA file, client certificate and key.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition
from kafka.errors import KafkaError

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
NODE_MODULES = REPO_ROOT / "tests" / "compat" / "node" / "node_modules"
JAVA_CLASSPATH = f"{REPO_ROOT / '.deps' / 'kafka-clients'}/*"
TIMEOUT_S = 30.0


class LoginFailed(Exception):
    """The client could not connect, log in or finish TLS."""


@dataclass
class Security:
    protocol: str
    ca: Path | None = None
    mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    cert: Path | None = None
    key: Path | None = None
    keystore: Path | None = None  # key + certificate, for Java


def values(count: int, tag: str) -> list[bytes]:
    return [f"{tag}-{i}".encode() for i in range(count)]


def confluent(bootstrap: str, topic: str, security: Security, count: int = 5) -> list[bytes]:
    return confluent_round_trip(bootstrap, topic, security, values(count, "confluent"))


def confluent_round_trip(bootstrap: str, topic: str, security: Security, sent: list[bytes]) -> list[bytes]:
    """Produces `sent` to partition 0 and reads back as many records."""
    count = len(sent)
    conf = {"bootstrap.servers": bootstrap, "security.protocol": security.protocol}
    if security.ca:
        conf["ssl.ca.location"] = str(security.ca)
    if security.mechanism:
        conf |= {
            "sasl.mechanisms": security.mechanism,
            "sasl.username": security.username,
            "sasl.password": security.password,
        }
    if security.cert:
        conf |= {"ssl.certificate.location": str(security.cert), "ssl.key.location": str(security.key)}
    errors: list[str] = []
    conf["error_cb"] = lambda err: errors.append(str(err))
    producer = Producer(conf | {"message.timeout.ms": 10000})
    for value in sent:
        producer.produce(topic, value, partition=0)
        producer.poll(0)
    left = producer.flush(TIMEOUT_S)
    if left or errors:
        raise LoginFailed("; ".join(errors) or f"{left} records not delivered")
    consumer = Consumer(conf | {"group.id": "unused", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(got) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            got.append(message.value())
        if errors:
            # A broken answer shows as a transport error and a reconnect,
            # after which the records may still all arrive.
            raise KafkaException(f"the consumer saw errors: {'; '.join(errors)}")
        return got
    finally:
        consumer.close()


def kafka_python(bootstrap: str, topic: str, security: Security, count: int = 5) -> list[bytes]:
    conf = {"bootstrap_servers": bootstrap, "security_protocol": security.protocol}
    if security.ca:
        conf["ssl_cafile"] = str(security.ca)
    if security.mechanism:
        conf |= {
            "sasl_mechanism": security.mechanism,
            "sasl_plain_username": security.username,
            "sasl_plain_password": security.password,
        }
    if security.cert:
        conf |= {"ssl_certfile": str(security.cert), "ssl_keyfile": str(security.key)}
    try:
        producer = KafkaProducer(**conf, request_timeout_ms=10000, max_block_ms=10000)
        for value in values(count, "kafka-python"):
            producer.send(topic, value, partition=0).get(timeout=TIMEOUT_S)
        producer.close()
        consumer = KafkaConsumer(**conf, enable_auto_commit=False, consumer_timeout_ms=int(TIMEOUT_S * 1000))
    except KafkaError as e:
        raise LoginFailed(repr(e)) from e
    try:
        consumer.assign([KpTopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        got = []
        for message in consumer:
            got.append(message.value)
            if len(got) == count:
                break
        return got
    finally:
        consumer.close()


def _subprocess(argv: list[str], request: dict, env: dict | None = None) -> list[bytes]:
    done = subprocess.run(argv, input=json.dumps(request).encode(), capture_output=True, timeout=120, env=env)
    if done.returncode == 2:
        raise LoginFailed(done.stderr.decode(errors="replace")[-3000:])
    if done.returncode != 0:
        raise AssertionError(f"{argv[0]} exited with {done.returncode}: {done.stderr.decode(errors='replace')[-3000:]}")
    return [v.encode() for v in json.loads(done.stdout)["values"]]


def _request(bootstrap: str, topic: str, security: Security, count: int, tag: str) -> dict:
    return {
        "bootstrap": bootstrap,
        "topic": topic,
        "values": [v.decode() for v in values(count, tag)],
        "protocol": security.protocol,
        "mechanism": security.mechanism,
        "username": security.username,
        "password": security.password,
        "ca": str(security.ca) if security.ca else None,
        "cert": str(security.cert) if security.cert else None,
        "key": str(security.key) if security.key else None,
        "keystore": str(security.keystore) if security.keystore else None,
    }


def kafkajs(bootstrap: str, topic: str, security: Security, count: int = 5) -> list[bytes]:
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES))
    return _subprocess(
        ["node", str(HERE / "roundtrip.js")], _request(bootstrap, topic, security, count, "kafkajs"), env
    )


def java(bootstrap: str, topic: str, security: Security, count: int = 5) -> list[bytes]:
    props = {"security.protocol": security.protocol}
    if security.ca:
        props |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": str(security.ca)}
    if security.mechanism:
        module = "plain.PlainLoginModule" if security.mechanism == "PLAIN" else "scram.ScramLoginModule"
        props |= {
            "sasl.mechanism": security.mechanism,
            "sasl.jaas.config": f"org.apache.kafka.common.security.{module} required "
            f'username="{security.username}" password="{security.password}";',
        }
    if security.keystore:
        props |= {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(security.keystore)}
    text = "".join(f"{key}={value.replace(chr(92), chr(92) * 2)}\n" for key, value in props.items())
    argv = ["java", "-cp", JAVA_CLASSPATH, str(HERE / "RoundTrip.java"), bootstrap, topic, "java", str(count)]
    done = subprocess.run(argv, input=text.encode(), capture_output=True, timeout=180)
    if done.returncode == 2:
        raise LoginFailed(done.stderr.decode(errors="replace")[-3000:])
    if done.returncode != 0:
        raise AssertionError(f"java exited with {done.returncode}: {done.stderr.decode(errors='replace')[-3000:]}")
    return [line.encode() for line in done.stdout.decode().splitlines()]


def strom_settings(security: Security) -> list[str]:
    """`-X` flags for the `strom` commands (the Rust client core)."""
    settings = {"security.protocol": security.protocol}
    if security.ca:
        settings["ssl.ca.location"] = str(security.ca)
    if security.mechanism:
        settings |= {
            "sasl.mechanisms": security.mechanism,
            "sasl.username": security.username,
            "sasl.password": security.password,
        }
    if security.cert:
        settings |= {"ssl.certificate.location": str(security.cert), "ssl.key.location": str(security.key)}
    return [arg for key, value in settings.items() for arg in ("-X", f"{key}={value}")]


def strom_cli(bootstrap: str, topic: str, security: Security, count: int = 5) -> list[bytes]:
    """Strom's own client, through `strom produce` and `strom consume`."""
    binary = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")
    common = ["--brokers", bootstrap, *strom_settings(security)]
    lines = b"".join(v + b"\n" for v in values(count, "strom"))
    # The producer reads its settings from a file (Kafka tools' --command-config).
    with tempfile.NamedTemporaryFile("w", suffix=".properties") as properties:
        flags = strom_settings(security)
        properties.write("".join(f"{flags[i + 1]}\n" for i in range(0, len(flags), 2)))
        properties.flush()
        produced = subprocess.run(
            [binary, "produce", topic, "--brokers", bootstrap, "--command-config", properties.name],
            input=lines, capture_output=True, timeout=60,
        )  # fmt: skip
    if produced.returncode != 0:
        raise LoginFailed(produced.stderr.decode(errors="replace"))
    consumed = subprocess.run(
        [binary, "consume", topic, "-n", str(count), "--from-beginning", *common], capture_output=True, timeout=60
    )
    if consumed.returncode != 0:
        raise LoginFailed(consumed.stderr.decode(errors="replace"))
    return [json.loads(line)["value"].encode() for line in consumed.stdout.decode().splitlines()]


CLIENTS = {
    "confluent-kafka": confluent,
    "kafka-python": kafka_python,
    "kafkajs": kafkajs,
    "java": java,
    "strom": strom_cli,
}
