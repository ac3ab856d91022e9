"""Bad input on a live socket (d). Each case sends one kind of garbage on a
raw connection while a real client keeps producing on its own connection;
the broker must drop (or answer) the bad connection and keep serving the
good one throughout, then serve a fresh client as well."""

from __future__ import annotations

import random
import socket
import struct
import threading
import time

import pytest
from kafka import KafkaProducer

import wire
from clients import ConfluentKafkaClient
from records import Record, verify_round_trip

SOCKET_REQUEST_MAX_BYTES = 100 * 1024 * 1024  # Kafka's socket.request.max.bytes default
BACKGROUND_LIMIT_S = 60.0
ACK_TIMEOUT_S = 15.0


class BackgroundProducer:
    """Produces to a 1-partition topic from a thread, one acked record at a
    time, until stopped; records every acknowledged record and every error."""

    def __init__(self, bootstrap: str, topic: str):
        self._producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        self._topic = topic
        self._stop = threading.Event()
        self.acked: list[Record] = []
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + BACKGROUND_LIMIT_S
        index = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            record = Record(key=b"bg", value=f"background-{index:06d}".encode(), headers=(("n", str(index).encode()),))
            try:
                self._producer.send(self._topic, key=record.key, value=record.value, headers=list(record.headers)).get(
                    timeout=ACK_TIMEOUT_S
                )
            except Exception as error:  # any failure fails the test; keep it for the report
                self.errors.append(error)
                return
            self.acked.append(record)
            index += 1

    def wait_for_acks(self, count: int) -> None:
        deadline = time.monotonic() + ACK_TIMEOUT_S
        while len(self.acked) < count and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self.errors, f"background producer failed: {self.errors[0]!r}"
        assert len(self.acked) >= count, "background producer stalled"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=ACK_TIMEOUT_S * 2)
        self._producer.close(timeout=10)


def expect_closed_without_reply(sock: socket.socket) -> None:
    data, closed = wire.read_until_closed(sock)
    assert closed, "broker kept the connection open after bad input"
    assert data == b"", f"broker answered bad input with {data[:64]!r}"


def random_bytes_unframed(sock: socket.socket) -> None:
    # A size prefix far over the request limit, then noise.
    rng = random.Random(7)
    sock.sendall(struct.pack(">i", 0x7A3F1C22) + bytes(rng.getrandbits(8) for _ in range(4096)))
    expect_closed_without_reply(sock)


def random_bytes_framed(sock: socket.socket) -> None:
    # A well-formed frame whose content is noise (api key 0x7f.. unknown).
    rng = random.Random(11)
    payload = b"\x7f\xee" + bytes(rng.getrandbits(8) for _ in range(510))
    sock.sendall(wire.frame(payload))
    expect_closed_without_reply(sock)


def size_prefix_max_int(sock: socket.socket) -> None:
    sock.sendall(struct.pack(">i", 2**31 - 1))
    expect_closed_without_reply(sock)


def size_prefix_200_mib(sock: socket.socket) -> None:
    size = 200 * 1024 * 1024
    assert size > SOCKET_REQUEST_MAX_BYTES
    sock.sendall(struct.pack(">i", size) + b"\x00" * 1024)
    expect_closed_without_reply(sock)


def size_prefix_negative(sock: socket.socket) -> None:
    sock.sendall(struct.pack(">i", -1) + b"\x00" * 16)
    expect_closed_without_reply(sock)


def truncated_frame_then_close(sock: socket.socket) -> None:
    sock.sendall(struct.pack(">i", 100) + b"\x00\x03" + b"\x01" * 48)
    sock.shutdown(socket.SHUT_WR)
    expect_closed_without_reply(sock)


def half_a_request_then_disconnect(sock: socket.socket) -> None:
    request = wire.frame(wire.request_header_v2(wire.API_METADATA, 12, 1) + wire.metadata_v12_body())
    sock.sendall(request[: len(request) // 2])
    # Nothing to read: the rest never comes. Close with a reset, the rudest way.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def metadata_version_99(sock: socket.socket) -> None:
    sock.sendall(wire.frame(wire.request_header_v2(wire.API_METADATA, 99, 7) + wire.metadata_v12_body()))
    expect_closed_without_reply(sock)


def unknown_api_key(sock: socket.socket) -> None:
    sock.sendall(wire.frame(wire.request_header_v1(9999, 0, 8) + b"\x00" * 8))
    expect_closed_without_reply(sock)


def api_versions_version_99(sock: socket.socket) -> None:
    """KIP-511: an ApiVersions request newer than the broker knows gets a v0
    response with UNSUPPORTED_VERSION and the range of ApiVersions versions
    the broker speaks, so the client can retry with one of them. (Apache
    Kafka lists only ApiVersions itself there, not every API.)"""
    sock.sendall(wire.frame(wire.request_header_v2(wire.API_VERSIONS, 99, 4242) + wire.api_versions_v3_body()))
    correlation_id, error_code, ranges = wire.parse_api_versions_v0(wire.read_frame(sock))
    assert correlation_id == 4242
    assert error_code == wire.UNSUPPORTED_VERSION
    assert wire.API_VERSIONS in ranges, f"no ApiVersions range in {ranges}"
    low, high = ranges[wire.API_VERSIONS]
    assert low == 0 and 3 <= high < 99
    # The same connection then serves a version the broker supports.
    sock.sendall(wire.frame(wire.request_header_v2(wire.API_VERSIONS, 3, 4243) + wire.api_versions_v3_body()))
    reply = wire.read_frame(sock)
    correlation_id, error_code = struct.unpack_from(">ih", reply, 0)
    assert (correlation_id, error_code) == (4243, 0)


BAD_INPUTS = [
    random_bytes_unframed,
    random_bytes_framed,
    size_prefix_max_int,
    size_prefix_200_mib,
    size_prefix_negative,
    truncated_frame_then_close,
    half_a_request_then_disconnect,
    metadata_version_99,
    unknown_api_key,
    api_versions_version_99,
]


@pytest.mark.parametrize("bad_input", BAD_INPUTS, ids=lambda f: f.__name__)
def test_bad_input_leaves_other_clients_served(broker, topic_factory, bad_input):
    background = BackgroundProducer(broker.bootstrap, topic_factory(1, prefix="background"))
    try:
        background.wait_for_acks(5)
        sock = wire.connect(broker.bootstrap)
        try:
            bad_input(sock)
        finally:
            sock.close()
        # The good connection went on being served while the bad one was open.
        background.wait_for_acks(len(background.acked) + 5)
    finally:
        background.stop()
    assert not background.errors, f"background producer failed: {background.errors[0]!r}"
    if hasattr(broker, "is_running"):
        assert broker.is_running(), "broker process died"

    # A fresh client on a new connection round-trips too.
    client = ConfluentKafkaClient()
    topic = topic_factory(6, prefix="after-bad-input")
    records = [
        Record(key=f"k{i}".encode(), value=f"value-{i:05d}-x".encode(), headers=(("i", b"1"),)) for i in range(20)
    ]
    acked = client.produce(broker.bootstrap, topic, records, "zstd")
    verify_round_trip(records, client.consume(broker.bootstrap, topic, len(records), 6), 6, True, acked)
