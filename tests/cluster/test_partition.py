"""A network partition: the leader of a partition is cut off from the
other nodes' cluster traffic while clients can still reach it. The others
fence it and elect a new leader; the isolated old leader must not
acknowledge any acks=all write, so no two leaders ever accept writes for
the same partition. Once healed it truncates and follows."""

from __future__ import annotations

import time

from confluent_kafka import Producer

from cluster import Cluster, wait_for
from test_replication import assert_replicas_identical, create_topic, partitions_of, read_all, wait_in_sync


def test_an_isolated_leader_acknowledges_no_acks_all_write(tmp_path):
    cluster = Cluster(tmp_path, partitionable=True)
    cluster.start()
    try:
        create_topic(cluster, "split", 1, min_isr=2)
        old = partitions_of(cluster, "split")[0].leader
        isolated = cluster.node(old)
        others = [n for n in cluster.nodes if n.node_id != old]
        majority = Cluster.__new__(Cluster)
        majority.nodes = others
        majority.bootstrap = ",".join(n.bootstrap for n in others)

        cluster.isolate(old)
        wait_for(
            "the majority to elect another leader",
            lambda: partitions_of(majority, "split")[0].leader not in (-1, old),
            timeout=30,
        )
        # Produce requests to the isolated node only: every acks=all
        # write there must fail (NOT_ENOUGH_REPLICAS or a timeout). Raw
        # requests, not a client library's producer: one that bootstraps
        # from the isolated node learns the other brokers from its metadata
        # and may ask them who leads, then write to the new leader (seen
        # with librdkafka: the "stale" writes landed on the majority side).
        import protocol_calls as wire

        refused = [
            wire.produce(isolated.bootstrap, "split", 0, [f"stale-{i}-{j}".encode() for j in range(5)], 3000)
            for i in range(4)
        ]
        assert all(code != 0 for code in refused), f"the isolated leader acknowledged a write: {refused}"

        # The majority side goes on taking writes.
        live = Producer({"bootstrap.servers": majority.bootstrap, "acks": "all", "enable.idempotence": True})
        acked = []
        for i in range(200):
            live.produce(
                "split", value=f"live-{i}".encode(), on_delivery=lambda e, m: e is None and acked.append(m.value())
            )
        assert live.flush(30) == 0
        assert len(acked) == 200

        cluster.heal()
        wait_in_sync(cluster, "split", "the old leader back in sync", timeout=60)
        values = read_all(cluster, "split", 200)[0]
        missing = set(acked) - set(values)
        assert not missing, f"{len(missing)} acknowledged records lost"
        assert not [v for v in values if v.startswith(b"stale-")], "a refused write became visible"
        time.sleep(1)
    finally:
        cluster.stop()
    assert_replicas_identical(cluster, "split", 1)
