"""One Kafka request on its own connection, encoded and decoded by
kafka-python's schema-driven protocol classes, for tests that assert
fields no client library exposes (KIP-951's leader hints) or must reach
exactly one broker (a client library finds the others in the metadata)."""

from __future__ import annotations

import uuid

from kafka.protocol.consumer.fetch import FetchRequest, FetchResponse
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.protocol.producer.produce import ProduceRequest, ProduceResponse
from kafka.record.memory_records import MemoryRecordsBuilder
from wire import connect, frame, read_frame  # tests/compat's raw-socket helpers


def call(address: str, request, response_class, version: int):
    request.API_VERSION = version
    request.with_header(correlation_id=1, client_id="strom-cluster-test")
    with connect(address) as conn:
        conn.sendall(frame(request.encode(header=True)))
        body = read_frame(conn)
    return response_class.decode(body, version=version, header=True)


def topic_id(address: str, topic: str) -> uuid.UUID:
    request = MetadataRequest(
        topics=[MetadataRequest.MetadataRequestTopic(topic_id=None, name=topic)],
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False,
    )
    response = call(address, request, MetadataResponse, 12)
    return response.topics[0].topic_id


def fetch(address: str, topic: str, topic_uuid: uuid.UUID, partition: int, version: int):
    """A consumer's Fetch of one partition from offset 0, by name (v12) or by id (v13+)."""
    wanted = FetchRequest.FetchTopic.FetchPartition(
        partition=partition,
        current_leader_epoch=-1,
        fetch_offset=0,
        last_fetched_epoch=-1,
        log_start_offset=-1,
        partition_max_bytes=1 << 20,
    )
    request = FetchRequest(
        replica_id=-1,
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=1 << 20,
        isolation_level=0,
        session_id=0,
        session_epoch=-1,
        topics=[FetchRequest.FetchTopic(topic=topic, topic_id=topic_uuid, partitions=[wanted])],
        forgotten_topics_data=[],
        rack_id="",
    )
    return call(address, request, FetchResponse, version)


def produce(address: str, topic: str, partition: int, values: list[bytes], timeout_ms: int) -> int:
    """One acks=all Produce of `values` (one batch) to the broker at
    `address` only; the partition's error code in the answer."""
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for value in values:
        builder.append(timestamp=None, key=None, value=value)
    builder.close()
    data = ProduceRequest.TopicProduceData.PartitionProduceData(index=partition, records=builder.buffer())
    request = ProduceRequest(
        transactional_id=None,
        acks=-1,
        timeout_ms=timeout_ms,
        topic_data=[ProduceRequest.TopicProduceData(name=topic, partition_data=[data])],
    )
    response = call(address, request, ProduceResponse, 9)
    return response.responses[0].partition_responses[0].error_code
