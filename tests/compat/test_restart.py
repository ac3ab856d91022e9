"""Acknowledged records survive a broker crash and a clean stop (b).

Every client writes every compression, the broker is SIGKILLed and started
again on the same port and data dir, and each record must be read back at
the same partition and offset it had before. New writes after the restart
must continue the logs, not overwrite them."""

from __future__ import annotations

from clients import ALL_CLIENTS, COMPRESSIONS, ConfluentKafkaClient, KafkaPythonClient, records_for
from records import make_records, verify_round_trip

PARTITIONS = 6
RECORDS_PER_TOPIC = 60


def positions(consumed) -> dict[bytes, tuple[int, int]]:
    return {c.value: (c.partition, c.offset) for c in consumed}


def produce_everything(broker, topic_factory) -> list[dict]:
    written = []
    for client in ALL_CLIENTS:
        for compression in COMPRESSIONS:
            topic = topic_factory(PARTITIONS, prefix=f"restart-{client.name}-{compression}")
            records = records_for(client, RECORDS_PER_TOPIC)
            acked = client.produce(broker.bootstrap, topic, records, compression)
            consumed = ConfluentKafkaClient().consume(broker.bootstrap, topic, len(records), PARTITIONS)
            verify_round_trip(records, consumed, PARTITIONS, client.murmur2_keys, acked)
            written.append(
                {
                    "client": client,
                    "compression": compression,
                    "topic": topic,
                    "records": records,
                    "positions": positions(consumed),
                }
            )
    return written


def verify_unchanged(broker, written) -> None:
    reader = KafkaPythonClient()
    for entry in written:
        context = f"{entry['client'].name}/{entry['compression']} in {entry['topic']}"
        consumed = reader.consume(broker.bootstrap, entry["topic"], len(entry["records"]), PARTITIONS)
        try:
            verify_round_trip(entry["records"], consumed, PARTITIONS, entry["client"].murmur2_keys)
            assert positions(consumed) == entry["positions"], "records moved to other offsets"
        except AssertionError as error:
            raise AssertionError(f"after restart, {context}: {error}") from error


def verify_log_continues(broker, entry) -> None:
    """A new write lands after every old record, and all are readable."""
    client = ConfluentKafkaClient()
    more = make_records("after-restart", 30)
    acked = client.produce(broker.bootstrap, entry["topic"], more, "lz4")
    end_before = {}
    for partition, offset in entry["positions"].values():
        end_before[partition] = max(end_before.get(partition, -1), offset)
    for partition, offset in acked:
        assert offset > end_before.get(partition, -1), (
            f"new record got offset {offset} in partition {partition}, old log ended at {end_before.get(partition)}"
        )
    everything = client.consume(broker.bootstrap, entry["topic"], len(entry["records"]) + len(more), PARTITIONS)
    assert len(everything) == len(entry["records"]) + len(more)
    assert {c.value for c in everything} == {r.value for r in entry["records"]} | {r.value for r in more}


def test_acknowledged_records_survive_sigkill(restartable_broker, topic_factory):
    broker = restartable_broker
    written = produce_everything(broker, topic_factory)

    broker.restart(kill=True)

    verify_unchanged(broker, written)
    verify_log_continues(broker, written[0])


def test_clean_shutdown_keeps_everything(restartable_broker, topic_factory):
    broker = restartable_broker
    client = KafkaPythonClient()
    topic = topic_factory(PARTITIONS, prefix="sigterm")
    records = records_for(client, RECORDS_PER_TOPIC)
    acked = client.produce(broker.bootstrap, topic, records, "snappy")

    broker.restart(kill=False)  # asserts a clean exit on SIGTERM

    consumed = client.consume(broker.bootstrap, topic, len(records), PARTITIONS)
    verify_round_trip(records, consumed, PARTITIONS, client.murmur2_keys, acked)
    entry = {"topic": topic, "records": records, "positions": positions(consumed)}
    verify_log_continues(broker, entry)
