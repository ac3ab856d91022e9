"""Committed group offsets: they survive a broker restart (clean and
crash), and confluent-kafka's AdminClient (plus the Java Admin for
OffsetDelete, which confluent-kafka lacks) lists, describes, alters and
deletes groups and their offsets as Kafka does."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from groups import (
    MemberOptions,
    MemberPool,
    produce_keyed,
    wait_for_consumed,
    wait_for_group_state,
    wait_until,
)
from java_admin import JavaAdmin
from kafka_admin import admin_client

PARTITIONS = 6
TIMEOUT_S = 30.0


def new_group() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """{partition: committed offset} as the group coordinator reports it
    (partitions without a committed offset are left out)."""
    admin = admin_client(bootstrap)
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request, request_timeout=TIMEOUT_S)[group].result(timeout=TIMEOUT_S)
    for tp in result.topic_partitions:
        assert tp.error is None, f"offset fetch error for {tp}: {tp.error}"
    return {tp.partition: tp.offset for tp in result.topic_partitions if tp.offset != OFFSET_INVALID}


def group_consumer(bootstrap: str, group: str, offset_reset: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": offset_reset,
            "session.timeout.ms": 6000,
        }
    )


def first_offsets(consumer: Consumer, partitions: int) -> dict[int, int]:
    """The offset of the first record the consumer reads in each partition."""
    first: dict[int, int] = {}

    def read():
        for msg in consumer.consume(num_messages=100, timeout=0.2):
            assert msg.error() is None, f"consume error: {msg.error()}"
            first.setdefault(msg.partition(), msg.offset())
        return len(first) == partitions

    wait_until(read, f"a record from each of {partitions} partitions")
    return first


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_committed_offsets_survive_a_broker_restart(restartable_broker, groups_supported, topic_factory, kill):
    broker = restartable_broker
    topic = topic_factory(PARTITIONS)
    group = new_group()
    produce_keyed(broker.bootstrap, topic, PARTITIONS, 120, "restart")  # 20 per partition
    commit_at = {p: 3 + 2 * p for p in range(PARTITIONS)}

    consumer = group_consumer(broker.bootstrap, group, "earliest")
    try:
        consumer.subscribe([topic])
        first_offsets(consumer, PARTITIONS)  # joined, owns every partition
        results = consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in commit_at.items()], asynchronous=False
        )
        assert all(tp.error is None for tp in results), f"commit errors: {results}"
    finally:
        consumer.close()
    assert committed_offsets(broker.bootstrap, group) == commit_at

    broker.restart(kill=kill)

    # The consumer waits out the coordinator's loading of the offsets; the
    # admin asks only afterwards (see groups.py on librdkafka's admin and
    # restarts). auto.offset.reset=error: a partition read from anywhere
    # but a committed offset fails.
    resumed = group_consumer(broker.bootstrap, group, "error")
    try:
        resumed.subscribe([topic])
        assert first_offsets(resumed, PARTITIONS) == commit_at
    finally:
        resumed.close()
    assert committed_offsets(broker.bootstrap, group) == commit_at


def group_ids(admin, states=None) -> set[str]:
    options = {"request_timeout": TIMEOUT_S}
    if states is not None:
        options["states"] = states
    result = admin.list_consumer_groups(**options).result(timeout=TIMEOUT_S)
    assert not result.errors, f"list_consumer_groups errors: {result.errors}"
    return {listing.group_id for listing in result.valid}


def error_code(future) -> int:
    with pytest.raises(KafkaException) as raised:
        future.result(timeout=TIMEOUT_S)
    return raised.value.args[0].code()


def test_group_admin_lists_describes_alters_and_deletes(broker, groups_supported, topic_factory, tmp_path):
    partitions = 3
    topic = topic_factory(partitions)
    group = new_group()
    produced = produce_keyed(broker.bootstrap, topic, partitions, 30, "admin")  # 10 per partition
    admin = admin_client(broker.bootstrap)
    java = JavaAdmin(broker.bootstrap)
    pool = MemberPool(broker.bootstrap, tmp_path)
    try:
        member = pool.start("confluent-kafka", topic, group, "admin-member", MemberOptions(assignor="range"))
        wait_for_consumed([member], set(produced), [member])
        wait_until(lambda: committed_offsets(broker.bootstrap, group) == {0: 10, 1: 10, 2: 10}, "commits", [member])

        # An active group: listed as Stable, described with its one member.
        assert group in group_ids(admin, {ConsumerGroupState.STABLE})
        assert group not in group_ids(admin, {ConsumerGroupState.EMPTY})
        description = wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.STABLE, members=1)
        assert description.partition_assignor == "range"
        assert not description.is_simple_consumer_group
        (described,) = description.members
        assert described.client_id == "admin-member"
        assert described.member_id == member.last_assignment_event["member_id"]
        assert {(tp.topic, tp.partition) for tp in described.assignment.topic_partitions} == {
            (topic, p) for p in range(partitions)
        }

        # Kafka refuses to delete a group with members, or offsets of a topic it consumes.
        assert error_code(admin.delete_consumer_groups([group], request_timeout=TIMEOUT_S)[group]) == (
            KafkaError.NON_EMPTY_GROUP  # Kafka error 68, GROUP_NOT_EMPTY
        )
        refused = java.call("delete_group_offsets", group, topic, 2)
        assert refused.get("error") == "GroupSubscribedToTopicException", refused

        member.close()
        wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.EMPTY, members=0)
        assert group in group_ids(admin, {ConsumerGroupState.EMPTY})
        assert group not in group_ids(admin, {ConsumerGroupState.STABLE})

        # An empty group's offsets can be changed and deleted.
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 5)])]
        altered = admin.alter_consumer_group_offsets(request, request_timeout=TIMEOUT_S)[group].result(
            timeout=TIMEOUT_S
        )
        assert all(tp.error is None for tp in altered.topic_partitions), altered.topic_partitions
        assert committed_offsets(broker.bootstrap, group) == {0: 2, 1: 5, 2: 10}

        java.ok("delete_group_offsets", group, topic, 2)
        assert committed_offsets(broker.bootstrap, group) == {0: 2, 1: 5}

        admin.delete_consumer_groups([group], request_timeout=TIMEOUT_S)[group].result(timeout=TIMEOUT_S)
        assert group not in group_ids(admin)
        assert committed_offsets(broker.bootstrap, group) == {}
    finally:
        pool.kill_all()
        java.close()


def test_a_deleted_group_starts_over_from_the_reset_policy(broker, groups_supported, topic_factory):
    """After delete_consumer_groups, a consumer of the same group id has no
    committed offsets left and reads from auto.offset.reset."""
    topic = topic_factory(1)
    group = new_group()
    produce_keyed(broker.bootstrap, topic, 1, 10, "reborn")
    consumer = group_consumer(broker.bootstrap, group, "earliest")
    try:
        consumer.subscribe([topic])
        first_offsets(consumer, 1)
        consumer.commit(offsets=[TopicPartition(topic, 0, 7)], asynchronous=False)
    finally:
        consumer.close()
    admin = admin_client(broker.bootstrap)
    wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.EMPTY, members=0)
    admin.delete_consumer_groups([group], request_timeout=TIMEOUT_S)[group].result(timeout=TIMEOUT_S)

    again = group_consumer(broker.bootstrap, group, "earliest")
    try:
        again.subscribe([topic])
        assert first_offsets(again, 1) == {0: 0}
    finally:
        again.close()
