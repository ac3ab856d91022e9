"""A long-running consumer-group member for the Python clients
(confluent-kafka, kafka-python), run as a subprocess by groups.py:

    python3 groups_member.py CONFIG_JSON

CONFIG_JSON: {"client", "bootstrap", "topic", "group", "client_id",
"assignor" (null: the client's default, or "range"), "instance_id" (null or
a group.instance.id), "session_timeout_ms", "heartbeat_interval_ms",
"rebalance_timeout_ms"}.

It subscribes, consumes, and prints one JSON line per event on stdout
(flushed at once, so a SIGKILL loses nothing that was printed):

    {"event": "assignment", "partitions": [...], "generation": g|null, "member_id": m|null}
        after every change of the assignment (the whole current set)
    {"event": "record", "partition", "offset", "key"}
        printed before its offset is committed
    {"event": "committed", "offsets": {"partition": next offset}}
    {"event": "commit_failed", "message"}   (a rebalance got in the way)
    {"event": "status", "partitions", "generation", "member_id"}   (on "status")
    {"event": "closed"}   after a clean close (LeaveGroup for a dynamic member)

Commands on stdin, one a line: "status", "close". SIGTERM also closes.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading

POLL_TIMEOUT_S = 0.2


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def read_commands(commands: queue.Queue) -> None:
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("close")  # stdin closed: the test is gone, leave cleanly


class ConfluentMember:
    """librdkafka: the rebalance callbacks run inside consume()."""

    def __init__(self, config: dict):
        from confluent_kafka import Consumer

        settings = {
            "bootstrap.servers": config["bootstrap"],
            "group.id": config["group"],
            "client.id": config["client_id"],
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": config["session_timeout_ms"],
            "heartbeat.interval.ms": config["heartbeat_interval_ms"],
            "max.poll.interval.ms": config["rebalance_timeout_ms"],
            "fetch.wait.max.ms": 200,
        }
        if config["assignor"]:
            settings["partition.assignment.strategy"] = config["assignor"]
        if config["instance_id"]:
            settings["group.instance.id"] = config["instance_id"]
        self.topic = config["topic"]
        self.owned: set[int] = set()
        self.consumer = Consumer(settings)
        self.consumer.subscribe(
            [self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke
        )

    def _on_assign(self, consumer, partitions):
        self.owned |= {tp.partition for tp in partitions}
        emit({"event": "assignment", **self.status()})

    def _on_revoke(self, consumer, partitions):
        self.owned -= {tp.partition for tp in partitions}
        emit({"event": "assignment", **self.status()})

    def status(self) -> dict:
        return {"partitions": sorted(self.owned), "generation": None, "member_id": self.consumer.memberid()}

    def poll(self) -> list[tuple[int, int, bytes | None]]:
        records = []
        for msg in self.consumer.consume(num_messages=500, timeout=POLL_TIMEOUT_S):
            if msg.error() is not None:
                emit({"event": "consume_error", "message": str(msg.error())})
                continue
            records.append((msg.partition(), msg.offset(), msg.key()))
        return records

    def commit(self, next_offsets: dict[int, int]) -> None:
        from confluent_kafka import TopicPartition

        offsets = [TopicPartition(self.topic, p, o) for p, o in next_offsets.items()]
        self.consumer.commit(offsets=offsets, asynchronous=False)

    def close(self) -> None:
        self.consumer.close()


class KafkaPythonMember:
    """kafka-python: heartbeats on a background thread, callbacks in poll()."""

    def __init__(self, config: dict):
        from kafka import ConsumerRebalanceListener, KafkaConsumer
        from kafka.coordinator.assignors.range import RangePartitionAssignor

        options = {
            "bootstrap_servers": config["bootstrap"],
            "group_id": config["group"],
            "client_id": config["client_id"],
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": config["session_timeout_ms"],
            "heartbeat_interval_ms": config["heartbeat_interval_ms"],
            "max_poll_interval_ms": config["rebalance_timeout_ms"],
            "fetch_max_wait_ms": 200,
        }
        if config["assignor"] == "range":
            options["partition_assignment_strategy"] = [RangePartitionAssignor]
        elif config["assignor"]:
            raise ValueError(f"no kafka-python assignor named {config['assignor']!r} here")
        if config["instance_id"]:
            options["group_instance_id"] = config["instance_id"]
        self.topic = config["topic"]
        self.owned: set[int] = set()
        self.consumer = KafkaConsumer(**options)
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member.owned -= {tp.partition for tp in revoked}
                emit({"event": "assignment", **member.status()})

            def on_partitions_assigned(self, assigned):
                member.owned |= {tp.partition for tp in assigned}
                emit({"event": "assignment", **member.status()})

        # kafka-python 3.0.12 can lose a completed rebalance: a leader that
        # assigned before it knew the topic's partitions rejoins once it
        # does, and if poll() times out while that JoinGroup/SyncGroup is
        # in flight, the next poll() no longer sees a reason to rejoin and
        # never collects the result (the member neither heartbeats nor
        # consumes, and the broker expires it). Knowing the partitions
        # before subscribing keeps the leader off that path; the broker
        # test config's group.initial.rebalance.delay.ms=0 made it likely.
        self.consumer.partitions_for_topic(self.topic)
        self.consumer.subscribe(topics=[self.topic], listener=Listener())
        # A member of this client still, rarely, stops after a rebalance
        # the broker completed (it was the group's leader and logged
        # "performing partition assignments", then nothing until the broker
        # expired it): the coordinator's own account (need_rejoin, the join
        # and sync futures) in the log tail the test shows is what tells
        # where it stopped.
        logging.getLogger("kafka.coordinator").setLevel(logging.DEBUG)

    def status(self) -> dict:
        metadata = self.consumer.group_metadata()
        return {"partitions": sorted(self.owned), "generation": metadata.generation_id, "member_id": metadata.member_id}

    def poll(self) -> list[tuple[int, int, bytes | None]]:
        batches = self.consumer.poll(timeout_ms=int(POLL_TIMEOUT_S * 1000))
        return [(m.partition, m.offset, m.key) for batch in batches.values() for m in batch]

    def commit(self, next_offsets: dict[int, int]) -> None:
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        self.consumer.commit(
            {TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1) for p, o in next_offsets.items()}
        )

    def close(self) -> None:
        self.consumer.close()


MEMBERS = {"confluent-kafka": ConfluentMember, "kafka-python": KafkaPythonMember}


def run(config: dict) -> None:
    # The client's own account of its rebalances goes to stderr, which the
    # test shows when a member gets stuck.
    logging.basicConfig(
        level=os.environ.get("STROM_MEMBER_LOG_LEVEL", "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    commands: queue.Queue = queue.Queue()
    signal.signal(signal.SIGTERM, lambda *_: commands.put("close"))
    threading.Thread(target=read_commands, args=(commands,), daemon=True).start()
    member = MEMBERS[config["client"]](config)
    while True:
        while not commands.empty():
            command = commands.get()
            if command == "status":
                emit({"event": "status", **member.status()})
            elif command == "close":
                member.close()
                emit({"event": "closed"})
                return
        records = member.poll()
        next_offsets: dict[int, int] = {}
        for partition, offset, key in records:
            emit({"event": "record", "partition": partition, "offset": offset, "key": key_text(key)})
            next_offsets[partition] = offset + 1
        if next_offsets:
            try:
                member.commit(next_offsets)
                emit({"event": "committed", "offsets": {str(p): o for p, o in next_offsets.items()}})
            except Exception as error:  # a rebalance may fail a commit; the next owner re-reads
                emit({"event": "commit_failed", "message": repr(error)})


def key_text(key: bytes | None) -> str | None:
    return None if key is None else key.decode(errors="replace")


if __name__ == "__main__":
    run(json.loads(sys.argv[1]))
