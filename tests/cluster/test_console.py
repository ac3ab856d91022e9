"""The console's API in a cluster: every broker answers for the whole
cluster. With one replica per partition, each broker holds only its own
partitions, yet any broker's console reports every partition's offsets
(from its leader), the topic's traffic added up, a group coordinated
elsewhere with its true lag, and the records of a partition it does not
hold; resetting a group's offsets works from every broker's console. On
the way: a group coordinator takes commits for partitions it does not
hold."""

from __future__ import annotations

import json
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import wait_for

PER_PARTITION = 7
COMMITTED = 3


def api(address: str, path: str) -> dict:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as answer:
        return json.loads(answer.read())


def test_each_brokers_console_shows_the_whole_cluster(cluster):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    admin.create_topics([NewTopic("spread", 3, 1)])["spread"].result(30)
    leaders = wait_for(
        "a leader for every partition",
        lambda: (lambda ps: len(ps) == 3 and all(p.leader > 0 for p in ps.values()) and ps)(
            admin.list_topics("spread", timeout=5).topics["spread"].partitions
        ),
    )
    assert len({p.leader for p in leaders.values()}) == 3, "placement spreads one replica per broker"
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for partition in range(3):
        for i in range(PER_PARTITION):
            producer.produce("spread", key=f"p{partition}", value=f"record {i} of {partition}", partition=partition)
    assert producer.flush(30) == 0
    # The group's coordinator holds at most one of the partitions: it takes
    # commits for the others too (it refused them before).
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "spread-readers"})
    consumer.commit(offsets=[TopicPartition("spread", p, COMMITTED) for p in range(3)], asynchronous=False)
    committed = consumer.committed([TopicPartition("spread", p) for p in range(3)], timeout=10)
    assert [tp.offset for tp in committed] == [COMMITTED] * 3
    consumer.close()

    for address in cluster.http_addresses:
        cluster_view = api(address, "/v1/cluster")
        assert sorted(b["id"] for b in cluster_view["brokers"]) == [1, 2, 3]
        assert all(b["http"] for b in cluster_view["brokers"]), cluster_view

        topic = api(address, "/v1/topics/spread")
        assert [p.get("high_watermark") for p in topic["partitions"]] == [PER_PARTITION] * 3, topic
        assert topic["records_in_total"] == 3 * PER_PARTITION
        # Its own view holds only the partition it leads.
        own = api(address, "/v1/topics/spread?local=1")
        assert sum("high_watermark" in p for p in own["partitions"]) == 1, own

        groups = {g["group"]: g for g in api(address, "/v1/groups")["groups"]}
        ours = groups["spread-readers"]
        assert [o["lag"] for o in ours["offsets"]] == [PER_PARTITION - COMMITTED] * 3, ours
        assert ours["total_lag"] == 3 * (PER_PARTITION - COMMITTED)
        assert api(address, "/v1/groups/spread-readers")["total_lag"] == 3 * (PER_PARTITION - COMMITTED)

        for partition, leader in ((p, leaders[p].leader) for p in range(3)):
            answer = api(address, f"/v1/topics/spread/records?partition={partition}&limit=100")
            assert len(answer["records"]) == PER_PARTITION, (address, leader, answer)
            assert {r["partition"] for r in answer["records"]} == {partition}
        everything = api(address, "/v1/topics/spread/records?limit=100")
        assert len(everything["records"]) == 3 * PER_PARTITION

    # The group's lag over time, sampled by its coordinator from the
    # leaders' high watermarks, whichever console asks.
    for address in cluster.http_addresses:
        wait_for(
            f"a lag sample of the group through {address}",
            lambda address=address: any(
                s["lag"] == 3 * (PER_PARTITION - COMMITTED)
                for s in api(address, "/v1/history?group=spread-readers")["samples"]
            ),
            timeout=20,
        )

    # Resetting offsets from any broker's console: the request reaches the
    # group's coordinator, which takes the ends from the partitions' leaders.
    for address, to, expected in ((cluster.http_addresses[0], "latest", PER_PARTITION),
                                  (cluster.http_addresses[1], "earliest", 0),
                                  (cluster.http_addresses[2], "latest", PER_PARTITION)):  # fmt: skip
        request = urllib.request.Request(
            f"http://{address}/v1/groups/spread-readers/reset-offsets",
            data=json.dumps({"topic": "spread", "to": to}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "X-Strom-Console": "1"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert [o["offset"] for o in json.loads(answer.read())["offsets"]] == [expected] * 3
        checker = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "spread-readers"})
        committed = checker.committed([TopicPartition("spread", p) for p in range(3)], timeout=10)
        checker.close()
        assert [tp.offset for tp in committed] == [expected] * 3, (address, to)
