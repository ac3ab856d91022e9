"""Client quotas with real clients: quotas set with `strom quota` and
with Kafka's own `kafka-configs.sh` (ConfigCommand), listed by both,
kept across a restart; a producer and a consumer over their byte-rate
quotas are told to back off (librdkafka's `throttle_cb` sees the broker's
`throttle_time_ms`), and clients without a quota are not. How closely
a throttled producer keeps to its quota is a benchmark figure
(`bench/quota`), not asserted here."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from secure_clients import REPO_ROOT

STROM = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")
KAFKA_CLASSPATH = f"{REPO_ROOT / '.deps' / 'kafka'}/*"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def strom_ok(*args: str) -> str:
    done = subprocess.run([STROM, *args], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def config_command(broker, *args: str) -> str:
    """Kafka's kafka-configs.sh, from its jars."""
    argv = ["java", "-cp", KAFKA_CLASSPATH, "kafka.admin.ConfigCommand",
            "--bootstrap-server", broker.addresses["PLAINTEXT"], *args]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode()


def throttles_seen(client, seen: list, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not seen and time.monotonic() < deadline:
        client.poll(0.2)


def test_a_producer_over_its_quota_is_told_to_back_off(broker):
    plain = broker.addresses["PLAINTEXT"]
    throttled, free = unique("throttled"), unique("free")
    topic = unique("quota")
    strom_ok("topic", "create", topic, "--brokers", plain)
    strom_ok("quota", "alter", "--client-id", throttled, "--set", "producer_byte_rate=4096", "--brokers", plain)

    # 50 KB against 4 KiB/s over the 10 s minimum window: about 2 s of
    # throttle, short enough for the test.
    def produce(client_id: str, wait: float) -> list:
        seen: list = []
        producer = Producer({
            "bootstrap.servers": plain,
            "client.id": client_id,
            "linger.ms": 0,
            "throttle_cb": lambda event: seen.append(event.throttle_time),
        })  # fmt: skip
        for _ in range(5):
            producer.produce(topic, b"x" * 10_000)
            producer.poll(0)
        assert producer.flush(60) == 0
        throttles_seen(producer, seen, wait)
        return seen

    seen = produce(throttled, 10.0)
    assert seen and max(seen) > 0, "no throttle time reached the producer"
    assert produce(free, 3.0) == [], "a client without a quota was throttled"


def test_a_consumer_over_its_quota_is_told_to_back_off(broker):
    plain = broker.addresses["PLAINTEXT"]
    topic, client_id = unique("quota-read"), unique("slow-reader")
    strom_ok("topic", "create", topic, "--brokers", plain)
    producer = Producer({"bootstrap.servers": plain})
    for _ in range(24):
        producer.produce(topic, b"y" * 10_000)
    assert producer.flush(30) == 0
    # 240 KB against 20 KB/s over the 10 s minimum window: about 2 s.
    strom_ok("quota", "alter", "--client-id", client_id, "--set", "consumer_byte_rate=20000", "--brokers", plain)

    seen: list = []
    consumer = Consumer({
        "bootstrap.servers": plain,
        "group.id": unique("g"),
        "enable.auto.commit": False,
        "client.id": client_id,
        "throttle_cb": lambda event: seen.append(event.throttle_time),
    })  # fmt: skip
    consumer.assign([TopicPartition(topic, 0, 0)])
    try:
        got = 0
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                got += 1
        assert seen and max(seen) > 0, f"no throttle time after {got} records"
    finally:
        consumer.close()


def test_quotas_through_kafkas_own_tool_and_across_a_restart(broker):
    user = unique("carol")
    config_command(broker, "--alter", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152",
                   "--entity-type", "users", "--entity-name", user)  # fmt: skip
    config_command(broker, "--alter", "--add-config", "request_percentage=50", "--entity-type", "clients",
                   "--entity-default")  # fmt: skip
    described = config_command(broker, "--describe", "--entity-type", "users", "--entity-name", user)
    assert "producer_byte_rate=1048576.0" in described and "consumer_byte_rate=2097152.0" in described

    listed = strom_ok("quota", "list", "--brokers", broker.addresses["PLAINTEXT"])
    assert f"user={user}" in listed and "client-id=<default>" in listed and "request_percentage=50" in listed

    broker.restart(kill=True)
    after = strom_ok("quota", "list", "--user", user, "--brokers", broker.addresses["PLAINTEXT"])
    assert "producer_byte_rate=1048576" in after

    config_command(broker, "--alter", "--delete-config", "request_percentage", "--entity-type", "clients",
                   "--entity-default")  # fmt: skip
    gone = strom_ok("quota", "list", "--default-client-id", "--brokers", broker.addresses["PLAINTEXT"])
    assert "request_percentage" not in gone


def test_bad_quotas_are_refused_with_the_reason(broker):
    plain = broker.addresses["PLAINTEXT"]
    for flags, reason in (
        (["--client-id", "x", "--set", "producer_byte_rate=1.5"], b"whole number"),
        (["--client-id", "x", "--set", "producer_byte_rate=-1"], b"positive"),
        (["--client-id", "x", "--set", "connection_creation_rate=5"], b"unsupported quota key"),
    ):
        done = subprocess.run([STROM, "quota", "alter", *flags, "--brokers", plain], capture_output=True, timeout=60)
        assert done.returncode != 0 and b"INVALID_REQUEST" in done.stderr and reason in done.stderr, done.stderr
    listed = strom_ok("quota", "list", "--client-id", "x", "--brokers", plain)
    assert "client-id=x" not in listed
