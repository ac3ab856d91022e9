"""SCRAM users and ACLs in a cluster: a user made through one broker logs
in on every broker (the metadata log carries the credentials), clients
that come in through the SASL listener are told every broker's SASL
address, a deleted user is refused everywhere, also after a restart, and
ACLs hold on every broker the same way."""

from __future__ import annotations

import subprocess
import time
import uuid

from confluent_kafka.admin import AdminClient, NewTopic

from cluster import Cluster, Node, free_ports, strom_binary

PASSWORD = "alice-secret"
# The authorizer on, with the PLAINTEXT listeners' anonymous principal as
# the operators' super user.
AUTHORIZER = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
}


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
    """Upgrading in place: the users and ACLs a one-node broker had hold on
    every broker of the cluster it becomes node 1 of; its credentials and
    ACL files are retired, so a user deleted in the cluster stays deleted
    across a restart of node 1."""
    (port,) = free_ports(1)
    data_dir = tmp_path / "node1"
    single = Node(
        1, port,
        lambda p: [strom_binary(), "server", "--node-id", "1", "--listen", f"127.0.0.1:{p or port}", "--data-dir", str(data_dir),
                   *(arg for key, value in AUTHORIZER.items() for arg in ("--set", f"{key}={value}"))],
        data_dir, tmp_path / "single.log",
    )  # fmt: skip
    single.start()
    made = strom_user("create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=single.bootstrap)
    assert made.returncode == 0, made.stderr
    granted = strom_acl("create", "--allow-principal", "User:alice", "--operation", "all", "--topic", "upgraded-",
                        "--resource-pattern-type", "prefixed", address=single.bootstrap)  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert single.terminate() == 0

    cluster = Cluster(tmp_path, sasl=True, settings={"sasl.enabled.mechanisms": "SCRAM-SHA-512", **AUTHORIZER})
    cluster.start()
    try:
        topic = f"upgraded-{uuid.uuid4().hex[:8]}"
        for address in cluster.sasl_addresses:
            until(lambda address=address: delivered(address, topic))
        assert (data_dir / "scram-credentials.json.imported").exists()
        assert not (data_dir / "scram-credentials.json").exists()
        assert (data_dir / "acls.json.imported").exists() and not (data_dir / "acls.json").exists()
        assert not delivered(cluster.sasl_addresses[1], f"elsewhere-{uuid.uuid4().hex[:8]}")

        gone = strom_user("delete", "alice", address=cluster.nodes[1].bootstrap)
        assert gone.returncode == 0, gone.stderr
        until(lambda: not delivered(cluster.sasl_addresses[0], topic))
        cluster.nodes[0].kill()
        cluster.nodes[0].start()
        assert not delivered(cluster.sasl_addresses[0], topic), "the deleted user came back"
    finally:
        cluster.stop()


def strom_acl(*args: str, address: str) -> subprocess.CompletedProcess:
    return subprocess.run([strom_binary(), "acl", *args, "--brokers", address], capture_output=True, timeout=60)


def test_acls_made_on_one_broker_hold_on_every_broker(tmp_path):
    """With the authorizer on, followers still replicate (over the brokers'
    own listener), an ACL created through one broker lets alice write on
    all three, survives a SIGKILL, and its deletion through another broker
    shuts her out everywhere; a client quota set through one broker is
    on every broker."""
    cluster = Cluster(tmp_path, sasl=True, settings={"sasl.enabled.mechanisms": "SCRAM-SHA-512", **AUTHORIZER})
    cluster.start()
    try:
        node1_plain = cluster.nodes[0].bootstrap
        made = strom_user("create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=node1_plain)
        assert made.returncode == 0, made.stderr
        allowed, closed = (f"{name}-{uuid.uuid4().hex[:8]}" for name in ("allowed", "closed"))
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        for topic in (allowed, closed):
            admin.create_topics([NewTopic(topic, 3, 3)])[topic].result(timeout=30)
        granted = strom_acl("create", "--allow-principal", "User:alice", "--operation", "write", "--topic", allowed,
                            address=node1_plain)  # fmt: skip
        assert granted.returncode == 0, granted.stderr
        for address in cluster.sasl_addresses:
            until(lambda address=address: delivered(address, allowed))
            assert not delivered(address, closed)
        # The followers fetched what alice wrote: every replica is in sync.
        partitions = admin.list_topics(allowed, timeout=10).topics[allowed].partitions.values()
        assert all(sorted(p.isrs) == [1, 2, 3] for p in partitions), [p.isrs for p in partitions]

        cluster.nodes[2].kill()
        cluster.nodes[2].start()
        until(lambda: delivered(cluster.sasl_addresses[2], allowed))
        listed = strom_acl("list", address=cluster.nodes[2].bootstrap)
        assert allowed in listed.stdout.decode(), listed

        # Client quotas travel the same way.
        quota = subprocess.run(
            [strom_binary(), "quota", "alter", "--user", "alice", "--set", "producer_byte_rate=1048576",
             "--brokers", cluster.nodes[0].bootstrap], capture_output=True, timeout=60,
        )  # fmt: skip
        assert quota.returncode == 0, quota.stderr
        for node in cluster.nodes:
            until(lambda node=node: b"producer_byte_rate=1048576" in subprocess.run(
                [strom_binary(), "quota", "list", "--brokers", node.bootstrap], capture_output=True, timeout=60,
            ).stdout)  # fmt: skip

        revoked = strom_acl("delete", "--topic", allowed, address=cluster.nodes[1].bootstrap)
        assert revoked.returncode == 0 and b"deleted" in revoked.stdout, revoked.stderr
        for address in cluster.sasl_addresses:
            until(lambda address=address: not delivered(address, allowed))
    finally:
        cluster.stop()
