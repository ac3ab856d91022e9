"""Errors a user meets first: bad configuration, a broker that is not
there, a topic that does not exist; each a clear exception, within the
configured timeouts, and nothing hangs."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

import pytest

import strom
import strom.admin
from strom.testing import Broker


def test_unknown_config_key_raises_at_construction() -> None:
    for client in (strom.Producer, strom.Consumer):
        with pytest.raises(strom.KafkaException) as raised:
            client({"bootstrap.servers": "127.0.0.1:9092", "no.such.setting": "1"})
        assert raised.value.code() == strom.KafkaError._INVALID_ARG
        assert "no.such.setting" in str(raised.value)
        assert isinstance(raised.value, strom.ConfigError)
        assert isinstance(raised.value, ValueError)
        assert isinstance(raised.value, strom.StromError)


def test_bad_value_names_the_key() -> None:
    with pytest.raises(strom.ConfigError, match="acks"):
        strom.Producer({"bootstrap.servers": "127.0.0.1:9092", "acks": "sometimes"})


def test_kafka_error_values() -> None:
    error = strom.KafkaError(strom.KafkaError.UNKNOWN_TOPIC_OR_PART)
    assert error.code() == 3 and error == 3 and error != 4
    assert error.name() == "UNKNOWN_TOPIC_OR_PART"
    assert strom.KafkaError.UNKNOWN_TOPIC_OR_PARTITION == 3
    assert strom.KafkaError._PARTITION_EOF == -191
    assert strom.KafkaError._MSG_TIMED_OUT == -192
    assert strom.KafkaError(strom.KafkaError._TIMED_OUT).name() == "_TIMED_OUT"
    custom = strom.KafkaError(strom.KafkaError._FAIL, "custom reason", retriable=True)
    assert custom.str() == "custom reason" and custom.retriable() and not custom.fatal()
    assert "custom reason" in str(strom.KafkaException(custom))
    assert strom.KafkaException(custom).args[0] is custom
    assert {strom.KafkaError(1): "x"}[strom.KafkaError(1)] == "x"


def test_broker_down_fails_clearly_within_the_timeout() -> None:
    conf = {
        "bootstrap.servers": "127.0.0.1:1",
        "default.api.timeout.ms": "2000",
        "socket.connection.setup.timeout.ms": "500",
    }
    started = time.monotonic()
    with pytest.raises(strom.KafkaException) as raised:
        strom.Producer(conf)
    assert time.monotonic() - started < 10
    assert "127.0.0.1:1" in str(raised.value)


def test_consumer_close_is_bounded_when_the_broker_is_gone(topic_name: str) -> None:
    broker = Broker()
    bootstrap = broker.start()
    consumer = strom.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "gone",
            "default.api.timeout.ms": "3000",
            "session.timeout.ms": "6000",
            "request.timeout.ms": "2000",
        }
    )
    consumer.subscribe([topic_name])
    consumer.poll(1.0)
    broker.stop()
    started = time.monotonic()
    try:
        consumer.close()
    except strom.KafkaException:
        pass  # the commit or the leave may fail: the point is that it returns
    assert time.monotonic() - started < 10
    with pytest.raises(RuntimeError):
        consumer.poll(0)


def test_produce_to_a_missing_topic_with_auto_create_off_reports_an_error(broker_kind: str) -> None:
    if broker_kind != "strom":
        pytest.skip("needs a broker started with auto.create.topics.enable=false")
    with Broker({"auto.create.topics.enable": "false"}) as bootstrap:
        reports: list = []
        producer = strom.Producer(
            {"bootstrap.servers": bootstrap, "message.timeout.ms": "3000", "request.timeout.ms": "1000"}
        )
        producer.produce("does-not-exist", b"x", on_delivery=lambda err, msg: reports.append(err))
        started = time.monotonic()
        assert producer.flush(20) == 0
        assert time.monotonic() - started < 15
        [error] = reports
        assert error is not None
        assert error.code() in (
            strom.KafkaError.UNKNOWN_TOPIC_OR_PART,
            strom.KafkaError._MSG_TIMED_OUT,
            strom.KafkaError._UNKNOWN_TOPIC,
        )


def test_topic_partitions_compare_by_topic_and_partition() -> None:
    assert strom.TopicPartition("x", 1, 9) == strom.TopicPartition("x", 1, 5)
    assert strom.TopicPartition("x", 1) in [strom.TopicPartition("x", 1, 3)]
    assert strom.TopicPartition("x", 1, 9) in {strom.TopicPartition("x", 1, 5)}
    assert strom.TopicPartition("x", 1) != strom.TopicPartition("x", 2)
    assert sorted([strom.TopicPartition("b", 0), strom.TopicPartition("a", 2), strom.TopicPartition("a", 1)]) == [
        strom.TopicPartition("a", 1),
        strom.TopicPartition("a", 2),
        strom.TopicPartition("b", 0),
    ]


def test_a_partition_the_topic_lacks_is_unknown_partition(conf: dict, topic: str) -> None:
    producer = strom.Producer(conf)
    producer.produce(topic, b"known first")  # the partition count is now known
    producer.flush(10)
    with pytest.raises(strom.KafkaException) as raised:
        producer.produce(topic, b"x", partition=5)
    assert raised.value.code() == strom.KafkaError._UNKNOWN_PARTITION
    assert "partition 5" in str(raised.value)


def test_list_topics_names_a_missing_topic_with_its_error(conf: dict, topic_name: str) -> None:
    metadata = strom.Producer(conf).list_topics(f"{topic_name}-missing", timeout=10)
    missing = metadata.topics[f"{topic_name}-missing"]
    assert missing.error is not None and missing.error.code() == strom.KafkaError.UNKNOWN_TOPIC_OR_PART
    assert missing.partitions == {}


def test_list_topics_partitions_come_in_order(conf: dict, bootstrap: str, topic_name: str) -> None:
    from conftest import create_topic

    create_topic(bootstrap, topic_name, 7)
    metadata = strom.Producer(conf).list_topics(topic_name, timeout=10)
    assert list(metadata.topics[topic_name].partitions) == list(range(7))


def silent_broker() -> socket.socket:
    """A listening socket that never answers: a client connects (the
    kernel accepts into the backlog) and then waits for a reply that never
    comes, as with a broker that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    return server


@pytest.mark.parametrize("client", [strom.Producer, strom.Consumer])
def test_ctrl_c_interrupts_a_constructor_waiting_for_a_silent_broker(client: type) -> None:
    server = silent_broker()
    conf = {"bootstrap.servers": f"127.0.0.1:{server.getsockname()[1]}", "group.id": "g"}
    if client is strom.Producer:
        del conf["group.id"]
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client(conf)
        assert time.monotonic() - started < 3
    finally:
        timer.cancel()
        server.close()


def test_ctrl_c_interrupts_list_topics_waiting_for_a_silent_broker() -> None:
    server = silent_broker()
    admin = strom.admin.AdminClient({"bootstrap.servers": f"127.0.0.1:{server.getsockname()[1]}"})
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            admin.list_topics(timeout=30)
        assert time.monotonic() - started < 3
    finally:
        timer.cancel()
        server.close()


def test_queue_buffering_max_messages_bounds_the_queue_by_count(conf: dict, topic: str) -> None:
    # Records stay queued (a long linger), so the count limit is what refuses.
    producer = strom.Producer({**conf, "queue.buffering.max.messages": 5, "linger.ms": 60_000})
    for _ in range(5):
        producer.produce(topic, b"x")
    with pytest.raises(BufferError) as full:
        producer.produce(topic, b"one too many")
    assert "queue.buffering.max.messages" in str(full.value)
    assert producer.flush(10) == 0
    producer.produce(topic, b"room again")
    assert producer.flush(10) == 0


def test_librdkafka_settings_with_the_one_value_supported() -> None:
    base = {"bootstrap.servers": "127.0.0.1:1", "socket.connection.setup.timeout.ms": "200",
            "default.api.timeout.ms": "500"}
    # The default values are accepted (the broker is down: the error is that).
    with pytest.raises(strom.BrokerUnavailableError):
        strom.Consumer({**base, "group.id": "g", "enable.partition.eof": False, "statistics.interval.ms": 0,
                        "allow.auto.create.topics": False, "batch.num.messages": 100})
    for key, value, says in [
        ("statistics.interval.ms", 86400001, "86400000"),
    ]:
        with pytest.raises(strom.ConfigError, match=says):
            strom.Producer({**base, key: value})


def test_debug_turns_the_strom_logger_to_debug(conf: dict) -> None:
    logger = logging.getLogger("strom")
    before = logger.level
    try:
        strom.Producer({**conf, "debug": "broker,msg"}).close()
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)
        strom._strom.set_log_level(logger.getEffectiveLevel())


def test_error_cb_hears_that_the_broker_went_away(topic_name: str) -> None:
    broker = Broker()
    bootstrap = broker.start()
    heard: list = []
    producer = strom.Producer(
        {"bootstrap.servers": bootstrap, "error_cb": heard.append, "message.timeout.ms": "2000"}
    )
    producer.produce(topic_name, b"before")
    assert producer.flush(10) == 0
    broker.stop()
    producer.produce(topic_name, b"after")
    deadline = time.monotonic() + 15
    while not any(error.name() == "_ALL_BROKERS_DOWN" for error in heard) and time.monotonic() < deadline:
        producer.poll(0.2)
    assert all(isinstance(error, strom.KafkaError) for error in heard)
    assert any(error.name() == "_ALL_BROKERS_DOWN" for error in heard), heard
    # Once per outage, not once per reconnect attempt.
    assert len(heard) < 10, heard
    producer.flush(5)


def test_subscribing_to_a_missing_topic_is_an_error_from_poll(conf: dict, topic_name: str) -> None:
    # librdkafka's consumer does not ask the broker to create what it reads.
    consumer = strom.Consumer({**conf, "group.id": f"g-{topic_name}", "session.timeout.ms": "6000"})
    consumer.subscribe([topic_name])
    deadline = time.monotonic() + 20
    message = None
    while message is None and time.monotonic() < deadline:
        message = consumer.poll(0.5)
    assert message is not None and message.error() is not None
    assert message.error().code() == strom.KafkaError.UNKNOWN_TOPIC_OR_PART
    assert topic_name in message.error().str()
    consumer.close()
