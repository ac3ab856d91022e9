"""asyncio clients: the same Rust core as `strom.Producer` and
`strom.Consumer`, awaited without a thread per call.

    async with AIOProducer({"bootstrap.servers": bootstrap}) as producer:
        delivered = await producer.send("events", b"hello", key=b"k")
        print(delivered.partition(), delivered.offset())

    async with AIOConsumer({"bootstrap.servers": bootstrap, "group.id": "g"}) as consumer:
        await consumer.subscribe(["events"])
        async for message in consumer:
            ...

Each awaitable is a Rust future completing an asyncio future through the
loop's thread-safe call; deliveries are handed to the loop in batches
(one wake-up for many `send`s). Cancelling a task that awaits a call stops
the wait at once; a record already handed to `send` is still delivered.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

from strom import _strom
from strom._strom import Message, TopicPartition

__all__ = ["AIOProducer", "AIOConsumer", "AIOAdminClient"]

Payload = Union[bytes, str, None]
Headers = Union[Mapping[str, Payload], Sequence[Tuple[str, Payload]], None]


class AIOProducer:
    """A producer for asyncio code. `await send(...)` returns the delivery
    `Message` (topic, partition, offset, timestamp) or raises
    `strom.DeliveryError`; `produce(...)` returns the future without
    awaiting it, for sending many records at once."""

    def __init__(self, conf: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        self._conf = dict(conf or {})
        self._kwargs = kwargs
        self._native: Optional[Any] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._starting: Optional["asyncio.Future[Any]"] = None

    async def start(self) -> None:
        """Connects (called by the first `send`, or by `async with`)."""
        await self._started()

    async def _started(self) -> Any:
        if self._native is not None:
            return self._native
        if self._starting is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            _strom.AioProducer.connect(future, loop, self._conf, self._kwargs)
            self._starting = future
        native = await asyncio.shield(self._starting)
        if self._native is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(native.wakeup_fd(), native.drain)
            self._native = native
        return native

    def produce(
        self,
        topic: str,
        value: Payload = None,
        key: Payload = None,
        partition: int = -1,
        timestamp: int = 0,
        headers: Headers = None,
    ) -> "asyncio.Future[Message]":
        """Queues a record and returns its delivery future (started
        producers only: `await start()` first)."""
        if self._native is None or self._loop is None:
            raise RuntimeError("AIOProducer not started: use `async with` or `await producer.start()`")
        future: asyncio.Future[Message] = self._loop.create_future()
        self._native.send(future, topic, value, key, partition, timestamp, headers)
        return future

    async def send(
        self,
        topic: str,
        value: Payload = None,
        key: Payload = None,
        partition: int = -1,
        timestamp: int = 0,
        headers: Headers = None,
    ) -> Message:
        """Sends a record and returns where it was written."""
        await self._started()
        return await self.produce(topic, value, key, partition, timestamp, headers)

    async def flush(self, timeout: Optional[float] = None) -> int:
        """Waits for every record sent so far; returns how many are left."""
        native = await self._started()
        future = asyncio.get_running_loop().create_future()
        native.flush(future, asyncio.get_running_loop(), timeout)
        left: int = await future
        native.drain()
        return left

    async def close(self, timeout: Optional[float] = None) -> None:
        """Flushes for at most `timeout` seconds, then closes."""
        native = self._native
        if native is None:
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        native.close(future, loop, timeout)
        try:
            await future
        finally:
            native.drain()
            loop.remove_reader(native.wakeup_fd())

    def __len__(self) -> int:
        return len(self._native) if self._native is not None else 0

    async def __aenter__(self) -> "AIOProducer":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.close()


class AIOConsumer:
    """A consumer for asyncio code: `async for message in consumer`,
    `await getmany(timeout, max_records)`, commits and seeks."""

    def __init__(self, conf: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        self._conf = dict(conf or {})
        self._kwargs = kwargs
        self._native: Optional[Any] = None
        self._starting: Optional["asyncio.Future[Any]"] = None

    async def start(self) -> None:
        await self._started()

    async def _started(self) -> Any:
        if self._native is not None:
            return self._native
        if self._starting is None:
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            _strom.AioConsumer.connect(future, loop, self._conf, self._kwargs)
            self._starting = future
        self._native = await asyncio.shield(self._starting)
        return self._native

    async def _call(self, method: str, *args: Any) -> Any:
        native = await self._started()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        getattr(native, method)(future, loop, *args)
        return await future

    async def subscribe(self, topics: Sequence[str]) -> None:
        """Joins the group (group.id) subscribed to `topics` (`^` marks a regex)."""
        await self._call("subscribe", list(topics))

    async def assign(self, partitions: Sequence[TopicPartition]) -> None:
        await self._call("assign", list(partitions))

    async def assignment(self) -> List[TopicPartition]:
        result: List[TopicPartition] = await self._call("assignment")
        return result

    async def seek(self, partition: TopicPartition) -> None:
        await self._call("seek", partition)

    async def commit(self, offsets: Optional[Sequence[TopicPartition]] = None) -> None:
        """Commits the positions, or the given offsets (next offset to read)."""
        await self._call("commit", list(offsets) if offsets is not None else None)

    async def committed(self, partitions: Sequence[TopicPartition]) -> List[TopicPartition]:
        result: List[TopicPartition] = await self._call("committed", list(partitions))
        return result

    async def getmany(self, timeout: float = 1.0, max_records: int = 500) -> List[Message]:
        """Up to `max_records` records, waiting at most `timeout` seconds
        for the first (empty list on timeout)."""
        native = await self._started()
        ready: List[Message] = native.poll_now(max_records)
        if ready:
            return ready
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        native.poll(future, loop, max(timeout, 0.0), max_records)
        waited: List[Message] = await future
        return waited

    async def getone(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next record; `None` if `timeout` passes first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = 1.0 if deadline is None else max(0.0, min(1.0, deadline - loop.time()))
            batch = await self.getmany(remaining, 1)
            if batch:
                return batch[0]
            if deadline is not None and loop.time() >= deadline:
                return None

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        message = await self.getone()
        assert message is not None
        return message

    async def close(self, timeout: Optional[float] = None) -> None:
        """Commits (with auto commit), leaves the group, closes."""
        if self._native is None:
            return
        await self._call("close", timeout)

    async def __aenter__(self) -> "AIOConsumer":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        await self.close()


class AIOAdminClient:
    """`strom.admin.AdminClient` for asyncio: each call returns what the
    admin client's does, with its futures awaitable (`asyncio.wrap_future`
    of the futures the Rust core completes)."""

    def __init__(self, conf: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        from strom.admin import AdminClient

        self._admin = AdminClient(dict(conf or {}), **kwargs)

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._admin, name)
        if not callable(call):
            return call

        async def awaited(*args: Any, **kwargs: Any) -> Any:
            result = call(*args, **kwargs)
            return await _await_all(result)

        awaited.__name__ = name
        awaited.__doc__ = call.__doc__
        return awaited

    async def close(self) -> None:
        """Nothing to release (kept for symmetry with the other clients)."""

    async def __aenter__(self) -> "AIOAdminClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def _await_all(result: Any) -> Any:
    """A concurrent future awaited; a dict of them awaited value by value."""
    import concurrent.futures

    if isinstance(result, concurrent.futures.Future):
        return await asyncio.wrap_future(result)
    if isinstance(result, dict) and any(isinstance(v, concurrent.futures.Future) for v in result.values()):
        keys = list(result)
        values = await asyncio.gather(*(asyncio.wrap_future(result[k]) for k in keys), return_exceptions=True)
        done: Dict[Any, Any] = {}
        for key, value in zip(keys, values):
            if isinstance(value, BaseException):
                raise value
            done[key] = value
        return done
    return result
