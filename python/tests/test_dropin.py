"""Drop-in: programs written for confluent-kafka, in the style of its
documented examples (examples/producer.py, consumer.py,
context_manager_example.py, get_watermark_offsets.py, the README quickstart
and the consumer guide's commit loops), run unchanged with only the import
swapped to strom, and print what they print with confluent-kafka.

Each program runs twice as a subprocess against the broker under test:
once as written (confluent_kafka) and once with its imports swapped
(`from confluent_kafka import` -> `from strom import`, `import
confluent_kafka` -> `import strom as confluent_kafka`), each run on its own
fresh topic and group with the same partition count. The strom run cannot
reach confluent_kafka even by accident: a stand-in package on its
PYTHONPATH refuses the import. The two stdouts, with the topic, group and
bootstrap names replaced by placeholders, must be equal.

Output that legitimately differs between the two is kept out of what the
programs print: keyed partitioning (librdkafka's consistent_random vs
Java's murmur2, so topics showing partitions get explicit partitions or a
single partition), produce-time timestamps, broker-assigned leader epochs
(see `normalize`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import create_topic

# ---------------------------------------------------------------------------
# The programs. Each takes BOOTSTRAP TOPIC GROUP from argv, and bounds every
# wait with a deadline (exit status 2 if the broker never answers).
# ---------------------------------------------------------------------------

# The README's "Basic Producer example" with examples/producer.py's
# delivery report: poll(0) per produce, delivery callbacks, flush(), len().
PRODUCER_QUICKSTART = '''
import sys

from confluent_kafka import Producer

broker, topic = sys.argv[1], sys.argv[2]

p = Producer({'bootstrap.servers': broker})


def delivery_report(err, msg):
    """ Called once for each message produced to indicate delivery result.
        Triggered by poll() or flush(). """
    if err is not None:
        print('Message delivery failed: {}'.format(err))
    else:
        print('Message delivered to {} [{}] @ {}'.format(msg.topic(), msg.partition(), msg.offset()))
        print('    key={!r} value={!r} len={}'.format(msg.key(), msg.value(), len(msg)))


some_data_source = ['alpha', 'beta', 'gamma', 'delta', 'ünïcödé ✓']
for data in some_data_source:
    # Trigger any available delivery report callbacks from previous produce() calls
    p.poll(0)
    # Asynchronously produce a message. The delivery report callback will
    # be triggered from the call to poll() above, or flush() below.
    p.produce(topic, data.encode('utf-8'), callback=delivery_report)

# Keys (str and bytes), headers (dict and list), explicit timestamps,
# positional arguments, on_delivery=, a null value and an empty one.
stamped = {}


def stamp_report(err, msg):
    delivery_report(err, msg)
    stamped[msg.offset()] = msg.timestamp()


for i in range(3):
    p.produce(topic, key='key-%d' % i, value='value-%d' % i,
              headers={'seq': str(i).encode(), 'source': 'dropin'},
              timestamp=1700000000000 + i, on_delivery=stamp_report)
p.produce(topic, b'positional value', b'positional key', 0, delivery_report)
p.produce(topic, None, b'tombstone', callback=delivery_report)
p.produce(topic, b'', headers=[('dup', b'1'), ('dup', b'2'), ('null', None)], callback=delivery_report)

# Wait for any outstanding messages to be delivered and delivery report
# callbacks to be triggered.
remaining = p.flush(30)
print('flush returned {}, {} in queue'.format(remaining, len(p)))
for offset in sorted(stamped):
    print('timestamp of @ {}: {}'.format(offset, stamped[offset]))

metadata = p.list_topics(topic, timeout=10)
t = metadata.topics[topic]
print('topic {} error={} partitions={}'.format(t.topic, t.error, sorted(t.partitions)))
print('leader known: {}'.format(t.partitions[0].leader in metadata.brokers))
sys.exit(1 if remaining else 0)
'''

# The README's "Basic Consumer example" with context_manager_example.py's
# loop (KafkaError._PARTITION_EOF branch, `with Consumer(...)`), and
# consumer.py's on_assign printing the partitions.
CONSUMER_LOOP = """
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer

broker, topic, group = sys.argv[1:4]

with Producer({'bootstrap.servers': broker}) as producer:
    for i in range(5):
        producer.produce(topic, key=f'key-{i}', value=f'Message {i}'.encode('utf-8'),
                         headers=[('index', str(i).encode())])
    producer.produce(topic, key='last', value=b'', headers=[('h', None), ('h', b'again')])
    producer.poll(0)


def print_assignment(consumer, partitions):
    print('Assignment:', partitions)


def print_revocation(consumer, partitions):
    print('Revoked:', partitions)


c = Consumer({
    'bootstrap.servers': broker,
    'group.id': group,
    'auto.offset.reset': 'earliest',
    'enable.auto.commit': False,
})
with c as consumer:
    consumer.subscribe([topic], on_assign=print_assignment, on_revoke=print_revocation)
    msg_count = 0
    deadline = time.monotonic() + 30
    while msg_count < 6:
        if time.monotonic() > deadline:
            print('timed out')
            sys.exit(2)
        msg = consumer.poll(timeout=1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                # End of partition, try next message
                continue
            else:
                print(f'Consumer error: {msg.error()}')
                break
        print(
            f'Consumed message: key={msg.key().decode("utf-8")}, '
            f'value={msg.value().decode("utf-8")!r}, '
            f'partition={msg.partition()}, offset={msg.offset()}, '
            f'headers={msg.headers()}, timestamp type={msg.timestamp()[0]}, len={len(msg)}'
        )
        msg_count += 1

    committed = consumer.commit(asynchronous=False)
    print('commit:', [(tp.topic, tp.partition, tp.offset, tp.error) for tp in committed])
    for tp in consumer.committed(consumer.assignment(), timeout=10):
        print('committed:', tp.topic, tp.partition, tp.offset)
    for tp in consumer.position(consumer.assignment()):
        print('position:', tp.topic, tp.partition, tp.offset)
    print('nothing more:', consumer.poll(0.5))
print('closed')
"""

# examples/get_watermark_offsets.py (committed offsets and lag), after a
# producer writes to explicit partitions and a group commits offsets.
LAG_REPORT = """
import sys
import time

import confluent_kafka

brokers, topic, group = sys.argv[1:4]

producer = confluent_kafka.Producer({'bootstrap.servers': brokers})
for partition, count in ((0, 3), (2, 5)):
    for i in range(count):
        producer.produce(topic, value=b'record %d' % i, partition=partition)
assert producer.flush(30) == 0

committer = confluent_kafka.Consumer({'bootstrap.servers': brokers, 'group.id': group})
done = committer.commit(offsets=[confluent_kafka.TopicPartition(topic, 0, 2),
                                 confluent_kafka.TopicPartition(topic, 2, 5)], asynchronous=False)
print('committed', sorted((tp.partition, tp.offset) for tp in done))
committer.close()

# Create consumer.
# This consumer will not join the group, but the group.id is required by
# committed() to know which group to get offsets for.
consumer = confluent_kafka.Consumer({'bootstrap.servers': brokers, 'group.id': group})

print("%-50s  %9s  %9s" % ("Topic [Partition]", "Committed", "Lag"))
print("=" * 72)

for topic in sys.argv[2:3]:
    # Get the topic's partitions
    metadata = consumer.list_topics(topic, timeout=10)
    if metadata.topics[topic].error is not None:
        raise confluent_kafka.KafkaException(metadata.topics[topic].error)

    # Construct TopicPartition list of partitions to query
    partitions = [confluent_kafka.TopicPartition(topic, p) for p in metadata.topics[topic].partitions]

    # Query committed offsets for this group and the given partitions
    committed = consumer.committed(partitions, timeout=10)

    for partition in committed:
        # Get the partitions low and high watermark offsets.
        lo, hi = consumer.get_watermark_offsets(partition, timeout=10, cached=False)

        if partition.offset == confluent_kafka.OFFSET_INVALID:
            offset = "-"
        else:
            offset = "%d" % (partition.offset)

        if hi < 0:
            lag = "no hwmark"  # Unlikely
        elif partition.offset < 0:
            # No committed offset, show total message count as lag.
            lag = "%d" % (hi - lo)
        else:
            lag = "%d" % (hi - partition.offset)

        print("%-50s  %9s  %9s" % ("{} [{}]".format(partition.topic, partition.partition), offset, lag))

consumer.close()
"""

# examples/producer.py's BufferError handling, as a retry loop: a producer
# that never serves its delivery reports fills its queue, gets BufferError,
# serves reports with poll() and produces the record again. Strom's queue
# (buffer.memory, 32 MiB, held until reports are served) fills within these
# 40 MB; librdkafka's (100000 messages, 1 GiB) does not, so only the strom
# run takes the branch; it writes to stderr, as the example does.
BUFFER_RETRY = """
import sys

from confluent_kafka import Producer

broker, topic = sys.argv[1], sys.argv[2]
p = Producer(**{'bootstrap.servers': broker, 'queue.buffering.max.kbytes': 4096})

delivered = []


def delivery_callback(err, msg):
    if err:
        sys.stderr.write('%% Message failed delivery: %s\\n' % err)
    else:
        delivered.append((msg.partition(), msg.offset(), len(msg)))
        if msg.offset() % 100 == 0:
            print('%% Message delivered to %s [%d] @ %d' % (msg.topic(), msg.partition(), msg.offset()))


payload = b'0123456789' * 10_000  # 100 kB
for i in range(400):
    while True:
        try:
            p.produce(topic, payload, callback=delivery_callback)
            break
        except BufferError:
            sys.stderr.write('%% Local producer queue is full (%d messages awaiting delivery): try again\\n' % len(p))
            # Serve delivery reports (waits up to 1 s for one) to make room.
            p.poll(1)

sys.stderr.write('%% Waiting for %d deliveries\\n' % len(p))
left = p.flush(60)
print('flush left', left)
print('delivered', len(delivered), 'records of', sorted({size for _, _, size in delivered}), 'bytes')
print('offsets in order:', [offset for _, offset, _ in sorted(delivered)] == list(range(400)))
print('partitions:', sorted({partition for partition, _, _ in delivered}))
"""

# The consumer guide's at-least-once loops: synchronous commits every
# MIN_COMMIT_COUNT messages, then a second member of the group resuming at
# the committed offset with consume() batches, commit(message=...) and an
# asynchronous commit reported to on_commit.
COMMIT_LOOPS = """
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

broker, topic, group = sys.argv[1:4]
MIN_COMMIT_COUNT = 3

p = Producer({'bootstrap.servers': broker})
for i in range(8):
    p.produce(topic, value='event %d' % i, key='k%d' % (i % 2))
p.flush(30)

conf = {'bootstrap.servers': broker,
        'group.id': group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest'}


def msg_process(msg):
    print('processed {} [{}] @ {}: {} = {}'.format(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value()))


def consume_loop(consumer, topics, limit):
    deadline = time.monotonic() + 30
    try:
        consumer.subscribe(topics)
        msg_count = 0
        while msg_count < limit:
            if time.monotonic() > deadline:
                print('timed out')
                sys.exit(2)
            msg = consumer.poll(timeout=1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    # End of partition event
                    sys.stderr.write('%% %s [%d] reached end at offset %d\\n' %
                                     (msg.topic(), msg.partition(), msg.offset()))
                elif msg.error():
                    raise KafkaException(msg.error())
            else:
                msg_process(msg)
                msg_count += 1
                if msg_count % MIN_COMMIT_COUNT == 0:
                    consumer.commit(asynchronous=False)
    finally:
        # Close down consumer to commit final offsets.
        consumer.close()


consume_loop(Consumer(conf), [topic], 5)

reports = []


def commit_completed(err, partitions):
    if err:
        print(str(err))
    else:
        print("Committed partition offsets: " + str(partitions))
    reports.append(err)


consumer = Consumer(dict(conf, on_commit=commit_completed))
print('resuming from', [(tp.partition, tp.offset) for tp in consumer.committed([TopicPartition(topic, 0)], timeout=10)])
consumer.subscribe([topic])
seen = []
deadline = time.monotonic() + 30
while len(seen) < 5:
    if time.monotonic() > deadline:
        print('timed out')
        sys.exit(2)
    for msg in consumer.consume(num_messages=10, timeout=1.0):
        if msg.error():
            raise KafkaException(msg.error())
        msg_process(msg)
        seen.append(msg)
committed = consumer.commit(message=seen[1], asynchronous=False)
print('commit(message=) ->', [(tp.partition, tp.offset) for tp in committed])
consumer.commit(asynchronous=True)
while not reports and time.monotonic() < deadline:
    consumer.poll(0.1)
print('committed now', [(tp.partition, tp.offset) for tp in consumer.committed([TopicPartition(topic, 0)], timeout=10)])
consumer.close()
try:
    consumer.poll(0.1)
except RuntimeError as e:
    print('after close:', type(e).__name__)
"""

# examples/consumer.py as published (logger=, enable.auto.offset.store=False
# and store_offsets() after processing, on_assign printing the partitions,
# KafkaException on an error), stopping after six messages instead of at
# Ctrl-C; the last two "fail" processing and are not stored, so the group's
# committed offset (committed by close()) is 4 and a new member of the group
# gets them again: at-least-once.
STORE_OFFSETS = """
import logging
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

broker, topic, group = sys.argv[1:4]
topics = [topic]

p = Producer({'bootstrap.servers': broker})
for i in range(6):
    p.produce(topic, key='k%d' % i, value=('ok %d' % i) if i < 4 else ('fail %d' % i))
p.flush(30)

conf = {
    'bootstrap.servers': broker,
    'group.id': group,
    'session.timeout.ms': 6000,
    'auto.offset.reset': 'earliest',
    'enable.auto.offset.store': False,
}

# Create logger for consumer (logs will be emitted when poll() is called)
logger = logging.getLogger('consumer')
logger.setLevel(logging.DEBUG)
handler = logging.StreamHandler()
handler.setFormatter(logging.Formatter('%(asctime)-15s %(levelname)-8s %(message)s'))
logger.addHandler(handler)

# Create Consumer instance
c = Consumer(conf, logger=logger)


def print_assignment(consumer, partitions):
    print('Assignment:', partitions)


# Subscribe to topics
c.subscribe(topics, on_assign=print_assignment)

seen = 0
deadline = time.monotonic() + 30
# Read messages from Kafka, print to stdout
try:
    while seen < 6 and time.monotonic() < deadline:
        msg = c.poll(timeout=1.0)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        else:
            # Proper message
            sys.stderr.write('%% %s [%d] at offset %d with key %s:\\n' %
                             (msg.topic(), msg.partition(), msg.offset(), str(msg.key())))
            print(msg.value())
            seen += 1
            if msg.value().startswith(b'fail'):
                continue
            # Store the offset associated with msg to a local cache.
            # Stored offsets are committed to Kafka by a background thread every 'auto.commit.interval.ms'.
            # Explicitly storing offsets after processing gives at-least once semantics.
            c.store_offsets(msg)

except KeyboardInterrupt:
    sys.stderr.write('%% Aborted by user\\n')

finally:
    # Close down consumer to commit final offsets.
    c.close()

if seen < 6:
    print('timed out')
    sys.exit(2)

again = Consumer(dict(conf, **{'enable.auto.offset.store': True, 'enable.auto.commit': False}))
print('committed:', [(tp.partition, tp.offset) for tp in again.committed([TopicPartition(topic, 0)], timeout=10)])
again.subscribe(topics)
redelivered = []
while len(redelivered) < 2 and time.monotonic() < deadline:
    msg = again.poll(1.0)
    if msg is not None:
        if msg.error():
            raise KafkaException(msg.error())
        redelivered.append((msg.offset(), msg.value()))
print('redelivered:', redelivered)
again.close()
"""

# name -> (program, partitions of its topic)
PROGRAMS = {
    "producer_quickstart": (PRODUCER_QUICKSTART, 1),
    "consumer_loop": (CONSUMER_LOOP, 1),
    "lag_report": (LAG_REPORT, 3),
    "buffer_retry": (BUFFER_RETRY, 1),
    "commit_loops": (COMMIT_LOOPS, 1),
    "store_offsets": (STORE_OFFSETS, 1),
}

IMPORT_LINE = re.compile(r"^\s*(from|import)\s+confluent_kafka\b", re.MULTILINE)


def to_strom(source: str) -> str:
    """The program with only its imports swapped."""
    swapped = source.replace("from confluent_kafka import", "from strom import")
    swapped = re.sub(r"^import confluent_kafka$", "import strom as confluent_kafka", swapped, flags=re.MULTILINE)
    assert not IMPORT_LINE.search(swapped), swapped
    assert swapped != source
    return swapped


def normalize(output: str, names: dict[str, str]) -> str:
    # Longest first: the group's name contains the topic's.
    for name in sorted(names, key=len, reverse=True):
        output = output.replace(name, names[name])
    # Leader epochs are the broker's; strom does not report them (None),
    # librdkafka reports the partition's (0 on a fresh topic).
    return re.sub(r"leader_epoch=\w+", "leader_epoch=*", output)


def start(source: str, bootstrap: str, topic: str, group: str, workdir: Path, env: dict) -> subprocess.Popen:
    workdir.mkdir()
    script = workdir / "program.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), bootstrap, topic, group],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_confluent_kafka_program_runs_unchanged_on_strom(
    name: str, bootstrap: str, topic_name: str, tmp_path: Path
) -> None:
    source, partitions = PROGRAMS[name]
    base_env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    base_env.pop("PYTHONPATH", None)
    # For the strom run, `import confluent_kafka` fails.
    blocker = tmp_path / "no-confluent-kafka" / "confluent_kafka"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('the strom run must not use confluent_kafka')\n")
    runs = {
        "confluent": (source, base_env),
        "strom": (to_strom(source), {**base_env, "PYTHONPATH": str(blocker.parent)}),
    }
    processes = {}
    names = {}
    for lib, (program, env) in runs.items():
        topic, group = f"{topic_name}-{lib}", f"group-{topic_name}-{lib}"
        create_topic(bootstrap, topic, partitions)
        names[lib] = {topic: "<topic>", group: "<group>", bootstrap: "<bootstrap>"}
        processes[lib] = start(program, bootstrap, topic, group, tmp_path / f"run-{lib}", env)
    results = {lib: finish(process) for lib, process in processes.items()}

    for lib, (code, out, err) in results.items():
        assert code == 0, f"{lib} run of {name} exited {code}\n--- stdout\n{out}\n--- stderr\n{err}"
    expected = normalize(results["confluent"][1], names["confluent"])
    got = normalize(results["strom"][1], names["strom"])
    assert expected.strip(), "the confluent-kafka run printed nothing"
    assert got == expected, f"--- stderr of the strom run\n{results['strom'][2]}"

    if name == "buffer_retry":
        # Strom's queue filled, and the program's retry branch made room.
        assert "Local producer queue is full" in results["strom"][2]
