"""Every client of the compatibility suite (librdkafka via confluent-kafka
and kcat, kafka-python, kafkajs, the Java client, Strom's own) produces and
consumes through a partition leader's death: the client meets a dead
broker, learns the new leaders and carries on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))

from clients import ALL_CLIENTS, records_for  # noqa: E402

from cluster import wait_for  # noqa: E402
from test_replication import create_topic, partitions_of, wait_in_sync  # noqa: E402


@pytest.mark.parametrize("client", ALL_CLIENTS, ids=lambda c: c.name)
def test_client_works_through_a_leader_failover(cluster, client):
    topic = f"failover-{client.name}"
    create_topic(cluster, topic, 3)
    records = records_for(client)
    leader = partitions_of(cluster, topic)[0].leader
    cluster.node(leader).kill()
    # One live bootstrap address (some drivers take just one). The client
    # starts while the dead leader still leads partition 0 in the metadata
    # it first sees.
    bootstrap = next(n.bootstrap for n in cluster.nodes if n.node_id != leader)
    if client.name == "kafkajs":
        # kafkajs retries a broker that refuses connections without asking
        # for new metadata (kafkajs issue #950, the same against Apache
        # Kafka): it starts once the cluster has moved the leadership.
        wait_for(
            "a new leader",
            lambda: partitions_of(cluster, topic)[0].leader not in (-1, leader),
            timeout=20,
        )
    acked = client.produce(bootstrap, topic, records, "lz4")
    if acked is not None:
        assert all(a is not None for a in acked)
    cluster.node(leader).start()
    wait_in_sync(cluster, topic, "the node back in every ISR", timeout=40)
    consumed = client.consume(bootstrap, topic, len(records), 3)
    assert sorted(c.value for c in consumed) == sorted(r.value for r in records)
