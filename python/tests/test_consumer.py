"""strom.Consumer against the broker under test: groups and rebalances
with callbacks, commits, positions, assignment, seeking, pausing, offset
lookups, and Python's manners (Ctrl-C, fork, context managers)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Callable

import pytest

import strom
from conftest import create_topic


def produce(conf: dict, topic: str, count: int, partition: int = -1, start: int = 0) -> None:
    producer = strom.Producer(conf)
    for i in range(start, start + count):
        producer.produce(topic, value=f"m{i}".encode(), key=f"k{i}".encode(), partition=partition)
    assert producer.flush(15) == 0


def poll_until(consumer: strom.Consumer, done: Callable[[list], bool], timeout: float = 30.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout
    while not done(got) and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None:
            assert message.error() is None, message.error()
            got.append(message)
    return got


def group_conf(conf: dict, group: str, **extra) -> dict:
    return {
        **conf,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
        **extra,
    }


def test_group_consumer_reads_everything_once_in_order(conf: dict, topic: str) -> None:
    produce(conf, topic, 50)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    consumer.subscribe([topic])
    got = poll_until(consumer, lambda got: len(got) >= 50)
    assert [m.value() for m in got] == [f"m{i}".encode() for i in range(50)]
    assert [m.offset() for m in got] == list(range(50))
    assert consumer.poll(0.5) is None
    consumer.close()


def test_stats_cb_counts_what_poll_returned_and_the_lag(conf: dict, topic: str) -> None:
    records = 30
    produce(conf, topic, records)
    seen: list[dict] = []
    threads: set[int] = set()

    def stats_cb(stats_json: str) -> None:
        threads.add(threading.get_ident())
        seen.append(json.loads(stats_json))

    consumer = strom.Consumer(
        group_conf(conf, f"g-{topic}", **{"enable.auto.commit": False, "statistics.interval.ms": 100, "stats_cb": stats_cb})
    )
    consumer.subscribe([topic])
    got = poll_until(consumer, lambda got: len(got) >= records)
    assert len(got) == records
    consumer.commit(asynchronous=False)

    def caught_up(stats: dict) -> bool:
        partition = stats["topics"].get(topic, {}).get("partitions", {}).get("0", {})
        return stats["rxmsgs"] == records and partition.get("consumer_lag") == 0

    deadline = time.monotonic() + 30
    while not (seen and caught_up(seen[-1])) and time.monotonic() < deadline:
        assert consumer.poll(0.2) is None
    stats = seen[-1]
    assert caught_up(stats), stats
    assert stats["type"] == "consumer"
    partition = stats["topics"][topic]["partitions"]["0"]
    assert partition["committed_offset"] == partition["hi_offset"] == records
    assert stats["cgrp"]["assignment_size"] == 1
    assert threads == {threading.get_ident()}
    consumer.close()


def test_rebalance_between_two_consumers_calls_back(conf: dict, bootstrap: str, topic_name: str) -> None:
    create_topic(bootstrap, topic_name, 4)
    group = f"g-{topic_name}"
    events: dict[str, list] = {"a-assign": [], "a-revoke": [], "b-assign": []}

    def on(name: str):
        return lambda consumer, partitions: events[name].append(sorted(p.partition for p in partitions))

    a = strom.Consumer(group_conf(conf, group))
    a.subscribe([topic_name], on_assign=on("a-assign"), on_revoke=on("a-revoke"))
    deadline = time.monotonic() + 30
    while len(a.assignment()) < 4 and time.monotonic() < deadline:
        a.poll(0.2)
    assert events["a-assign"][-1] == [0, 1, 2, 3]

    b = strom.Consumer(group_conf(conf, group))
    b.subscribe([topic_name], on_assign=on("b-assign"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        a.poll(0.1)
        b.poll(0.1)
        owned_a = {p.partition for p in a.assignment()}
        owned_b = {p.partition for p in b.assignment()}
        if owned_a and owned_b and owned_a | owned_b == {0, 1, 2, 3} and not owned_a & owned_b:
            break
    assert owned_a and owned_b, (owned_a, owned_b)
    assert owned_a | owned_b == {0, 1, 2, 3} and not owned_a & owned_b
    assert events["a-revoke"], "the first member was told of the partitions it gave up"
    assert events["b-assign"] and set(events["b-assign"][-1]) <= owned_b
    b.close()
    a.close()


def test_assign_in_on_assign_sets_where_reading_starts(conf: dict, topic: str) -> None:
    produce(conf, topic, 10)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}", **{"auto.offset.reset": "latest"}))

    def start_at_seven(c: strom.Consumer, partitions: list) -> None:
        for p in partitions:
            p.offset = 7
        c.assign(partitions)

    consumer.subscribe([topic], on_assign=start_at_seven)
    got = poll_until(consumer, lambda got: len(got) >= 3)
    assert [m.offset() for m in got] == [7, 8, 9]
    consumer.close()


def test_commits_sync_async_and_committed(conf: dict, topic: str) -> None:
    produce(conf, topic, 10)
    reports: list = []
    consumer = strom.Consumer(
        group_conf(
            conf,
            f"g-{topic}",
            **{"enable.auto.commit": False, "on_commit": lambda err, parts: reports.append((err, parts))},
        )
    )
    consumer.subscribe([topic])
    got = poll_until(consumer, lambda got: len(got) >= 10)
    tp = strom.TopicPartition(topic, 0)

    committed = consumer.commit(message=got[3], asynchronous=False)
    assert [(p.topic, p.partition, p.offset) for p in committed] == [(topic, 0, 4)]
    assert consumer.committed([tp], timeout=10)[0].offset == 4

    consumer.commit(offsets=[strom.TopicPartition(topic, 0, 6)], asynchronous=False)
    assert consumer.committed([tp], timeout=10)[0].offset == 6

    assert consumer.commit() is None  # asynchronous: the positions, reported to on_commit
    deadline = time.monotonic() + 10
    while not reports and time.monotonic() < deadline:
        consumer.poll(0.1)
    err, parts = reports[-1]
    assert err is None
    assert [(p.topic, p.partition, p.offset) for p in parts] == [(topic, 0, 10)]
    assert consumer.committed([tp], timeout=10)[0].offset == 10
    assert consumer.position([tp])[0].offset == 10
    consumer.close()

    # A new member of the group starts where the group left off.
    produce(conf, topic, 2, start=10)
    again = strom.Consumer(group_conf(conf, f"g-{topic}"))
    again.subscribe([topic])
    assert [m.offset() for m in poll_until(again, lambda got: len(got) >= 2)] == [10, 11]
    again.close()


def test_nothing_committed_reads_as_offset_invalid(conf: dict, topic: str) -> None:
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    [tp] = consumer.committed([strom.TopicPartition(topic, 0)], timeout=10)
    assert tp.offset == strom.OFFSET_INVALID
    consumer.close()


def test_assign_seek_pause_resume(conf: dict, topic: str) -> None:
    produce(conf, topic, 20)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    consumer.assign([strom.TopicPartition(topic, 0, 5)])
    assert [(p.topic, p.partition) for p in consumer.assignment()] == [(topic, 0)]
    first = poll_until(consumer, lambda got: len(got) >= 1)
    assert first[0].offset() == 5

    consumer.seek(strom.TopicPartition(topic, 0, 15))
    assert poll_until(consumer, lambda got: len(got) >= 1)[0].offset() == 15

    consumer.pause([strom.TopicPartition(topic, 0)])
    assert consumer.poll(0.5) is None
    consumer.resume([strom.TopicPartition(topic, 0)])
    assert poll_until(consumer, lambda got: len(got) >= 1)[0].offset() == 16

    consumer.seek(strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING))
    assert poll_until(consumer, lambda got: len(got) >= 1)[0].offset() == 0

    consumer.incremental_unassign([strom.TopicPartition(topic, 0)])
    assert consumer.assignment() == []
    consumer.incremental_assign([strom.TopicPartition(topic, 0, 19)])
    assert poll_until(consumer, lambda got: len(got) >= 1)[0].offset() == 19
    consumer.unassign()
    assert consumer.assignment() == []
    consumer.close()


def test_consume_returns_a_batch(conf: dict, topic: str) -> None:
    produce(conf, topic, 30)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
    batch: list = []
    deadline = time.monotonic() + 20
    while len(batch) < 30 and time.monotonic() < deadline:
        batch.extend(consumer.consume(num_messages=30 - len(batch), timeout=1.0))
    assert [m.offset() for m in batch] == list(range(30))
    assert consumer.consume(num_messages=5, timeout=0.3) == []
    with pytest.raises(strom.KafkaException):
        consumer.consume(num_messages=0)
    consumer.close()


def test_watermarks_and_offsets_for_times(conf: dict, topic: str) -> None:
    producer = strom.Producer(conf)
    for i in range(5):
        producer.produce(topic, b"x", timestamp=1_700_000_000_000 + i * 1000)
    producer.flush(10)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    assert consumer.get_watermark_offsets(strom.TopicPartition(topic, 0), timeout=10) == (0, 5)
    [found] = consumer.offsets_for_times([strom.TopicPartition(topic, 0, 1_700_000_002_500)], timeout=10)
    assert found.offset == 3
    [none] = consumer.offsets_for_times([strom.TopicPartition(topic, 0, 1_800_000_000_000)], timeout=10)
    assert none.offset == -1
    # cached=True: what the consumer's own fetches told, no request; nothing before a fetch.
    partition = strom.TopicPartition(topic, 0)
    assert consumer.get_watermark_offsets(partition, cached=True) == (strom.OFFSET_INVALID, strom.OFFSET_INVALID)
    consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
    read = 0
    deadline = time.monotonic() + 20
    while read < 5 and time.monotonic() < deadline:
        read += len(consumer.consume(num_messages=5, timeout=1.0))
    assert consumer.get_watermark_offsets(partition, cached=True) == (0, 5)
    consumer.close()


def test_regex_subscription_finds_matching_topics(conf: dict, bootstrap: str, topic_name: str) -> None:
    for suffix in ("a", "b"):
        create_topic(bootstrap, f"{topic_name}-{suffix}", 1)
        produce(conf, f"{topic_name}-{suffix}", 1)
    create_topic(bootstrap, f"other-{topic_name}", 1)
    produce(conf, f"other-{topic_name}", 1)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic_name}", **{"topic.metadata.refresh.interval.ms": "500"}))
    consumer.subscribe([f"^{topic_name}-.*"])
    got = poll_until(consumer, lambda got: len(got) >= 2)
    assert sorted(m.topic() for m in got) == [f"{topic_name}-a", f"{topic_name}-b"]
    assert consumer.poll(1.0) is None
    consumer.close()


def test_ctrl_c_interrupts_a_long_poll(conf: dict, topic: str) -> None:
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_END)])
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        consumer.poll(30)
    assert time.monotonic() - started < 3
    consumer.close()


def test_a_client_made_after_fork_works_in_the_child(conf: dict, topic: str) -> None:
    # The parent has a client (and the runtime) before the fork.
    parent = strom.Producer(conf)
    parent.produce(topic, b"parent")
    parent.flush(10)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            try:
                parent.produce(topic, b"from the child")
                os._exit(3)  # the parent's producer must refuse to run here
            except strom.KafkaException as refused:
                if "fork" not in str(refused):
                    os._exit(4)
            child = strom.Producer(conf)
            offsets: list = []
            child.produce(topic, b"child", on_delivery=lambda e, m: offsets.append((e, m.offset())))
            child.flush(10)
            status = 0 if offsets == [(None, 1)] else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parent.produce(topic, b"parent again")
    assert parent.flush(10) == 0


def test_consumer_is_a_context_manager(conf: dict, topic: str) -> None:
    produce(conf, topic, 1)
    with strom.Consumer(group_conf(conf, f"g-{topic}")) as consumer:
        consumer.subscribe([topic])
        assert len(poll_until(consumer, lambda got: len(got) >= 1)) == 1
    with pytest.raises(RuntimeError):
        consumer.poll(0)


def test_list_topics_from_a_consumer(conf: dict, topic: str) -> None:
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    metadata = consumer.list_topics(topic, timeout=10)
    assert list(metadata.topics) == [topic]
    consumer.close()


def test_stored_offsets_are_what_commits_commit(conf: dict, topic: str) -> None:
    produce(conf, topic, 5)
    group = f"g-{topic}"
    consumer = strom.Consumer(
        group_conf(conf, group, **{"enable.auto.commit": False, "enable.auto.offset.store": False})
    )
    consumer.subscribe([topic])
    got = poll_until(consumer, lambda got: len(got) >= 5)
    consumer.store_offsets(message=got[2])
    consumer.commit(asynchronous=False)
    tp = strom.TopicPartition(topic, 0)
    assert consumer.committed([tp], timeout=10)[0].offset == 3
    consumer.store_offsets(offsets=[strom.TopicPartition(topic, 0, 4)])
    consumer.close()  # nothing auto-committed: the stored 4 stays uncommitted
    reader = strom.Consumer(group_conf(conf, group))
    assert reader.committed([tp], timeout=10)[0].offset == 3
    reader.close()


def test_store_offsets_needs_auto_store_off(conf: dict, topic: str) -> None:
    produce(conf, topic, 1)
    consumer = strom.Consumer(group_conf(conf, f"g-{topic}"))
    consumer.subscribe([topic])
    [message] = poll_until(consumer, lambda got: len(got) >= 1)
    with pytest.raises(strom.KafkaException, match="enable.auto.offset.store"):
        consumer.store_offsets(message)
    consumer.close()


def test_auto_commit_commits_the_stored_offsets(conf: dict, topic: str) -> None:
    produce(conf, topic, 4)
    group = f"g-{topic}"
    consumer = strom.Consumer(
        group_conf(conf, group, **{"enable.auto.offset.store": False, "auto.commit.interval.ms": 100})
    )
    consumer.subscribe([topic])
    got = poll_until(consumer, lambda got: len(got) >= 4)
    consumer.store_offsets(got[1])
    consumer.close()  # the closing auto commit commits what was stored
    reader = strom.Consumer(group_conf(conf, group))
    assert reader.committed([strom.TopicPartition(topic, 0)], timeout=10)[0].offset == 2
    reader.close()


def test_enable_partition_eof_reports_each_end_reached_after_its_records(conf: dict, topic: str) -> None:
    produce(conf, topic, 2)
    consumer = strom.Consumer({**conf, "group.id": f"g-{topic}", "enable.partition.eof": True})
    consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
    got: list = []
    deadline = time.monotonic() + 30
    while not any(m.error() is not None for m in got) and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None:
            got.append(message)
    assert [m.offset() for m in got[:2]] == [0, 1] and all(m.error() is None for m in got[:2])
    end = got[2]
    assert end.error().code() == strom.KafkaError._PARTITION_EOF
    assert (end.topic(), end.partition(), end.offset()) == (topic, 0, 2)
    assert len(got) == 3
    # Once per arrival at the end: nothing more until more is written.
    assert consumer.poll(0.5) is None
    produce(conf, topic, 1)
    later = [m for m in consumer.consume(10, 5.0)]
    while not any(m.error() is not None for m in later) and time.monotonic() < deadline:
        later.extend(consumer.consume(10, 0.5))
    assert [(m.offset(), m.error() is None) for m in later] == [(2, True), (3, False)]
    consumer.close()


def test_a_consumed_message_carries_its_batch_leader_epoch(conf: dict, topic: str) -> None:
    produce(conf, topic, 1)
    consumer = strom.Consumer({**conf, "group.id": f"g-{topic}"})
    consumer.assign([strom.TopicPartition(topic, 0, strom.OFFSET_BEGINNING)])
    got = poll_until(consumer, lambda got: len(got) >= 1)
    # A new topic's first leader stamps epoch 0 on what it appends.
    assert got[0].leader_epoch() == 0
    consumer.close()
