"""Consumer-group members as subprocesses the tests control, one driver per
client (groups_member.py for confluent-kafka and kafka-python,
node/group_member.js for kafkajs, java/GroupMember.java for Java,
rust-member/ for Strom's own client), all printing the same JSON events;
plus the polling and producing the group tests share.

A member can be asked for its status, closed cleanly (close → LeaveGroup),
or SIGKILLed. Its events are collected by a reader thread.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Producer

import wire
from brokers import REPO_ROOT
from clients import JAVA_CLASSPATH
from kafka_admin import admin_client

HERE = Path(__file__).resolve().parent
GROUP_CLIENTS = ["confluent-kafka", "kafka-python", "kafkajs", "java", "strom"]
# Short enough that a SIGKILLed member's partitions move within seconds,
# long enough for a busy 2-core machine; the brokers allow it
# (group.min.session.timeout.ms=1000 in brokers.py).
SESSION_TIMEOUT_MS = 5000
HEARTBEAT_INTERVAL_MS = 500
REBALANCE_TIMEOUT_MS = 30000
WAIT_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 30.0
JAVA_ASSIGNORS = {
    "range": "org.apache.kafka.clients.consumer.RangeAssignor",
    "cooperative-sticky": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
}
STROM_MEMBER_BINARY = "strom-compat-member"


@dataclass
class MemberOptions:
    assignor: str | None = None  # None: the client's default; "range", "cooperative-sticky"
    instance_id: str | None = None  # group.instance.id (static membership)
    session_timeout_ms: int = SESSION_TIMEOUT_MS


def member_argv(client: str, bootstrap: str, topic: str, group: str, name: str, options: MemberOptions) -> list[str]:
    config = {
        "client": client,
        "bootstrap": bootstrap,
        "topic": topic,
        "group": group,
        "client_id": name,
        "assignor": options.assignor,
        "instance_id": options.instance_id,
        "session_timeout_ms": options.session_timeout_ms,
        "heartbeat_interval_ms": HEARTBEAT_INTERVAL_MS,
        "rebalance_timeout_ms": REBALANCE_TIMEOUT_MS,
    }
    if client in ("confluent-kafka", "kafka-python"):
        return [sys.executable, str(HERE / "groups_member.py"), json.dumps(config)]
    if client == "strom":
        return [str(strom_member_binary()), json.dumps(config)]
    if client == "kafkajs":
        if options.instance_id:
            raise ValueError("kafkajs has no static membership")
        return ["node", str(HERE / "node" / "group_member.js"), json.dumps(config)]
    if client == "java":
        settings = {
            "client.id": name,
            "session.timeout.ms": options.session_timeout_ms,
            "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
            "max.poll.interval.ms": REBALANCE_TIMEOUT_MS,
        }
        if options.assignor:
            settings["partition.assignment.strategy"] = JAVA_ASSIGNORS[options.assignor]
        if options.instance_id:
            settings["group.instance.id"] = options.instance_id
        return [
            "java",
            "-cp",
            JAVA_CLASSPATH,
            "KafkaDriver",
            "member",
            bootstrap,
            topic,
            group,
            *(f"{k}={v}" for k, v in settings.items()),
        ]
    raise ValueError(f"unknown client {client}")


def strom_member_binary() -> Path:
    """Strom's client as a group member (rust-member/, a workspace crate):
    cargo builds it next to the strom binary, so it is looked for in
    $STROM_BIN's directory (else target/debug), as brokers.strom_binary
    finds the broker. The broker need not be built for a run against Kafka."""
    strom = Path(os.environ.get("STROM_BIN", REPO_ROOT / "target" / "debug" / "strom"))
    binary = strom.parent / STROM_MEMBER_BINARY
    if not binary.exists():
        raise FileNotFoundError(
            f"no {STROM_MEMBER_BINARY} at {binary}: build it with `cargo build -p {STROM_MEMBER_BINARY}` "
            "(or `cargo build --workspace`), next to the strom binary STROM_BIN names"
        )
    return binary


class Member:
    """One member process and the events it printed."""

    def __init__(self, client: str, name: str, argv: list[str], log_dir: Path):
        self.client = client
        self.name = name
        self.stderr_path = log_dir / f"{name}.stderr"
        self._lock = threading.Lock()
        self._events: list[dict] = []
        with open(self.stderr_path, "wb") as stderr:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True
            )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line.decode(errors="replace")}
            with self._lock:
                self._events.append(event)

    def events(self, kind: str | None = None) -> list[dict]:
        with self._lock:
            return [e for e in self._events if kind is None or e["event"] == kind]

    def event_count(self) -> int:
        with self._lock:
            return len(self._events)

    def events_since(self, index: int, kind: str) -> list[dict]:
        with self._lock:
            return [e for e in self._events[index:] if e["event"] == kind]

    @property
    def assignment(self) -> frozenset[int] | None:
        """The partitions this member owns now (None before its first join)."""
        changes = self.events("assignment")
        return frozenset(changes[-1]["partitions"]) if changes else None

    @property
    def last_assignment_event(self) -> dict | None:
        changes = self.events("assignment")
        return changes[-1] if changes else None

    def assignments_since(self, index: int) -> list[frozenset[int]]:
        """The partitions held at event `index` (none before the first
        assignment), then the whole set after each change since."""
        with self._lock:
            before = [e for e in self._events[:index] if e["event"] == "assignment"]
            after = [e for e in self._events[index:] if e["event"] == "assignment"]
        held = frozenset(before[-1]["partitions"]) if before else frozenset()
        return [held, *(frozenset(e["partitions"]) for e in after)]

    def revoked_since(self, index: int) -> set[int]:
        """Every partition a change after event `index` took away (revoked
        or lost), even if a later change gave it back."""
        history = self.assignments_since(index)
        return set().union(*(held - after for held, after in zip(history, history[1:])))

    def positions(self) -> set[tuple[int, int]]:
        return {(e["partition"], e["offset"]) for e in self.events("record")}

    def alive(self) -> bool:
        return self._proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(
                f"member {self.name} ({self.client}) exited with {self._proc.returncode}:\n{self.stderr_tail()}"
            )

    def send(self, command: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command.encode() + b"\n")
        self._proc.stdin.flush()

    def status(self) -> dict:
        """Asks the member for its current assignment and generation."""
        before = len(self.events("status"))
        self.send("status")
        wait_until(lambda: len(self.events("status")) > before, f"status from {self.name}", [self])
        return self.events("status")[-1]

    def close(self) -> None:
        """A clean close (LeaveGroup for a dynamic member); it must exit 0."""
        self.send("close")
        try:
            code = self._proc.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"member {self.name} did not close within {CLOSE_TIMEOUT_S:.0f}s") from None
        self._reader.join(timeout=CLOSE_TIMEOUT_S)
        assert code == 0, f"member {self.name} exited with {code} on close:\n{self.stderr_tail()}"
        assert self.events("closed"), f"member {self.name} exited without closing its consumer"

    def kill(self) -> None:
        """SIGKILL: no LeaveGroup; the broker notices when the session times out."""
        if self.alive():
            try:
                self._proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._proc.wait(timeout=CLOSE_TIMEOUT_S)
        self._reader.join(timeout=CLOSE_TIMEOUT_S)

    def stderr_tail(self, max_chars: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-max_chars:]
        except OSError:
            return ""


class MemberPool:
    """Starts members and makes sure none outlives the test."""

    def __init__(self, bootstrap: str, log_dir: Path):
        self.bootstrap = bootstrap
        self.log_dir = log_dir
        self.members: list[Member] = []

    def start(self, client: str, topic: str, group: str, name: str, options: MemberOptions | None = None) -> Member:
        argv = member_argv(client, self.bootstrap, topic, group, name, options or MemberOptions())
        member = Member(client, name, argv, self.log_dir)
        self.members.append(member)
        return member

    def kill_all(self) -> None:
        for member in self.members:
            member.kill()

    def diagnostics(self) -> str:
        lines = []
        for m in self.members:
            lines.append(
                f"{m.name} ({m.client}) alive={m.alive()} assignment={sorted(m.assignment or [])} "
                f"records={len(m.events('record'))} commit_failed={len(m.events('commit_failed'))}"
            )
        return "\n".join(lines)


def wait_until(condition, what: str, members=(), timeout_s: float = WAIT_TIMEOUT_S):
    """Polls condition() until truthy; fails at once if a member that should
    be running has died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for member in members:
            member.check_alive()
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    state = "\n".join(
        f"  {m.name}: alive={m.alive()} assignment={sorted(m.assignment or [])} last events={m.events()[-3:]}\n"
        f"  {m.name}'s log (last lines):\n{m.stderr_tail(4000)}"
        for m in members
    )
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}\n{state}")


def assignments_settled(members: list[Member], partitions: int) -> bool:
    """Every member has joined and the members' partitions are disjoint and
    cover the topic: a rebalance has completed for all of them."""
    owned = [m.assignment for m in members]
    if any(a is None for a in owned):
        return False
    union = set().union(*owned)
    return sum(len(a) for a in owned) == partitions and union == set(range(partitions))


def wait_for_balanced(members: list[Member], partitions: int, sizes: list[int] | None = None) -> None:
    """Waits until the group's partitions are split among `members`, with
    the given sorted partition counts if any (e.g. [2, 2, 2])."""

    def balanced():
        if not assignments_settled(members, partitions):
            return False
        return sizes is None or sorted(len(m.assignment) for m in members) == sorted(sizes)

    wait_until(balanced, f"{partitions} partitions split {sizes or ''} over {[m.name for m in members]}", members)


def consumed_positions(members: list[Member]) -> set[tuple[int, int]]:
    return set().union(*(m.positions() for m in members))


def wait_for_consumed(members: list[Member], expected: set[tuple[int, int]], alive: list[Member]) -> None:
    """Waits until the members together have read every expected (partition, offset)."""
    wait_until(
        lambda: expected <= consumed_positions(members),
        f"the group to read all {len(expected)} produced records "
        f"(missing now: {len(expected - consumed_positions(members))})",
        alive,
    )


def produce_keyed(bootstrap: str, topic: str, partitions: int, count: int, tag: str) -> dict[tuple[int, int], str]:
    """Produces `count` records spread evenly over the partitions (explicit
    partition, so every partition gets some); returns {(partition, offset): key}."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
    acked: dict[tuple[int, int], str] = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[(msg.partition(), msg.offset())] = msg.key().decode()

    for index in range(count):
        key = f"{tag}-{index}"
        producer.produce(
            topic,
            key=key.encode(),
            value=f"value-{tag}-{index}".encode(),
            partition=index % partitions,
            on_delivery=on_delivery,
        )
        producer.poll(0)
    assert producer.flush(WAIT_TIMEOUT_S) == 0, "records not delivered"
    assert not errors, f"delivery errors: {errors[:5]}"
    return acked


def check_keys(members: list[Member], produced: dict[tuple[int, int], str]) -> None:
    """Every record a member read carries the key produced at that position."""
    for member in members:
        for event in member.events("record"):
            position = (event["partition"], event["offset"])
            if position in produced:
                assert event["key"] == produced[position], f"{member.name} read key {event['key']} at {position}"


# AdminClients here live for one call or one polling loop, never across a
# broker restart: librdkafka 2.16 can abort the whole test process
# (rd_kafka_enq_once_del_source_return: eonce->refcnt > 0) when the broker
# of an AdminClient that has sent group requests goes away.


def describe_group(bootstrap: str, group: str, admin=None):
    admin = admin or admin_client(bootstrap)
    return admin.describe_consumer_groups([group], request_timeout=30)[group].result(timeout=30)


def wait_for_group_state(bootstrap: str, group: str, state, members: int | None = None, alive=()):
    """Polls describe_consumer_groups until the group is in `state` (with
    `members` members if given); returns the description."""

    admin = admin_client(bootstrap)

    def matches():
        description = describe_group(bootstrap, group, admin)
        if description.state != state:
            return None
        if members is not None and len(description.members) != members:
            return None
        return description

    return wait_until(matches, f"group {group} in state {state} with {members} members", alive)


# The classic consumer-group APIs every client here uses.
GROUP_APIS = {
    8: "OffsetCommit",
    9: "OffsetFetch",
    10: "FindCoordinator",
    11: "JoinGroup",
    12: "Heartbeat",
    13: "LeaveGroup",
    14: "SyncGroup",
    15: "DescribeGroups",
    16: "ListGroups",
}


def missing_group_apis(bootstrap: str) -> list[str]:
    """The group APIs the broker leaves out of its ApiVersions answer."""
    sock = wire.connect(bootstrap)
    try:
        sock.sendall(wire.frame(wire.request_header_v1(wire.API_VERSIONS, 0, 1)))
        _, error, ranges = wire.parse_api_versions_v0(wire.read_frame(sock))
    finally:
        sock.close()
    assert error == 0, f"ApiVersions v0 failed with error {error}"
    return [name for key, name in GROUP_APIS.items() if key not in ranges]
