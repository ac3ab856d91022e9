"""strom.aio against the broker under test: awaitable sends and polls,
10,000 concurrent sends, cancellation, errors, context managers."""

from __future__ import annotations

import asyncio
import time

import pytest

import strom
from strom.aio import AIOConsumer, AIOProducer
from strom.testing import Broker


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def consumer_conf(conf: dict, group: str) -> dict:
    return {**conf, "group.id": group, "auto.offset.reset": "earliest", "session.timeout.ms": "6000"}


def test_send_returns_where_the_record_went_and_getmany_reads_it(conf: dict, topic: str) -> None:
    async def main() -> None:
        async with AIOProducer(conf) as producer:
            first = await producer.send(topic, b"v0", key=b"k0", headers={"h": b"1"}, timestamp=1_700_000_000_000)
            second = await producer.send(topic, "v1")
            assert (first.topic(), first.partition(), first.offset(), first.error()) == (topic, 0, 0, None)
            assert (second.offset(), second.value()) == (1, b"v1")
        async with AIOConsumer(consumer_conf(conf, f"g-{topic}")) as consumer:
            await consumer.subscribe([topic])
            got: list = []
            deadline = time.monotonic() + 30
            while len(got) < 2 and time.monotonic() < deadline:
                got.extend(await consumer.getmany(timeout=0.5, max_records=10))
            assert [(m.key(), m.value(), m.offset()) for m in got] == [(b"k0", b"v0", 0), (None, b"v1", 1)]
            assert got[0].headers() == [("h", b"1")]
            assert got[0].timestamp() == (strom.TIMESTAMP_CREATE_TIME, 1_700_000_000_000)
            await consumer.commit()
            [committed] = await consumer.committed([strom.TopicPartition(topic, 0)])
            assert committed.offset == 2

    run(main())


def test_ten_thousand_concurrent_sends(conf: dict, topic: str) -> None:
    async def main() -> None:
        async with AIOProducer(conf) as producer:
            delivered = await asyncio.gather(*(producer.send(topic, b"x%d" % i) for i in range(10_000)))
            assert sorted(m.offset() for m in delivered) == list(range(10_000))
            assert len(producer) == 0
        async with AIOConsumer(consumer_conf(conf, f"g-{topic}")) as consumer:
            await consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
            count = 0
            deadline = time.monotonic() + 60
            while count < 10_000 and time.monotonic() < deadline:
                count += len(await consumer.getmany(timeout=1.0, max_records=1000))
            assert count == 10_000

    run(main())


def test_async_iteration_and_seek(conf: dict, topic: str) -> None:
    async def main() -> None:
        async with AIOProducer(conf) as producer:
            for i in range(10):
                producer.produce(topic, b"%d" % i)
            assert await producer.flush(10) == 0
        async with AIOConsumer(consumer_conf(conf, f"g-{topic}")) as consumer:
            await consumer.assign([strom.TopicPartition(topic, 0, 6)])
            seen = []
            async for message in consumer:
                seen.append(message.offset())
                if len(seen) == 4:
                    break
            assert seen == [6, 7, 8, 9]
            await consumer.seek(strom.TopicPartition(topic, 0, 2))
            again = await consumer.getone(timeout=10)
            assert again is not None and again.offset() == 2
            assert [(p.topic, p.partition) for p in await consumer.assignment()] == [(topic, 0)]
            assert await consumer.getone(timeout=0.3) is not None
            await consumer.seek(strom.TopicPartition(topic, 0, strom.OFFSET_END))
            assert await consumer.getone(timeout=0.3) is None

    run(main())


def test_cancelling_a_waiting_poll_is_clean(conf: dict, topic: str) -> None:
    async def main() -> None:
        async with AIOConsumer(consumer_conf(conf, f"g-{topic}")) as consumer:
            await consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_END)])
            waiting = asyncio.ensure_future(consumer.getmany(timeout=30, max_records=10))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert time.monotonic() - started < 1
            # The consumer goes on: a record produced now is read.
            async with AIOProducer(conf) as producer:
                await producer.send(topic, b"after cancel")
            message = await consumer.getone(timeout=10)
            assert message is not None and message.value() == b"after cancel"

    run(main())


def test_a_cancelled_send_still_delivers_its_record(conf: dict, topic: str) -> None:
    async def main() -> None:
        async with AIOProducer(conf) as producer:
            sending = asyncio.ensure_future(producer.send(topic, b"cancelled"))
            await asyncio.sleep(0)
            sending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            assert await producer.flush(10) == 0
        async with AIOConsumer(consumer_conf(conf, f"g-{topic}")) as consumer:
            await consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
            message = await consumer.getone(timeout=10)
            assert message is not None and message.value() == b"cancelled"

    run(main())


def test_a_failed_delivery_raises_delivery_error_with_the_record(broker_kind: str) -> None:
    if broker_kind != "strom":
        pytest.skip("needs a broker started with auto.create.topics.enable=false")

    async def main(bootstrap: str) -> None:
        conf = {"bootstrap.servers": bootstrap, "message.timeout.ms": "2000", "request.timeout.ms": "1000"}
        async with AIOProducer(conf) as producer:
            with pytest.raises(strom.DeliveryError) as raised:
                await producer.send("no-such-topic", b"lost", key=b"k")
            assert isinstance(raised.value, strom.KafkaException)
            assert raised.value.message.value() == b"lost"
            assert raised.value.message.key() == b"k"

    with Broker({"auto.create.topics.enable": "false"}) as bootstrap:
        run(main(bootstrap))


def test_unknown_config_key_raises_on_start() -> None:
    async def main() -> None:
        producer = AIOProducer({"bootstrap.servers": "127.0.0.1:9092", "no.such.key": "1"})
        with pytest.raises(strom.ConfigError):
            await producer.start()

    run(main())


def test_broker_down_fails_within_the_timeout() -> None:
    async def main() -> None:
        producer = AIOProducer(
            {"bootstrap.servers": "127.0.0.1:1", "socket.connection.setup.timeout.ms": "500", "request.timeout.ms": "2000"}
        )
        started = time.monotonic()
        with pytest.raises(strom.KafkaException):
            await producer.start()
        assert time.monotonic() - started < 15

    run(main())


def test_aio_admin_client_awaits_every_call(conf: dict, topic_name: str) -> None:
    from strom.admin import NewTopic
    from strom.aio import AIOAdminClient

    async def main() -> None:
        async with AIOAdminClient(conf) as admin:
            created = await admin.create_topics([NewTopic(topic_name, num_partitions=2, replication_factor=1)])
            assert created == {topic_name: None}
            metadata = await admin.list_topics(topic_name, timeout=10)
            assert list(metadata.topics[topic_name].partitions) == [0, 1]
            cluster = await admin.describe_cluster()
            assert cluster.nodes
            with pytest.raises(strom.KafkaException) as raised:
                await admin.create_topics([NewTopic(topic_name, num_partitions=2, replication_factor=1)])
            assert raised.value.code() == strom.KafkaError.TOPIC_ALREADY_EXISTS
            assert await admin.delete_topics([topic_name]) == {topic_name: None}

    run(main())


def test_a_missing_subscribed_topic_comes_out_of_getmany_as_an_error(conf: dict, topic_name: str) -> None:
    heard: list = []

    async def main() -> None:
        group_conf = {**consumer_conf(conf, f"g-{topic_name}"), "error_cb": heard.append}
        async with AIOConsumer(group_conf) as consumer:
            await consumer.subscribe([topic_name])
            got: list = []
            deadline = time.monotonic() + 30
            while not got and time.monotonic() < deadline:
                got.extend(await consumer.getmany(timeout=0.5, max_records=10))
            assert len(got) == 1 and got[0].error() is not None, got
            assert got[0].error().code() == strom.KafkaError.UNKNOWN_TOPIC_OR_PART
            assert topic_name in got[0].error().str()

    run(main())
    # A missing topic is not an error_cb event (the broker is up).
    assert heard == []


def test_partition_ends_come_out_of_getmany(conf: dict, topic: str) -> None:
    async def main() -> None:
        async with AIOProducer(conf) as producer:
            await producer.send(topic, b"only")
        end_conf = {**consumer_conf(conf, f"g-{topic}"), "enable.partition.eof": True}
        async with AIOConsumer(end_conf) as consumer:
            await consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
            got: list = []
            deadline = time.monotonic() + 30
            while not any(m.error() is not None for m in got) and time.monotonic() < deadline:
                got.extend(await consumer.getmany(timeout=0.5, max_records=10))
            assert [(m.offset(), m.error() is None) for m in got] == [(0, True), (1, False)]
            assert got[1].error().code() == strom.KafkaError._PARTITION_EOF

    run(main())
