"""ACLs with real clients: a broker with the authorizer on, alice and bob
logging in with SCRAM over SASL_SSL (and a client certificate over SSL),
and the PLAINTEXT listener as the operators' door (its anonymous principal
is the super user, as `super.users` says).

The issue's scenario: a principal allowed only to write topic `a` can
produce to `a`, cannot read it, cannot see or touch topic `b`, cannot
delete groups; the denials are logged; the ACLs survive a restart. Then
the ACL APIs themselves through librdkafka's, kafka-python's and Strom's
admin clients, consumer groups under ACLs, prefixed patterns, DENY, and
the principal of a client certificate."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from conftest import start_with_users
from secure_broker import USERS, SecureBroker
from secure_clients import REPO_ROOT

STROM = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory, certs):
    extra = {
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS",
    }
    broker = start_with_users(SecureBroker(tmp_path_factory.mktemp("acl-broker"), certs, extra))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(acl_broker):
    acl_broker.ensure_running()
    return acl_broker


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin_client(broker) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.addresses["PLAINTEXT"]})


def login(broker, user: str) -> dict:
    return {
        "bootstrap.servers": broker.addresses["SASL_SSL"],
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(broker.certs.ca),
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": USERS[user],
    }


def strom(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([STROM, *args], input=stdin, capture_output=True, timeout=60)


def strom_ok(*args: str, stdin: bytes = b"") -> str:
    done = strom(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def create_topics(broker, *names: str) -> None:
    admin = admin_client(broker)  # kept alive until its answers arrive
    futures = admin.create_topics([NewTopic(n, 1, 1) for n in names])
    for future in futures.values():
        future.result(timeout=30)


def allow(broker, principal: str, operation: AclOperation, resource_type, name: str,
          pattern=ResourcePatternType.LITERAL, permission=AclPermissionType.ALLOW) -> None:  # fmt: skip
    binding = AclBinding(resource_type, name, pattern, principal, "*", operation, permission)
    admin = admin_client(broker)
    for future in admin.create_acls([binding]).values():
        future.result(timeout=30)


def produce(conf: dict, topic: str, values: list[bytes]) -> list:
    """Produces `values`; the delivery error of each (None when delivered)."""
    errors = []
    producer = Producer({**conf, "message.timeout.ms": 10000})
    for value in values:
        producer.produce(topic, value, on_delivery=lambda err, _msg: errors.append(err))
    assert producer.flush(30) == 0
    return errors


def consume_error(conf: dict, topic: str) -> KafkaError:
    """Reads `topic` from the start, assigned (librdkafka still looks up
    the coordinator of its `group.id`, which alice may not describe: that
    refusal is skipped); the first other error."""
    consumer = Consumer({**conf, "group.id": unique("unused"), "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
                    continue
                return message.error()
            raise AssertionError(f"read a record it may not read: {message.value()!r}")
        raise AssertionError("no error within 30 s")
    finally:
        consumer.close()


def test_a_writer_of_topic_a_writes_it_and_can_do_nothing_else(broker):
    a, b = unique("a"), unique("b")
    create_topics(broker, a, b)
    produce(admin_conf := {"bootstrap.servers": broker.addresses["PLAINTEXT"]}, b, [b"secret"])
    allow(broker, "User:alice", AclOperation.WRITE, ResourceType.TOPIC, a)
    alice = login(broker, "alice")

    assert produce(alice, a, [b"one", b"two"]) == [None, None]

    error = consume_error(alice, a)
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error

    listed = AdminClient(alice).list_topics(timeout=30).topics
    assert a in listed and b not in listed, "b is invisible to alice"

    errors = produce(alice, b, [b"intrusion"])
    assert errors[0] is not None and errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    alice_admin = AdminClient(alice)
    deleted = alice_admin.delete_topics([b], operation_timeout=10)[b]
    with pytest.raises(KafkaException) as refused:
        deleted.result(timeout=30)
    assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    group = unique("group")
    Consumer({**admin_conf, "group.id": group}).close()  # a group exists to delete
    deletions = alice_admin.delete_consumer_groups([group])
    with pytest.raises(KafkaException) as refused:
        deletions[group].result(timeout=30)
    assert refused.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED

    # The operators' door still sees everything alice wrote, and b intact.
    consumed = strom_ok("consume", a, "-n", "2", "--from-beginning", "--brokers", broker.addresses["PLAINTEXT"])
    assert [json.loads(line)["value"] for line in consumed.splitlines()] == ["one", "two"]
    assert b in admin_client(broker).list_topics(timeout=30).topics

    log = broker.log_text()
    # Producing to b is refused at its metadata, and deleting the group at
    # FindCoordinator: alice may describe neither.
    for operation, resource in (("Read", a), ("Describe", b), ("Delete", b), ("Describe", group)):
        assert any(
            "authorization denied" in line and 'principal="User:alice"' in line
            and f'operation="{operation}"' in line and resource in line
            for line in log.splitlines()
        ), f"no log line for the denied {operation} on {resource}"  # fmt: skip


def test_acls_survive_a_restart(broker):
    topic = unique("durable")
    create_topics(broker, topic)
    allow(broker, "User:bob", AclOperation.WRITE, ResourceType.TOPIC, topic)
    before = strom_ok("acl", "list", "--principal", "User:bob", "--brokers", broker.addresses["PLAINTEXT"])
    broker.restart(kill=True)
    after = strom_ok("acl", "list", "--principal", "User:bob", "--brokers", broker.addresses["PLAINTEXT"])
    assert topic in after and after == before
    assert produce(login(broker, "bob"), topic, [b"after restart"]) == [None]


def test_librdkafka_creates_describes_and_deletes_acls(broker):
    admin = admin_client(broker)
    prefix = unique("orders")
    bindings = [
        AclBinding(
            ResourceType.TOPIC,
            prefix,
            ResourcePatternType.PREFIXED,
            "User:carol",
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        ),  # fmt: skip
        AclBinding(
            ResourceType.GROUP,
            prefix,
            ResourcePatternType.LITERAL,
            "User:carol",
            "10.0.0.1",
            AclOperation.READ,
            AclPermissionType.DENY,
        ),  # fmt: skip
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)

    carol = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:carol", None,
                             AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    described = admin.describe_acls(carol).result(timeout=30)
    assert sorted(described) == sorted(bindings)

    # MATCH: the bindings that apply to one topic's name.
    applies = AclBindingFilter(ResourceType.TOPIC, f"{prefix}-eu", ResourcePatternType.MATCH, None, None,
                               AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    assert admin.describe_acls(applies).result(timeout=30) == [bindings[0]]

    deleted = admin.delete_acls([carol])[carol].result(timeout=30)
    assert sorted(deleted) == sorted(bindings)
    assert admin.describe_acls(carol).result(timeout=30) == []


def test_a_user_who_is_not_a_super_user_cannot_change_acls(broker):
    alice = AdminClient(login(broker, "alice"))
    binding = AclBinding(ResourceType.TOPIC, "*", ResourcePatternType.LITERAL, "User:alice", "*",
                         AclOperation.ALL, AclPermissionType.ALLOW)  # fmt: skip
    with pytest.raises(KafkaException) as refused:
        alice.create_acls([binding])[binding].result(timeout=30)
    assert refused.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    as_alice = ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={broker.certs.ca}",
                "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=alice",
                "-X", f"sasl.password={USERS['alice']}"]  # fmt: skip
    listing = strom("acl", "list", "--brokers", broker.addresses["SASL_SSL"], *as_alice)
    assert listing.returncode != 0 and b"CLUSTER_AUTHORIZATION_FAILED" in listing.stderr, listing.stderr


def test_a_consumer_group_works_with_read_on_its_topic_and_group(broker):
    topic, group = unique("feed"), unique("readers")
    create_topics(broker, topic)
    produce({"bootstrap.servers": broker.addresses["PLAINTEXT"]}, topic, [b"x", b"y", b"z"])
    flags = ["--brokers", broker.addresses["PLAINTEXT"]]
    strom_ok("acl", "create", "--allow-principal", "User:bob", "--operation", "read", "--topic", topic, *flags)
    strom_ok("acl", "create", "--allow-principal", "User:bob", "--operation", "read", "--group", group, *flags)

    consumer = Consumer({**login(broker, "bob"), "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < 3 and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is not None and not message.error():
            got.append(message.value())
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, 0)], timeout=30)
    consumer.close()
    assert got == [b"x", b"y", b"z"]
    assert committed[0].offset == 3

    # Without READ on the group, joining it is refused.
    other = Consumer({**login(broker, "bob"), "group.id": unique("other"), "auto.offset.reset": "earliest"})
    other.subscribe([topic])
    try:
        deadline = time.monotonic() + 30
        error = None
        while error is None and time.monotonic() < deadline:
            message = other.poll(1.0)
            if message is not None and message.error():
                error = message.error()
        assert error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error
    finally:
        other.close()


def test_prefixed_patterns_and_deny_through_the_strom_command(broker):
    prefix = unique("logs")
    kept, denied = f"{prefix}-app", f"{prefix}-audit"
    create_topics(broker, kept, denied)
    flags = ["--brokers", broker.addresses["PLAINTEXT"]]
    strom_ok("acl", "create", "--allow-principal", "User:alice", "--operation", "write", "--operation", "describe",
             "--topic", prefix, "--resource-pattern-type", "prefixed", *flags)  # fmt: skip
    strom_ok("acl", "create", "--deny-principal", "User:alice", "--operation", "write", "--topic", denied, *flags)
    listed = strom_ok("acl", "list", "--topic", denied, "--resource-pattern-type", "match", *flags)
    assert "PREFIXED" in listed and "DENY" in listed

    alice = ["--brokers", broker.addresses["SASL_SSL"], "-X", "security.protocol=SASL_SSL",
             "-X", f"ssl.ca.location={broker.certs.ca}", "-X", "sasl.mechanisms=SCRAM-SHA-256",
             "-X", "sasl.username=alice", "-X", f"sasl.password={USERS['alice']}"]  # fmt: skip
    strom_ok("produce", kept, *alice, stdin=b"fine\n")
    refused = strom("produce", denied, *alice, stdin=b"blocked\n")
    assert refused.returncode != 0
    assert b"TOPIC_AUTHORIZATION_FAILED" in refused.stderr, refused.stderr

    deleted = strom_ok("acl", "delete", "--topic", prefix, "--resource-pattern-type", "prefixed", *flags)
    assert deleted.count("deleted ") == 2
    refused = strom("produce", kept, *alice, stdin=b"no longer\n")
    assert refused.returncode != 0 and b"TOPIC_AUTHORIZATION_FAILED" in refused.stderr
    no_filter = strom("acl", "delete", *flags)
    assert no_filter.returncode != 0 and b"--all" in no_filter.stderr


def test_a_client_certificate_is_its_subject_principal(broker):
    topic = unique("mtls")
    create_topics(broker, topic)
    allow(broker, "User:CN=alice-client", AclOperation.WRITE, ResourceType.TOPIC, topic)
    conf = {
        "bootstrap.servers": broker.addresses["SSL"],
        "security.protocol": "SSL",
        "ssl.ca.location": str(broker.certs.ca),
        "ssl.certificate.location": str(broker.certs.client_cert),
        "ssl.key.location": str(broker.certs.client_key),
    }
    assert produce(conf, topic, [b"signed"]) == [None]
    errors = produce(conf, unique("elsewhere"), [b"unsigned"])
    assert errors[0] is not None and errors[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_kafka_python_manages_acls(broker):
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        KafkaAdminClient,
        ResourcePattern,
        ResourcePatternFilter,
    )
    from kafka.admin import ResourceType as KpResourceType

    admin = KafkaAdminClient(bootstrap_servers=broker.addresses["PLAINTEXT"], request_timeout_ms=30000)
    try:
        group = unique("kp-group")
        acl = ACL("User:dave", "*", ACLOperation.DESCRIBE, ACLPermissionType.ALLOW,
                  ResourcePattern(KpResourceType.GROUP, group, ACLResourcePatternType.LITERAL))  # fmt: skip
        created = admin.create_acls([acl])
        assert created["failed"] == [] and len(created["succeeded"]) == 1
        dave = ACLFilter("User:dave", None, ACLOperation.ANY, ACLPermissionType.ANY,
                         ResourcePatternFilter(KpResourceType.ANY, None, ACLResourcePatternType.ANY))  # fmt: skip
        found, error = admin.describe_acls(dave)
        assert error.errno == 0 and [a.resource_pattern.resource_name for a in found] == [group]
        deleted = admin.delete_acls([dave])
        assert len(deleted[0][1]) == 1
        found, _ = admin.describe_acls(dave)
        assert found == []
    finally:
        admin.close()


TOPIC_OPERATIONS = {AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE,
                    AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS,
                    AclOperation.ALTER_CONFIGS}  # fmt: skip
CLUSTER_OPERATIONS = {AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
                      AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS,
                      AclOperation.IDEMPOTENT_WRITE}  # fmt: skip


def described_operations(admin: AdminClient, topic: str, group: str) -> tuple[set, set, set]:
    """KIP-430 through librdkafka: what `admin`'s principal may do on the
    topic, the group and the cluster."""
    topic_ops = admin.describe_topics(TopicCollection([topic]), include_authorized_operations=True)[topic]
    group_ops = admin.describe_consumer_groups([group], include_authorized_operations=True)[group]
    cluster_ops = admin.describe_cluster(include_authorized_operations=True)
    # librdkafka hands an empty set of operations over as None.
    return tuple(set(future.result(timeout=30).authorized_operations or ())
                 for future in (topic_ops, group_ops, cluster_ops))  # fmt: skip


def test_authorized_operations_are_the_callers_own(broker):
    """KIP-430: a described topic, group and cluster carry what the caller
    may do there: bob what his ACLs grant (DESCRIBE implied by WRITE and
    READ), the super user everything Kafka reports."""
    topic, group = unique("ops"), unique("ops-group")
    create_topics(broker, topic)
    allow(broker, "User:bob", AclOperation.WRITE, ResourceType.TOPIC, topic)
    allow(broker, "User:bob", AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, topic)
    allow(broker, "User:bob", AclOperation.READ, ResourceType.GROUP, group)
    bob = described_operations(AdminClient(login(broker, "bob")), topic, group)
    assert bob[0] == {AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS}
    assert bob[1] == {AclOperation.READ, AclOperation.DESCRIBE}
    assert bob[2] == set()  # no ACL of bob's names the cluster
    everything = described_operations(admin_client(broker), topic, group)
    assert everything == (TOPIC_OPERATIONS, {AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE},
                          CLUSTER_OPERATIONS)  # fmt: skip


def test_without_an_authorizer_every_operation_is_authorized(secure_broker):
    secure_broker.ensure_running()
    topic = unique("open-ops")
    create_topics(secure_broker, topic)
    described = described_operations(admin_client(secure_broker), topic, unique("open-group"))
    assert described == (TOPIC_OPERATIONS, {AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE},
                         CLUSTER_OPERATIONS)  # fmt: skip


def test_without_an_authorizer_the_acl_apis_say_security_is_disabled(secure_broker):
    secure_broker.ensure_running()
    listing = strom("acl", "list", "--brokers", secure_broker.addresses["PLAINTEXT"])
    assert listing.returncode != 0 and b"SECURITY_DISABLED" in listing.stderr, listing.stderr
    created = strom("acl", "create", "--allow-principal", "User:x", "--operation", "read", "--topic", "t",
                    "--brokers", secure_broker.addresses["PLAINTEXT"])  # fmt: skip
    assert created.returncode != 0 and b"SECURITY_DISABLED" in created.stderr, created.stderr
