"""Reads a topic as a member of a consumer group, commits, and stops after
COUNT records.

    python examples/python/consumer.py BOOTSTRAP TOPIC GROUP COUNT
"""

import sys

from typing import List

from strom import Consumer, KafkaException, TopicPartition


def main() -> None:
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )

    def on_assign(consumer: Consumer, partitions: List[TopicPartition]) -> None:
        print("assigned:", ", ".join(f"{p.topic}[{p.partition}]" for p in partitions))

    consumer.subscribe([topic], on_assign=on_assign)
    seen = 0
    try:
        while seen < count:
            msg = consumer.poll(10.0)
            if msg is None:
                raise SystemExit("no record within 10 s")
            if msg.error():
                raise KafkaException(msg.error())
            print(f"{msg.topic()} [{msg.partition()}] @ {msg.offset()}: {msg.key()!r} = {msg.value()!r}")
            seen += 1
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
