"""Strom's admin client: confluent-kafka's `confluent_kafka.admin` API.

    from strom.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": "localhost:9092"})
    for topic, future in admin.create_topics([NewTopic("orders", 3)]).items():
        future.result()  # None, or raises KafkaException

As in confluent-kafka, the calls return at once with `concurrent.futures.
Future`s, one per topic, group, resource or partition asked about (a single
future for cluster-wide calls); a failed item's future raises a
`strom.KafkaException` (a subclass saying what kind of failure) whose
`args[0]` is the `KafkaError`. The work runs on the client core's runtime,
not on a thread per call. The result classes here are plain data, with
confluent-kafka's names and attributes.

Not supported yet (they raise `strom.ConfigError`): leader elections, the deprecated `alter_configs` and
`list_groups`, config resources other than TOPIC and BROKER, replica
assignments for new topics and partitions.
"""

from __future__ import annotations

from strom.admin._client import (
    AdminClient,
)
from strom.admin._acl import AclBinding, AclBindingFilter, AclOperation, AclPermissionType
from strom.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialsDescription,
    UserScramCredentialUpsertion,
)
from strom.admin._types import (
    AlterConfigOpType,
    CONFIG_SOURCE_DEFAULT_CONFIG,
    CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG,
    CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG,
    CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG,
    CONFIG_SOURCE_GROUP_CONFIG,
    CONFIG_SOURCE_STATIC_BROKER_CONFIG,
    CONFIG_SOURCE_UNKNOWN_CONFIG,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ConsumerGroupDescription,
    ConsumerGroupListing,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    DeletedRecords,
    DescribeClusterResult,
    IsolationLevel,
    ListConsumerGroupsResult,
    ListOffsetsResultInfo,
    MemberAssignment,
    MemberDescription,
    NewPartitions,
    NewTopic,
    Node,
    OffsetSpec,
    RESOURCE_ANY,
    RESOURCE_BROKER,
    RESOURCE_GROUP,
    RESOURCE_TOPIC,
    RESOURCE_TRANSACTIONAL_ID,
    RESOURCE_UNKNOWN,
    ResourcePatternType,
    ResourceType,
    TopicCollection,
    TopicDescription,
    TopicPartitionInfo,
    Uuid,
)
from strom._strom import (
    BrokerMetadata,
    ClusterMetadata,
    KafkaError,
    OFFSET_INVALID,
    PartitionMetadata,
    TopicMetadata,
    TopicPartition,
)
from strom.error import (
    KafkaException,
)

__all__ = [
    "AclBinding",
    "AclBindingFilter",
    "AclOperation",
    "AclPermissionType",
    "AdminClient",
    "ScramCredentialInfo",
    "ScramMechanism",
    "UserScramCredentialAlteration",
    "UserScramCredentialDeletion",
    "UserScramCredentialsDescription",
    "UserScramCredentialUpsertion",
    "NewTopic",
    "NewPartitions",
    "ConfigResource",
    "ConfigEntry",
    "ConfigSource",
    "AlterConfigOpType",
    "ResourceType",
    "ResourcePatternType",
    "ConsumerGroupState",
    "ConsumerGroupType",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupListing",
    "ListConsumerGroupsResult",
    "ConsumerGroupDescription",
    "MemberDescription",
    "MemberAssignment",
    "Node",
    "DescribeClusterResult",
    "TopicCollection",
    "TopicDescription",
    "TopicPartitionInfo",
    "Uuid",
    "IsolationLevel",
    "OffsetSpec",
    "ListOffsetsResultInfo",
    "DeletedRecords",
    "ClusterMetadata",
    "BrokerMetadata",
    "TopicMetadata",
    "PartitionMetadata",
    "KafkaError",
    "KafkaException",
    "TopicPartition",
    "OFFSET_INVALID",
    "CONFIG_SOURCE_UNKNOWN_CONFIG",
    "CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG",
    "CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG",
    "CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG",
    "CONFIG_SOURCE_STATIC_BROKER_CONFIG",
    "CONFIG_SOURCE_DEFAULT_CONFIG",
    "CONFIG_SOURCE_GROUP_CONFIG",
    "RESOURCE_UNKNOWN",
    "RESOURCE_ANY",
    "RESOURCE_TOPIC",
    "RESOURCE_GROUP",
    "RESOURCE_BROKER",
    "RESOURCE_TRANSACTIONAL_ID",
]
