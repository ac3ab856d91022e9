"""The broker's HTTP listener: /healthz, /readyz and /metrics (parsed by
Prometheus's own Python client as OpenMetrics text). After N records
produced and M committed by a group, the topic's record count is N and
the group's lag N - M (in /metrics and in the console's JSON API);
request and fsync histograms have counts; the process reports its
memory; slow HTTP clients hold up neither Kafka nor later HTTP."""

from __future__ import annotations

import json
import signal
import socket
import struct
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.openmetrics.parser import text_string_to_metric_families

import wire
from http_broker import get, http_broker

RECORDS = 25
COMMITTED = 10


@pytest.fixture
def monitored(tmp_path):
    broker, http_port = http_broker(tmp_path)
    broker.start()
    try:
        yield broker, f"http://127.0.0.1:{http_port}"
    finally:
        broker.stop()


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics: (sample name, sorted labels) -> value."""
    status, content_type, text = get(f"{base}/metrics")
    assert status == 200 and content_type.startswith("application/openmetrics-text")
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_health_and_readiness(monitored):
    _, base = monitored
    assert get(f"{base}/healthz")[0] == 200
    assert get(f"{base}/readyz") == (200, "text/plain; charset=utf-8", "ready\n")
    assert get(f"{base}/nothing-here")[0] == 404


def test_metrics_count_records_lag_and_requests(monitored):
    broker, base = monitored
    topic, group = f"mon-{uuid.uuid4().hex[:8]}", f"mon-group-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(RECORDS):
        producer.produce(topic, f"record-{i}".encode())
        producer.poll(0)
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    seen = 0
    while seen < RECORDS:
        message = consumer.poll(10)
        assert message is not None, f"only {seen} records consumed"
        assert message.error() is None
        seen += 1
    consumer.commit(offsets=[TopicPartition(topic, 0, COMMITTED)], asynchronous=False)

    samples = scrape(base)
    by_topic = (("topic", topic),)
    assert samples[("strom_topic_records_in_total", by_topic)] == RECORDS
    assert samples[("strom_topic_bytes_in_total", by_topic)] > RECORDS * len("record-0")
    assert samples[("strom_topic_bytes_out_total", by_topic)] > 0
    partition = (("partition", "0"), ("topic", topic))
    assert samples[("strom_partition_log_end_offset", partition)] == RECORDS
    assert samples[("strom_partition_log_size_bytes", partition)] > 0
    lag = (("group", group), ("partition", "0"), ("topic", topic))
    assert samples[("strom_consumer_group_lag", lag)] == RECORDS - COMMITTED
    assert samples[("strom_consumer_group_members", (("group", group),))] == 1
    produce = (("api", "Produce"),)
    assert samples[("strom_requests_total", (("api", "Produce"), ("error", "NONE")))] >= 1
    assert samples[("strom_request_duration_seconds_count", produce)] >= 1
    assert samples[("strom_request_duration_seconds_bucket", (("api", "Produce"), ("le", "+Inf")))] >= 1
    # Acknowledged produces waited for a sync of the log (fsync by default).
    assert samples[("strom_log_fsync_duration_seconds_count", ())] >= 1
    assert samples[("strom_connections", ())] >= 2
    assert samples[("process_resident_memory_bytes", ())] > 1_000_000
    assert samples[("strom_metrics_omitted_topics", ())] == 0

    # The console's JSON API says the same.
    topics = json.loads(get(f"{base}/v1/topics")[2])
    mine = next(t for t in topics["topics"] if t["name"] == topic)
    assert mine["partitions"][0]["log_end_offset"] == RECORDS
    assert mine["partitions"][0]["high_watermark"] == RECORDS
    groups = json.loads(get(f"{base}/v1/groups")[2])
    ours = next(g for g in groups["groups"] if g["group"] == group)
    assert len(ours["members"]) == 1
    assert ours["offsets"] == [{"topic": topic, "partition": 0, "committed": COMMITTED, "lag": RECORDS - COMMITTED}]
    cluster = json.loads(get(f"{base}/v1/cluster")[2])
    assert cluster["cluster_id"] and [b["port"] for b in cluster["brokers"]] == [
        int(broker.bootstrap.rsplit(":", 1)[1])
    ]

    # The consumer waits at the end of the log: the next append is kept in
    # memory for it, and the gauge says so.
    producer.produce(topic, b"kept")
    assert producer.flush(30) == 0
    message = consumer.poll(10)
    assert message is not None and message.value() == b"kept"
    after = scrape(base)
    assert after[("strom_fetch_cache_bytes", ())] >= len(b"kept")
    assert after[("strom_fetch_reads_total", (("from", "memory"),))] >= 1
    # The records before were read from the segment files.
    assert after[("strom_fetch_reads_total", (("from", "files"),))] >= 1

    consumer.close()
    assert scrape(base)[("strom_consumer_group_members", (("group", group),))] == 0

    # A request answered with a top-level error is counted under it: a SASL
    # handshake (v1, mechanism PLAIN) on a listener without SASL.
    sock = wire.connect(broker.bootstrap)
    body = struct.pack(">h", 5) + b"PLAIN"
    sock.sendall(wire.frame(wire.request_header_v1(17, 1, 7) + body))
    wire.read_frame(sock)
    sock.close()
    refused = (("api", "SaslHandshake"), ("error", "ILLEGAL_SASL_STATE"))
    assert scrape(base)[("strom_requests_total", refused)] == 1


def test_slow_http_clients_hold_up_neither_kafka_nor_later_http(monitored):
    """200 connections that send half a request and wait: the HTTP listener
    takes at most its limit and closes the rest; Kafka serves throughout,
    and HTTP answers again once they are gone. A client that stays slow is
    closed once the header timeout (10 s) passes."""
    broker, base = monitored
    port = int(base.rsplit(":", 1)[1])
    slow = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        slow.append(s)
    try:
        topic = f"mon-slow-{uuid.uuid4().hex[:8]}"
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        producer.produce(topic, b"still served")
        assert producer.flush(30) == 0
    finally:
        for s in slow:
            s.close()
    deadline = time.monotonic() + 30
    while get_or_none(f"{base}/healthz") != 200:
        assert time.monotonic() < deadline, "HTTP did not answer again"
        time.sleep(0.2)

    # Slow clients left alone are closed by the broker: a dribble of header
    # lines does not keep a connection past the header timeout.
    dribbler = socket.create_connection(("127.0.0.1", port), timeout=2)
    dribbler.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n")
    closed_by_broker = False
    deadline = time.monotonic() + 30
    while not closed_by_broker and time.monotonic() < deadline:
        try:
            dribbler.sendall(b"X-Slow: 1\r\n")
            dribbler.recv(1)  # the end of the stream, or a 408 before it
            closed_by_broker = True
        except TimeoutError:
            continue
        except OSError:
            closed_by_broker = True
    dribbler.close()
    assert closed_by_broker, "a dribbling HTTP client was kept open for 30 s"


def get_or_none(url: str) -> int | None:
    try:
        return get(url)[0]
    except OSError:
        return None


def test_readyz_is_503_while_logs_recover_after_a_kill(tmp_path):
    """After a SIGKILL with 150 MB written, the restarted broker answers
    /readyz 503 ("recovering logs") until it serves Kafka, then 200;
    /healthz answers throughout."""
    broker, http_port = http_broker(tmp_path)
    broker.start()
    try:
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20, "batch.size": 1_000_000})
        value = b"r" * 10_000
        for _ in range(15_000):
            while True:
                try:
                    producer.produce("recovering", value)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
        assert producer.flush(120) == 0

        # (path, status, text, when the request was sent): an answer is
        # judged by when its request left, as one sent before the ready
        # line may be answered (503) after it.
        answers: list[tuple[str, int, str, float]] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                for path in ("/readyz", "/healthz"):
                    sent = time.monotonic()
                    try:
                        status, _, text = get(f"http://127.0.0.1:{http_port}{path}")
                        answers.append((path, status, text, sent))
                    except OSError:
                        pass  # not bound yet
                time.sleep(0.002)

        broker._kill_group(signal.SIGKILL)
        poller = threading.Thread(target=poll)
        poller.start()
        try:
            broker.start()  # returns at the ready line
            ready_time = time.monotonic()
            deadline = ready_time + 10
            while not any(a[0] == "/readyz" and a[3] > ready_time for a in answers) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
            poller.join()
        readyz = [a for a in answers if a[0] == "/readyz"]
        before = [(status, text) for _, status, text, sent in readyz if sent < ready_time]
        after = [status for _, status, _, sent in readyz if sent > ready_time]
        recovering = [answer for answer in before if answer[0] == 503]
        assert len(recovering) >= 2, f"too few /readyz answers while the logs were recovered: {before}"
        assert all("recovering logs" in text for _, text in recovering), before
        # 503 until the broker serves, 200 from then on (a request sent
        # just before the ready line may already get 200).
        assert before == recovering + [a for a in before if a[0] == 200], before
        assert after and all(status == 200 for status in after), after
        assert all(status == 200 for path, status, _, _ in answers if path == "/healthz")
    finally:
        broker.stop()
