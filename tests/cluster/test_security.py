"""SCRAM users and ACLs in a cluster: a user made through one broker logs
in on every broker (the metadata log carries the credentials), clients
that come in through the SASL listener are told every broker's SASL
address, a deleted user is refused everywhere, also after a restart, and
ACLs hold on every broker the same way. And brokers that talk to each
other over mutual TLS, whose cluster port refuses strangers."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
import uuid

from confluent_kafka import Consumer, Producer
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
        made = strom_user(
            "create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=node1_plain
        )
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
        lambda p: [strom_binary(), "server", "--node-id", "1", "--listen", f"127.0.0.1:{p or port}",
                   "--data-dir", str(data_dir),
                   *(arg for key, value in AUTHORIZER.items() for arg in ("--set", f"{key}={value}"))],
        data_dir, tmp_path / "single.log",
    )  # fmt: skip
    single.start()
    made = strom_user(
        "create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=single.bootstrap
    )
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
        made = strom_user(
            "create", "alice", "--password", PASSWORD, "--mechanism", "SCRAM-SHA-512", address=node1_plain
        )
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


def cluster_certificates(directory) -> dict:
    """A CA; one certificate for the brokers (CN=broker, for 127.0.0.1, usable
    both to serve and to dial); and a client's (CN=alice) from the same CA."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=Cluster CA", "-keyout", "ca.key", "-out", "ca.pem")
    usages = {"broker": "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
              "alice": "extendedKeyUsage=clientAuth\n"}  # fmt: skip
    for name, extensions in usages.items():
        run("req", *ec, "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        (directory / f"{name}.ext").write_text(extensions)
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")  # fmt: skip
    keystore = directory / "broker-keystore.pem"
    keystore.write_bytes((directory / "broker.key").read_bytes() + (directory / "broker.crt").read_bytes())
    return {"ca": directory / "ca.pem", "keystore": keystore,
            "alice_cert": directory / "alice.crt", "alice_key": directory / "alice.key"}  # fmt: skip


def refused_on_cluster_port(address: str, tls: ssl.SSLContext | None) -> bool:
    """Whether the cluster port at `address` closes a connection that sends
    it a frame without answering it (plain TCP, or TLS with `tls`). A plain
    connection may first get a TLS alert record (content type 21)."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=15)
    received = b""
    try:
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        sock.sendall(b"\x00\x00\x00\x08" + b"\x00" * 8)
        while chunk := sock.recv(1024):
            received += chunk
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        sock.close()
    return received == b"" or (tls is None and received[0] == 21)


def test_brokers_replicate_over_mutual_tls_and_the_cluster_port_refuses_strangers(tmp_path):
    """security.inter.broker.protocol=SSL: replication (acks=all with three
    in-sync replicas needs every follower to fetch over the SSL listener)
    and the metadata quorum run over mutual TLS with the brokers'
    certificate; the cluster port refuses a plain connection and a client
    certificate from the same CA that is not a super user's."""
    certs = cluster_certificates(tmp_path)
    settings = {
        **AUTHORIZER,
        "super.users": "User:ANONYMOUS;User:CN=broker",
        "ssl.keystore.location": str(certs["keystore"]),
        "ssl.truststore.location": str(certs["ca"]),
        # Required: a follower that did not show its certificate could
        # not fetch at all.
        "ssl.client.auth": "required",
        "security.inter.broker.protocol": "SSL",
    }
    cluster = Cluster(tmp_path / "cluster", settings=settings, tls_first=True)
    cluster.start()
    try:
        bootstrap = ",".join(cluster.plain_addresses)
        topic = f"tls-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, 3, 3, config={"min.insync.replicas": "3"})])[topic].result(timeout=30)
        producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 60000})
        errors: list = []
        for i in range(30):
            producer.produce(topic, str(i).encode(), on_delivery=lambda err, _msg: err and errors.append(err))
        assert producer.flush(90) == 0
        assert errors == []
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        got = set()
        deadline = time.monotonic() + 60
        while len(got) < 30 and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                got.add(message.value().decode())
        consumer.close()
        assert got == {str(i) for i in range(30)}

        raft = cluster.raft_addresses[0]
        assert refused_on_cluster_port(raft, None)
        until(lambda: "cluster connection refused" in cluster.node(1).log_tail(400))
        alice = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        alice.load_verify_locations(certs["ca"])
        alice.load_cert_chain(certs["alice_cert"], certs["alice_key"])
        assert refused_on_cluster_port(raft, alice)
        until(lambda: "not a super user's was refused" in cluster.node(1).log_tail(400))
        assert "User:CN=alice" in cluster.node(1).log_tail(400)
        # The quorum still works after the strangers: a new topic is made.
        second = f"{topic}-2"
        admin.create_topics([NewTopic(second, 1, 3)])[second].result(timeout=30)
    finally:
        cluster.stop()
