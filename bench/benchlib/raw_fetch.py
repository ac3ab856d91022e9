"""What a broker's read path allows a catch-up read: raw fetches.

A consumer decodes every record it reads, and the Java consumer of the
catch-up load reaches about a quarter of the loopback ceiling on every
broker here: its rate says more about the client than about the broker.
This reader fetches the backlog as a consumer does (Fetch v4, one request
in flight on one connection, 1 MiB per partition, 50 MiB per fetch) but
only walks the batch headers to learn where to fetch next, so its rate
over the ceiling (loopback.py) is the share of what the page cache and
loopback allow that the broker's read path reaches.
"""

from __future__ import annotations

import socket
import struct
import time

FETCH_API_KEY = 1
FETCH_VERSION = 4
PARTITION_MAX_BYTES = 1 << 20
FETCH_MAX_BYTES = 50 << 20
MAX_WAIT_MS = 500
CLIENT_ID = b"strom-bench-raw-fetch"
# A v2 batch header: base offset (int64) and length (int32) first, the
# last offset delta (int32) at byte 23.
BATCH_HEAD = struct.Struct(">qi")
LAST_OFFSET_DELTA = struct.Struct(">i")
LAST_OFFSET_DELTA_AT = 23
LOG_OVERHEAD = 12


def read_all(bootstrap: str, topic: str, partitions: int, records: int, timeout_s: float) -> dict:
    """Fetches `records` records of `topic` from offset 0 of each of its
    `partitions`; returns the seconds it took, the records and bytes read
    and the number of fetches."""
    host, _, port = bootstrap.rpartition(":")
    offsets = [0] * partitions
    read = fetches = received_bytes = 0
    buffer = bytearray(FETCH_MAX_BYTES + PARTITION_MAX_BYTES)
    deadline = time.monotonic() + timeout_s
    with socket.create_connection((host, int(port)), timeout=timeout_s) as connection:
        started = time.perf_counter()
        while read < records:
            if time.monotonic() > deadline:
                raise RuntimeError(f"raw fetches read {read} of {records} records in {timeout_s} s")
            fetches += 1
            connection.sendall(_fetch_request(fetches, topic, offsets))
            size = _receive_response(connection, buffer)
            received_bytes += size
            read += _advance(memoryview(buffer)[:size], fetches, offsets)
        elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "records": read, "bytes": received_bytes, "fetches": fetches}


def _fetch_request(correlation_id: int, topic: str, offsets: list[int]) -> bytes:
    name = topic.encode()
    header = struct.pack(">hhih", FETCH_API_KEY, FETCH_VERSION, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    body = struct.pack(">iiiibi", -1, MAX_WAIT_MS, 1, FETCH_MAX_BYTES, 0, 1)
    body += struct.pack(">h", len(name)) + name + struct.pack(">i", len(offsets))
    body += b"".join(struct.pack(">iqi", p, offset, PARTITION_MAX_BYTES) for p, offset in enumerate(offsets))
    message = header + body
    return struct.pack(">i", len(message)) + message


def _receive_response(connection: socket.socket, buffer: bytearray) -> int:
    """Reads one response into `buffer` (grown if needed); its size."""
    _receive_into(connection, memoryview(buffer)[:4])
    (size,) = struct.unpack_from(">i", buffer)
    if size > len(buffer):
        buffer.extend(bytes(size - len(buffer)))
    _receive_into(connection, memoryview(buffer)[:size])
    return size


def _receive_into(connection: socket.socket, view: memoryview) -> None:
    while view:
        got = connection.recv_into(view)
        if got == 0:
            raise RuntimeError("the broker closed the connection")
        view = view[got:]


def _advance(response: memoryview, correlation_id: int, offsets: list[int]) -> int:
    """Moves each partition's offset past the whole batches `response`
    carries (a partial last batch is fetched again); the records in them."""
    (answered,) = struct.unpack_from(">i", response, 0)
    if answered != correlation_id:
        raise RuntimeError(f"answer {answered} to fetch {correlation_id}")
    at = 8  # correlation id, throttle time
    (topics,) = struct.unpack_from(">i", response, at)
    at += 4
    records = 0
    for _ in range(topics):
        (name_length,) = struct.unpack_from(">h", response, at)
        at += 2 + name_length
        (partitions,) = struct.unpack_from(">i", response, at)
        at += 4
        for _ in range(partitions):
            partition, error = struct.unpack_from(">ih", response, at)
            at += 4 + 2 + 8 + 8  # high watermark, last stable offset
            if error != 0:
                raise RuntimeError(f"partition {partition}: error {error}")
            (aborted,) = struct.unpack_from(">i", response, at)
            at += 4 + max(aborted, 0) * 16
            (length,) = struct.unpack_from(">i", response, at)
            at += 4
            length = max(length, 0)
            records += _walk_batches(response[at : at + length], partition, offsets)
            at += length
    return records


def _walk_batches(data: memoryview, partition: int, offsets: list[int]) -> int:
    records = 0
    at = 0
    while at + LOG_OVERHEAD <= len(data):
        base_offset, length = BATCH_HEAD.unpack_from(data, at)
        end = at + LOG_OVERHEAD + length
        if end > len(data):
            break
        (last_delta,) = LAST_OFFSET_DELTA.unpack_from(data, at + LAST_OFFSET_DELTA_AT)
        if base_offset + last_delta >= offsets[partition]:
            records += last_delta + 1
            offsets[partition] = base_offset + last_delta + 1
        at = end
    return records
