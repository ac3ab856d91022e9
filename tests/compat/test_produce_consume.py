"""Every real client produces keyed records with headers, in every
compression, and reads them back intact (a: produce and consume)."""

from __future__ import annotations

import uuid

import pytest

from clients import (
    ALL_CLIENTS,
    COMPRESSIONS,
    ConfluentKafkaClient,
    JavaClient,
    KafkajsClient,
    KafkaPythonClient,
    StromClient,
    records_for,
)
from records import make_records, verify_round_trip

PARTITIONS = 6


def second_reader(client):
    """A different client that reads the same topic, so each topic is also
    checked by a consumer other than the producer's own library."""
    return KafkaPythonClient() if isinstance(client, ConfluentKafkaClient) else ConfluentKafkaClient()


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("client", ALL_CLIENTS, ids=lambda c: c.name)
def test_produce_then_consume_from_beginning(broker, topic_factory, client, compression):
    topic = topic_factory(PARTITIONS)
    records = records_for(client)

    acked = client.produce(broker.bootstrap, topic, records, compression)

    consumed = client.consume(broker.bootstrap, topic, len(records), PARTITIONS)
    verify_round_trip(records, consumed, PARTITIONS, client.murmur2_keys, acked)
    other = second_reader(client).consume(broker.bootstrap, topic, len(records), PARTITIONS)
    verify_round_trip(records, other, PARTITIONS, client.murmur2_keys, acked)


def test_kafkajs_consumer_group_reads_everything(broker, groups_supported, topic_factory):
    client = KafkajsClient()
    topic = topic_factory(PARTITIONS)
    records = records_for(client)
    client.produce(broker.bootstrap, topic, records, "zstd")

    consumed = client.consume_group(broker.bootstrap, topic, len(records), f"compat-{uuid.uuid4().hex[:8]}")

    verify_round_trip(records, consumed, PARTITIONS, murmur2_keys=True)


def test_strom_client_and_java_client_partition_keys_alike_and_read_each_other(broker, topic_factory):
    """The same keyed records from Strom's client and from the Java
    producer land on the same partitions, and each client reads back what
    the other wrote."""
    java, strom = JavaClient(), StromClient()
    records = make_records("cross-client")
    by_java, by_strom = topic_factory(PARTITIONS), topic_factory(PARTITIONS)
    acked = java.produce(broker.bootstrap, by_java, records, "lz4")
    strom.produce(broker.bootstrap, by_strom, records, "lz4")

    read_by_strom = strom.consume(broker.bootstrap, by_java, len(records), PARTITIONS)
    read_by_java = java.consume(broker.bootstrap, by_strom, len(records), PARTITIONS)
    verify_round_trip(records, read_by_strom, PARTITIONS, murmur2_keys=True, acked=acked)
    verify_round_trip(records, read_by_java, PARTITIONS, murmur2_keys=True)
    java_partition = {c.key: c.partition for c in read_by_strom}
    strom_partition = {c.key: c.partition for c in read_by_java}
    assert strom_partition == java_partition
    assert len(set(java_partition.values())) > 1, "the keys should spread over several partitions"
