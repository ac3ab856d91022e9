"""strom.admin against a real broker: every admin call, its results in
confluent-kafka's shapes, its errors as KafkaException subclasses carrying
the KafkaError, and the client's behaviour with no broker to talk to."""

from __future__ import annotations

import concurrent.futures
import socket
import time
import uuid
from typing import Callable, Dict, Iterator, Optional

import pytest

import strom
from strom import KafkaError, KafkaException, TopicPartition
from strom.admin import (
    OFFSET_INVALID,
    AdminClient,
    AlterConfigOpType,
    ClusterMetadata,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ConsumerGroupDescription,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    DeletedRecords,
    DescribeClusterResult,
    IsolationLevel,
    ListConsumerGroupsResult,
    ListOffsetsResultInfo,
    NewPartitions,
    NewTopic,
    Node,
    OffsetSpec,
    ResourceType,
    TopicCollection,
    TopicDescription,
)

WAIT = 30  # seconds any future may take against a live broker


@pytest.fixture
def admin(conf: dict) -> AdminClient:
    return AdminClient(conf)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def visible(admin: AdminClient, topic: str, partitions: Optional[int] = None) -> None:
    """Waits until the metadata shows `topic` (with `partitions`). A
    created topic reaches a Kafka broker's metadata a moment after
    CreateTopics answers (librdkafka and the Java client do not wait
    either)."""

    def shown() -> bool:
        topics = admin.list_topics(topic, timeout=WAIT).topics
        return topic in topics and (partitions is None or len(topics[topic].partitions) == partitions)

    wait_until(shown, f"{topic} in the metadata")


@pytest.fixture
def topic(admin: AdminClient, topic_name: str) -> Iterator[str]:
    """A fresh topic with 2 partitions, deleted afterwards."""
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(WAIT)
    visible(admin, topic_name, 2)
    yield topic_name
    admin.delete_topics([topic_name])[topic_name].exception(WAIT)


@pytest.fixture
def group_name() -> str:
    return f"py-admin-group-{uuid.uuid4().hex[:8]}"


def raised(future: concurrent.futures.Future) -> KafkaException:
    """The KafkaException `future` fails with (fails the test otherwise)."""
    with pytest.raises(KafkaException) as info:
        future.result(WAIT)
    error = info.value.args[0]
    assert isinstance(error, KafkaError)
    return info.value


def configs_of(admin: AdminClient, topic: str) -> Dict[str, ConfigEntry]:
    resource = ConfigResource("topic", topic)
    entries: Dict[str, ConfigEntry] = admin.describe_configs([resource])[resource].result(WAIT)
    return entries


def partition_count(admin: AdminClient, topic: str) -> int:
    return len(admin.list_topics(topic, timeout=WAIT).topics[topic].partitions)


# ------------------------------------------------------------------ topics


def test_create_topics_returns_a_future_per_topic(admin: AdminClient, topic_name: str) -> None:
    other = topic_name + "-b"
    futures = admin.create_topics(
        [NewTopic(topic_name, num_partitions=3, replication_factor=1), NewTopic(other, 1, 1, config={"retention.ms": 60000})]
    )
    try:
        assert set(futures) == {topic_name, other}
        assert all(isinstance(future, concurrent.futures.Future) for future in futures.values())
        assert [future.result(WAIT) for future in futures.values()] == [None, None]
        visible(admin, topic_name, 3)
        visible(admin, other, 1)
        metadata = admin.list_topics(timeout=WAIT)
        assert len(metadata.topics[topic_name].partitions) == 3
        assert len(metadata.topics[other].partitions) == 1
        configs = admin.describe_configs([ConfigResource("topic", other)])
        assert next(iter(configs.values())).result(WAIT)["retention.ms"].value == "60000"
    finally:
        admin.delete_topics([topic_name, other])


def test_creating_an_existing_topic_fails_with_topic_already_exists(admin: AdminClient, topic: str) -> None:
    other = topic + "-new"
    futures = admin.create_topics([NewTopic(topic, 2, 1), NewTopic(other, 1, 1)])
    try:
        error = raised(futures[topic])
        assert isinstance(error, strom.BrokerError)
        assert error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
        assert error.args[0] == KafkaError.TOPIC_ALREADY_EXISTS
        assert error.args[0].name() == "TOPIC_ALREADY_EXISTS"
        # The other topic of the same call is created all the same.
        assert futures[other].result(WAIT) is None
    finally:
        admin.delete_topics([other])


def test_validate_only_creates_nothing(admin: AdminClient, topic_name: str) -> None:
    futures = admin.create_topics([NewTopic(topic_name, 1, 1)], validate_only=True)
    assert futures[topic_name].result(WAIT) is None
    assert topic_name not in admin.list_topics(timeout=WAIT).topics


def test_delete_topics(admin: AdminClient, topic_name: str) -> None:
    admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(WAIT)
    visible(admin, topic_name)
    missing = topic_name + "-missing"
    futures = admin.delete_topics([topic_name, missing])
    assert futures[topic_name].result(WAIT) is None
    assert raised(futures[missing]).args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    wait_until(lambda: topic_name not in admin.list_topics(timeout=WAIT).topics, "the topic to go")


def test_create_partitions(admin: AdminClient, topic: str) -> None:
    assert partition_count(admin, topic) == 2
    futures = admin.create_partitions([NewPartitions(topic, 5)])
    assert list(futures) == [topic]
    assert futures[topic].result(WAIT) is None
    visible(admin, topic, 5)
    # Fewer partitions than there are is refused.
    error = raised(admin.create_partitions([NewPartitions(topic, 3)])[topic])
    assert error.args[0].code() == KafkaError.INVALID_PARTITIONS
    # validate_only changes nothing.
    admin.create_partitions([NewPartitions(topic, 8)], validate_only=True)[topic].result(WAIT)
    assert partition_count(admin, topic) == 5


def test_list_topics(admin: AdminClient, topic: str) -> None:
    metadata = admin.list_topics(timeout=WAIT)
    assert isinstance(metadata, ClusterMetadata)
    assert topic in metadata.topics
    assert metadata.brokers
    broker = next(iter(metadata.brokers.values()))
    assert broker.port > 0 and broker.host
    assert metadata.controller_id in metadata.brokers
    one = admin.list_topics(topic, timeout=WAIT)
    assert list(one.topics) == [topic]
    partitions = one.topics[topic].partitions
    assert sorted(partitions) == [0, 1]
    assert all(partition.leader in one.brokers for partition in partitions.values())


def test_describe_topics(admin: AdminClient, topic: str) -> None:
    missing = topic + "-missing"
    futures = admin.describe_topics(TopicCollection([topic, missing]))
    description = futures[topic].result(WAIT)
    assert isinstance(description, TopicDescription)
    assert description.name == topic
    assert not description.is_internal
    assert str(description.topic_id) not in ("", "AAAAAAAAAAAAAAAAAAAAAA")
    assert [partition.id for partition in description.partitions] == [0, 1]
    for partition in description.partitions:
        assert isinstance(partition.leader, Node)
        assert partition.leader.port > 0
        assert [node.id for node in partition.replicas] == [partition.leader.id]
    assert raised(futures[missing]).args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


# ----------------------------------------------------------------- configs


def test_describe_configs_of_a_topic(admin: AdminClient, topic: str) -> None:
    resource = ConfigResource(ResourceType.TOPIC, topic)
    futures = admin.describe_configs([resource])
    assert list(futures) == [resource]
    configs = futures[resource].result(WAIT)
    assert isinstance(configs, dict)
    entry = configs["retention.ms"]
    assert isinstance(entry, ConfigEntry)
    assert entry.name == "retention.ms"
    assert entry.value == "604800000"
    assert entry.is_default
    assert isinstance(entry.source, ConfigSource)
    assert entry.source != ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert "cleanup.policy" in configs


def test_incremental_alter_configs(admin: AdminClient, topic: str) -> None:
    resource = ConfigResource("TOPIC", topic)
    resource.add_incremental_config(
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)
    )
    resource.add_incremental_config(
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND)
    )
    futures = admin.incremental_alter_configs([resource])
    assert futures[resource].result(WAIT) is None

    # A Kafka broker applies the change a moment after the controller answers.
    wait_until(lambda: configs_of(admin, topic)["retention.ms"].value == "3600000", "the change")
    entries = configs_of(admin, topic)
    assert entries["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not entries["retention.ms"].is_default
    assert sorted(entries["cleanup.policy"].value.split(",")) == ["compact", "delete"]

    # DELETE reverts to the default; SUBTRACT takes a value out of a list.
    revert = ConfigResource("topic", topic)
    revert.add_incremental_config(ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE))
    revert.add_incremental_config(
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SUBTRACT)
    )
    admin.incremental_alter_configs([revert])[revert].result(WAIT)
    wait_until(lambda: configs_of(admin, topic)["cleanup.policy"].value == "delete", "the revert")
    entries = configs_of(admin, topic)
    assert entries["retention.ms"].value == "604800000"
    assert entries["retention.ms"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert entries["cleanup.policy"].value == "delete"


def test_incremental_alter_configs_validate_only_and_errors(admin: AdminClient, topic: str) -> None:
    resource = ConfigResource("topic", topic)
    resource.add_incremental_config(ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET))
    admin.incremental_alter_configs([resource], validate_only=True)[resource].result(WAIT)
    entries = admin.describe_configs([resource])[resource].result(WAIT)
    assert entries["retention.ms"].value == "604800000"

    bad = ConfigResource("topic", topic)
    bad.add_incremental_config(ConfigEntry("no.such.setting", "1", incremental_operation=AlterConfigOpType.SET))
    missing = ConfigResource("topic", topic + "-missing")
    missing.add_incremental_config(ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET))
    futures = admin.incremental_alter_configs([bad, missing])
    assert raised(futures[bad]).args[0].code() == KafkaError.INVALID_CONFIG
    assert raised(futures[missing]).args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_configs_of_a_missing_topic_and_of_a_broker(admin: AdminClient) -> None:
    missing = ConfigResource("topic", f"py-admin-missing-{uuid.uuid4().hex[:8]}")
    controller = admin.describe_cluster().result(WAIT).controller
    broker = ConfigResource(ResourceType.BROKER, str(controller.id))
    futures = admin.describe_configs([missing, broker])
    assert raised(futures[missing]).args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    configs = futures[broker].result(WAIT)
    assert "num.partitions" in configs
    assert all(isinstance(entry, ConfigEntry) for entry in configs.values())


def test_config_resource_takes_confluent_kafka_forms() -> None:
    assert ConfigResource("topic", "a") == ConfigResource(ResourceType.TOPIC, "a") == ConfigResource(2, "a")
    assert hash(ConfigResource("Topic", "a")) == hash(ConfigResource(ResourceType.TOPIC, "a"))
    assert ConfigResource("topic", "a") != ConfigResource("broker", "a")
    assert ConfigResource.Type.BROKER is ResourceType.BROKER
    with pytest.raises(ValueError):
        ConfigResource("nonsense", "a")
    resource = ConfigResource("topic", "a", set_config={"x": "1"})
    resource.set_config("x", "2", overwrite=False)
    assert resource.set_config_dict == {"x": "1"} and len(resource) == 1


def test_unsupported_resource_types_are_refused_at_the_call(admin: AdminClient) -> None:
    with pytest.raises(strom.ConfigError):
        admin.describe_configs([ConfigResource(ResourceType.GROUP, "g")])
    with pytest.raises(strom.ConfigError):
        admin.describe_configs([ConfigResource(ResourceType.BROKER, "not-an-id")])
    entry_without_operation = ConfigResource("topic", "t", incremental_configs=[ConfigEntry("retention.ms", "1")])
    with pytest.raises(TypeError):
        admin.incremental_alter_configs([entry_without_operation])


# ------------------------------------------------------------------ groups


def commit(admin: AdminClient, group: str, offsets: Dict[TopicPartition, int]) -> ConsumerGroupTopicPartitions:
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(tp.topic, tp.partition, offset) for tp, offset in offsets.items()]
    )
    futures = admin.alter_consumer_group_offsets([request])
    assert list(futures) == [group]
    return futures[group].result(WAIT)


def test_alter_and_list_consumer_group_offsets(admin: AdminClient, topic: str, group_name: str) -> None:
    altered = commit(admin, group_name, {TopicPartition(topic, 0): 5, TopicPartition(topic, 1): 7})
    assert isinstance(altered, ConsumerGroupTopicPartitions)
    assert altered.group_id == group_name
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in altered.topic_partitions) == [
        (topic, 0, 5),
        (topic, 1, 7),
    ]

    # Every partition the group committed.
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_name)])
    listed = futures[group_name].result(WAIT)
    assert listed.group_id == group_name
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in listed.topic_partitions) == [
        (topic, 0, 5),
        (topic, 1, 7),
    ]

    # Partitions asked by name; one without a commit is OFFSET_INVALID.
    admin.create_partitions([NewPartitions(topic, 3)])[topic].result(WAIT)
    visible(admin, topic, 3)
    asked = [TopicPartition(topic, 1), TopicPartition(topic, 2)]
    listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_name, asked)])[group_name].result(WAIT)
    assert sorted((tp.partition, tp.offset) for tp in listed.topic_partitions) == [(1, 7), (2, OFFSET_INVALID)]

    # Altered again, it reads back the new offset.
    commit(admin, group_name, {TopicPartition(topic, 0): 9})
    listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_name)])[group_name].result(WAIT)
    assert {tp.partition: tp.offset for tp in listed.topic_partitions} == {0: 9, 1: 7}


def test_group_offsets_requests_are_checked_as_in_confluent_kafka(admin: AdminClient) -> None:
    with pytest.raises(ValueError):
        admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("a"), ConsumerGroupTopicPartitions("b")])
    with pytest.raises(TypeError):
        admin.list_consumer_group_offsets(["a"])
    with pytest.raises(ValueError):
        admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions("a", [TopicPartition("t", 0, 5)])])
    with pytest.raises(ValueError):
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("a")])
    with pytest.raises(ValueError):
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("a", [TopicPartition("t", 0, -1)])])
    with pytest.raises(ValueError):
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions("", [TopicPartition("t", 0, 1)])])
    with pytest.raises(TypeError):
        admin.describe_consumer_groups("not-a-list")
    with pytest.raises(ValueError):
        admin.delete_consumer_groups([])


def test_committing_to_a_missing_topic_fails(admin: AdminClient, group_name: str) -> None:
    request = ConsumerGroupTopicPartitions(group_name, [TopicPartition(f"py-admin-missing-{uuid.uuid4().hex[:8]}", 0, 1)])
    error = raised(admin.alter_consumer_group_offsets([request])[group_name])
    assert error.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_list_describe_and_delete_consumer_groups(admin: AdminClient, topic: str, group_name: str) -> None:
    commit(admin, group_name, {TopicPartition(topic, 0): 1})

    future = admin.list_consumer_groups()
    assert isinstance(future, concurrent.futures.Future)
    result = future.result(WAIT)
    assert isinstance(result, ListConsumerGroupsResult)
    assert result.errors == []
    listing = {group.group_id: group for group in result.valid}[group_name]
    assert listing.is_simple_consumer_group
    assert listing.state == ConsumerGroupState.EMPTY

    stable_only = admin.list_consumer_groups(states={ConsumerGroupState.STABLE}).result(WAIT)
    assert group_name not in [group.group_id for group in stable_only.valid]
    empty_only = admin.list_consumer_groups(states={ConsumerGroupState.EMPTY}).result(WAIT)
    assert group_name in [group.group_id for group in empty_only.valid]

    futures = admin.describe_consumer_groups([group_name])
    description = futures[group_name].result(WAIT)
    assert isinstance(description, ConsumerGroupDescription)
    assert description.group_id == group_name
    assert description.state == ConsumerGroupState.EMPTY
    assert description.members == []
    assert description.is_simple_consumer_group
    assert isinstance(description.coordinator, Node)
    brokers = admin.list_topics(timeout=WAIT).brokers
    assert description.coordinator.id in brokers
    assert description.coordinator.port == brokers[description.coordinator.id].port

    missing = group_name + "-missing"
    futures = admin.delete_consumer_groups([group_name, missing])
    assert set(futures) == {group_name, missing}
    assert futures[group_name].result(WAIT) is None
    assert raised(futures[missing]).args[0].code() == KafkaError.GROUP_ID_NOT_FOUND

    # Gone: no offsets left, and described as dead (or not found).
    listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_name)])[group_name].result(WAIT)
    assert listed.topic_partitions == []
    future = admin.describe_consumer_groups([group_name])[group_name]
    try:
        assert future.result(WAIT).state == ConsumerGroupState.DEAD
    except KafkaException as error:
        assert error.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND
    listed_groups = admin.list_consumer_groups().result(WAIT).valid
    assert group_name not in [group.group_id for group in listed_groups]


def test_a_group_with_an_active_member(conf: dict, admin: AdminClient, topic: str, group_name: str) -> None:
    """Members, their assignments, and what an active group refuses. Needs
    strom.Consumer to make the member."""
    consumer_class = getattr(strom, "Consumer", None)
    if consumer_class is None:
        pytest.skip("strom.Consumer is not available")
    consumer = consumer_class({**conf, "group.id": group_name, "client.id": "admin-test"})
    try:
        consumer.subscribe([topic])
        wait_until(lambda: consumer.poll(0.1) is None and len(consumer.assignment()) == 2, "an assignment", WAIT)

        description = admin.describe_consumer_groups([group_name])[group_name].result(WAIT)
        assert description.state == ConsumerGroupState.STABLE
        assert not description.is_simple_consumer_group
        assert description.partition_assignor
        [member] = description.members
        assert member.client_id == "admin-test"
        assert member.member_id.startswith("admin-test")
        assert member.host
        assert member.group_instance_id is None
        assigned = sorted((tp.topic, tp.partition) for tp in member.assignment.topic_partitions)
        assert assigned == [(topic, 0), (topic, 1)]

        listing = {group.group_id: group for group in admin.list_consumer_groups().result(WAIT).valid}[group_name]
        assert listing.state == ConsumerGroupState.STABLE
        assert not listing.is_simple_consumer_group

        error = raised(admin.delete_consumer_groups([group_name])[group_name])
        assert error.args[0].code() == KafkaError.NON_EMPTY_GROUP
        request = ConsumerGroupTopicPartitions(group_name, [TopicPartition(topic, 0, 1)])
        raised(admin.alter_consumer_group_offsets([request])[group_name])
    finally:
        consumer.close()


# ----------------------------------------------------------------- cluster


def test_describe_cluster(admin: AdminClient) -> None:
    future = admin.describe_cluster()
    assert isinstance(future, concurrent.futures.Future)
    cluster = future.result(WAIT)
    assert isinstance(cluster, DescribeClusterResult)
    assert cluster.cluster_id
    assert cluster.nodes and all(isinstance(node, Node) for node in cluster.nodes)
    assert isinstance(cluster.controller, Node)
    assert cluster.controller.id in [node.id for node in cluster.nodes]
    metadata = admin.list_topics(timeout=WAIT)
    assert cluster.cluster_id == metadata.cluster_id
    assert sorted(node.id for node in cluster.nodes) == sorted(metadata.brokers)
    node = cluster.nodes[0]
    assert (node.host, node.port) == (metadata.brokers[node.id].host, metadata.brokers[node.id].port)


# ---------------------------------------------- partition offsets, records


def produce(conf: dict, topic: str, count: int) -> None:
    producer = strom.Producer(conf)
    for index in range(count):
        producer.produce(topic, value=b"v%d" % index, partition=0, timestamp=1_000_000 + index * 1000)
    assert producer.flush(WAIT) == 0


def test_list_offsets_and_delete_records(conf: dict, admin: AdminClient, topic: str) -> None:
    produce(conf, topic, 5)
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    futures = admin.list_offsets(
        {p0: OffsetSpec.latest(), p1: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_UNCOMMITTED
    )
    assert set(futures) == {p0, p1}
    latest = futures[p0].result(WAIT)
    assert isinstance(latest, ListOffsetsResultInfo)
    assert latest.offset == 5
    assert futures[p1].result(WAIT).offset == 0

    earliest = admin.list_offsets({p0: OffsetSpec.earliest()})[p0].result(WAIT)
    assert earliest.offset == 0
    by_time = admin.list_offsets({p0: OffsetSpec.for_timestamp(1_002_000)})[p0].result(WAIT)
    assert (by_time.offset, by_time.timestamp) == (2, 1_002_000)
    newest = admin.list_offsets({p0: OffsetSpec.max_timestamp()})[p0].result(WAIT)
    assert (newest.offset, newest.timestamp) == (4, 1_004_000)

    deleted = admin.delete_records([TopicPartition(topic, 0, 3)])
    [(key, future)] = deleted.items()
    assert (key.topic, key.partition) == (topic, 0)
    result = future.result(WAIT)
    assert isinstance(result, DeletedRecords)
    assert result.low_watermark == 3
    assert admin.list_offsets({p0: OffsetSpec.earliest()})[p0].result(WAIT).offset == 3

    # OFFSET_END (-1) deletes everything.
    everything = admin.delete_records([TopicPartition(topic, 0, strom.OFFSET_END)])
    assert next(iter(everything.values())).result(WAIT).low_watermark == 5


def test_list_offsets_of_a_missing_partition_fails(admin: AdminClient, topic: str) -> None:
    missing = TopicPartition(topic, 7)
    future = admin.list_offsets({missing: OffsetSpec.latest()})[missing]
    assert raised(future).args[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_PARTITION)
    with pytest.raises(TypeError):
        admin.list_offsets({missing: -1})
    with pytest.raises(strom.ConfigError):
        admin.list_offsets({missing: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED)


# ------------------------------------------------- construction, no broker


def test_an_unknown_setting_is_refused_when_the_client_is_made() -> None:
    with pytest.raises(KafkaException) as info:
        AdminClient({"bootstrap.servers": "127.0.0.1:9092", "no.such.setting": "1"})
    assert info.value.args[0].code() == KafkaError._INVALID_ARG
    assert isinstance(info.value, strom.ConfigError)
    assert "no.such.setting" in str(info.value)


def test_calls_fail_quickly_when_the_broker_refuses_connections() -> None:
    started = time.monotonic()
    admin = AdminClient({"bootstrap.servers": "127.0.0.1:1"})
    assert time.monotonic() - started < 1, "making the client must not connect"
    futures = admin.create_topics([NewTopic("t", 1, 1)], request_timeout=5)
    error = raised(futures["t"])
    assert isinstance(error, strom.BrokerUnavailableError)
    assert error.args[0].code() == KafkaError._TRANSPORT
    assert "127.0.0.1:1" in str(error)
    with pytest.raises(strom.BrokerUnavailableError):
        admin.list_topics(timeout=5)
    with pytest.raises(strom.BrokerUnavailableError):
        admin.describe_cluster(request_timeout=5).result(WAIT)
    assert time.monotonic() - started < 5


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """An address that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield "127.0.0.1:%d" % listener.getsockname()[1]
    finally:
        listener.close()


def test_calls_to_a_silent_broker_time_out(silent_broker: str) -> None:
    admin = AdminClient({"bootstrap.servers": silent_broker})
    started = time.monotonic()
    futures = admin.delete_topics(["a", "b"], request_timeout=0.5)
    errors = [raised(future) for future in futures.values()]
    for error in errors:
        assert isinstance(error, strom.KafkaTimeoutError)
        assert error.args[0].code() == KafkaError._TIMED_OUT
    assert time.monotonic() - started < 5
    started = time.monotonic()
    with pytest.raises(strom.KafkaTimeoutError):
        admin.list_topics(timeout=0.5)
    groups = admin.list_consumer_groups(request_timeout=0.5)
    assert isinstance(raised(groups), strom.KafkaTimeoutError)
    assert time.monotonic() - started < 5


# ---------------------------------------------------------- compatibility


def test_input_checks_and_unsupported_calls(admin: AdminClient) -> None:
    with pytest.raises(TypeError):
        admin.create_topics(["not-a-NewTopic"])
    with pytest.raises(ValueError):
        admin.create_topics([])
    with pytest.raises(TypeError):
        admin.delete_topics("a-topic")
    with pytest.raises(TypeError):
        admin.create_topics([NewTopic("t", 1)], no_such_option=1)
    with pytest.raises(ValueError):
        admin.describe_configs(["not-a-resource"])
    with pytest.raises(TypeError):
        admin.describe_topics(["t"])
    with pytest.raises(strom.ConfigError):
        admin.create_topics([NewTopic("t", replica_assignment=[[0]])])
    with pytest.raises(strom.ConfigError):
        admin.alter_configs([])
    for call in (admin.create_acls, admin.delete_acls):
        with pytest.raises(ValueError):
            call([])
    assert admin.poll(0) == 0
    assert len(admin) == 0


def test_data_classes_follow_confluent_kafka() -> None:
    assert NewTopic("a", 1) == NewTopic("a", 3) and NewTopic("a") < NewTopic("b")
    assert {NewTopic("a"): 1}[NewTopic("a", 5)] == 1
    assert NewPartitions("a", 2) == NewPartitions("a", 3)
    assert ConsumerGroupState.UNKOWN is ConsumerGroupState.UNKNOWN
    assert ConsumerGroupState.STABLE > ConsumerGroupState.UNKNOWN
    assert str(Node(1, "h", 9092)).startswith("(1) h:9092")
    assert OffsetSpec.earliest() == OffsetSpec(-2)
    assert OffsetSpec.for_timestamp(5) < OffsetSpec.for_timestamp(6)
    assert ListOffsetsResultInfo(1, -1, -1).leader_epoch is None
    entry = ConfigEntry("a", "1")
    assert (entry.source, entry.is_default, entry.synonyms) == (ConfigSource.UNKNOWN_CONFIG, False, {})
