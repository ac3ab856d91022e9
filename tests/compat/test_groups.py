"""Consumer groups with real clients: members of one library join, share a
topic's partitions, rebalance as members come, leave and die, and together
read every record (at least once)."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import ConsumerGroupState

from groups import (
    GROUP_CLIENTS,
    MemberPool,
    check_keys,
    consumed_positions,
    produce_keyed,
    wait_for_balanced,
    wait_for_consumed,
    wait_for_group_state,
)

PARTITIONS = 6


@pytest.fixture
def members(broker, groups_supported, tmp_path):
    pool = MemberPool(broker.bootstrap, tmp_path)
    yield pool
    pool.kill_all()


def new_group() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("client", GROUP_CLIENTS)
def test_members_share_partitions_through_joins_leaves_and_crashes(broker, members, topic_factory, client):
    topic = topic_factory(PARTITIONS)
    group = new_group()
    produced = produce_keyed(broker.bootstrap, topic, PARTITIONS, 120, "before")

    first = [members.start(client, topic, group, f"{client}-{i}") for i in range(3)]
    wait_for_balanced(first, PARTITIONS, sizes=[2, 2, 2])
    wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.STABLE, members=3, alive=first)

    # A fourth member joins while records keep coming.
    produced |= produce_keyed(broker.bootstrap, topic, PARTITIONS, 60, "join")
    fourth = members.start(client, topic, group, f"{client}-3")
    four = [*first, fourth]
    wait_for_balanced(four, PARTITIONS, sizes=[2, 2, 1, 1])

    # One leaves cleanly: its partitions go to the others.
    leaver, crasher, *survivors = four
    leaver.close()
    produced |= produce_keyed(broker.bootstrap, topic, PARTITIONS, 60, "leave")
    wait_for_balanced([crasher, *survivors], PARTITIONS, sizes=[2, 2, 2])

    # One dies without a word: its partitions move once its session expires.
    crasher.kill()
    produced |= produce_keyed(broker.bootstrap, topic, PARTITIONS, 60, "crash")
    wait_for_balanced(survivors, PARTITIONS, sizes=[3, 3])
    produced |= produce_keyed(broker.bootstrap, topic, PARTITIONS, 60, "after")

    wait_for_consumed(four, set(produced), alive=survivors)
    check_keys(four, produced)
    assert consumed_positions(four) <= set(produced), "read a record nobody produced"
    description = wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.STABLE, members=2, alive=survivors)
    described = {m.member_id: {tp.partition for tp in m.assignment.topic_partitions} for m in description.members}
    reported = {m.last_assignment_event["member_id"]: set(m.assignment) for m in survivors}
    assert described == reported, "the broker's view of the members differs from the members' own"

    for member in survivors:
        member.close()
    wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.EMPTY, members=0)
