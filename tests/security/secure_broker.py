"""A `strom server` with every kind of listener, and the certificates and
users the security tests log in with.

Listeners: PLAINTEXT (the admin's door, used to create users), SASL_SSL,
SASL_PLAINTEXT and SSL with client certificates required. Certificates
come from a throwaway CA made with `cryptography`; the broker's carries
127.0.0.1 as an IP SAN, so clients verify the host name they dial.
"""

from __future__ import annotations

import datetime
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compat"))

from brokers import REPO_ROOT, BrokerProcess, free_ports  # noqa: E402

USERS = {"alice": "alice-secret", "bob": "bob-secret"}


@dataclass
class Certificates:
    ca: Path
    broker_keystore: Path
    client_cert: Path
    client_key: Path
    client_keystore: Path  # key + certificate in one PEM (Java's PEM keystore)
    expired_cert: Path
    expired_key: Path
    stranger_cert: Path  # signed by a CA the broker does not trust
    stranger_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject, key, issuer, issuer_key, *, ca=False, server=False, days=(-1, 365)):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        import ipaddress

        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _pem_cert(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certificates(directory: Path) -> Certificates:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("Strom test CA", ca_key, "Strom test CA", ca_key, ca=True, days=(-1, 3650))
    other_ca_key = ec.generate_private_key(ec.SECP256R1())

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        os.chmod(path, 0o600)
        return path

    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _issue("localhost", broker_key, "Strom test CA", ca_key, server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue("alice-client", client_key, "Strom test CA", ca_key)
    expired_key = ec.generate_private_key(ec.SECP256R1())
    expired = _issue("expired-client", expired_key, "Strom test CA", ca_key, days=(-30, -1))
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _issue("stranger", stranger_key, "Other CA", other_ca_key)
    return Certificates(
        ca=write("ca.pem", _pem_cert(ca)),
        broker_keystore=write("broker.pem", _pem_key(broker_key) + _pem_cert(broker) + _pem_cert(ca)),
        client_cert=write("client.pem", _pem_cert(client)),
        client_key=write("client.key", _pem_key(client_key)),
        client_keystore=write("client-keystore.pem", _pem_key(client_key) + _pem_cert(client)),
        expired_cert=write("expired.pem", _pem_cert(expired)),
        expired_key=write("expired.key", _pem_key(expired_key)),
        stranger_cert=write("stranger.pem", _pem_cert(stranger)),
        stranger_key=write("stranger.key", _pem_key(stranger_key)),
    )


class SecureBroker(BrokerProcess):
    """A strom broker with one listener of each kind, on fixed ports so a
    restart keeps every address."""

    def __init__(self, workdir: Path, certs: Certificates, extra: dict | None = None):
        ports = dict(zip(("PLAINTEXT", "SASL_SSL", "SASL_PLAINTEXT", "SSL"), free_ports(4)))
        self.addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
        self.certs = certs
        binary = os.environ.get("STROM_BIN") or str(REPO_ROOT / "target" / "debug" / "strom")
        data_dir = workdir / "strom-data"
        settings = {
            "listeners": ",".join(f"{name}://{address}" for name, address in self.addresses.items()),
            "ssl.keystore.location": str(certs.broker_keystore),
            "ssl.truststore.location": str(certs.ca),
            "ssl.client.auth": "required",
            "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
            **(extra or {}),
        }
        sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]

        def command(_port: int):
            return [binary, "server", "--data-dir", str(data_dir), *sets]

        super().__init__("strom", command, data_dir, workdir / "strom.stderr")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
