"""Strom's Python client: confluent-kafka's API on Strom's Rust client core.

    from strom import Producer, Consumer, KafkaError, KafkaException, TopicPartition

works as `from confluent_kafka import ...` does. `strom.aio` has the
asyncio clients, `strom.admin` the admin client, and `strom.testing` a real
broker for tests.
"""

from __future__ import annotations

import os as _os

from strom import _strom
from strom._strom import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    OFFSET_STORED,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
    __version__,
)
# confluent-kafka has these at the top level too.
from strom.admin import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    IsolationLevel,
    Node,
    TopicCollection,
    TopicPartitionInfo,
)
from strom.error import (
    BrokerError,
    BrokerUnavailableError,
    ClosedError,
    ConfigError,
    DeliveryError,
    KafkaException,
    KafkaTimeoutError,
    QueueFullError,
    StromError,
)


# The parent's clients cannot run in a forked child (their threads stayed
# in the parent): telling the core lets it refuse them with a clear error
# without a getpid() per record.
_os.register_at_fork(after_in_child=_strom.after_fork_in_child)


def version() -> tuple[str, int]:
    """The package's version, as confluent_kafka.version() gives it."""
    return (__version__, _version_int(__version__))


def libversion() -> tuple[str, int]:
    """The client core's version (confluent_kafka.libversion() gives librdkafka's)."""
    return (__version__, _version_int(__version__))


def _version_int(text: str) -> int:
    major, minor, patch = (int(part) for part in text.split(".")[:3])
    return (major << 24) | (minor << 16) | (patch << 8)


__all__ = [
    "Producer",
    "Consumer",
    "Message",
    "TopicPartition",
    "KafkaError",
    "KafkaException",
    "StromError",
    "ConfigError",
    "BrokerUnavailableError",
    "KafkaTimeoutError",
    "QueueFullError",
    "ClosedError",
    "BrokerError",
    "DeliveryError",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_STORED",
    "OFFSET_INVALID",
    "TIMESTAMP_NOT_AVAILABLE",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "ConsumerGroupState",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupType",
    "IsolationLevel",
    "Node",
    "TopicCollection",
    "TopicPartitionInfo",
    "version",
    "libversion",
    "__version__",
]
