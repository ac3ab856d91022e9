"""Produces a few records and prints where each went.

    python examples/python/producer.py BOOTSTRAP TOPIC [COUNT]
"""

import sys

from typing import Optional

from strom import KafkaError, Message, Producer


def main() -> None:
    bootstrap, topic = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    producer = Producer({"bootstrap.servers": bootstrap})

    def report(err: Optional[KafkaError], msg: Message) -> None:
        if err is not None:
            print(f"delivery failed: {err}")
        else:
            print(f"delivered {msg.key()!r} to {msg.topic()} [{msg.partition()}] @ {msg.offset()}")

    for i in range(count):
        producer.produce(topic, value=f"value-{i}", key=f"key-{i}", headers={"source": "example"}, on_delivery=report)
        producer.poll(0)
    left = producer.flush(10)
    sys.exit(1 if left else 0)


if __name__ == "__main__":
    main()
