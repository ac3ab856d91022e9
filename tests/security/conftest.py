"""One secured broker for the whole suite, with users alice and bob created
through AlterUserScramCredentials (librdkafka's admin client) over the
PLAINTEXT listener."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from secure_broker import USERS, SecureBroker, make_certificates


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def start_with_users(broker: SecureBroker) -> SecureBroker:
    broker.start()
    admin = AdminClient({"bootstrap.servers": broker.addresses["PLAINTEXT"]})
    upserts = [
        UserScramCredentialUpsertion(user, ScramCredentialInfo(mechanism, 4096), password.encode())
        for user, password in USERS.items()
        for mechanism in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)
    ]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(timeout=30)
    return broker


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory, certs):
    broker = start_with_users(SecureBroker(tmp_path_factory.mktemp("secure-broker"), certs))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def reauth_broker(tmp_path_factory, certs, request):
    """A broker whose logins last 2 s (connections.max.reauth.ms)."""
    extra = {"connections.max.reauth.ms": "2000"}
    broker = start_with_users(SecureBroker(tmp_path_factory.mktemp("reauth-broker"), certs, extra))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def broker(secure_broker, request):
    secure_broker.ensure_running()
    request.node.secure_broker = secure_broker
    yield secure_broker


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    broker = getattr(item, "secure_broker", None)
    if report.when == "call" and report.failed and broker is not None:
        report.sections.append(("broker log (tail)", broker.log_text()[-6000:]))
