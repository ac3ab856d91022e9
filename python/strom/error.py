"""The exceptions Strom raises: one tree under `StromError`.

`KafkaException` is confluent-kafka's exception (its first argument is the
`KafkaError`), so `except KafkaException` works unchanged; its subclasses
say what kind of failure it was, and also subclass the built-in exception a
Python user would expect (`ConfigError` is a `ValueError`,
`KafkaTimeoutError` a `TimeoutError`, `BrokerUnavailableError` a
`ConnectionError`)::

    StromError
    └── KafkaException
        ├── ConfigError             (ValueError)
        ├── BrokerUnavailableError  (ConnectionError)
        ├── KafkaTimeoutError       (TimeoutError)
        ├── QueueFullError          (BufferError)
        ├── ClosedError
        ├── BrokerError             (an error code the broker sent)
        └── DeliveryError           (a record not delivered; .message)
"""

from __future__ import annotations

from typing import Any, Optional

from strom._strom import KafkaError


class StromError(Exception):
    """Base of every exception Strom raises."""


class KafkaException(StromError):
    """A Kafka client error; `args[0]` is the `KafkaError`."""

    def __init__(self, error: Any = None, *args: Any) -> None:
        if not isinstance(error, KafkaError):
            reason = str(error) if error is not None else None
            error = KafkaError(KafkaError._FAIL, reason)
        super().__init__(error, *args)

    @property
    def error(self) -> KafkaError:
        error: KafkaError = self.args[0]
        return error

    def code(self) -> int:
        return self.error.code()

    def name(self) -> str:
        return self.error.name()

    def retriable(self) -> bool:
        return self.error.retriable()

    def fatal(self) -> bool:
        return self.error.fatal()

    def __str__(self) -> str:
        return str(self.error)


class ConfigError(KafkaException, ValueError):
    """An unknown configuration key, a bad value or a bad argument."""


class BrokerUnavailableError(KafkaException, ConnectionError):
    """No broker could be reached, or the connection was lost."""


class KafkaTimeoutError(KafkaException, TimeoutError):
    """A call did not finish within its timeout."""


class QueueFullError(KafkaException, BufferError):
    """The producer's queue (buffer.memory) is full: serve it with poll()."""


class ClosedError(KafkaException):
    """The client was closed."""


class BrokerError(KafkaException):
    """The broker answered with an error code."""


class DeliveryError(KafkaException):
    """A record was not delivered; `message` is the record."""

    def __init__(self, error: Any = None, message: Optional[Any] = None) -> None:
        super().__init__(error)
        self.message = message


__all__ = [
    "StromError",
    "KafkaException",
    "ConfigError",
    "BrokerUnavailableError",
    "KafkaTimeoutError",
    "QueueFullError",
    "ClosedError",
    "BrokerError",
    "DeliveryError",
    "KafkaError",
]
