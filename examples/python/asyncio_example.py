"""asyncio: sends records concurrently, then reads them back.

    python examples/python/asyncio_example.py BOOTSTRAP TOPIC
"""

import asyncio
import sys

from strom.aio import AIOConsumer, AIOProducer


async def main(bootstrap: str, topic: str) -> None:
    async with AIOProducer({"bootstrap.servers": bootstrap}) as producer:
        delivered = await asyncio.gather(*(producer.send(topic, f"event-{i}".encode(), key=b"k") for i in range(100)))
        print(f"sent {len(delivered)} records, last at offset {delivered[-1].offset()}")

    config = {"bootstrap.servers": bootstrap, "group.id": f"{topic}-readers", "auto.offset.reset": "earliest"}
    async with AIOConsumer(config) as consumer:
        await consumer.subscribe([topic])
        received = 0
        async for message in consumer:
            received += 1
            if received == 100:
                print(f"received 100 records, last: {message.value()!r}")
                break
        await consumer.commit()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
