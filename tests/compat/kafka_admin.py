"""Topic set-up through a real client's admin API (confluent-kafka)."""

from __future__ import annotations

import time

from confluent_kafka.admin import AdminClient, NewTopic

ADMIN_TIMEOUT_S = 30.0


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap: str, name: str, partitions: int = 6, config: dict | None = None) -> None:
    """Creates a topic and waits until every partition has a leader in metadata."""
    admin = admin_client(bootstrap)
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=ADMIN_TIMEOUT_S,
        request_timeout=ADMIN_TIMEOUT_S,
    )
    futures[name].result(timeout=ADMIN_TIMEOUT_S)
    wait_for_partitions(admin, name, partitions)


def wait_for_partitions(admin: AdminClient, name: str, partitions: int) -> None:
    """Kafka applies metadata asynchronously: poll until the topic is served."""
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    seen = None
    while time.monotonic() < deadline:
        topic = admin.list_topics(topic=name, timeout=10).topics.get(name)
        if topic is not None and topic.error is None:
            seen = {p: meta.leader for p, meta in topic.partitions.items()}
            if len(seen) == partitions and all(leader >= 0 for leader in seen.values()):
                return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} not served with {partitions} led partitions; last metadata: {seen}")


def wait_for_topic_gone(admin: AdminClient, name: str) -> None:
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if name not in admin.list_topics(timeout=10).topics:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} still in metadata {ADMIN_TIMEOUT_S:.0f}s after deletion")
