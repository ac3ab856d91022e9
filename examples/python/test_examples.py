"""Runs each example against a real broker, as the README shows them, with
the package's pytest fixture `strom_broker` (a broker per test session,
started by the installed package)."""

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import strom

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def topic() -> str:
    return f"example-{uuid.uuid4().hex[:8]}"


def test_producer_then_group_consumer(strom_broker: str, topic: str) -> None:
    produced = run("producer.py", strom_broker, topic, "3").splitlines()
    assert produced == [f"delivered b'key-{i}' to {topic} [0] @ {i}" for i in range(3)]
    consumed = run("consumer.py", strom_broker, topic, "readers", "3").splitlines()
    assert consumed[0] == f"assigned: {topic}[0]"
    assert consumed[1:] == [f"{topic} [0] @ {i}: b'key-{i}' = b'value-{i}'" for i in range(3)]


def test_asyncio_example(strom_broker: str, topic: str) -> None:
    assert run("asyncio_example.py", strom_broker, topic).splitlines() == [
        "sent 100 records, last at offset 99",
        "received 100 records, last: b'event-99'",
    ]


def test_admin_example(strom_broker: str, topic: str) -> None:
    assert run("admin.py", strom_broker, topic).splitlines() == [
        f"created {topic}",
        f"{topic} has 3 partitions",
        "retention.ms = 3600000",
        f"deleted {topic}",
    ]


def test_the_fixture_gives_a_broker_that_works(strom_broker: str, topic: str) -> None:
    """What a user's own test looks like with the fixture."""
    producer = strom.Producer({"bootstrap.servers": strom_broker})
    producer.produce(topic, b"hello")
    assert producer.flush(10) == 0
    consumer = strom.Consumer({"bootstrap.servers": strom_broker, "group.id": "t", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    message = None
    for _ in range(50):
        message = consumer.poll(0.2)
        if message is not None:
            break
    assert message is not None and message.value() == b"hello"
    consumer.close()
