"""Strom's client core against Apache Kafka secured the way managed Kafka
services are (SASL_SSL with SCRAM-SHA-512): `strom user` creates the user
through Kafka's AlterUserScramCredentials, then `strom produce` and
`strom consume` log in over TLS. The same steps run against Strom in
test_security.py."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
from brokers import REPO_ROOT, BrokerProcess

from secure_broker import free_ports
from secure_clients import LoginFailed, Security, strom_cli, values

JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"


@pytest.fixture(scope="module")
def secure_kafka(tmp_path_factory, certs):
    workdir = tmp_path_factory.mktemp("secure-kafka")
    data_dir = workdir / "kafka"
    plain, controller, sasl_ssl = free_ports(3)
    settings = {
        "listeners": f"PLAINTEXT://127.0.0.1:{plain},CONTROLLER://127.0.0.1:{controller},SASL_SSL://127.0.0.1:{sasl_ssl}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{plain},SASL_SSL://127.0.0.1:{sasl_ssl}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": JAAS,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs.broker_keystore),
    }
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]

    def command(_port: int):
        return [
            str(REPO_ROOT / "scripts" / "kafka"), "--dir", str(data_dir), "--port", str(plain),
            "--controller-port", str(controller), *sets,
        ]  # fmt: skip

    kafka = BrokerProcess("kafka", command, data_dir, workdir / "kafka.stderr", extra_logs=[data_dir / "kafka.log"])
    kafka.start()
    kafka.addresses = {"PLAINTEXT": f"127.0.0.1:{plain}", "SASL_SSL": f"127.0.0.1:{sasl_ssl}"}
    try:
        yield kafka
    finally:
        kafka.stop()


def test_strom_client_logs_in_to_apache_kafka_over_sasl_ssl_with_scram(secure_kafka, certs):
    binary = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")
    created = subprocess.run(
        [binary, "user", "create", "dave", "--mechanism", "SCRAM-SHA-512",
         "--brokers", secure_kafka.addresses["PLAINTEXT"]],
        input=b"dave-secret\n", capture_output=True, timeout=60,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    dave = Security("SASL_SSL", ca=certs.ca, mechanism="SCRAM-SHA-512", username="dave", password="dave-secret")
    topic = f"kafka-secure-{uuid.uuid4().hex[:8]}"
    # Kafka's SCRAM credentials reach its SASL listener through its
    # metadata log; the first login may come just before they do.
    for attempt in range(20):
        try:
            got = strom_cli(secure_kafka.addresses["SASL_SSL"], topic, dave)
            break
        except LoginFailed:
            if attempt == 19:
                raise
            time.sleep(0.5)
    assert got == values(5, "strom")
    wrong = Security("SASL_SSL", ca=certs.ca, mechanism="SCRAM-SHA-512", username="dave", password="not-it")
    with pytest.raises(LoginFailed) as refused:
        strom_cli(secure_kafka.addresses["SASL_SSL"], topic, wrong)
    assert "SASL login" in str(refused.value)
