"""SCRAM users in a cluster: a user made through one broker logs in on
every broker (the metadata log carries the credentials), clients that
come in through the SASL listener are told every broker's SASL address,
and a deleted user is refused everywhere, also after a restart."""

from __future__ import annotations

import subprocess
import time
import uuid

from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, Node, free_ports, strom_binary

PASSWORD = "alice-secret"


def login(address: str, password: str = PASSWORD) -> dict:
    return {
        "bootstrap.servers": address,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": password,
    }


def strom_user(*args: str, address: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [strom_binary(), "user", *args, "--brokers", address], capture_output=True, timeout=60, input=b""
    )


def delivered(address: str, topic: str, password: str = PASSWORD) -> bool:
    """Whether a record produced with acks=all through `address` (by the
    `strom produce` command: Strom's client) is acknowledged."""
    settings = login(address, password)
    flags = [arg for key, value in settings.items() if key != "bootstrap.servers" for arg in ("-X", f"{key}={value}")]
    produced = subprocess.run(
        [strom_binary(), "produce", topic, "--brokers", address, *flags, "-X", "acks=all"],
        input=b"x\n", capture_output=True, timeout=60,
    )  # fmt: skip
    return produced.returncode == 0


def until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)


def test_a_user_made_on_one_broker_logs_in_on_every_broker(tmp_path):
    cluster = Cluster(tmp_path, sasl=True, settings={"sasl.enabled.mechanisms": "SCRAM-SHA-512"})
    cluster.start()
    try:
        node1_plain = cluster.nodes[0].bootstrap
        made = strom_user("create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=node1_plain)
        assert made.returncode == 0, made.stderr
        topic = f"secure-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic(topic, 3, 3)])[topic].result(timeout=30)
        for address in cluster.sasl_addresses:
            until(lambda address=address: delivered(address, topic))
        # Metadata through a SASL listener names the SASL listeners.
        brokers = AdminClient(login(cluster.sasl_addresses[1])).list_topics(timeout=10).brokers
        assert sorted(f"{b.host}:{b.port}" for b in brokers.values()) == sorted(cluster.sasl_addresses)
        assert not delivered(cluster.sasl_addresses[2], topic, password="wrong")

        cluster.nodes[2].kill()
        cluster.nodes[2].start()
        until(lambda: delivered(cluster.sasl_addresses[2], topic))

        gone = strom_user("delete", "alice", address=cluster.nodes[1].bootstrap)
        assert gone.returncode == 0, gone.stderr
        for address in cluster.sasl_addresses:
            until(lambda address=address: not delivered(address, topic))
    finally:
        cluster.stop()


def test_a_one_node_data_dirs_users_join_the_cluster_once(tmp_path):
    """Upgrading in place: the users a one-node broker had log in on every
    broker of the cluster it becomes node 1 of; its credentials file is
    retired, so a user deleted in the cluster stays deleted across a
    restart of node 1."""
    (port,) = free_ports(1)
    data_dir = tmp_path / "node1"
    single = Node(
        1, port,
        lambda p: [strom_binary(), "server", "--node-id", "1", "--listen", f"127.0.0.1:{p or port}", "--data-dir", str(data_dir)],
        data_dir, tmp_path / "single.log",
    )  # fmt: skip
    single.start()
    made = strom_user("create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=single.bootstrap)
    assert made.returncode == 0, made.stderr
    assert single.terminate() == 0

    cluster = Cluster(tmp_path, sasl=True, settings={"sasl.enabled.mechanisms": "SCRAM-SHA-512"})
    cluster.start()
    try:
        topic = f"upgraded-{uuid.uuid4().hex[:8]}"
        for address in cluster.sasl_addresses:
            until(lambda address=address: delivered(address, topic))
        assert (data_dir / "scram-credentials.json.imported").exists()
        assert not (data_dir / "scram-credentials.json").exists()

        gone = strom_user("delete", "alice", address=cluster.nodes[1].bootstrap)
        assert gone.returncode == 0, gone.stderr
        until(lambda: not delivered(cluster.sasl_addresses[0], topic))
        cluster.nodes[0].kill()
        cluster.nodes[0].start()
        assert not delivered(cluster.sasl_addresses[0], topic), "the deleted user came back"
    finally:
        cluster.stop()
