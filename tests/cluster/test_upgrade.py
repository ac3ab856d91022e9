"""A one-node data dir upgrades in place: started as node 1 of a cluster,
its topics, records, committed offsets and producer ids become the
cluster's, and a reassignment then replicates them."""

from __future__ import annotations

import subprocess
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient
from kafka import TopicPartition as KpTopicPartition

from cluster import Cluster, Node, free_ports, strom_binary, wait_for
from test_replication import partitions_of, read_all, wait_in_sync


def test_a_one_node_data_dir_joins_a_cluster_with_everything_it_held(tmp_path):
    (port,) = free_ports(1)
    single = Node(
        1,
        port,
        lambda p: [
            strom_binary(),
            "server",
            "--node-id",
            "1",
            "--listen",
            f"127.0.0.1:{p or port}",
            "--data-dir",
            str(tmp_path / "node1"),
            "--set",
            "group.initial.rebalance.delay.ms=0",
        ],
        tmp_path / "node1",
        tmp_path / "single.log",
    )
    single.start()
    client = AdminClient({"bootstrap.servers": single.bootstrap})
    client.create_topics([NewTopic("legacy", 2, 1)])["legacy"].result(timeout=30)
    producer = Producer({"bootstrap.servers": single.bootstrap, "acks": "all", "enable.idempotence": True})
    for i in range(100):
        producer.produce("legacy", value=str(i).encode(), partition=i % 2)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": single.bootstrap,
            "group.id": "old-group",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["legacy"])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 60 and time.monotonic() < deadline:
        seen += sum(1 for m in consumer.consume(60 - seen, timeout=1) if not m.error())
    consumer.commit(asynchronous=False)
    consumer.close()
    assert single.terminate() == 0

    cluster = Cluster(tmp_path)
    cluster.start()
    try:
        wait_for("the old topic in the cluster", lambda: len(partitions_of(cluster, "legacy")) == 2, timeout=30)
        assert all(p.replicas == [1] for p in partitions_of(cluster, "legacy").values())
        assert sorted(int(v) for vs in read_all(cluster, "legacy", 100).values() for v in vs) == list(range(100))

        # The group goes on from its committed offsets: only 40 are left.
        resumed = Consumer(
            {"bootstrap.servers": cluster.bootstrap, "group.id": "old-group", "auto.offset.reset": "earliest"}
        )
        resumed.subscribe(["legacy"])
        rest = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and rest < 40:
            rest += sum(1 for m in resumed.consume(100, timeout=1) if not m.error())
        extra = sum(1 for m in resumed.consume(100, timeout=2) if not m.error())
        resumed.close()
        assert (seen, rest, extra) == (60, 40, 0)

        admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        try:
            moves = {KpTopicPartition("legacy", p): [1, 2, 3] for p in range(2)}
            assert set(admin.alter_partition_reassignments(moves).values()) == {None}
        finally:
            admin.close()
        wait_in_sync(cluster, "legacy", "three replicas in sync", timeout=40, count=2)
        more = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": True})
        for i in range(100, 150):
            more.produce("legacy", value=str(i).encode(), partition=i % 2)
        assert more.flush(30) == 0
        assert sorted(int(v) for vs in read_all(cluster, "legacy", 150).values() for v in vs) == list(range(150))
        # The topic file is gone: a restart does not offer the topic again.
        assert not list((tmp_path / "node1" / "topics").glob("legacy*"))
    finally:
        cluster.stop()
    subprocess.run(
        [strom_binary(), "storage", "check", str(tmp_path / "node2" / "legacy-0")], check=True, capture_output=True
    )
