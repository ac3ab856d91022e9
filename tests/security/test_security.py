"""TLS, SASL and SCRAM credentials with real clients: Java, librdkafka
(confluent-kafka), kafkajs and kafka-python log in over SASL_SSL with
SCRAM-SHA-512 and with PLAIN, and over mutual TLS; bad logins and bad
certificates are refused, logged, and told nothing about what was wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient

from secure_broker import USERS
from secure_clients import CLIENTS, LoginFailed, Security, confluent_round_trip, strom_settings, values

GENERIC_REFUSAL = "Invalid username or password"


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def settle_log_limit() -> None:
    """The broker logs at most 20 refusals of a kind a second, the first of
    a second always: start on a fresh second so this test's is written."""
    time.sleep(1.1)


def sasl_ssl(certs, mechanism: str, user: str = "alice", password: str | None = None) -> Security:
    return Security("SASL_SSL", ca=certs.ca, mechanism=mechanism, username=user, password=password or USERS[user])


def mutual_tls(certs) -> Security:
    return Security("SSL", ca=certs.ca, cert=certs.client_cert, key=certs.client_key, keystore=certs.client_keystore)


LOGINS = {
    "sasl_ssl-scram-sha-512": lambda certs: ("SASL_SSL", sasl_ssl(certs, "SCRAM-SHA-512")),
    "sasl_ssl-plain": lambda certs: ("SASL_SSL", sasl_ssl(certs, "PLAIN")),
    "ssl-client-certificate": lambda certs: ("SSL", mutual_tls(certs)),
}


@pytest.mark.parametrize("login", LOGINS)
@pytest.mark.parametrize("client", CLIENTS)
def test_clients_produce_and_consume_over_a_secured_listener(broker, certs, client, login):
    listener, security = LOGINS[login](certs)
    topic = topic_name(f"secure-{client}")
    got = CLIENTS[client](broker.addresses[listener], topic, security)
    assert got == values(5, client.replace("confluent-kafka", "confluent"))


def test_large_reads_over_tls_carry_every_byte(broker, certs):
    """Reads of 16 KiB and more leave a plain TCP listener with sendfile,
    straight from the segment files; TLS must encrypt them, so there the
    broker reads the files in chunks. 3 MB of 1-6 KiB records, some
    batches far larger than a chunk, come back byte for byte."""
    listener, security = LOGINS["ssl-client-certificate"](certs)
    sent = [os.urandom(1024 * (1 + i % 6)) for i in range(900)]
    got = confluent_round_trip(broker.addresses[listener], topic_name("tls-large"), security, sent)
    assert got == sent


def test_kcat_with_the_systems_older_librdkafka_logs_in_with_scram(broker, certs):
    """librdkafka 2.0 (Debian's kcat) sees SASL only when SaslHandshake v0
    is advertised, and repeats its nonce in its final SCRAM message."""
    topic = topic_name("kcat")
    args = [
        "kcat", "-b", broker.addresses["SASL_SSL"], "-X", "security.protocol=SASL_SSL",
        "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=alice", "-X", f"sasl.password={USERS['alice']}",
        "-X", f"ssl.ca.location={certs.ca}", "-t", topic,
    ]  # fmt: skip
    subprocess.run([*args, "-P"], input=b"one\ntwo\n", check=True, timeout=60, capture_output=True)
    read = subprocess.run([*args, "-C", "-e", "-q"], check=True, timeout=60, capture_output=True)
    assert read.stdout.split() == [b"one", b"two"]


def test_scram_sha_256_over_sasl_plaintext(broker):
    security = Security("SASL_PLAINTEXT", mechanism="SCRAM-SHA-256", username="bob", password=USERS["bob"])
    assert CLIENTS["confluent-kafka"](broker.addresses["SASL_PLAINTEXT"], topic_name("scram256"), security) == values(
        5, "confluent"
    )


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
@pytest.mark.parametrize("who", ["wrong-password", "unknown-user"])
def test_a_bad_login_is_refused_alike_and_logged_with_the_reason(broker, certs, mechanism, who):
    user, password = ("alice", "not-her-password") if who == "wrong-password" else ("mallory", "anything")
    security = (
        sasl_ssl(certs, mechanism, user, password)
        if user in USERS
        else Security("SASL_SSL", ca=certs.ca, mechanism=mechanism, username=user, password=password)
    )
    settle_log_limit()
    before = len(broker.log_text())
    with pytest.raises(LoginFailed) as refused:
        CLIENTS["confluent-kafka"](broker.addresses["SASL_SSL"], topic_name("refused"), security)
    # The client hears the same words whatever was wrong...
    assert GENERIC_REFUSAL in str(refused.value)
    assert "unknown user" not in str(refused.value) and "wrong password" not in str(refused.value)
    # ...the broker's log says what it was.
    log = broker.log_text()[before:]
    assert "authentication failed" in log and f"user={user}" in log.replace('"', "")


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python", "java", "strom"])
def test_a_wrong_password_is_refused_for_every_client(broker, certs, client):
    with pytest.raises(LoginFailed):
        CLIENTS[client](
            broker.addresses["SASL_SSL"], topic_name("refused"), sasl_ssl(certs, "SCRAM-SHA-512", "alice", "nope")
        )


@pytest.mark.parametrize(
    "certificate",
    ["none", "expired", "from-an-untrusted-ca"],
)
def test_the_ssl_listener_refuses_clients_without_a_trusted_current_certificate(broker, certs, certificate):
    cert, key = {
        "none": (None, None),
        "expired": (certs.expired_cert, certs.expired_key),
        "from-an-untrusted-ca": (certs.stranger_cert, certs.stranger_key),
    }[certificate]
    security = Security("SSL", ca=certs.ca, cert=cert, key=key)
    settle_log_limit()
    before = len(broker.log_text())
    with pytest.raises(LoginFailed):
        CLIENTS["confluent-kafka"](broker.addresses["SSL"], topic_name("mtls"), security)
    assert "TLS handshake failed" in broker.log_text()[before:]


def test_a_client_that_does_not_trust_the_broker_certificate_does_not_connect(broker, certs, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(certs.stranger_cert.read_bytes())
    security = Security("SASL_SSL", ca=other_ca, mechanism="SCRAM-SHA-512", username="alice", password=USERS["alice"])
    with pytest.raises(LoginFailed):
        CLIENTS["confluent-kafka"](broker.addresses["SASL_SSL"], topic_name("untrusted"), security)


# --- the SCRAM exchange by hand, to tamper with it -------------------------


def _frame(api_key: int, version: int, correlation: int, body: bytes) -> bytes:
    client_id = b"scram-by-hand"
    header = struct.pack(">hhih", api_key, version, correlation, len(client_id)) + client_id
    return struct.pack(">i", len(header) + len(body)) + header + body


def _read_frame(sock: socket.socket) -> bytes | None:
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    size = exactly(4)
    return None if size is None else exactly(struct.unpack(">i", size)[0])


def _authenticate(sock: socket.socket, correlation: int, token: bytes) -> tuple[int, bytes]:
    """SaslAuthenticate v1: (error code, server's bytes)."""
    sock.sendall(_frame(36, 1, correlation, struct.pack(">i", len(token)) + token))
    reply = _read_frame(sock)
    assert reply is not None, "the broker closed the connection without answering"
    error, message_len = struct.unpack(">hh", reply[4:8])
    rest = reply[8 + max(message_len, 0) :]
    (size,) = struct.unpack(">i", rest[:4])
    return error, rest[4 : 4 + size]


def _scram_login(address: str, password: str, tamper: bool) -> tuple[int, socket.socket]:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    mechanism = b"SCRAM-SHA-256"
    sock.sendall(_frame(17, 1, 1, struct.pack(">h", len(mechanism)) + mechanism))
    handshake = _read_frame(sock)
    assert handshake is not None and struct.unpack(">h", handshake[4:6])[0] == 0
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = f"n=alice,r={nonce}"
    error, server_first = _authenticate(sock, 2, f"n,,{first_bare}".encode())
    assert error == 0
    fields = dict(item.split("=", 1) for item in server_first.decode().split(","))
    assert fields["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first.decode()},{without_proof}".encode()
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = bytearray(a ^ b for a, b in zip(client_key, signature))
    if tamper:
        proof[0] ^= 0x01
    final = f"{without_proof},p={base64.b64encode(bytes(proof)).decode()}".encode()
    error, _ = _authenticate(sock, 3, final)
    return error, sock


def test_a_tampered_scram_proof_is_refused_and_the_connection_closed(broker):
    address = broker.addresses["SASL_PLAINTEXT"]
    error, sock = _scram_login(address, USERS["alice"], tamper=False)
    assert error == 0, "the untampered exchange logs in"
    sock.close()
    error, sock = _scram_login(address, USERS["alice"], tamper=True)
    with sock:
        assert error == 58  # SASL_AUTHENTICATION_FAILED
        assert _read_frame(sock) is None, "the connection is closed after a failed login"


def test_requests_before_login_close_the_connection(broker):
    host, port = broker.addresses["SASL_PLAINTEXT"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(_frame(3, 4, 1, b"\xff\xff\xff\xff\x00"))  # Metadata v4, all topics
        assert _read_frame(sock) is None


def test_users_are_described_and_survive_a_restart(broker, certs):
    admin = AdminClient({"bootstrap.servers": broker.addresses["PLAINTEXT"]})
    described = admin.describe_user_scram_credentials(["alice", "bob"])
    for user, future in described.items():
        mechanisms = {info.mechanism.name for info in future.result(timeout=30).scram_credential_infos}
        assert mechanisms == {"SCRAM_SHA_256", "SCRAM_SHA_512"}, user
    broker.restart(kill=True)
    topic = topic_name("after-restart")
    assert CLIENTS["confluent-kafka"](broker.addresses["SASL_SSL"], topic, sasl_ssl(certs, "SCRAM-SHA-512")) == values(
        5, "confluent"
    )


def test_a_stranger_cannot_make_the_broker_buffer_a_large_frame(broker):
    """Before login a frame may not exceed 512 KiB (Kafka's
    sasl.server.max.receive.size): a larger announced size closes the
    connection at once, before any of it is read."""
    host, port = broker.addresses["SASL_PLAINTEXT"].rsplit(":", 1)
    before = len(broker.log_text())
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(struct.pack(">i", 100 * 1024 * 1024) + struct.pack(">hh", 36, 1))
        assert _read_frame(sock) is None
    assert "bad frame length" in broker.log_text()[before:]


def test_strom_user_creates_and_deletes_logins(broker, certs):
    """`strom user` (Strom's admin client) manages the users a login is
    checked against; it may itself log in over SASL_SSL."""
    binary = os.environ.get("STROM_BIN") or "target/debug/strom"
    plaintext = ["--brokers", broker.addresses["PLAINTEXT"]]
    created = subprocess.run(
        [binary, "user", "create", "carol", "--mechanism", "SCRAM-SHA-256", *plaintext],
        input=b"carol-secret\n", capture_output=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    carol = Security("SASL_SSL", ca=certs.ca, mechanism="SCRAM-SHA-256", username="carol", password="carol-secret")
    assert CLIENTS["confluent-kafka"](broker.addresses["SASL_SSL"], topic_name("carol"), carol) == values(
        5, "confluent"
    )
    as_alice = ["--brokers", broker.addresses["SASL_SSL"], *strom_settings(sasl_ssl(certs, "SCRAM-SHA-512"))]
    listed = subprocess.run([binary, "user", "list", *as_alice], capture_output=True, timeout=60, check=True)
    assert b"carol" in listed.stdout and b"SCRAM-SHA-256(4096)" in listed.stdout
    subprocess.run([binary, "user", "delete", "carol", *as_alice], capture_output=True, timeout=60, check=True)
    with pytest.raises(LoginFailed):
        CLIENTS["confluent-kafka"](broker.addresses["SASL_SSL"], topic_name("carol"), carol)
