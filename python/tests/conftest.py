"""The Python package's test suite. Each test gets the bootstrap address of
the broker under test:

- by default, a Strom broker from `strom.testing` (the package's own);
- with STROM_TEST_KAFKA=1, the Apache Kafka reference broker started by
  the repository's scripts/kafka, so the client is proven against Kafka
  itself too;
- with STROM_TEST_BOOTSTRAP=host:port, an external broker.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

from strom.testing import Broker
from kafka_broker import kafka_reference_broker


def _kafka_wanted() -> bool:
    return os.environ.get("STROM_TEST_KAFKA", "") not in ("", "0")


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("STROM_TEST_BOOTSTRAP")
    if external:
        yield external
    elif _kafka_wanted():
        with kafka_reference_broker(tmp_path_factory.mktemp("kafka")) as address:
            yield address
    else:
        with Broker({"num.partitions": "1"}) as address:
            yield address


@pytest.fixture(scope="session")
def broker_kind() -> str:
    if os.environ.get("STROM_TEST_BOOTSTRAP"):
        return "external"
    return "kafka" if _kafka_wanted() else "strom"


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A fresh topic name per test."""
    return f"py-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}".replace("[", "-").replace("]", "")


@pytest.fixture
def conf(bootstrap: str) -> dict:
    """A base client config for the broker under test."""
    return {"bootstrap.servers": bootstrap}


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    """Creates a topic with the package's own `strom topic create`."""
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "-m", "strom", "topic", "create", name, "-p", str(partitions), "--brokers", bootstrap],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def topic(bootstrap: str, topic_name: str) -> str:
    """A fresh topic with one partition."""
    create_topic(bootstrap, topic_name, 1)
    return topic_name
