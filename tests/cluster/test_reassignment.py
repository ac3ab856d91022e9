"""Moving a partition to other brokers while it serves
(AlterPartitionReassignments, as kafka-reassign-partitions.sh does it),
driven by kafka-python's admin client."""

from __future__ import annotations

from confluent_kafka import Producer
from kafka import KafkaAdminClient
from kafka import TopicPartition as KpTopicPartition
from kafka.admin import NewTopic

from cluster import wait_for
from test_replication import partitions_of, read_all


def test_a_partition_moves_to_other_brokers_while_it_serves(cluster):
    kp_admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    kp_admin.create_topics(
        [NewTopic("moving", num_partitions=-1, replication_factor=-1, replica_assignments={0: [1, 2]})]
    )
    wait_for("in sync", lambda: len(partitions_of(cluster, "moving")[0].isrs) == 2)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for i in range(500):
        producer.produce("moving", value=str(i).encode())
    assert producer.flush(30) == 0

    try:
        tp = KpTopicPartition("moving", 0)
        assert kp_admin.alter_partition_reassignments({tp: [2, 3]}) == {tp: None}

        def moved():
            p = partitions_of(cluster, "moving")[0]
            return p.replicas == [2, 3] and sorted(p.isrs) == [2, 3] and p.leader in (2, 3)

        wait_for("the partition on brokers 2 and 3 only", moved, timeout=40)
        assert kp_admin.list_partition_reassignments() == {}
        wait_for(
            "the replica on broker 1 deleted",
            lambda: not (cluster.node(1).data_dir / "moving-0").exists(),
            timeout=20,
        )
        # Nothing in progress: a cancel is refused.
        cancelled = kp_admin.alter_partition_reassignments({tp: None})
        assert cancelled[tp] is not None and cancelled[tp].errno == 85, cancelled
    finally:
        kp_admin.close()

    for i in range(500, 600):
        producer.produce("moving", value=str(i).encode())
    assert producer.flush(30) == 0
    values = read_all(cluster, "moving", 600)[0]
    assert [int(v) for v in values] == list(range(600))
