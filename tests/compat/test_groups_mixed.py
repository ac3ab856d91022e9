"""Groups whose members differ: five client libraries (Strom's own among
them) sharing one "range" generation, and a static member (KIP-345) that
restarts without the others noticing."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import ConsumerGroupState

from groups import (
    MemberOptions,
    MemberPool,
    check_keys,
    describe_group,
    produce_keyed,
    wait_for_balanced,
    wait_for_consumed,
    wait_for_group_state,
    wait_until,
)

PARTITIONS = 6
# kafkajs first, so the group's leader (the first member to join) runs the
# range assigner written in node/group_member.js.
MIXED_CLIENTS = ["kafkajs", "kafka-python", "confluent-kafka", "java", "strom"]
# 7 partitions over the 5 libraries: range gives the first two members (by
# member id) one partition more than the other three.
MIXED_PARTITIONS = 7
# Clients whose consumer tells its generation id (librdkafka's group
# metadata is opaque, kafkajs keeps it private, the Strom client does not
# expose it).
CLIENTS_WITH_GENERATION = {"kafka-python", "java", "strom"}


@pytest.fixture
def members(broker, groups_supported, tmp_path):
    pool = MemberPool(broker.bootstrap, tmp_path)
    yield pool
    pool.kill_all()


def new_group() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


def described_assignment(description) -> dict[str, list[int]]:
    return {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in description.members}


def test_five_client_libraries_share_one_range_generation(broker, members, topic_factory):
    topic = topic_factory(MIXED_PARTITIONS)
    group = new_group()
    produced = produce_keyed(broker.bootstrap, topic, MIXED_PARTITIONS, 70, "mixed")

    started = [
        members.start(client, topic, group, f"mixed-{client}", MemberOptions(assignor="range"))
        for client in MIXED_CLIENTS
    ]
    wait_for_balanced(started, MIXED_PARTITIONS, sizes=[2, 2, 1, 1, 1])

    def agreed():
        description = describe_group(broker.bootstrap, group)
        if description.state != ConsumerGroupState.STABLE or len(description.members) != len(started):
            return None
        reported = {m.last_assignment_event["member_id"]: sorted(m.assignment) for m in started}
        return description if described_assignment(description) == reported else None

    description = wait_until(agreed, "the broker and the five members to agree on the assignment", started)
    assert description.partition_assignor == "range"
    # Range: the members sorted by member id hold consecutive partitions,
    # the first ones (7 % 5 = 2 of them) one more than the rest.
    assignment = described_assignment(description)
    assert [assignment[member_id] for member_id in sorted(assignment)] == [[0, 1], [2, 3], [4], [5], [6]]
    generations = {m.client: m.status()["generation"] for m in started if m.client in CLIENTS_WITH_GENERATION}
    assert len(set(generations.values())) == 1 and min(generations.values()) > 0, generations

    wait_for_consumed(started, set(produced), started)
    check_keys(started, produced)
    for member in started:
        member.close()
    wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.EMPTY, members=0)


def test_static_member_restarts_into_its_old_partitions_without_a_rebalance(broker, members, topic_factory):
    topic = topic_factory(PARTITIONS)
    group = new_group()
    produced = produce_keyed(broker.bootstrap, topic, PARTITIONS, 60, "static")
    # The session outlasts the restart, so the broker keeps the static
    # member's place while its process is gone.
    static = MemberOptions(instance_id="static-member", session_timeout_ms=30000)

    leader = members.start("java", topic, group, "dynamic-1")
    wait_until(lambda: leader.assignment, "the first member to join", [leader])
    static_member = members.start("java", topic, group, "static-member", static)
    other = members.start("java", topic, group, "dynamic-2")
    group_members = [leader, static_member, other]
    wait_for_balanced(group_members, PARTITIONS, sizes=[2, 2, 2])
    wait_for_consumed(group_members, set(produced), group_members)
    before = {m.name: m.status() for m in group_members}
    assert len({s["generation"] for s in before.values()}) == 1, before
    generation = before["static-member"]["generation"]
    marks = {m.name: m.event_count() for m in (leader, other)}

    static_member.kill()
    restarted = members.start("java", topic, group, "static-member", static)
    wait_until(lambda: restarted.assignment, "the restarted static member's assignment", [restarted, leader, other])

    assert sorted(restarted.assignment) == before["static-member"]["partitions"]
    after = restarted.status()
    assert after["generation"] == generation, "the static member's return started a new generation"
    assert after["member_id"] != before["static-member"]["member_id"], "Kafka gives the returning instance a new id"
    # The group keeps working: new records are read by all three.
    more = produce_keyed(broker.bootstrap, topic, PARTITIONS, 60, "static-after")
    survivors = [leader, restarted, other]
    wait_for_consumed(survivors, set(more), survivors)
    check_keys(survivors, {**produced, **more})
    description = wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.STABLE, members=3, alive=survivors)
    instances = {m.member_id: m.group_instance_id for m in description.members}
    assert instances[after["member_id"]] == "static-member"
    for member in (leader, other):
        assert member.events_since(marks[member.name], "assignment") == [], f"{member.name} saw a rebalance"
        assert member.status()["generation"] == generation
