"""Creates a topic, shows it, changes its retention, and deletes it.

    python examples/python/admin.py BOOTSTRAP TOPIC
"""

import sys

from strom.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic


def main() -> None:
    bootstrap, topic = sys.argv[1], sys.argv[2]
    admin = AdminClient({"bootstrap.servers": bootstrap})

    for name, future in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).items():
        future.result(timeout=30)
        print(f"created {name}")

    metadata = admin.list_topics(timeout=10)
    print(f"{topic} has {len(metadata.topics[topic].partitions)} partitions")

    retention = ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource("topic", topic, incremental_configs=[retention])
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)
    configs = admin.describe_configs([ConfigResource("topic", topic)])
    for future in configs.values():
        print(f"retention.ms = {future.result(timeout=30)['retention.ms'].value}")

    for name, future in admin.delete_topics([topic]).items():
        future.result(timeout=30)
        print(f"deleted {name}")


if __name__ == "__main__":
    main()
