"""Encrypted private keys (`ssl.key.password`): a broker whose keystore key
is an encrypted PKCS#8 key (as `openssl pkcs8 -topk8 -v2 aes-256-cbc`
writes it) serves TLS; Strom's client reads its own encrypted key the same
way for mutual TLS; a wrong or missing password stops the broker at start
with the reason; DescribeConfigs never shows the password."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from secure_broker import SecureBroker, free_ports
from secure_clients import REPO_ROOT

STROM = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")


def encrypt(key: Path, out: Path, password: str) -> Path:
    subprocess.run(["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", str(key), "-out", str(out),
                    "-passout", f"pass:{password}"], check=True, capture_output=True)  # fmt: skip
    out.chmod(0o600)
    return out


def encrypted_keystore(certs, work: Path, password: str) -> Path:
    """The test keystore with its key encrypted."""
    text = certs.broker_keystore.read_text()
    start = text.index("-----BEGIN PRIVATE KEY-----")
    end = text.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")
    (work / "plain.key").write_text(text[start:end] + "\n")
    encrypted = encrypt(work / "plain.key", work / "broker.key.p8", password).read_text()
    keystore = work / "broker-encrypted.pem"
    keystore.write_text(encrypted + text[end:])
    keystore.chmod(0o600)
    return keystore


def test_a_broker_and_a_client_use_encrypted_keys(tmp_path_factory, certs):
    work = tmp_path_factory.mktemp("encrypted-keys")
    extra = {"ssl.keystore.location": str(encrypted_keystore(certs, work, "keystore-secret")),
             "ssl.key.password": "keystore-secret"}  # fmt: skip
    broker = SecureBroker(work, certs, extra)
    broker.start()
    try:
        client_key = encrypt(certs.client_key, work / "client.key.p8", "client-secret")
        topic = f"encrypted-{uuid.uuid4().hex[:8]}"
        flags = ["--brokers", broker.addresses["SSL"], "-X", "security.protocol=SSL",
                 "-X", f"ssl.ca.location={certs.ca}", "-X", f"ssl.certificate.location={certs.client_cert}",
                 "-X", f"ssl.key.location={client_key}", "-X", "ssl.key.password=client-secret"]  # fmt: skip
        produced = subprocess.run([STROM, "produce", topic, *flags], input=b"sealed\n", capture_output=True, timeout=60)
        assert produced.returncode == 0, produced.stderr.decode()
        wrong = [f if f != "ssl.key.password=client-secret" else "ssl.key.password=nope" for f in flags]
        refused = subprocess.run([STROM, "produce", topic, *wrong], input=b"x\n", capture_output=True, timeout=60)
        assert refused.returncode != 0 and b"cannot decrypt the key with ssl.key.password" in refused.stderr

        admin = AdminClient({"bootstrap.servers": broker.addresses["PLAINTEXT"]})
        resource = ConfigResource(ResourceType.BROKER, "0")
        entries = admin.describe_configs([resource])[resource].result(timeout=30)
        password = entries["ssl.key.password"]
        assert password.is_sensitive and password.value is None
    finally:
        broker.stop()


@pytest.mark.parametrize("password, reason", [(None, "set ssl.key.password"), ("wrong", "cannot decrypt")])
def test_a_keystore_the_broker_cannot_decrypt_stops_it_with_the_reason(tmp_path, certs, password, reason):
    keystore = encrypted_keystore(certs, tmp_path, "keystore-secret")
    (port,) = free_ports(1)
    argv = [STROM, "server", "--data-dir", str(tmp_path / "data"),
            "--set", f"listeners=PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:0",
            "--set", f"ssl.keystore.location={keystore}"]  # fmt: skip
    if password:
        argv += ["--set", f"ssl.key.password={password}"]
    done = subprocess.run(argv, capture_output=True, timeout=60)
    assert done.returncode != 0
    assert reason in done.stderr.decode(), done.stderr.decode()
    assert "keystore-secret" not in done.stderr.decode()
