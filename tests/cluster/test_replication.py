"""Replication and failover across three real `strom` processes, driven by
librdkafka (confluent-kafka) as a user's application would be."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, wait_for


def admin(cluster: Cluster) -> AdminClient:
    return AdminClient({"bootstrap.servers": cluster.bootstrap})


def describe(cluster: Cluster):
    client = admin(cluster)
    return client.describe_cluster().result(timeout=5)


def partitions_of(cluster: Cluster, topic: str) -> dict:
    md = admin(cluster).list_topics(topic, timeout=5)
    t = md.topics[topic]
    if t.error is not None:
        raise KafkaException(t.error)
    return t.partitions


def create_topic(cluster: Cluster, name: str, partitions: int, min_isr: int = 2) -> None:
    client = admin(cluster)  # the futures need their client alive
    futures = client.create_topics([NewTopic(name, partitions, 3, config={"min.insync.replicas": str(min_isr)})])
    futures[name].result(timeout=30)
    wait_in_sync(cluster, name, f"{name} fully in sync", count=partitions)


def new_topic_leader(cluster: Cluster, name: str) -> int:
    """Creates a one-partition topic, in sync on all three nodes, and
    returns its leader's node id."""
    create_topic(cluster, name, 1)
    return partitions_of(cluster, name)[0].leader


def fully_in_sync(cluster: Cluster, topic: str, count: int = 0) -> bool:
    parts = partitions_of(cluster, topic)
    return (count == 0 or len(parts) == count) and all(p.leader >= 0 and len(p.isrs) == 3 for p in parts.values())


def replicas_of(cluster: Cluster, topic: str) -> str:
    """Leader, replicas and ISR of each partition, for a failure message."""
    parts = partitions_of(cluster, topic)
    return "; ".join(
        f"{topic}-{i} leader {p.leader} replicas {p.replicas} isr {p.isrs}" for i, p in sorted(parts.items())
    )


def wait_in_sync(cluster: Cluster, topic: str, what: str, timeout: float = 30.0, count: int = 0) -> None:
    """Waits until every partition of `topic` has a leader and all three
    replicas in its ISR; a timeout says which did not."""
    wait_for(
        what, lambda: fully_in_sync(cluster, topic, count), timeout=timeout, show=lambda: replicas_of(cluster, topic)
    )


def read_all(cluster: Cluster, topic: str, expected: int, timeout: float = 60) -> dict[int, list[bytes]]:
    consumer = Consumer(
        {
            "bootstrap.servers": cluster.bootstrap,
            "group.id": f"reader-{topic}-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values: dict[int, list[bytes]] = {}
    got = 0
    deadline = time.monotonic() + timeout
    try:
        while got < expected and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=1):
                if msg.error():
                    continue
                values.setdefault(msg.partition(), []).append(msg.value())
                got += 1
        # Anything past what was expected would be a duplicate: look once more.
        for msg in consumer.consume(500, timeout=2):
            if not msg.error():
                values.setdefault(msg.partition(), []).append(msg.value())
    finally:
        consumer.close()
    return values


def segment_bytes(data_dir: Path, topic: str, partition: int) -> bytes:
    directory = data_dir / f"{topic}-{partition}"
    return b"".join(p.read_bytes() for p in sorted(directory.glob("*.log")))


def assert_replicas_identical(cluster: Cluster, topic: str, partitions: int) -> None:
    for partition in range(partitions):
        logs = {n.node_id: segment_bytes(n.data_dir, topic, partition) for n in cluster.nodes}
        first = logs[1]
        assert first, f"{topic}-{partition} is empty on node 1"
        for node_id, data in logs.items():
            assert data == first, f"{topic}-{partition}: node {node_id} holds {len(data)} bytes, node 1 {len(first)}"


def test_a_replicated_topic_is_written_to_every_replica(cluster):
    md = wait_for("three brokers", lambda: len(admin(cluster).list_topics(timeout=5).brokers) == 3 and True)
    assert md
    create_topic(cluster, "replicated", 3)
    leaders = {p.leader for p in partitions_of(cluster, "replicated").values()}
    assert len(leaders) == 3, f"leaders spread over the brokers, got {leaders}"

    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
    failures = []
    for i in range(3000):
        producer.produce(
            "replicated",
            key=str(i % 50).encode(),
            value=str(i).encode(),
            on_delivery=lambda err, msg: err and failures.append(err),
        )
    assert producer.flush(30) == 0
    assert not failures, failures[:3]

    values = read_all(cluster, "replicated", 3000)
    assert sum(len(v) for v in values.values()) == 3000
    # Every follower fetched everything: the ISR is whole, and once the
    # cluster stops each replica's segments are byte for byte the leader's.
    wait_in_sync(cluster, "replicated", "followers caught up")
    time.sleep(1)
    cluster.stop()
    assert_replicas_identical(cluster, "replicated", 3)


class ContinuousProducer:
    """An idempotent acks=all producer writing numbered records to every
    partition, without pause, until stopped; it remembers what was acked."""

    def __init__(self, cluster: Cluster, topic: str, partitions: int):
        self.producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": 120000,
                "linger.ms": 5,
            }
        )
        self.topic, self.partitions = topic, partitions
        self.acked: dict[int, list[int]] = {p: [] for p in range(partitions)}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _delivered(self, err, msg):
        if err is not None:
            self.errors.append(str(err))
        else:
            self.acked[msg.partition()].append(int(msg.value()))

    def _run(self):
        n = 0
        while not self._stop.is_set():
            try:
                self.producer.produce(
                    self.topic,
                    value=str(n).encode(),
                    partition=n % self.partitions,
                    on_delivery=self._delivered,
                )
                n += 1
            except BufferError:
                pass
            self.producer.poll(0.001 if n % 20 == 0 else 0)

    def start(self):
        self._thread.start()

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.producer.flush(120)

    def total(self) -> int:
        return sum(len(v) for v in self.acked.values())


def test_killing_leaders_ten_times_and_freezing_a_follower_loses_no_acknowledged_record(cluster):
    # Preferred leaders also move back while this runs (automatic
    # elections): a leader demoted while its last batch waited for its sync
    # once acknowledged that batch though no other replica had it (lost,
    # and librdkafka's idempotent producer failed on the next batch with
    # OUT_OF_ORDER_SEQUENCE_NUMBER).
    topic, partitions = "failover", 2
    create_topic(cluster, topic, partitions)
    writer = ContinuousProducer(cluster, topic, partitions)
    writer.start()
    try:
        for round_ in range(10):
            acked_before = writer.total()
            leader = partitions_of(cluster, topic)[round_ % partitions].leader
            victim = cluster.node(leader)
            victim.kill()
            wait_for(
                f"a new leader after killing node {leader}",
                lambda: partitions_of(cluster, topic)[round_ % partitions].leader not in (-1, leader),
                timeout=20,
            )
            victim.start()
            wait_in_sync(cluster, topic, "the killed node back in every ISR", timeout=40)
            wait_for("writes going on", lambda: writer.total() > acked_before + 50, timeout=40)
        # A follower frozen past replica.lag.time.max.ms leaves the ISR
        # (and is fenced); writes go on with the others; it comes back.
        leader = partitions_of(cluster, topic)[0].leader
        frozen = next(n for n in cluster.nodes if n.node_id != leader)
        acked_before = writer.total()
        frozen.pause()
        try:
            wait_for(
                "the frozen follower out of the ISR",
                lambda: frozen.node_id not in partitions_of(cluster, topic)[0].isrs,
                timeout=20,
            )
            wait_for("writes going on without it", lambda: writer.total() > acked_before + 50, timeout=40)
        finally:
            frozen.resume()
        wait_in_sync(cluster, topic, "the frozen follower back in every ISR", timeout=40)
    finally:
        unsent = writer.stop()
    assert unsent == 0, f"{unsent} records never delivered"
    assert not writer.errors, writer.errors[:5]

    read = read_all(cluster, topic, writer.total())
    for partition, acked in writer.acked.items():
        got = [int(v) for v in read.get(partition, [])]
        assert len(got) == len(set(got)), f"partition {partition}: duplicates"
        assert got == sorted(got), f"partition {partition}: out of order"
        missing = set(acked) - set(got)
        assert not missing, f"partition {partition}: {len(missing)} acknowledged records lost"

    wait_in_sync(cluster, topic, "followers caught up")
    time.sleep(1)
    cluster.stop()
    assert_replicas_identical(cluster, topic, partitions)


def test_a_new_controller_keeps_every_metadata_change(cluster):
    create_topic(cluster, "before", 1)
    controller = wait_for("a controller", lambda: describe(cluster).controller)
    old = controller.id
    cluster.node(old).kill()
    survivors = Cluster.__new__(Cluster)
    survivors.nodes = [n for n in cluster.nodes if n.node_id != old]
    survivors.bootstrap = ",".join(n.bootstrap for n in survivors.nodes)

    def new_controller():
        c = describe(survivors).controller
        return c is not None and c.id != old and c.id

    wait_for("a new controller", new_controller, timeout=20)
    client = admin(survivors)
    futures = client.create_topics([NewTopic("after", 1, 2)])
    futures["after"].result(timeout=30)
    names = set(admin(survivors).list_topics(timeout=5).topics)
    assert {"before", "after"} <= names
    cluster.node(old).start()
    wait_for("the old controller sees the new topic", lambda: "after" in Cluster_topics_on(cluster.node(old)))


def Cluster_topics_on(node) -> set:
    return set(AdminClient({"bootstrap.servers": node.bootstrap}).list_topics(timeout=5).topics)


def test_a_broker_away_past_the_metadata_log_catches_up_from_a_snapshot(tmp_path):
    # Snapshots every 10 records, and only 10 kept behind each: a broker
    # that misses 40 metadata changes can only catch up from a snapshot.
    cluster = Cluster(tmp_path, settings={"strom.metadata.snapshot.records": "10"})
    cluster.start()
    try:
        create_topic(cluster, "doomed", 1)
        away = cluster.node(3)
        away.kill()
        survivors = Cluster.__new__(Cluster)
        survivors.nodes = [n for n in cluster.nodes if n is not away]
        survivors.bootstrap = ",".join(n.bootstrap for n in survivors.nodes)
        wait_for("node 3 fenced", lambda: 3 not in partitions_of(survivors, "doomed")[0].isrs, timeout=20)
        client = admin(survivors)
        names = [f"while-away-{i}" for i in range(40)]
        for name in names:
            client.create_topics([NewTopic(name, 1, 2)])[name].result(timeout=30)
        client.delete_topics(["doomed"])["doomed"].result(timeout=30)
        doomed_dir = away.data_dir / "doomed-0"
        assert doomed_dir.exists(), "node 3 held a replica of the deleted topic"

        since = away.log_sizes()
        away.start()
        wait_for(
            "node 3 sees the topics created while it was away",
            lambda: set(names) <= Cluster_topics_on(away),
            timeout=30,
        )
        assert "doomed" not in Cluster_topics_on(away)
        assert "installed a metadata snapshot" in away.log_tail(400, since=since), away.log_tail(60, since=since)
        wait_for("node 3 drops the deleted topic's log", lambda: not doomed_dir.exists(), timeout=20)
    finally:
        cluster.stop()


def test_a_paused_follower_leaves_the_isr_and_returns(cluster):
    leader = new_topic_leader(cluster, "paused")
    follower = next(n for n in cluster.nodes if n.node_id != leader)
    follower.pause()
    try:
        wait_for(
            "the ISR to shrink without the paused follower",
            lambda: follower.node_id not in partitions_of(cluster, "paused")[0].isrs,
            timeout=20,
        )
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
        errors = []
        for i in range(100):
            producer.produce("paused", value=b"x", on_delivery=lambda e, m: e and errors.append(e))
        assert producer.flush(30) == 0 and not errors, errors[:3]
    finally:
        follower.resume()
    wait_in_sync(cluster, "paused", "the follower back in the ISR", timeout=30)


def test_a_follower_that_cannot_fetch_says_so_after_the_lag_time(tmp_path):
    # A paused leader keeps its session (60 s) and its partitions, and
    # holds its followers' fetches unanswered. Their fetch failures are
    # routine during a leader change and logged at debug; one that lasts
    # past replica.lag.time.max.ms gets a warning naming the partition,
    # its leader and why.
    cluster = Cluster(
        tmp_path,
        settings={"broker.session.timeout.ms": "60000", "replica.lag.time.max.ms": "1500"},
    )
    cluster.start()
    try:
        leader = new_topic_leader(cluster, "quiet-leader")
        followers = [n for n in cluster.nodes if n.node_id != leader]
        since = {n.node_id: n.log_sizes() for n in followers}

        def warned(node) -> bool:
            tail = node.log_tail(400, since=since[node.node_id])
            return any(
                "has not fetched from the leader" in line
                and "topic=quiet-leader" in line
                and f"leader={leader}" in line
                and "the leader has not answered the" in line
                for line in tail.splitlines()
            )

        node = cluster.node(leader)
        node.pause()
        try:
            wait_for("both followers to warn", lambda: all(warned(n) for n in followers), timeout=15)
        finally:
            node.resume()
        wait_in_sync(cluster, "quiet-leader", "the leader answering again", timeout=30)
        # In sync again, the warnings stop.
        since = {n.node_id: n.log_sizes() for n in followers}
        time.sleep(3)
        assert not any(warned(n) for n in followers), cluster.logs(20)
    finally:
        cluster.stop()


def test_a_killed_broker_is_fenced_at_once_and_a_paused_one_keeps_its_session(tmp_path):
    # A session long enough that only the controller's probe of the dead
    # broker's cluster port can explain a fence within the test; a lag
    # allowance long enough that the pause cannot shrink the ISR to the
    # leader alone (which would leave no one to elect after the kill).
    cluster = Cluster(
        tmp_path,
        settings={"broker.session.timeout.ms": "60000", "replica.lag.time.max.ms": "30000"},
    )
    cluster.start()
    try:
        leader = new_topic_leader(cluster, "dead-or-slow")
        node = cluster.node(leader)
        node.pause()
        try:
            # Stopped, its listening sockets still take connections: slow,
            # not dead, so it keeps its partitions for its whole session.
            time.sleep(4)
            assert partitions_of(cluster, "dead-or-slow")[0].leader == leader
        finally:
            node.resume()
        wait_in_sync(cluster, "dead-or-slow", "the leader heartbeating again", timeout=30)
        node.kill()
        wait_for(
            "a new leader long before the session ends",
            lambda: partitions_of(cluster, "dead-or-slow")[0].leader not in (-1, leader),
            timeout=20,
        )
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
        errors = []
        producer.produce("dead-or-slow", value=b"after", on_delivery=lambda e, m: e and errors.append(e))
        assert producer.flush(30) == 0 and not errors, errors
    finally:
        cluster.stop()


def test_a_fetch_from_the_wrong_broker_names_the_leader_and_where_it_is(cluster):
    import protocol_calls as wire

    NOT_LEADER_OR_FOLLOWER = 6
    create_topic(cluster, "hinted", 1)
    client = admin(cluster)  # the futures need their client alive
    client.create_topics([NewTopic("single", 1, 1)])["single"].result(timeout=30)
    wait_for("single has a leader", lambda: partitions_of(cluster, "single")[0].leader >= 0)
    hinted_leader = partitions_of(cluster, "hinted")[0].leader
    single_leader = partitions_of(cluster, "single")[0].leader
    hinted_id = wire.topic_id(cluster.bootstrap.split(",")[0], "hinted")
    single_id = wire.topic_id(cluster.bootstrap.split(",")[0], "single")

    def expect_hint(response, error, leader, version):
        part = response.responses[0].partitions[0]
        assert part.error_code == error, (version, part)
        assert part.current_leader is not None and part.current_leader.leader_id == leader, (version, part)
        if version >= 16:
            endpoints = {e.node_id: (e.host, e.port) for e in response.node_endpoints}
            where = cluster.node(leader).bootstrap.rsplit(":", 1)
            assert endpoints == {leader: (where[0], int(where[1]))}, (version, endpoints)
        else:
            assert not response.node_endpoints

    for version in (12, 16, 17):
        # A follower of the partition.
        follower = next(n for n in cluster.nodes if n.node_id != hinted_leader)
        response = wire.fetch(follower.bootstrap, "hinted", hinted_id, 0, version)
        expect_hint(response, NOT_LEADER_OR_FOLLOWER, hinted_leader, version)
        # A broker holding no replica of the partition at all.
        stranger = next(n for n in cluster.nodes if n.node_id != single_leader)
        response = wire.fetch(stranger.bootstrap, "single", single_id, 0, version)
        expect_hint(response, NOT_LEADER_OR_FOLLOWER, single_leader, version)


def test_acks_all_is_refused_below_min_insync_replicas_and_resumes(cluster):
    create_topic(cluster, "guarded", 1, min_isr=2)
    leader = partitions_of(cluster, "guarded")[0].leader
    followers = [n for n in cluster.nodes if n.node_id != leader]
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap, "acks": "all", "retries": 0, "message.timeout.ms": 10000}
    )

    def write(value: bytes):
        outcome = []
        producer.produce("guarded", value=value, on_delivery=lambda e, m: outcome.append(e))
        producer.flush(20)
        return outcome[0] if outcome else "no delivery report"

    assert write(b"before") is None
    for node in followers:
        node.kill()
    # Once the leader knows its followers are gone (replica.lag.time.max.ms),
    # acks=all writes are refused outright: nothing is appended for them.
    time.sleep(3)
    refusal = write(b"refused")
    assert refusal is not None and refusal.code() == KafkaError.NOT_ENOUGH_REPLICAS, refusal

    for node in followers:
        node.launch()
    for node in followers:
        node.wait_ready()
    wait_in_sync(cluster, "guarded", "the followers back in the ISR", timeout=40)
    # The leader's shrink to itself commits only once the quorum is back,
    # so a restarted node may show the old full ISR before it commits and
    # the followers catch up again: a write then still meets the shrunk
    # ISR. Such refusals append nothing (the read below checks it), so
    # only they are retried.
    deadline = time.monotonic() + 40
    while (outcome := write(b"after")) is not None:
        refused = not isinstance(outcome, str) and outcome.code() == KafkaError.NOT_ENOUGH_REPLICAS
        assert refused and time.monotonic() < deadline, outcome
        time.sleep(0.5)
    values = read_all(cluster, "guarded", 2)
    assert values == {0: [b"before", b"after"]}, values


def test_acks_all_answers_request_timed_out_when_a_follower_does_not_keep_up_in_time(tmp_path):
    # The paused follower stays in the ISR for the whole test (a long lag
    # allowance and session), so the write cannot commit: the leader must
    # answer within the request's timeout (librdkafka sends its
    # request.timeout.ms), as Kafka's delayed produce expires.
    cluster = Cluster(
        tmp_path,
        settings={"broker.session.timeout.ms": "60000", "replica.lag.time.max.ms": "60000"},
    )
    cluster.start()
    try:
        create_topic(cluster, "slow-follower", 1, min_isr=2)
        leader = partitions_of(cluster, "slow-follower")[0].leader
        follower = next(n for n in cluster.nodes if n.node_id != leader)
        producer = Producer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "acks": "all",
                "retries": 0,
                "request.timeout.ms": 1000,
                "message.timeout.ms": 20000,
            }
        )
        outcome = []
        follower.pause()
        try:
            producer.produce("slow-follower", value=b"late", on_delivery=lambda e, m: outcome.append(e))
            producer.flush(30)
        finally:
            follower.resume()
        assert outcome and outcome[0] is not None, outcome
        assert outcome[0].code() == KafkaError.REQUEST_TIMED_OUT, outcome[0]
        # Timed out is not refused: the record is in the leader's log and
        # commits once the follower takes it.
        wait_in_sync(cluster, "slow-follower", "the follower caught up", timeout=30)
        assert read_all(cluster, "slow-follower", 1) == {0: [b"late"]}
    finally:
        cluster.stop()


def test_a_consumer_group_outlives_its_coordinator(cluster):
    create_topic(cluster, "work", 3)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(300):
        producer.produce("work", value=str(i).encode(), partition=i % 3)
    assert producer.flush(30) == 0

    def consumer():
        c = Consumer(
            {
                "bootstrap.servers": cluster.bootstrap,
                "group.id": "workers",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
            }
        )
        c.subscribe(["work"])
        return c

    first = consumer()
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 150 and time.monotonic() < deadline:
        for msg in first.consume(150 - len(seen), timeout=1):
            if not msg.error():
                seen.append(int(msg.value()))
    first.commit(asynchronous=False)
    client = admin(cluster)
    group = client.describe_consumer_groups(["workers"])["workers"].result(timeout=10)
    coordinator = group.coordinator.id
    first.close()

    cluster.node(coordinator).kill()
    rest = []
    second = consumer()
    deadline = time.monotonic() + 60
    while len(seen) + len(rest) < 300 and time.monotonic() < deadline:
        for msg in second.consume(300, timeout=1):
            if not msg.error():
                rest.append(int(msg.value()))
    second.close()
    assert sorted(seen + rest) == list(range(300)), "committed offsets survived the coordinator"
    client = admin(cluster)
    moved = client.describe_consumer_groups(["workers"])["workers"].result(timeout=10)
    assert moved.coordinator.id != coordinator


def test_a_deleted_topic_leaves_no_offsets_in_any_coordinator(cluster):
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    create_topic(cluster, "recycled", 1)
    client = admin(cluster)
    # DeleteTopics goes to the controller; the group must live elsewhere.
    controller = describe(cluster).controller.id
    for i in range(50):
        group = f"elsewhere-{i}"
        committer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group})
        committer.commit(offsets=[TopicPartition("recycled", 0, 5)], asynchronous=False)
        committer.close()
        coordinator = client.describe_consumer_groups([group])[group].result(timeout=10).coordinator.id
        if coordinator != controller:
            break
    assert coordinator != controller, "every group landed on the controller"

    def committed() -> int:
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition("recycled", 0)])]
        result = client.list_consumer_group_offsets(request)[group].result(timeout=10)
        return result.topic_partitions[0].offset

    assert committed() == 5
    client.delete_topics(["recycled"])["recycled"].result(timeout=30)
    wait_for("the coordinator to drop the offsets", lambda: committed() < 0, timeout=20)
    create_topic(cluster, "recycled", 1)
    assert committed() < 0, "the recreated topic met the old topic's offsets"


def test_cluster_status_shows_the_quorum_and_partitions_needing_care(cluster):
    import subprocess

    from cluster import strom_binary

    leader = new_topic_leader(cluster, "watched")
    follower = next(n for n in cluster.nodes if n.node_id != leader)
    follower.kill()
    wait_for("the ISR to shrink", lambda: not fully_in_sync(cluster, "watched"), timeout=20)

    def status():
        return subprocess.run(
            [strom_binary(), "cluster", "status", "--brokers", cluster.bootstrap],
            capture_output=True,
            text=True,
            timeout=30,
        )

    out = wait_for("status with the quorum", lambda: (r := status()).returncode == 0 and "voter" in r.stdout and r)
    assert "METADATA QUORUM" in out.stdout
    assert out.stdout.count("voter") == 3, out.stdout
    assert "UNDER-REPLICATED PARTITIONS: 0" not in out.stdout, out.stdout
    assert "watched" in out.stdout


def test_a_clean_shutdown_hands_leadership_off_first(cluster):
    create_topic(cluster, "handoff", 3)
    leader = partitions_of(cluster, "handoff")[0].leader
    node = cluster.node(leader)
    assert node.terminate() == 0
    # The controller committed the handoff before the broker went on.
    assert "leaderships handed off" in node.log_tail(200), cluster.logs()

    def moved() -> bool:
        parts = partitions_of(cluster, "handoff")
        return all(p.leader not in (-1, leader) for p in parts.values())

    # A node may apply the committed records a moment later; well under
    # broker.session.timeout.ms (2 s), so a fence cannot pass for it.
    wait_for("every partition led elsewhere", moved, timeout=1.0, interval=0.05)


def test_the_preferred_leader_returns_with_its_broker(cluster):
    create_topic(cluster, "preferred", 1)
    preferred = partitions_of(cluster, "preferred")[0].replicas[0]
    cluster.node(preferred).kill()
    wait_for("another leader", lambda: partitions_of(cluster, "preferred")[0].leader not in (-1, preferred))
    cluster.node(preferred).start()
    # auto.leader.rebalance.enable moves it back once it is in sync again.
    wait_for(
        "the preferred replica leading again",
        lambda: partitions_of(cluster, "preferred")[0].leader == preferred,
        timeout=40,
    )


def test_elect_leaders_moves_leadership_back_on_request(tmp_path):
    from confluent_kafka import ElectionType, TopicPartition

    cluster = Cluster(tmp_path, settings={"auto.leader.rebalance.enable": "false"})
    cluster.start()
    try:
        create_topic(cluster, "elected", 1)
        preferred = partitions_of(cluster, "elected")[0].replicas[0]
        cluster.node(preferred).kill()
        wait_for("another leader", lambda: partitions_of(cluster, "elected")[0].leader not in (-1, preferred))
        cluster.node(preferred).start()
        wait_in_sync(cluster, "elected", "the preferred replica in sync", timeout=40)
        time.sleep(3)
        assert partitions_of(cluster, "elected")[0].leader != preferred, "no automatic rebalance"
        client = admin(cluster)
        tp = TopicPartition("elected", 0)
        result = client.elect_leaders(ElectionType.PREFERRED, [tp]).result(timeout=30)
        assert result[tp] is None, result
        # The answer comes once the election is committed; the broker that
        # answers the metadata request may apply it a moment later.
        wait_for(
            "the preferred replica leading",
            lambda: partitions_of(cluster, "elected")[0].leader == preferred,
            timeout=10,
        )
        again = client.elect_leaders(ElectionType.PREFERRED, [tp]).result(timeout=30)
        assert again[tp] is not None and again[tp].code() == KafkaError.ELECTION_NOT_NEEDED, again
    finally:
        cluster.stop()


def test_a_broker_that_is_not_a_voter_joins_and_replicates(tmp_path):
    import subprocess

    from cluster import strom_binary

    cluster = Cluster(tmp_path, observers=1)
    cluster.start()
    try:
        wait_for("four brokers", lambda: len(admin(cluster).list_topics(timeout=5).brokers) == 4)
        client = admin(cluster)
        client.create_topics([NewTopic("four", 4, 4)])["four"].result(timeout=30)
        wait_for(
            "four replicas in sync", lambda: all(len(p.isrs) == 4 for p in partitions_of(cluster, "four").values())
        )
        assert {p.leader for p in partitions_of(cluster, "four").values()} == {1, 2, 3, 4}
        status = subprocess.run(
            [strom_binary(), "cluster", "status", "--brokers", cluster.bootstrap],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert status.count("voter") == 3 and status.count("observer") == 1, status
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
        for i in range(100):
            producer.produce("four", value=str(i).encode(), partition=i % 4)
        assert producer.flush(30) == 0
        assert sum(len(v) for v in read_all(cluster, "four", 100).values()) == 100
    finally:
        cluster.stop()
