"""Topic administration through real admin clients (c): confluent-kafka's
AdminClient and the Java Admin. Kafka applies metadata and config changes
asynchronously, so reads after a change poll until they see it."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

from java_admin import JavaAdmin
from kafka_admin import admin_client, wait_for_partitions, wait_for_topic_gone

TIMEOUT_S = 30.0
OVERRIDES = {"retention.ms": "3600000", "max.message.bytes": "200000"}
# Broker defaults for topic configs this suite's brokers leave unset.
DEFAULT_CLEANUP_POLICY = "delete"
DEFAULT_MAX_MESSAGE_BYTES = "1048588"


def eventually(check, what: str):
    """Polls check() until it returns a truthy value or TIMEOUT_S passes."""
    deadline = time.monotonic() + TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def new_topic_name() -> str:
    return f"admin-{uuid.uuid4().hex[:12]}"


def kafka_error_code(future) -> int:
    with pytest.raises(KafkaException) as raised:
        future.result(timeout=TIMEOUT_S)
    return raised.value.args[0].code()


# --- confluent-kafka AdminClient -------------------------------------------------


def describe_configs(admin, topic: str) -> dict:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    return admin.describe_configs([resource], request_timeout=TIMEOUT_S)[resource].result(timeout=TIMEOUT_S)


def partition_count(admin, topic: str) -> int:
    description = admin.describe_topics(TopicCollection([topic]), request_timeout=TIMEOUT_S)[topic].result(
        timeout=TIMEOUT_S
    )
    return len(description.partitions)


def test_confluent_admin_topic_lifecycle(broker):
    admin = admin_client(broker.bootstrap)
    topic = new_topic_name()

    # validate_only checks the request and creates nothing.
    validated = admin.create_topics(
        [NewTopic(topic, num_partitions=3, replication_factor=1, config=OVERRIDES)],
        validate_only=True,
        request_timeout=TIMEOUT_S,
    )
    validated[topic].result(timeout=TIMEOUT_S)
    assert topic not in admin.list_topics(timeout=TIMEOUT_S).topics

    bad = admin.create_topics(
        [NewTopic(topic, num_partitions=3, replication_factor=1, config={"retention.ms": "not-a-number"})],
        validate_only=True,
        request_timeout=TIMEOUT_S,
    )
    assert kafka_error_code(bad[topic]) == KafkaError.INVALID_CONFIG

    created = admin.create_topics(
        [NewTopic(topic, num_partitions=3, replication_factor=1, config=OVERRIDES)], request_timeout=TIMEOUT_S
    )
    created[topic].result(timeout=TIMEOUT_S)
    wait_for_partitions(admin, topic, 3)
    again = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)], request_timeout=TIMEOUT_S)
    assert kafka_error_code(again[topic]) == KafkaError.TOPIC_ALREADY_EXISTS

    description = admin.describe_topics(TopicCollection([topic]), request_timeout=TIMEOUT_S)[topic].result(
        timeout=TIMEOUT_S
    )
    assert sorted(p.id for p in description.partitions) == [0, 1, 2]
    for partition in description.partitions:
        assert partition.leader is not None and partition.leader.id >= 0
        assert [n.id for n in partition.replicas] == [partition.leader.id]
        assert [n.id for n in partition.isr] == [partition.leader.id]

    configs = describe_configs(admin, topic)
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == DEFAULT_CLEANUP_POLICY
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["cleanup.policy"].is_default

    # Incremental alter: SET one override, DELETE another (back to default).
    resource = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("max.message.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
        ],
    )
    admin.incremental_alter_configs([resource], request_timeout=TIMEOUT_S)[resource].result(timeout=TIMEOUT_S)

    def altered():
        now = describe_configs(admin, topic)
        return (
            now["retention.ms"].value == "7200000"
            and now["max.message.bytes"].value == DEFAULT_MAX_MESSAGE_BYTES
            and now["max.message.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
        ) and now

    eventually(altered, "altered configs")

    admin.create_partitions([NewPartitions(topic, 6)], request_timeout=TIMEOUT_S)[topic].result(timeout=TIMEOUT_S)
    eventually(lambda: partition_count(admin, topic) == 6, "6 partitions in DescribeTopics")
    wait_for_partitions(admin, topic, 6)

    admin.delete_topics([topic], request_timeout=TIMEOUT_S)[topic].result(timeout=TIMEOUT_S)
    wait_for_topic_gone(admin, topic)


def produce_with_timestamps(bootstrap: str, topic: str, timestamps: list[int]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    errors = []
    for index, timestamp in enumerate(timestamps):
        producer.produce(
            topic,
            key=b"k",
            value=f"v{index}".encode(),
            partition=0,
            timestamp=timestamp,
            on_delivery=lambda err, _msg: err and errors.append(err),
        )
    assert producer.flush(TIMEOUT_S) == 0
    assert not errors, errors


# Ten records one second apart, then one older record: the newest timestamp
# is not on the last offset, so max_timestamp must really look at timestamps.
BASE_TS = 1_700_000_000_000
TIMESTAMPS = [BASE_TS + i * 1000 for i in range(10)] + [BASE_TS + 500]


def test_confluent_list_offsets(broker, topic_factory):
    admin = admin_client(broker.bootstrap)
    topic = topic_factory(1)
    produce_with_timestamps(broker.bootstrap, topic, TIMESTAMPS)
    tp = TopicPartition(topic, 0)

    def offset_for(spec):
        return admin.list_offsets({tp: spec}, request_timeout=TIMEOUT_S)[tp].result(timeout=TIMEOUT_S)

    assert offset_for(OffsetSpec.earliest()).offset == 0
    assert offset_for(OffsetSpec.latest()).offset == len(TIMESTAMPS)
    middle = offset_for(OffsetSpec.for_timestamp(BASE_TS + 4500))
    assert (middle.offset, middle.timestamp) == (5, BASE_TS + 5000)
    assert offset_for(OffsetSpec.for_timestamp(BASE_TS + 60_000)).offset == -1
    newest = offset_for(OffsetSpec.max_timestamp())
    assert (newest.offset, newest.timestamp) == (9, BASE_TS + 9000)


# --- Java Admin ------------------------------------------------------------------


@pytest.fixture
def java_admin(broker):
    admin = JavaAdmin(broker.bootstrap)
    yield admin
    admin.close()


def test_java_admin_topic_lifecycle(java_admin):
    topic = new_topic_name()
    overrides = [f"{k}={v}" for k, v in OVERRIDES.items()]

    java_admin.ok("create", topic, 3, "true", *overrides)
    assert topic not in java_admin.ok("topics")["topics"]
    invalid = java_admin.call("create", topic, 3, "true", "retention.ms=not-a-number")
    assert invalid.get("error") == "InvalidConfigurationException", invalid

    java_admin.ok("create", topic, 3, "false", *overrides)
    assert java_admin.call("create", topic, 3, "false").get("error") == "TopicExistsException"
    assert topic in java_admin.ok("topics")["topics"]

    def described_with_leaders():
        reply = java_admin.call("describe", topic)
        return reply.get("ok") and all(p["leader"] >= 0 for p in reply["partitions"]) and reply

    described = eventually(described_with_leaders, "every partition led")
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert all(p["replicas"] == [p["leader"]] and p["isr"] == [p["leader"]] for p in described["partitions"])
    assert described["topic_id"] != "AAAAAAAAAAAAAAAAAAAAAA"  # Uuid.ZERO_UUID
    assert described["internal"] is False

    configs = java_admin.ok("configs", topic)["configs"]
    assert configs["retention.ms"]["value"] == "3600000"
    assert configs["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert configs["cleanup.policy"]["value"] == DEFAULT_CLEANUP_POLICY
    assert configs["cleanup.policy"]["source"] == "DEFAULT_CONFIG"
    assert configs["cleanup.policy"]["is_default"] is True

    java_admin.ok("alter", topic, "set", "retention.ms", "7200000")
    java_admin.ok("alter", topic, "delete", "max.message.bytes")

    def altered():
        now = java_admin.ok("configs", topic)["configs"]
        return (
            now["retention.ms"]["value"] == "7200000"
            and now["max.message.bytes"]["value"] == DEFAULT_MAX_MESSAGE_BYTES
            and now["max.message.bytes"]["source"] == "DEFAULT_CONFIG"
        )

    eventually(altered, "altered configs")

    java_admin.ok("add_partitions", topic, 6)
    eventually(lambda: len(java_admin.ok("describe", topic)["partitions"]) == 6, "6 partitions")
    shrink = java_admin.call("add_partitions", topic, 2)
    assert shrink.get("error") == "InvalidPartitionsException", shrink

    java_admin.ok("delete", topic)
    eventually(lambda: topic not in java_admin.ok("topics")["topics"], "topic gone")
    gone = java_admin.call("describe", topic)
    assert gone.get("error") == "UnknownTopicOrPartitionException", gone


def test_java_list_offsets(broker, topic_factory, java_admin):
    topic = topic_factory(1)
    produce_with_timestamps(broker.bootstrap, topic, TIMESTAMPS)

    assert java_admin.ok("offsets", topic, 0, "earliest")["offset"] == 0
    assert java_admin.ok("offsets", topic, 0, "latest")["offset"] == len(TIMESTAMPS)
    middle = java_admin.ok("offsets", topic, 0, BASE_TS + 4500)
    assert (middle["offset"], middle["timestamp"]) == (5, BASE_TS + 5000)
    assert java_admin.ok("offsets", topic, 0, BASE_TS + 60_000)["offset"] == -1
    newest = java_admin.ok("offsets", topic, 0, "max_timestamp")
    assert (newest["offset"], newest["timestamp"]) == (9, BASE_TS + 9000)
