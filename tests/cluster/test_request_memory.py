"""`queued.max.request.bytes` in a cluster: produces waiting for their
followers must not hold the request memory the followers' fetches need
to commit them."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, wait_for

PRODUCERS = 4
RECORDS_EACH = 1500
VALUE = b"v" * 10_000


def isr_sizes(client: AdminClient, topic: str) -> list[int]:
    partitions = client.list_topics(topic, timeout=5).topics[topic].partitions
    return [len(p.isrs) for p in partitions.values()]


def test_acks_all_produces_beyond_the_request_memory_keep_their_followers_in_sync(tmp_path):
    # Each producer's requests are up to 900 KB, and the broker reads up
    # to 8 ahead per connection: together far more than the 2 MB limit.
    cluster = Cluster(tmp_path, settings={"queued.max.request.bytes": "2000000"})
    cluster.start()
    try:
        client = AdminClient({"bootstrap.servers": cluster.bootstrap})
        config = {"min.insync.replicas": "2"}
        client.create_topics([NewTopic("memory", 3, 3, config=config)])["memory"].result(timeout=30)
        wait_for("every replica in sync", lambda: isr_sizes(client, "memory") == [3, 3, 3])

        smallest_isr = [3]
        done = threading.Event()

        def watch_isr():
            while not done.is_set():
                smallest_isr[0] = min([smallest_isr[0], *isr_sizes(client, "memory")])
                time.sleep(0.05)

        errors: list = []
        acked = [0]
        unsent: list[int] = []

        def delivered(error, _message):
            if error:
                errors.append(error)
            else:
                acked[0] += 1

        def produce():
            producer = Producer(
                {
                    "bootstrap.servers": cluster.bootstrap,
                    "acks": "all",
                    "linger.ms": 20,
                    "batch.size": 900_000,
                }
            )
            for _ in range(RECORDS_EACH):
                producer.produce("memory", value=VALUE, on_delivery=delivered)
                producer.poll(0)
            unsent.append(producer.flush(90))  # what is still unacknowledged

        watcher = threading.Thread(target=watch_isr)
        watcher.start()
        producers = [threading.Thread(target=produce) for _ in range(PRODUCERS)]
        try:
            for thread in producers:
                thread.start()
            for thread in producers:
                thread.join()
        finally:
            done.set()
            watcher.join()
        assert unsent == [0] * PRODUCERS, "records still unacknowledged after 90 s"
        assert not errors, errors[:3]
        assert acked[0] == PRODUCERS * RECORDS_EACH
        # A follower starved of request memory would have left the ISR
        # after replica.lag.time.max.ms (2 s here) while the producers
        # waited for it.
        assert smallest_isr[0] == 3, cluster.logs(40)
    finally:
        cluster.stop()
