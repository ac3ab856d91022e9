"""confluent-kafka's TLS and SASL settings, through the client core: a
producer and a consumer log in to a broker's SASL_SSL listener with
SCRAM-SHA-512 and with PLAIN, and a wrong password is refused. The
certificates come from the system's openssl; the user is made with the
package's own `strom user`."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import strom
from strom.testing import Broker

pytestmark = pytest.mark.skipif(
    os.environ.get("STROM_TEST_KAFKA", "") not in ("", "0") or bool(os.environ.get("STROM_TEST_BOOTSTRAP")),
    reason="the reference broker here has no SASL_SSL listener",
)


def _certificates(directory: Path) -> Path:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=Python test CA", "-keyout", "ca.key", "-out", "ca.pem")
    run("req", *ec, "-subj", "/CN=localhost", "-keyout", "broker.key", "-out", "broker.csr")
    (directory / "broker.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run(
        "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "broker.ext", "-out", "broker.crt",
    )  # fmt: skip
    keystore = directory / "broker.pem"
    keystore.write_bytes((directory / "broker.key").read_bytes() + (directory / "broker.crt").read_bytes())
    keystore.chmod(0o600)
    return keystore


def _create_alice(broker: Broker) -> None:
    """User alice, made with the package's own `strom user`."""
    subprocess.run(
        [sys.executable, "-m", "strom.testing._broker_process", "", "user", "create", "alice",
         "--password", "alice-secret", "--brokers", broker.listeners["PLAINTEXT"]],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Broker, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    broker = Broker(
        {
            "listeners": "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
            "ssl.keystore.location": str(_certificates(directory)),
            "sasl.enabled.mechanisms": "SCRAM-SHA-512,PLAIN",
        }
    )
    broker.start()
    try:
        _create_alice(broker)
        yield broker, directory / "ca.pem"
    finally:
        broker.stop()


def _config(secure: tuple[Broker, Path], mechanism: str, password: str) -> dict[str, str]:
    broker, ca = secure
    return {
        "bootstrap.servers": broker.listeners["SASL_SSL"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": mechanism,
        "sasl.username": "alice",
        "sasl.password": password,
        "ssl.ca.location": str(ca),
    }


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_a_producer_and_a_consumer_log_in_over_sasl_ssl(secure: tuple[Broker, Path], mechanism: str) -> None:
    config = _config(secure, mechanism, "alice-secret")
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    producer = strom.Producer(config)
    for value in (b"one", b"two"):
        producer.produce(topic, value)
    assert producer.flush(30) == 0
    consumer = strom.Consumer({**config, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                got.append(message.value())
            if len(got) == 2:
                break
    finally:
        consumer.close()
    assert got == [b"one", b"two"]


def test_a_wrong_password_is_refused(secure: tuple[Broker, Path]) -> None:
    # The client connects when it is made, so the login fails right there,
    # with Kafka's code and the broker's words.
    with pytest.raises(strom.KafkaException) as refused:
        strom.Producer(_config(secure, "SCRAM-SHA-512", "wrong"))
    error = refused.value.args[0]
    assert error.code() == strom.KafkaError.SASL_AUTHENTICATION_FAILED
    assert "Invalid username or password" in error.str()


def test_scram_users_through_the_admin_client(secure: tuple[Broker, Path]) -> None:
    """confluent-kafka's alter/describe_user_scram_credentials: a user made
    through the admin client logs in; deleted, it no longer does."""
    from strom.admin import (
        AdminClient,
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )

    broker, _ = secure
    admin = AdminClient({"bootstrap.servers": broker.listeners["PLAINTEXT"]})
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    made = admin.alter_user_scram_credentials([UserScramCredentialUpsertion("erin", info, b"erin-secret")])
    assert list(made) == ["erin"] and made["erin"].result(30) is None
    described = admin.describe_user_scram_credentials(["erin", "nobody"])
    assert described["erin"].result(30).scram_credential_infos == [info]
    with pytest.raises(strom.KafkaException) as missing:
        described["nobody"].result(30)
    assert missing.value.args[0].code() == strom.KafkaError.RESOURCE_NOT_FOUND
    every = admin.describe_user_scram_credentials().result(30)
    assert {"alice", "erin"} <= set(every)
    erin = {**_config(secure, "SCRAM-SHA-512", "erin-secret"), "sasl.username": "erin"}
    producer = strom.Producer(erin)
    producer.produce(f"erin-{uuid.uuid4().hex[:8]}", b"x")
    assert producer.flush(30) == 0
    gone = admin.alter_user_scram_credentials([UserScramCredentialDeletion("erin", ScramMechanism.SCRAM_SHA_512)])
    assert gone["erin"].result(30) is None
    with pytest.raises(strom.KafkaException):
        strom.Producer(erin)


@pytest.fixture(scope="module")
def authorizing() -> Iterator[Broker]:
    """A broker with the authorizer on: PLAINTEXT is the operators' door
    (its anonymous principal is the super user), alice logs in over
    SASL_PLAINTEXT."""
    broker = Broker(
        {
            "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:ANONYMOUS",
        }
    )
    broker.start()
    try:
        _create_alice(broker)
        yield broker
    finally:
        broker.stop()


def test_acls_through_the_admin_client(authorizing: Broker) -> None:
    """confluent-kafka's create_acls, describe_acls and delete_acls: alice
    writes the topic an ACL lets her write and is refused another; once
    the ACL is deleted she is refused both."""
    from strom.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        NewTopic,
        ResourcePatternType,
        ResourceType,
    )

    admin = AdminClient({"bootstrap.servers": authorizing.listeners["PLAINTEXT"]})
    prefix = f"py-acl-{uuid.uuid4().hex[:8]}"
    write = AclBinding(ResourceType.TOPIC, prefix, ResourcePatternType.PREFIXED, "User:alice", "*",
                       AclOperation.WRITE, AclPermissionType.ALLOW)  # fmt: skip
    deny = AclBinding("topic", f"{prefix}-secret", "literal", "User:alice", "*", "write", "deny")
    for future in admin.create_topics([NewTopic(f"{prefix}-{name}", 1) for name in ("orders", "secret")]).values():
        future.result(30)
    made = admin.create_acls([write, deny])
    assert [made[write].result(30), made[deny].result(30)] == [None, None]

    alice = {
        "bootstrap.servers": authorizing.listeners["SASL_PLAINTEXT"],
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
        "message.timeout.ms": "10000",
    }

    def delivery_errors(topic: str) -> list:
        errors: list = []
        producer = strom.Producer(alice)
        producer.produce(topic, b"x", on_delivery=lambda err, _msg: errors.append(err))
        assert producer.flush(30) == 0
        return errors

    assert delivery_errors(f"{prefix}-orders") == [None]
    refused = delivery_errors(f"{prefix}-secret")
    assert refused[0] is not None and refused[0].code() == strom.KafkaError.TOPIC_AUTHORIZATION_FAILED

    alices = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:alice", None,
                              AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    assert sorted(admin.describe_acls(alices).result(30)) == sorted([write, deny])
    applying = AclBindingFilter(ResourceType.TOPIC, f"{prefix}-orders", ResourcePatternType.MATCH, None, None,
                                AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    assert admin.describe_acls(applying).result(30) == [write]
    deleted = admin.delete_acls([alices])[alices].result(30)
    assert sorted(deleted) == sorted([write, deny])
    refused = delivery_errors(f"{prefix}-orders")
    assert refused[0] is not None and refused[0].code() == strom.KafkaError.TOPIC_AUTHORIZATION_FAILED

    with pytest.raises(ValueError):
        AclBinding(ResourceType.ANY, "t", ResourcePatternType.LITERAL, "User:a", "*", AclOperation.READ,
                   AclPermissionType.ALLOW)  # fmt: skip
    with pytest.raises(TypeError):
        admin.describe_acls(write)
    alice_admin = AdminClient({k: v for k, v in alice.items() if k != "message.timeout.ms"})
    with pytest.raises(strom.KafkaException) as denied:
        alice_admin.describe_acls(alices).result(30)
    assert denied.value.args[0].code() == strom.KafkaError.CLUSTER_AUTHORIZATION_FAILED


def test_oauth_cb_logs_in_with_a_signed_token(tmp_path: Path) -> None:
    """confluent-kafka's `oauth_cb`: the client asks it for a token at each
    login; the broker checks the token's signature against its JWKS file
    and takes the subject as the principal."""
    import base64
    import json
    import time

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "py",
                      "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big"))}]}  # fmt: skip
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))

    def token(subject: str) -> str:
        header = b64url(json.dumps({"alg": "ES256", "kid": "py"}).encode())
        claims = b64url(json.dumps({"sub": subject, "exp": int(time.time()) + 600}).encode())
        r, s = decode_dss_signature(key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
        return f"{header}.{claims}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    broker = Broker(
        {
            "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
            "sasl.enabled.mechanisms": "OAUTHBEARER",
            "sasl.oauthbearer.jwks.endpoint.url": f"file://{tmp_path / 'jwks.json'}",
        }
    )
    broker.start()
    try:
        asked: list[str] = []

        def oauth_cb(oauthbearer_config: str) -> tuple[str, float]:
            asked.append(oauthbearer_config)
            return token("svc-python"), time.time() + 600

        config = {
            "bootstrap.servers": broker.listeners["SASL_PLAINTEXT"],
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "OAUTHBEARER",
            "sasl.oauthbearer.config": "scope=kafka",
            "oauth_cb": oauth_cb,
        }
        producer = strom.Producer(config)
        producer.produce(f"oauth-{uuid.uuid4().hex[:8]}", b"x")
        assert producer.flush(30) == 0
        assert asked and asked[0] == "scope=kafka"

        def refused_cb(_config: str) -> tuple[str, float]:
            return "not.a.token", time.time() + 600

        with pytest.raises(strom.KafkaException) as refused:
            strom.Producer({**config, "oauth_cb": refused_cb})
        assert refused.value.args[0].code() == strom.KafkaError.SASL_AUTHENTICATION_FAILED
    finally:
        broker.stop()
