"""Hand-built Kafka frames for the bad-input tests (raw sockets, no client).

Only what those tests need: request headers v1/v2, an ApiVersions v3 body,
an empty Metadata body, and a reader for the ApiVersions v0 error response.
"""

from __future__ import annotations

import socket
import struct
import time

API_PRODUCE = 0
API_METADATA = 3
API_VERSIONS = 18
UNSUPPORTED_VERSION = 35
CLIENT_ID = b"strom-compat-raw"


def request_header_v1(api_key: int, api_version: int, correlation_id: int) -> bytes:
    return struct.pack(">hhih", api_key, api_version, correlation_id, len(CLIENT_ID)) + CLIENT_ID


def request_header_v2(api_key: int, api_version: int, correlation_id: int) -> bytes:
    return request_header_v1(api_key, api_version, correlation_id) + b"\x00"  # no tagged fields


def compact_string(text: bytes) -> bytes:
    assert len(text) < 127  # a one-byte unsigned varint
    return bytes([len(text) + 1]) + text


def api_versions_v3_body() -> bytes:
    return compact_string(b"strom-compat") + compact_string(b"1.0") + b"\x00"


def metadata_v12_body() -> bytes:
    # topics: null (compact array length 0), allow_auto_topic_creation: false,
    # include_topic_authorized_operations: false, no tagged fields.
    return b"\x00\x00\x00\x00"


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def connect(bootstrap: str, timeout_s: float = 10.0) -> socket.socket:
    host, port = bootstrap.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout_s)
    sock.settimeout(timeout_s)
    return sock


def read_until_closed(sock: socket.socket, timeout_s: float = 15.0) -> tuple[bytes, bool]:
    """Reads until the peer closes or timeout_s passes: (bytes read, closed?)."""
    data = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def read_frame(sock: socket.socket) -> bytes:
    """One length-prefixed response; raises if the peer closes first."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError(f"peer closed after {len(data)} of {n} bytes")
            data += chunk
        return data

    (size,) = struct.unpack(">i", exactly(4))
    return exactly(size)


def parse_api_versions_v0(payload: bytes) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """(correlation id, error code, {api key: (min, max)}) of an ApiVersions
    v0 response, the form a broker answers an unsupported version with."""
    correlation_id, error_code, count = struct.unpack_from(">ihi", payload, 0)
    ranges = {}
    position = 10
    for _ in range(count):
        key, low, high = struct.unpack_from(">hhh", payload, position)
        ranges[key] = (low, high)
        position += 6
    assert position == len(payload), f"{len(payload) - position} trailing bytes after ApiVersions v0 body"
    return correlation_id, error_code, ranges
