"""Per-listener settings (Kafka's `listener.name.<listener>.<key>`): one
broker whose SSL listener takes clients without certificates while
`ssl.client.auth=required` holds elsewhere, and whose SASL_PLAINTEXT
listener refuses PLAIN (it would send the password in the clear) while
SASL_SSL accepts it; a bad per-listener value stops the broker naming the
key."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from conftest import start_with_users
from secure_broker import USERS, SecureBroker
from secure_clients import CLIENTS, LoginFailed, Security, values

OVERRIDES = {
    "ssl.client.auth": "required",
    "listener.name.ssl.ssl.client.auth": "none",
    "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-512",
}


@pytest.fixture(scope="module")
def overridden(tmp_path_factory, certs):
    broker = start_with_users(SecureBroker(tmp_path_factory.mktemp("overrides"), certs, OVERRIDES))
    try:
        yield broker
    finally:
        broker.stop()


def exchange(broker, listener: str, security: Security) -> list[bytes]:
    return CLIENTS["confluent-kafka"](broker.addresses[listener], f"over-{uuid.uuid4().hex[:8]}", security)


def test_the_ssl_listener_takes_clients_without_a_certificate(overridden, certs):
    assert exchange(overridden, "SSL", Security("SSL", ca=certs.ca)) == values(5, "confluent")


def test_mechanisms_are_the_listeners_own(overridden, certs):
    plain_in_clear = Security("SASL_PLAINTEXT", mechanism="PLAIN", username="alice", password=USERS["alice"])
    with pytest.raises(LoginFailed):
        exchange(overridden, "SASL_PLAINTEXT", plain_in_clear)
    scram = Security("SASL_PLAINTEXT", mechanism="SCRAM-SHA-512", username="alice", password=USERS["alice"])
    assert exchange(overridden, "SASL_PLAINTEXT", scram) == values(5, "confluent")
    plain_over_tls = Security("SASL_SSL", ca=certs.ca, mechanism="PLAIN", username="alice", password=USERS["alice"])
    assert exchange(overridden, "SASL_SSL", plain_over_tls) == values(5, "confluent")


def test_a_bad_per_listener_value_stops_the_broker_naming_it(tmp_path, certs):
    broker = SecureBroker(tmp_path, certs, {"listener.name.ssl.ssl.client.auth": "sometimes"})
    argv = broker._command(0)
    done = subprocess.run(argv, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert b"listener.name.ssl.ssl.client.auth" in done.stderr
