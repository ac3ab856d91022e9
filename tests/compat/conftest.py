"""Fixtures for the real-client compatibility suite.

Which broker the suite talks to:
  default                          the built `strom` binary (target/debug/strom,
                                   or STROM_BIN), started on 127.0.0.1:0
  STROM_TEST_BROKER=kafka          Apache Kafka from scripts/kafka (the
                                   reference: every test should pass there)
  STROM_TEST_BOOTSTRAP=host:port   an external broker; restart tests skip

One broker serves the whole session (Kafka takes seconds to start); the
`broker` fixture restarts it first if an earlier test left it dead, and adds
the broker's log to the report of a failed test.
"""

from __future__ import annotations

import os
import uuid

import pytest

from brokers import BrokerProcess, ExternalBroker, kafka_broker, strom_broker
from groups import missing_group_apis
from kafka_admin import create_topic

GROUPS_SKIP_REASON = "needs consumer groups (issue: Consumer groups)"


@pytest.fixture(scope="session")
def session_broker(tmp_path_factory):
    external = os.environ.get("STROM_TEST_BOOTSTRAP")
    if external:
        yield ExternalBroker(external)
        return
    workdir = tmp_path_factory.mktemp("broker")
    kind = os.environ.get("STROM_TEST_BROKER", "strom")
    if kind == "kafka":
        process = kafka_broker(workdir)
    elif kind == "strom":
        process = strom_broker(workdir)
    else:
        raise pytest.UsageError(f"STROM_TEST_BROKER must be strom or kafka, not {kind!r}")
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def reference_kafka(tmp_path_factory):
    """Apache Kafka itself (scripts/kafka), whatever broker the suite tests:
    for tests that compare with Kafka or run a client against it."""
    process = kafka_broker(tmp_path_factory.mktemp("reference-kafka"))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def broker(session_broker, request):
    """The broker under test: .bootstrap, .restart(kill=True), .stop(), .kind."""
    session_broker.ensure_running()
    request.node.strom_broker = session_broker
    request.node.strom_broker_log_sizes = session_broker.log_sizes()
    yield session_broker


@pytest.fixture
def restartable_broker(broker):
    if not broker.can_restart:
        pytest.skip("needs a broker the suite started itself (STROM_TEST_BOOTSTRAP is set)")
    return broker


@pytest.fixture
def groups_supported(broker):
    """Skips tests that need a group coordinator on a broker that does not
    advertise the group APIs in ApiVersions (one that does must pass)."""
    missing = missing_group_apis(broker.bootstrap)
    if missing:
        pytest.skip(f"{GROUPS_SKIP_REASON}: the broker does not offer {', '.join(missing)}")


@pytest.fixture
def topic_factory(broker):
    """Creates fresh topics (6 partitions, replication factor 1 by default)."""

    def make(partitions: int = 6, prefix: str = "compat") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        create_topic(broker.bootstrap, name, partitions)
        return name

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        process = getattr(item, "strom_broker", None)
        if isinstance(process, BrokerProcess):
            since = getattr(item, "strom_broker_log_sizes", None)
            report.sections.append((f"{process.kind} broker log during this test", process.log_tail(since=since)))
