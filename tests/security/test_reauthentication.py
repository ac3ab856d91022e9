"""KIP-368: with connections.max.reauth.ms a SASL login lasts that long.
Clients that know it (librdkafka, Strom's own) log in again on the same
connection and go on; a connection whose login expired is closed at its
next request."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid

from confluent_kafka import Producer

from secure_broker import USERS
from secure_clients import strom_settings
from test_security import _frame, _read_frame, _scram_login, sasl_ssl

EXPIRED = "its SASL login expired"
SECONDS = 7.0  # more than three 2 s logins


def test_librdkafka_logs_in_again_and_keeps_producing(reauth_broker, certs):
    security = sasl_ssl(certs, "SCRAM-SHA-512")
    before = len(reauth_broker.log_text())
    delivered: list = []
    producer = Producer(
        {
            "bootstrap.servers": reauth_broker.addresses["SASL_SSL"],
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": security.username,
            "sasl.password": security.password,
            "ssl.ca.location": str(certs.ca),
            "linger.ms": "0",
        }
    )
    topic = f"reauth-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + SECONDS
    sent = 0
    while time.monotonic() < deadline:
        producer.produce(topic, b"x", on_delivery=lambda err, _msg: delivered.append(err))
        sent += 1
        producer.poll(0.2)
    producer.flush(30)
    assert delivered == [None] * sent
    assert EXPIRED not in reauth_broker.log_text()[before:]


def test_strom_client_logs_in_again_and_keeps_producing(reauth_broker, certs):
    binary = os.environ.get("STROM_BIN") or "target/debug/strom"
    before = len(reauth_broker.log_text())
    topic = f"reauth-{uuid.uuid4().hex[:8]}"
    args = ["--brokers", reauth_broker.addresses["SASL_SSL"], *strom_settings(sasl_ssl(certs, "SCRAM-SHA-256"))]
    producer = subprocess.Popen([binary, "produce", topic, *args], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert producer.stdin is not None
    lines = 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        producer.stdin.write(b"x\n")
        producer.stdin.flush()
        lines += 1
        time.sleep(0.25)
    producer.stdin.close()
    assert producer.wait(timeout=60) == 0, producer.stderr.read() if producer.stderr else ""
    consumed = subprocess.run(
        [binary, "consume", topic, "--from-beginning", "-n", str(lines), *args], capture_output=True, timeout=60
    )
    assert consumed.returncode == 0 and len(consumed.stdout.splitlines()) == lines
    assert EXPIRED not in reauth_broker.log_text()[before:]


def test_a_client_that_does_not_log_in_again_is_cut_off(reauth_broker):
    address = reauth_broker.addresses["SASL_PLAINTEXT"]
    error, sock = _scram_login(address, USERS["alice"], tamper=False)
    with sock:
        assert error == 0
        sock.sendall(_frame(3, 4, 10, b"\xff\xff\xff\xff\x00"))  # Metadata: answered
        assert _read_frame(sock) is not None
        time.sleep(2.5)
        sock.sendall(_frame(3, 4, 11, b"\xff\xff\xff\xff\x00"))
        try:
            assert _read_frame(sock) is None, "answered after the login expired"
        except socket.timeout:
            raise AssertionError("neither answered nor closed") from None
    assert EXPIRED in reauth_broker.log_text()
