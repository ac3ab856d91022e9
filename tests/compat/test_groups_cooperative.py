"""Cooperative-sticky groups (KIP-429's incremental rebalancing) mixing the
Java client and Strom's: Java's CooperativeStickyAssignor and Strom's
must interoperate whichever member leads (the first to join does, and runs
its own assignor for everyone). Under the cooperative protocol a member
keeps its partitions through a rebalance and gives up only those that move:
when a member dies its partitions go to the others and nobody else's move;
when one joins, the others hand it some of theirs and keep the rest."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from confluent_kafka import ConsumerGroupState

from groups import (
    Member,
    MemberOptions,
    MemberPool,
    check_keys,
    consumed_positions,
    produce_keyed,
    wait_for_balanced,
    wait_for_consumed,
    wait_for_group_state,
    wait_until,
)

PARTITIONS = 8
COOPERATIVE = MemberOptions(assignor="cooperative-sticky")
# The client of the group's first member, which leads it.
LEADER_CLIENTS = ["java", "strom"]


@pytest.fixture
def members(broker, groups_supported, tmp_path):
    pool = MemberPool(broker.bootstrap, tmp_path)
    yield pool
    pool.kill_all()


def new_group() -> str:
    return f"group-{uuid.uuid4().hex[:10]}"


def other_client(client: str) -> str:
    return "strom" if client == "java" else "java"


def start_group(members: MemberPool, topic: str, group: str, leader_client: str, count: int) -> list[Member]:
    """Starts `count` cooperative members, alternating the leader's client
    and the other one. The first has joined (and holds every partition)
    before the others start, so it is the group's leader."""
    leader = members.start(leader_client, topic, group, f"{leader_client}-0", COOPERATIVE)
    wait_until(lambda: leader.assignment == frozenset(range(PARTITIONS)), "the leader's first assignment", [leader])
    started = [leader]
    for index in range(1, count):
        client = leader_client if index % 2 == 0 else other_client(leader_client)
        started.append(members.start(client, topic, group, f"{client}-{index}", COOPERATIVE))
    return started


def wait_for_stable_agreement(bootstrap: str, group: str, group_members: list[Member]) -> None:
    """The broker describes the group as stable with these members holding
    the partitions they report, under the cooperative-sticky assignor."""
    description = wait_for_group_state(
        bootstrap, group, ConsumerGroupState.STABLE, members=len(group_members), alive=group_members
    )
    assert description.partition_assignor == "cooperative-sticky"
    described = {m.member_id: {tp.partition for tp in m.assignment.topic_partitions} for m in description.members}
    reported = {m.last_assignment_event["member_id"]: set(m.assignment) for m in group_members}
    assert described == reported, "the broker's view of the members differs from the members' own"


@pytest.mark.parametrize("leader_client", LEADER_CLIENTS)
def test_a_dead_members_partitions_move_and_the_survivors_keep_theirs(broker, members, topic_factory, leader_client):
    topic = topic_factory(PARTITIONS)
    group = new_group()
    # Two members of each client; the one killed is of the other client
    # than the leader's, so the survivors are of both.
    group_members = start_group(members, topic, group, leader_client, 4)
    wait_for_balanced(group_members, PARTITIONS, sizes=[2, 2, 2, 2])
    wait_for_stable_agreement(broker.bootstrap, group, group_members)

    # A stable group reads each record once: every partition has one owner.
    produced = produce_keyed(broker.bootstrap, topic, PARTITIONS, 80, "stable")
    wait_for_consumed(group_members, set(produced), group_members)
    reads = Counter((e["partition"], e["offset"]) for m in group_members for e in m.events("record"))
    assert {position: n for position, n in reads.items() if n != 1} == {}, "a stable group read records twice"

    victim = group_members[1]
    assert victim.client == other_client(leader_client)
    survivors = [m for m in group_members if m is not victim]
    before = {m.name: m.assignment for m in survivors}
    marks = {m.name: m.event_count() for m in survivors}
    orphaned = victim.assignment
    victim.kill()
    produced |= produce_keyed(broker.bootstrap, topic, PARTITIONS, 80, "after-kill")
    wait_for_balanced(survivors, PARTITIONS, sizes=[3, 3, 2])

    for member in survivors:
        history = member.assignments_since(marks[member.name])
        assert all(before[member.name] <= held for held in history), (
            f"{member.name} ({member.client}) gave up partitions of its own: {[sorted(h) for h in history]}"
        )
        assert member.revoked_since(marks[member.name]) == set()
    gained = set().union(*(m.assignment - before[m.name] for m in survivors))
    assert gained == orphaned, "partitions other than the dead member's moved"
    wait_for_stable_agreement(broker.bootstrap, group, survivors)

    wait_for_consumed(group_members, set(produced), survivors)
    check_keys(group_members, produced)
    assert consumed_positions(group_members) <= set(produced), "read a record nobody produced"
    for member in survivors:
        member.close()
    wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.EMPTY, members=0)


@pytest.mark.parametrize("leader_client", LEADER_CLIENTS)
def test_a_joining_member_takes_partitions_without_the_others_revoking_all(
    broker, members, topic_factory, leader_client
):
    topic = topic_factory(PARTITIONS)
    group = new_group()
    first = start_group(members, topic, group, leader_client, 3)
    wait_for_balanced(first, PARTITIONS, sizes=[3, 3, 2])
    wait_for_stable_agreement(broker.bootstrap, group, first)
    produced = produce_keyed(broker.bootstrap, topic, PARTITIONS, 80, "before-join")

    before = {m.name: m.assignment for m in first}
    marks = {m.name: m.event_count() for m in first}
    # The newcomer makes it two members of each client.
    newcomer_client = other_client(leader_client)
    newcomer = members.start(newcomer_client, topic, group, f"{newcomer_client}-3", COOPERATIVE)
    everyone = [*first, newcomer]
    wait_for_balanced(everyone, PARTITIONS, sizes=[2, 2, 2, 2])

    handed_over: set[int] = set()
    for member in first:
        history = member.assignments_since(marks[member.name])
        kept = member.assignment
        revoked = member.revoked_since(marks[member.name])
        assert kept <= before[member.name], f"{member.name} ({member.client}) got partitions from another old member"
        # Eager members would revoke everything first; a cooperative one
        # never lets go of a partition it keeps, not even for a moment.
        assert all(kept <= held for held in history), (
            f"{member.name} ({member.client}) revoked partitions it kept: {[sorted(h) for h in history]}"
        )
        assert revoked == before[member.name] - kept, f"{member.name} revoked {sorted(revoked)}"
        assert kept, f"{member.name} revoked all its partitions"
        handed_over |= revoked
    assert handed_over == newcomer.assignment, "the newcomer's partitions are not those the others revoked"
    wait_for_stable_agreement(broker.bootstrap, group, everyone)

    produced |= produce_keyed(broker.bootstrap, topic, PARTITIONS, 80, "after-join")
    wait_for_consumed(everyone, set(produced), everyone)
    check_keys(everyone, produced)
    for member in everyone:
        member.close()
    wait_for_group_state(broker.bootstrap, group, ConsumerGroupState.EMPTY, members=0)
