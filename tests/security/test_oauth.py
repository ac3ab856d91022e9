"""OAUTHBEARER logins with real clients: a test identity provider (an RSA
key whose public half is in a JWKS file the broker reads) signs JWTs;
librdkafka (confluent-kafka's `oauth_cb`) and kafka-python
(`sasl_oauth_token_provider`) log in with them, produce and consume; the
token's subject is the principal ACLs name. Expired, unsigned, tampered,
foreign-signed and wrong-audience tokens are refused and logged with the
reason, while the client is told only that the login failed."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from secure_broker import SecureBroker
from secure_clients import REPO_ROOT

STROM_BIN = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")

ISSUER = "https://idp.strom.test"
AUDIENCE = "kafka"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IdentityProvider:
    """Signs RS256 tokens; `jwks` is what the broker trusts."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        as_bytes = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")  # noqa: E731
        self.jwks = {"keys": [{"kty": "RSA", "kid": "test-1", "use": "sig", "alg": "RS256",
                               "n": b64url(as_bytes(numbers.n)), "e": b64url(as_bytes(numbers.e))}]}  # fmt: skip

    def token(self, subject: str, lifetime_s: float = 3600, **overrides) -> str:
        now = time.time()
        claims = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": int(now), "exp": int(now + lifetime_s)}
        claims.update(overrides)
        header = {"alg": "RS256", "typ": "JWT", "kid": "test-1"}
        signed = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{b64url(signature)}"


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider()


@pytest.fixture(scope="module")
def oauth_broker(tmp_path_factory, certs, idp):
    work = tmp_path_factory.mktemp("oauth-broker")
    jwks = work / "jwks.json"
    jwks.write_text(json.dumps(idp.jwks))
    extra = {
        "sasl.enabled.mechanisms": "OAUTHBEARER,SCRAM-SHA-512",
        "sasl.oauthbearer.jwks.endpoint.url": f"file://{jwks}",
        "sasl.oauthbearer.expected.issuer": ISSUER,
        "sasl.oauthbearer.expected.audience": AUDIENCE,
        "authorizer.class.name": "strom",
        "super.users": "User:ANONYMOUS",
    }
    broker = SecureBroker(work, certs, extra)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def allow(broker, principal: str, topic: str) -> None:
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    admin = AdminClient({"bootstrap.servers": broker.addresses["PLAINTEXT"]})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    bindings = [
        AclBinding(
            ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, principal, "*", operation, AclPermissionType.ALLOW
        )  # fmt: skip
        for operation in (AclOperation.WRITE, AclOperation.READ)
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)


def librdkafka_conf(broker, make_token) -> dict:
    return {
        "bootstrap.servers": broker.addresses["SASL_SSL"],
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(broker.certs.ca),
        "sasl.mechanisms": "OAUTHBEARER",
        "oauth_cb": lambda _config: (make_token(), time.time() + 3600),
    }


def test_librdkafka_logs_in_with_a_signed_token_as_its_subject(oauth_broker, idp):
    topic = unique("oauth")
    allow(oauth_broker, "User:svc-orders", topic)
    conf = librdkafka_conf(oauth_broker, lambda: idp.token("svc-orders"))
    producer = Producer(conf)
    producer.produce(topic, b"signed")
    assert producer.flush(30) == 0
    consumer = Consumer({**conf, "group.id": unique("unused"), "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    try:
        message = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and not message.error():
                break
        assert message is not None and message.value() == b"signed"
    finally:
        consumer.close()
    log = oauth_broker.log_text()
    assert 'user="svc-orders"' in log and 'mechanism="OAUTHBEARER"' in log


def test_kafka_python_logs_in_with_a_token_provider(oauth_broker, idp):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class Provider(AbstractTokenProvider):
        def token(self):
            return idp.token("svc-python")

    topic = unique("oauth-kp")
    allow(oauth_broker, "User:svc-python", topic)
    common = dict(
        bootstrap_servers=oauth_broker.addresses["SASL_SSL"], security_protocol="SASL_SSL",
        ssl_cafile=str(oauth_broker.certs.ca), sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider=Provider(),
    )  # fmt: skip
    producer = KafkaProducer(**common)
    producer.send(topic, b"from kafka-python").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=15000, **common)
    values = [record.value for record in consumer]
    consumer.close()
    assert values == [b"from kafka-python"]


@pytest.mark.parametrize(
    "name, make_token, reason",
    [
        ("expired", lambda idp: idp.token("alice", lifetime_s=-3600), "expired"),
        ("wrong audience", lambda idp: idp.token("alice", aud="someone-else"), "audience"),
        ("wrong issuer", lambda idp: idp.token("alice", iss="https://evil.test"), "issuer"),
        ("foreign key", lambda idp: IdentityProvider().token("alice"), "signature"),
        ("tampered", lambda idp: idp.token("alice")[:-6] + "AAAAAA", "signature"),
        ("unsigned", lambda idp: b64url(b'{"alg":"none"}') + "." + idp.token("alice").split(".")[1] + ".", "algorithm"),
    ],
)
def test_bad_tokens_are_refused_and_the_reason_is_logged(oauth_broker, idp, name, make_token, reason):
    time.sleep(1.1)  # the refusal log is limited to 20 lines a second
    token = make_token(idp)
    admin = AdminClient(librdkafka_conf(oauth_broker, lambda: token))
    with pytest.raises(KafkaException) as refused:
        admin.list_topics(timeout=3)
    error = refused.value.args[0]
    assert error.code() in (KafkaError._AUTHENTICATION, KafkaError._TRANSPORT, KafkaError._TIMED_OUT), error
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in oauth_broker.log_text().splitlines() if "OAUTHBEARER token refused" in line]
        if any(reason in line for line in lines):
            break
        time.sleep(0.2)
    assert any(reason in line for line in lines), f"{name}: no refusal naming {reason!r}"


def strom_flags(broker, token_file) -> list[str]:
    settings = {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(broker.certs.ca),
        "sasl.mechanisms": "OAUTHBEARER",
        "sasl.oauthbearer.token.endpoint.url": f"file://{token_file}",
    }
    return ["--brokers", broker.addresses["SASL_SSL"], *(a for k, v in settings.items() for a in ("-X", f"{k}={v}"))]


def test_strom_logs_in_again_with_each_fresh_token(oauth_broker, idp, tmp_path):
    """Strom's client reads its token file at every login; with 3 s tokens
    (the broker ends each login when its token expires) it logs in several
    times with fresh tokens while it produces, and nothing is lost; an
    expired token is refused."""
    import subprocess
    import threading

    topic = unique("oauth-strom")
    allow(oauth_broker, "User:svc-strom", topic)
    token_file = tmp_path / "token"
    token_file.write_text(idp.token("svc-strom", lifetime_s=3))
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(0.5):
            token_file.write_text(idp.token("svc-strom", lifetime_s=3))

    refresher = threading.Thread(target=refresh, daemon=True)
    refresher.start()
    flags = strom_flags(oauth_broker, token_file)
    producer = subprocess.Popen([STROM_BIN, "produce", topic, *flags], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i in range(10):
            producer.stdin.write(f"line-{i}\n".encode())
            producer.stdin.flush()
            time.sleep(0.8)
        producer.stdin.close()
        assert producer.wait(60) == 0, producer.stderr.read().decode()
    finally:
        stop.set()
        producer.kill()
    consumed = subprocess.run([STROM_BIN, "consume", topic, "--from-beginning", "-n", "10", *flags],
                              capture_output=True, timeout=60)  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr.decode()
    assert [json.loads(line)["value"] for line in consumed.stdout.decode().splitlines()] == [
        f"line-{i}" for i in range(10)
    ]

    token_file.write_text(idp.token("svc-strom", lifetime_s=-60))
    expired = subprocess.run([STROM_BIN, "produce", topic, *flags], input=b"late\n", capture_output=True, timeout=60)
    assert expired.returncode != 0 and b"SASL login" in expired.stderr, expired.stderr
