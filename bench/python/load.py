#!/usr/bin/env python3
"""One Python Kafka client running one load, as its own process
(bench/python/run starts one per run, under the bench venv's interpreter):

    load.py CLIENT produce BOOTSTRAP TOPIC RECORDS SIZE
    load.py confluent fill BOOTSTRAP TOPIC RECORDS SIZE
    load.py CLIENT consume-batch BOOTSTRAP TOPIC RECORDS GROUP
    load.py CLIENT consume-single BOOTSTRAP TOPIC RECORDS GROUP

CLIENT is strom (strom.Producer/Consumer), strom-aio (strom.aio),
confluent (confluent_kafka), confluent-aio (confluent_kafka.aio),
kafka-python (kafka) or aiokafka.

Prints one JSON object on stdout: records, records_per_s, mib_per_s,
errors, the client's version, and this process's peak RSS and CPU time
(getrusage, every thread included). Produce: from the first send to the
moment every record is acknowledged (flush, or the last window's futures).
Consume: subscribe to a new group at the earliest offset; the rate runs
from the first record received to the last one counted, the group join
(subscribe to first record) is reported apart. Per record the loops do
only what an application does: check the error where the API hands one
back, and take the value's length.

Every producer sets acks=all; everything else is the client's default.
`fill` (the consumers' topic) is produce with confluent-kafka writing the
partitions in turn, so each holds the same number of records.
"""

from __future__ import annotations

import asyncio
import json
import platform
import resource
import sys
import time

MIB = 1024 * 1024
IDLE_TIMEOUT_S = 30.0
# Records per call of the batch consume APIs: the Java client's, kafka-python's
# and strom's max.poll.records default; librdkafka's consume(num_messages) and
# aiokafka's getmany(max_records) get the same.
BATCH = 500
# asyncio producers: records handed over before awaiting their deliveries,
# which are then awaited one by one, in order. (asyncio.gather over the
# window would add about 1.6 us of the event loop's own bookkeeping per
# future on this machine, whatever the client: more than a whole send.)
WINDOW = 10_000
# sync producers (strom, confluent): serve delivery reports every this many
# records, as bench/benchlib/rdkafka_load.py does.
POLL_EVERY = 1000


def payload(size: int) -> bytes:
    return (b"ABCDEFGHIJKLMNOPQRSTUVWXYZ" * (size // 26 + 1))[:size]


def versions(client: str) -> dict:
    info = {"python": platform.python_version()}
    if client in ("strom", "strom-aio"):
        import strom

        info["strom"] = strom.__version__
        info["module"] = strom._strom.__file__
    elif client in ("confluent", "confluent-aio"):
        import confluent_kafka

        # version() is a string in confluent-kafka 2.16, (string, int) before.
        version = confluent_kafka.version()
        info["confluent-kafka"] = version[0] if isinstance(version, tuple) else version
        info["librdkafka"] = confluent_kafka.libversion()[0]
    elif client == "kafka-python":
        import kafka
        from kafka.record import util

        info["kafka-python"] = kafka.__version__
        # Without the optional `crc32c` package, kafka-python computes each
        # batch's CRC32C in pure Python.
        info["crc32c"] = "C (crc32c package)" if util.crc32c_c is not None else "pure Python"
    elif client == "aiokafka":
        import aiokafka

        info["aiokafka"] = aiokafka.__version__
    return info


# ---------------------------------------------------------------- producers


def produce_sync(module, bootstrap: str, topic: str, records: int, size: int) -> dict:
    """strom.Producer and confluent_kafka.Producer: the same code, as
    confluent-kafka's documentation writes it."""
    failures: list = []

    def on_delivery(err, msg) -> None:
        if err is not None:
            failures.append(str(err))

    producer = module.Producer({"bootstrap.servers": bootstrap, "acks": "all", "on_delivery": on_delivery})
    value = payload(size)
    produce = producer.produce
    queue_full = 0
    started = time.perf_counter()
    for sent in range(records):
        while True:
            try:
                produce(topic, value)
                break
            except BufferError:  # the local queue is full: serve delivery reports, retry
                queue_full += 1
                producer.poll(0.1)
        if sent % POLL_EVERY == 0:
            producer.poll(0)
    unsent = producer.flush(120)
    elapsed = time.perf_counter() - started
    return {
        "records": records - len(failures) - unsent,
        "elapsed_s": elapsed,
        "errors": len(failures) + unsent,
        "first_errors": failures[:5],
        "queue_full": queue_full,
    }


def fill(bootstrap: str, topic: str, records: int, size: int) -> dict:
    """confluent-kafka writing partition i % n: the same count in each."""
    import confluent_kafka

    failures: list = []

    def on_delivery(err, msg) -> None:
        if err is not None:
            failures.append(str(err))

    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all", "on_delivery": on_delivery})
    partitions = len(producer.list_topics(topic, timeout=30).topics[topic].partitions)
    value = payload(size)
    started = time.perf_counter()
    for sent in range(records):
        while True:
            try:
                producer.produce(topic, value, partition=sent % partitions)
                break
            except BufferError:
                producer.poll(0.1)
        if sent % POLL_EVERY == 0:
            producer.poll(0)
    unsent = producer.flush(120)
    elapsed = time.perf_counter() - started
    return {
        "records": records - len(failures) - unsent,
        "elapsed_s": elapsed,
        "errors": len(failures) + unsent,
        "first_errors": failures[:5],
    }


def produce_kafka_python(bootstrap: str, topic: str, records: int, size: int) -> dict:
    from kafka import KafkaProducer

    failures: list = []
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    value = payload(size)
    send = producer.send
    on_error = failures.append
    started = time.perf_counter()
    for _ in range(records):
        send(topic, value).add_errback(on_error)
    producer.flush(120)
    elapsed = time.perf_counter() - started
    producer.close()
    return {
        "records": records - len(failures),
        "elapsed_s": elapsed,
        "errors": len(failures),
        "first_errors": [str(f) for f in failures[:5]],
    }


async def produce_strom_aio(bootstrap: str, topic: str, records: int, size: int) -> dict:
    from strom.aio import AIOProducer

    value = payload(size)
    async with AIOProducer({"bootstrap.servers": bootstrap, "acks": "all"}) as producer:
        produce = producer.produce
        started = time.perf_counter()
        left = records
        while left:
            count = min(WINDOW, left)
            for delivered in [produce(topic, value) for _ in range(count)]:
                await delivered
            left -= count
        elapsed = time.perf_counter() - started
    return {"records": records, "elapsed_s": elapsed, "errors": 0}


async def produce_confluent_aio(bootstrap: str, topic: str, records: int, size: int) -> dict:
    """confluent_kafka.aio.AIOProducer: `await produce()` hands a record to
    its buffer (1,000 records go to librdkafka at a time) and returns the
    delivery future. Its deliveries are served only when the next 1,000 go
    out, by `flush()`, or by its 1-second buffer timer, so each window ends
    with `await flush()` (awaiting the futures alone waits on the timer:
    about 7,000 records/s)."""
    from confluent_kafka.aio import AIOProducer

    value = payload(size)
    producer = AIOProducer({"bootstrap.servers": bootstrap, "acks": "all"})
    try:
        produce = producer.produce
        started = time.perf_counter()
        left = records
        while left:
            count = min(WINDOW, left)
            window = [await produce(topic, value) for _ in range(count)]
            await producer.flush()
            for delivered in window:
                await delivered
            left -= count
        elapsed = time.perf_counter() - started
    finally:
        await producer.close()
    return {"records": records, "elapsed_s": elapsed, "errors": 0}


async def produce_aiokafka(bootstrap: str, topic: str, records: int, size: int) -> dict:
    from aiokafka import AIOKafkaProducer

    value = payload(size)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        send = producer.send
        started = time.perf_counter()
        left = records
        while left:
            count = min(WINDOW, left)
            # send() waits while the partition's batch is full; it returns the delivery future.
            for delivered in [await send(topic, value) for _ in range(count)]:
                await delivered
            left -= count
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return {"records": records, "elapsed_s": elapsed, "errors": 0}


# ---------------------------------------------------------------- consumers


class Tally:
    """What a consume loop counted, and when."""

    def __init__(self, records: int) -> None:
        self.records = records
        self.received = 0
        self.received_bytes = 0
        self.errors: list[str] = []
        self.subscribed = 0.0
        self.first = 0.0
        self.last = 0.0

    def start(self) -> None:
        self.subscribed = self.last = time.perf_counter()

    def done(self) -> bool:
        return self.received >= self.records

    def idle(self) -> bool:
        return time.perf_counter() - self.last > IDLE_TIMEOUT_S

    def mark(self, count: int, nbytes: int) -> None:
        if count:
            now = time.perf_counter()
            if not self.first:
                self.first = now
            self.last = now
            self.received += count
            self.received_bytes += nbytes

    def result(self) -> dict:
        elapsed = self.last - self.first if self.first else 0.0
        return {
            "records": self.received,
            "elapsed_s": elapsed,
            "received_bytes": self.received_bytes,
            "group_join_ms": (self.first - self.subscribed) * 1000 if self.first else None,
            "total_s": self.last - self.subscribed,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
        }


def consumer_conf(bootstrap: str, group: str) -> dict:
    return {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}


def consume_sync(module, mode: str, bootstrap: str, topic: str, records: int, group: str) -> dict:
    """strom.Consumer and confluent_kafka.Consumer: consume(BATCH) or poll()."""
    consumer = module.Consumer(consumer_conf(bootstrap, group))
    tally = Tally(records)
    errors = tally.errors
    tally.start()
    consumer.subscribe([topic])
    if mode == "consume-batch":
        consume = consumer.consume
        while not tally.done() and not tally.idle():
            # Ask for no more than remain: consume() waits out its timeout
            # when fewer than num_messages arrive.
            nbytes = count = 0
            for message in consume(min(BATCH, records - tally.received), 1.0):
                if message.error() is not None:
                    errors.append(str(message.error()))
                    continue
                nbytes += len(message.value())
                count += 1
            tally.mark(count, nbytes)
    else:
        poll = consumer.poll
        while not tally.done() and not tally.idle():
            message = poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                errors.append(str(message.error()))
                continue
            tally.mark(1, len(message.value()))
    result = tally.result()
    consumer.close()
    return result


def consume_kafka_python(mode: str, bootstrap: str, topic: str, records: int, group: str) -> dict:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,  # the iterator stops after 1 s without records
    )
    tally = Tally(records)
    tally.start()
    consumer.subscribe([topic])
    if mode == "consume-batch":
        poll = consumer.poll
        while not tally.done() and not tally.idle():
            nbytes = count = 0
            for batch in poll(timeout_ms=1000, max_records=BATCH).values():
                for record in batch:
                    nbytes += len(record.value)
                count += len(batch)
            tally.mark(count, nbytes)
    else:
        while not tally.done() and not tally.idle():
            for record in consumer:
                tally.mark(1, len(record.value))
                if tally.done():
                    break
    result = tally.result()
    consumer.close()
    return result


async def consume_async(client: str, mode: str, bootstrap: str, topic: str, records: int, group: str) -> dict:
    """strom.aio.AIOConsumer and aiokafka: getmany(BATCH) or `async for`;
    confluent_kafka.aio.AIOConsumer: consume(BATCH) or poll() in a loop
    (it has no async iterator)."""
    errors: list[str] = []

    def passed(message) -> bool:
        if message.error() is not None:
            errors.append(str(message.error()))
            return False
        return True

    if client == "confluent-aio":
        from confluent_kafka.aio import AIOConsumer as ConfluentAIOConsumer

        consumer = ConfluentAIOConsumer(consumer_conf(bootstrap, group))

        async def subscribe() -> None:
            await consumer.subscribe([topic])

        async def getmany() -> list:
            messages = await consumer.consume(BATCH, 1.0)
            return [message for message in messages if passed(message)]

        async def each_record():
            while True:
                message = await consumer.poll(1.0)
                if message is not None and passed(message):
                    yield message

        def value(record) -> bytes:
            return record.value()

        stop = consumer.close
    elif client == "aiokafka":
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest")
        await consumer.start()

        async def subscribe() -> None:
            consumer.subscribe([topic])

        async def getmany() -> list:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            return [record for batch in batches.values() for record in batch]

        def value(record) -> bytes:
            return record.value

        stop = consumer.stop
    else:
        from strom.aio import AIOConsumer

        consumer = AIOConsumer(consumer_conf(bootstrap, group))
        await consumer.start()

        async def subscribe() -> None:
            await consumer.subscribe([topic])

        async def getmany() -> list:
            return await consumer.getmany(1.0, BATCH)

        def value(record) -> bytes:
            return record.value()

        stop = consumer.close

    tally = Tally(records)
    tally.errors = errors
    tally.start()
    await subscribe()
    if mode == "consume-batch":
        while not tally.done() and not tally.idle():
            nbytes = 0
            batch = await getmany()
            for record in batch:
                nbytes += len(value(record))
            tally.mark(len(batch), nbytes)
    else:

        async def read_all() -> None:
            records_of = each_record() if client == "confluent-aio" else consumer
            async for record in records_of:
                tally.mark(1, len(value(record)))
                if tally.done():
                    break

        reader = asyncio.ensure_future(read_all())
        while not reader.done():
            await asyncio.wait([reader], timeout=1.0)
            if not reader.done() and tally.idle():
                reader.cancel()
                break
        if not reader.cancelled():
            reader.result()
    result = tally.result()
    await stop()
    return result


# ---------------------------------------------------------------- main


def run(client: str, mode: str, args: list[str]) -> dict:
    bootstrap, topic, records = args[0], args[1], int(args[2])
    if mode == "fill":
        size = int(args[3])
        result = fill(bootstrap, topic, records, size)
        result["received_bytes"] = result["records"] * size
    elif mode == "produce":
        size = int(args[3])
        if client == "strom":
            import strom

            result = produce_sync(strom, bootstrap, topic, records, size)
        elif client == "confluent":
            import confluent_kafka

            result = produce_sync(confluent_kafka, bootstrap, topic, records, size)
        elif client == "kafka-python":
            result = produce_kafka_python(bootstrap, topic, records, size)
        elif client == "strom-aio":
            result = asyncio.run(produce_strom_aio(bootstrap, topic, records, size))
        elif client == "confluent-aio":
            result = asyncio.run(produce_confluent_aio(bootstrap, topic, records, size))
        else:
            result = asyncio.run(produce_aiokafka(bootstrap, topic, records, size))
        result["received_bytes"] = result["records"] * size
    else:
        group = args[3]
        if client == "strom":
            import strom

            result = consume_sync(strom, mode, bootstrap, topic, records, group)
        elif client == "confluent":
            import confluent_kafka

            result = consume_sync(confluent_kafka, mode, bootstrap, topic, records, group)
        elif client == "kafka-python":
            result = consume_kafka_python(mode, bootstrap, topic, records, group)
        else:
            result = asyncio.run(consume_async(client, mode, bootstrap, topic, records, group))
    elapsed = result.pop("elapsed_s")
    nbytes = result.pop("received_bytes")
    result["records_per_s"] = result["records"] / elapsed if elapsed > 0 else 0.0
    result["mib_per_s"] = nbytes / MIB / elapsed if elapsed > 0 else 0.0
    result["elapsed_s"] = elapsed
    return result


CLIENTS = ("strom", "strom-aio", "confluent", "confluent-aio", "kafka-python", "aiokafka")
MODES = {"produce": 6, "fill": 6, "consume-batch": 6, "consume-single": 6}


def main(argv: list[str]) -> int:
    usage = len(argv) < 2 or argv[0] not in CLIENTS or MODES.get(argv[1]) != len(argv)
    if usage or (argv[1] == "fill" and argv[0] != "confluent"):
        print(__doc__, file=sys.stderr)
        return 2
    client, mode = argv[0], argv[1]
    result = run(client, mode, argv[2:])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["client"] = versions(client)
    result["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
