"""strom.Producer against the broker under test: what confluent-kafka
users rely on — delivery reports, keys, headers, timestamps, codecs,
partitions, BufferError, flush and len()."""

from __future__ import annotations

import json
import threading
import time

import pytest

import strom
from conftest import create_topic


def read_all(conf: dict, topic: str, count: int, timeout: float = 30.0) -> list[strom.Message]:
    consumer = strom.Consumer({**conf, "group.id": f"reader-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    messages: list[strom.Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            messages.append(message)
    finally:
        consumer.close()
    return messages


def test_delivery_reports_say_where_each_record_went(conf: dict, topic: str) -> None:
    reports: list[tuple] = []

    def on_delivery(err, msg):
        reports.append((err, msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value()))

    producer = strom.Producer(conf)
    for i in range(5):
        producer.produce(topic, value=f"value-{i}", key=f"key-{i}".encode(), on_delivery=on_delivery)
    assert len(producer) == 5
    assert producer.flush(10) == 0
    assert len(producer) == 0
    assert reports == [(None, topic, 0, i, f"key-{i}".encode(), f"value-{i}".encode()) for i in range(5)]


def test_config_on_delivery_and_callback_keyword(conf: dict, topic: str) -> None:
    by_config: list = []
    by_keyword: list = []
    producer = strom.Producer({**conf, "on_delivery": lambda err, msg: by_config.append(msg.offset())})
    producer.produce(topic, b"a")
    producer.produce(topic, b"b", callback=lambda err, msg: by_keyword.append(msg.offset()))
    producer.flush(10)
    assert by_config == [0]
    assert by_keyword == [1]


def test_keys_headers_and_timestamps_arrive_intact(conf: dict, topic: str) -> None:
    producer = strom.Producer(conf)
    producer.produce(topic, value=b"v1", key=b"k1", headers={"a": b"1", "b": "two"}, timestamp=1_700_000_000_123)
    producer.produce(topic, value=None, key="k2", headers=[("x", b"1"), ("x", b"2"), ("n", None)])
    producer.produce(topic, value=b"", key=None)
    assert producer.flush(10) == 0
    first, second, third = read_all(conf, topic, 3)
    assert (first.key(), first.value()) == (b"k1", b"v1")
    assert first.headers() == [("a", b"1"), ("b", b"two")]
    assert first.timestamp() == (strom.TIMESTAMP_CREATE_TIME, 1_700_000_000_123)
    assert (second.key(), second.value()) == (b"k2", None)
    assert second.headers() == [("x", b"1"), ("x", b"2"), ("n", None)]
    now_ms = time.time() * 1000
    assert abs(second.timestamp()[1] - now_ms) < 60_000
    assert (third.key(), third.value(), third.headers()) == (None, b"", None)
    assert len(third) == 0 and len(first) == 2


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_codec_round_trips(conf: dict, topic: str, codec: str) -> None:
    producer = strom.Producer({**conf, "compression.type": codec, "linger.ms": 20})
    values = [(b"record %d " % i) * 20 for i in range(200)]
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(15) == 0
    assert [m.value() for m in read_all(conf, topic, len(values))] == values


def test_explicit_partitions_and_keyed_records_stay_together(conf: dict, bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, 3)
    where: dict = {}
    producer = strom.Producer(conf)
    for i in range(3):
        producer.produce(topic_name, b"x", partition=i, on_delivery=lambda e, m, i=i: where.setdefault(("p", i), m.partition()))
    for i in range(10):
        producer.produce(topic_name, b"y", key=b"same-key", on_delivery=lambda e, m: where.setdefault("keyed", set()).add(m.partition()))
    producer.flush(10)
    assert [where[("p", i)] for i in range(3)] == [0, 1, 2]
    assert len(where["keyed"]) == 1


def test_full_queue_raises_buffer_error_until_served(conf: dict, topic: str) -> None:
    delivered: list = []
    producer = strom.Producer({**conf, "buffer.memory": 64 * 1024, "linger.ms": 0})
    value = b"z" * 1000
    with pytest.raises(BufferError) as raised:
        for _ in range(1000):
            producer.produce(topic, value, on_delivery=lambda e, m: delivered.append(e))
    assert isinstance(raised.value, strom.KafkaException)
    assert raised.value.code() == strom.KafkaError._QUEUE_FULL
    assert raised.value.retriable()
    # Serving the reports frees the room again.
    producer.flush(10)
    producer.produce(topic, value)
    assert producer.flush(10) == 0
    assert delivered and all(e is None for e in delivered)


def test_exception_in_a_delivery_callback_comes_out_of_poll(conf: dict, topic: str) -> None:
    producer = strom.Producer(conf)

    def boom(err, msg):
        raise ValueError("from the callback")

    producer.produce(topic, b"x", on_delivery=boom)
    with pytest.raises(ValueError, match="from the callback"):
        producer.flush(10)


def test_poll_serves_reports_and_counts_them(conf: dict, topic: str) -> None:
    seen: list = []
    producer = strom.Producer(conf)
    for _ in range(3):
        producer.produce(topic, b"x", on_delivery=lambda e, m: seen.append(m.offset()))
    served = 0
    deadline = time.monotonic() + 10
    while served < 3 and time.monotonic() < deadline:
        served += producer.poll(0.5)
    assert served == 3 and seen == [0, 1, 2]
    assert producer.poll(0) == 0


def test_stats_cb_gets_librdkafka_statistics_from_poll_and_flush(conf: dict, topic: str) -> None:
    records = 40
    seen: list[dict] = []
    threads: set[int] = set()

    def stats_cb(stats_json: str) -> None:
        threads.add(threading.get_ident())
        seen.append(json.loads(stats_json))

    producer = strom.Producer({**conf, "client.id": "stats-py", "statistics.interval.ms": 100, "stats_cb": stats_cb})
    for i in range(records):
        producer.produce(topic, f"value-{i}".encode(), key=f"k{i}".encode())
    assert producer.flush(30) == 0
    deadline = time.monotonic() + 30
    while not (seen and seen[-1]["txmsgs"] == records) and time.monotonic() < deadline:
        producer.poll(0.2)
    stats = seen[-1]
    assert stats["txmsgs"] == records, stats
    assert stats["type"] == "producer"
    assert stats["name"].startswith("stats-py#producer-")
    assert stats["txmsg_bytes"] == sum(len(f"value-{i}") + len(f"k{i}") for i in range(records))
    assert stats["msg_cnt"] == 0
    assert sum(p["txmsgs"] for p in stats["topics"][topic]["partitions"].values()) == records
    assert any(broker["state"] == "UP" for broker in stats["brokers"].values())
    # Called from poll()/flush() only, on this thread, as confluent-kafka does.
    assert threads == {threading.get_ident()}
    producer.close()


def test_exception_in_stats_cb_comes_out_of_poll(conf: dict, topic: str) -> None:
    def stats_cb(stats_json: str) -> None:
        raise ValueError("from stats_cb")

    producer = strom.Producer({**conf, "statistics.interval.ms": 50, "stats_cb": stats_cb})
    with pytest.raises(ValueError, match="from stats_cb"):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            producer.poll(0.2)
    producer.close()


def test_list_topics_shows_the_topic_and_the_broker(conf: dict, topic: str) -> None:
    metadata = strom.Producer(conf).list_topics(timeout=10)
    assert topic in metadata.topics
    assert list(metadata.topics[topic].partitions) == [0]
    assert len(metadata.brokers) >= 1
    broker = next(iter(metadata.brokers.values()))
    assert f"{broker.host}:{broker.port}" in conf["bootstrap.servers"] or broker.port > 0


def test_producer_is_a_context_manager(conf: dict, topic: str) -> None:
    offsets: list = []
    with strom.Producer(conf) as producer:
        producer.produce(topic, b"x", on_delivery=lambda e, m: offsets.append(m.offset()))
    assert offsets == [0]
    with pytest.raises(strom.KafkaException):
        producer.produce(topic, b"after close")
