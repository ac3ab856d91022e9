"""The pytest plugin (registered by the package): fixtures with a real
Strom broker.

- `strom_broker`: one broker for the whole test session; its value is the
  bootstrap address (`"127.0.0.1:PORT"`);
- `strom_broker_factory`: a function that starts more brokers (each with
  its own settings), all stopped at the end of the test.
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping, Optional

import pytest

from strom.testing import Broker


@pytest.fixture(scope="session")
def strom_broker() -> Iterator[str]:
    """The bootstrap address of a broker shared by the test session."""
    with Broker() as bootstrap:
        yield bootstrap


@pytest.fixture
def strom_broker_factory() -> Iterator[Callable[..., Broker]]:
    """Starts brokers with given settings; each is stopped after the test."""
    started: list[Broker] = []

    def start(settings: Optional[Mapping[str, str]] = None) -> Broker:
        broker = Broker(settings)
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()
