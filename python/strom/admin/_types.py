"""The admin client's data classes: what its calls take and return,
with confluent-kafka's names and attributes."""

from __future__ import annotations

import base64
import functools
from enum import Enum
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Set,
    Union,
)
from strom._strom import TopicPartition


# librdkafka's numbers, as confluent_kafka.cimpl exports them.
CONFIG_SOURCE_UNKNOWN_CONFIG = 0
CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG = 1
CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG = 2
CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG = 3
CONFIG_SOURCE_STATIC_BROKER_CONFIG = 4
CONFIG_SOURCE_DEFAULT_CONFIG = 5
CONFIG_SOURCE_GROUP_CONFIG = 8

RESOURCE_UNKNOWN = 0
RESOURCE_ANY = 1
RESOURCE_TOPIC = 2
RESOURCE_GROUP = 3
RESOURCE_BROKER = 4
RESOURCE_TRANSACTIONAL_ID = 5


def _to_enum(value: Any, enum_class: Any) -> Any:
    """`value` (an enum member, its case-insensitive name, or its number)
    as a member of `enum_class`, as confluent-kafka's ConversionUtil does."""
    if isinstance(value, enum_class):
        return value
    if isinstance(value, str):
        try:
            return enum_class[value.upper()]
        except KeyError:
            raise ValueError(f'Unknown value "{value}": should be a {enum_class.__name__}') from None
    if isinstance(value, int):
        return enum_class(value)
    raise TypeError(f'Unknown value "{value}": should be a {enum_class.__name__}')


class _OrderedEnum(Enum):
    """An Enum whose members compare by value, as confluent-kafka's do."""

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return bool(self.value < other.value)


# ----------------------------------------------------------------- enums


class ResourceType(_OrderedEnum):
    """The kinds of Kafka resources."""

    UNKNOWN = RESOURCE_UNKNOWN  #: Not known or not set.
    ANY = RESOURCE_ANY  #: Any resource, for lookups.
    TOPIC = RESOURCE_TOPIC  #: A topic, named by its name.
    GROUP = RESOURCE_GROUP  #: A group, named by its group.id.
    BROKER = RESOURCE_BROKER  #: A broker, named by its id.
    TRANSACTIONAL_ID = RESOURCE_TRANSACTIONAL_ID  #: A transactional id.


class ResourcePatternType(_OrderedEnum):
    """The kinds of resource patterns of ACLs."""

    UNKNOWN = 0  #: Not known or not set.
    ANY = 1  #: Any pattern, for lookups.
    MATCH = 2  #: Literal, wildcard or prefixed matches, for lookups.
    LITERAL = 3  #: The exact name.
    PREFIXED = 4  #: Names starting with the name.


class AlterConfigOpType(_OrderedEnum):
    """The operations of `incremental_alter_configs`."""

    SET = 0  #: Set the value.
    DELETE = 1  #: Revert to the default value.
    APPEND = 2  #: Add values to a list setting.
    SUBTRACT = 3  #: Remove values from a list setting.


class ConfigSource(_OrderedEnum):
    """Where a config value described by `describe_configs` comes from."""

    UNKNOWN_CONFIG = CONFIG_SOURCE_UNKNOWN_CONFIG  #: Unknown.
    DYNAMIC_TOPIC_CONFIG = CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG  #: The topic's own setting.
    DYNAMIC_BROKER_CONFIG = CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG  #: Set on this broker at runtime.
    DYNAMIC_DEFAULT_BROKER_CONFIG = CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG  #: Set for all brokers at runtime.
    STATIC_BROKER_CONFIG = CONFIG_SOURCE_STATIC_BROKER_CONFIG  #: The broker's configuration file.
    DEFAULT_CONFIG = CONFIG_SOURCE_DEFAULT_CONFIG  #: The built-in default.
    GROUP_CONFIG = CONFIG_SOURCE_GROUP_CONFIG  #: A group's own setting.


class ConsumerGroupState(_OrderedEnum):
    """The states of a consumer group."""

    UNKNOWN = 0  #: Not known or not set.
    UNKOWN = 0  #: Deprecated spelling of UNKNOWN (kept from confluent-kafka).
    PREPARING_REBALANCING = 1  #: Preparing a rebalance.
    COMPLETING_REBALANCING = 2  #: Completing a rebalance.
    STABLE = 3  #: Stable: members have their assignments.
    DEAD = 4  #: No members and no metadata.
    EMPTY = 5  #: No members, but committed offsets.


class ConsumerGroupType(_OrderedEnum):
    """The protocols of consumer groups."""

    UNKNOWN = 0  #: Not known or not reported.
    CONSUMER = 1  #: KIP-848's consumer protocol.
    CLASSIC = 2  #: The classic protocol.


class IsolationLevel(_OrderedEnum):
    """Which records `list_offsets` counts."""

    READ_UNCOMMITTED = 0  #: Every record.
    READ_COMMITTED = 1  #: Records of committed transactions only.


# Kafka's names for group states (ListGroups, DescribeGroups).
_GROUP_STATES = {
    "PreparingRebalance": ConsumerGroupState.PREPARING_REBALANCING,
    "CompletingRebalance": ConsumerGroupState.COMPLETING_REBALANCING,
    "Stable": ConsumerGroupState.STABLE,
    "Dead": ConsumerGroupState.DEAD,
    "Empty": ConsumerGroupState.EMPTY,
}


def _group_state(name: str) -> ConsumerGroupState:
    return _GROUP_STATES.get(name, ConsumerGroupState.UNKNOWN)


# --------------------------------------------------------- request types


@functools.total_ordering
class NewTopic:
    """A topic for `create_topics`: its name, partition count and
    replication factor (-1: the broker's defaults) and topic configs."""

    def __init__(
        self,
        topic: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        replica_assignment: Optional[List[List[int]]] = None,
        config: Optional[Dict[str, str]] = None,
    ) -> None:
        if not isinstance(topic, str):
            raise TypeError("NewTopic's topic must be a str")
        self.topic = topic
        """The topic's name."""
        self.num_partitions = int(num_partitions)
        """The partition count, or -1 for the broker's num.partitions."""
        self.replication_factor = int(replication_factor)
        """The replication factor, or -1 for the broker's default."""
        self.replica_assignment = replica_assignment
        """Replicas per partition (not supported by strom yet)."""
        self.config = dict(config) if config is not None else {}
        """Topic configs, by Kafka's names (`retention.ms`, ...)."""

    def __repr__(self) -> str:
        return f"NewTopic(topic={self.topic},num_partitions={self.num_partitions})"

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash(self.topic)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NewTopic):
            return NotImplemented
        return self.topic == other.topic

    def __lt__(self, other: "NewTopic") -> bool:
        return self.topic < other.topic


@functools.total_ordering
class NewPartitions:
    """A topic's new total partition count for `create_partitions`."""

    def __init__(
        self,
        topic: str,
        new_total_count: int,
        replica_assignment: Optional[List[List[int]]] = None,
    ) -> None:
        if not isinstance(topic, str):
            raise TypeError("NewPartitions' topic must be a str")
        self.topic = topic
        """The topic's name."""
        self.new_total_count = int(new_total_count)
        """The partition count the topic should have."""
        self.replica_assignment = replica_assignment
        """Replicas per new partition (not supported by strom yet)."""

    def __repr__(self) -> str:
        return f"NewPartitions(topic={self.topic},new_total_count={self.new_total_count})"

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash(self.topic)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NewPartitions):
            return NotImplemented
        return self.topic == other.topic

    def __lt__(self, other: "NewPartitions") -> bool:
        return self.topic < other.topic


class ConfigEntry:
    """A config value: what `describe_configs` returns per setting, and
    what `incremental_alter_configs` takes (with `incremental_operation`)."""

    def __init__(
        self,
        name: str,
        value: Optional[str],
        source: ConfigSource = ConfigSource.UNKNOWN_CONFIG,
        is_read_only: bool = False,
        is_default: bool = False,
        is_sensitive: bool = False,
        is_synonym: bool = False,
        synonyms: Optional[Dict[str, "ConfigEntry"]] = None,
        incremental_operation: Optional[AlterConfigOpType] = None,
    ) -> None:
        self.name = name
        """The setting's name."""
        self.value = value
        """Its value (None if unset or sensitive)."""
        self.source = source
        """Where the value comes from (a ConfigSource)."""
        self.is_read_only = bool(is_read_only)
        """Whether it cannot be altered."""
        self.is_default = bool(is_default)
        """Whether it is the default value."""
        self.is_sensitive = bool(is_sensitive)
        """Whether the value is secret (then `value` is None)."""
        self.is_synonym = bool(is_synonym)
        """Whether this entry is a synonym of another setting."""
        self.synonyms = synonyms if synonyms is not None else {}
        """Synonyms of the setting (not reported by strom yet: empty)."""
        self.incremental_operation = incremental_operation
        """The AlterConfigOpType that incremental_alter_configs applies."""

    def __repr__(self) -> str:
        return f'ConfigEntry({self.name}="{self.value}")'

    def __str__(self) -> str:
        return f'{self.name}="{self.value}"'


@functools.total_ordering
class ConfigResource:
    """A resource with configs (a topic, a broker), with the configs to
    alter. `restype` is a ResourceType, its name ('topic', case does not
    matter) or its number; a broker is named by its id."""

    Type = ResourceType

    def __init__(
        self,
        restype: Union[ResourceType, str, int],
        name: str,
        set_config: Optional[Dict[str, str]] = None,
        described_configs: Optional[Dict[str, ConfigEntry]] = None,
        error: Optional[Any] = None,
        incremental_configs: Optional[List[ConfigEntry]] = None,
    ) -> None:
        if name is None:
            raise ValueError("Expected resource name to be a string")
        if isinstance(restype, str):
            try:
                restype = ResourceType[restype.upper()]
            except KeyError:
                raise ValueError(f'Unknown resource type "{restype}": should be a ConfigResource.Type') from None
        elif isinstance(restype, int) and not isinstance(restype, ResourceType):
            restype = ResourceType(restype)
        self.restype: ResourceType = restype
        """The ResourceType."""
        self.restype_int = int(self.restype.value)
        """The ResourceType's number."""
        self.name = name
        """The resource's name (a broker's id as a str)."""
        self.set_config_dict: Dict[str, str] = dict(set_config) if set_config is not None else {}
        """Configs to set (for the deprecated alter_configs)."""
        self.incremental_configs: List[ConfigEntry] = list(incremental_configs or [])
        """ConfigEntry operations for incremental_alter_configs."""
        self.configs = described_configs
        """Configs described (for internal use)."""
        self.error = error
        """The resource's error (for internal use)."""

    def __repr__(self) -> str:
        if self.error is not None:
            return f"ConfigResource({self.restype},{self.name},{self.error!r})"
        return f"ConfigResource({self.restype},{self.name})"

    def __hash__(self) -> int:
        return hash((self.restype, self.name))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ConfigResource):
            return NotImplemented
        return (self.restype.value, self.name) < (other.restype.value, other.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigResource):
            return NotImplemented
        return self.restype == other.restype and self.name == other.name

    def __len__(self) -> int:
        """The number of configs to set."""
        return len(self.set_config_dict)

    def set_config(self, name: str, value: str, overwrite: bool = True) -> None:
        """Sets a config to set (for the deprecated alter_configs)."""
        if not overwrite and name in self.set_config_dict:
            return
        self.set_config_dict[name] = value

    def add_incremental_config(self, config_entry: ConfigEntry) -> None:
        """Adds a ConfigEntry, with its incremental_operation, for
        incremental_alter_configs."""
        self.incremental_configs.append(config_entry)


class ConsumerGroupTopicPartitions:
    """A group and partitions of it: the requests and results of
    `list_consumer_group_offsets` and `alter_consumer_group_offsets`."""

    def __init__(self, group_id: str, topic_partitions: Optional[List[TopicPartition]] = None) -> None:
        self.group_id = group_id
        """The group's id."""
        self.topic_partitions = topic_partitions
        """TopicPartitions (with offsets in results), or None."""

    def __repr__(self) -> str:
        return f"ConsumerGroupTopicPartitions({self.group_id}, {self.topic_partitions})"


class TopicCollection:
    """Topic names, for `describe_topics`."""

    def __init__(self, topic_names: List[str]) -> None:
        self.topic_names = topic_names
        """The topics' names."""


# ------------------------------------------------------------ result types


class Node:
    """A broker: id, host, port and rack."""

    def __init__(self, id: int, host: str, port: int, rack: Optional[str] = None) -> None:
        self.id = id
        """The broker's node id."""
        self.id_string = str(id)
        """The node id as a str."""
        self.host = host
        """Its host name."""
        self.port = port
        """Its port."""
        self.rack = rack
        """Its rack, or None."""

    def __repr__(self) -> str:
        return f"Node({self.id}, {self.host}:{self.port}, rack={self.rack})"

    def __str__(self) -> str:
        rack = f"(Rack - {self.rack})" if self.rack else ""
        return f"({self.id}) {self.host}:{self.port} {rack}"


class ConsumerGroupListing:
    """A group as `list_consumer_groups` reports it."""

    def __init__(
        self,
        group_id: str,
        is_simple_consumer_group: bool,
        state: Optional[Union[ConsumerGroupState, str, int]] = None,
        type: Optional[Union[ConsumerGroupType, str, int]] = None,
    ) -> None:
        self.group_id = group_id
        """The group's id."""
        self.is_simple_consumer_group = is_simple_consumer_group
        """Whether the group has no protocol (offsets committed without joining)."""
        if state is not None:
            self.state = _to_enum(state, ConsumerGroupState)
            """The group's ConsumerGroupState."""
        if type is not None:
            self.type = _to_enum(type, ConsumerGroupType)
            """The group's ConsumerGroupType (UNKNOWN: not reported)."""

    def __repr__(self) -> str:
        return f"ConsumerGroupListing({self.group_id}, {getattr(self, 'state', None)})"


class ListConsumerGroupsResult:
    """The result of `list_consumer_groups`: groups listed, and errors."""

    def __init__(
        self,
        valid: Optional[List[ConsumerGroupListing]] = None,
        errors: Optional[List[Exception]] = None,
    ) -> None:
        self.valid = valid
        """The ConsumerGroupListings."""
        self.errors = errors
        """KafkaExceptions of brokers that could not list their groups."""


class MemberAssignment:
    """The partitions assigned to a group member."""

    def __init__(self, topic_partitions: Optional[List[TopicPartition]]) -> None:
        self.topic_partitions = topic_partitions or []
        """The TopicPartitions."""


class MemberDescription:
    """A group member as `describe_consumer_groups` reports it."""

    def __init__(
        self,
        member_id: str,
        client_id: str,
        host: str,
        assignment: MemberAssignment,
        group_instance_id: Optional[str] = None,
        target_assignment: Optional[MemberAssignment] = None,
    ) -> None:
        self.member_id = member_id
        """The member id the coordinator gave."""
        self.client_id = client_id
        """The member's client.id."""
        self.host = host
        """The host the member connects from."""
        self.assignment = assignment
        """Its MemberAssignment."""
        self.target_assignment = target_assignment
        """Its target assignment (KIP-848 groups only: None)."""
        self.group_instance_id = group_instance_id
        """Its group.instance.id, or None."""


class ConsumerGroupDescription:
    """A group as `describe_consumer_groups` reports it."""

    def __init__(
        self,
        group_id: str,
        is_simple_consumer_group: bool,
        members: List[MemberDescription],
        partition_assignor: str,
        state: Optional[Union[ConsumerGroupState, str, int]],
        coordinator: Optional[Node],
        authorized_operations: Optional[List[Any]] = None,
        type: Union[ConsumerGroupType, str, int] = ConsumerGroupType.UNKNOWN,
    ) -> None:
        self.group_id = group_id
        """The group's id."""
        self.is_simple_consumer_group = is_simple_consumer_group
        """Whether the group has no protocol."""
        self.members = members
        """MemberDescriptions."""
        self.authorized_operations = authorized_operations
        """The operations allowed on the group (not reported: None)."""
        self.partition_assignor = partition_assignor
        """The assignor the group uses (`range`, ...), or ''."""
        if state is not None:
            self.state = _to_enum(state, ConsumerGroupState)
            """The ConsumerGroupState."""
        if type is not None:
            self.type = _to_enum(type, ConsumerGroupType)
            """The ConsumerGroupType (UNKNOWN: not reported)."""
        self.coordinator = coordinator
        """The group's coordinator (a Node)."""

    def __repr__(self) -> str:
        return f"ConsumerGroupDescription({self.group_id}, {getattr(self, 'state', None)}, {len(self.members)} members)"


class DescribeClusterResult:
    """The result of `describe_cluster`."""

    def __init__(
        self,
        controller: Optional[Node],
        nodes: List[Node],
        cluster_id: Optional[str] = None,
        authorized_operations: Optional[List[Any]] = None,
    ) -> None:
        self.cluster_id = cluster_id
        """The cluster's id."""
        self.controller = controller
        """The controller (a Node), or None when unknown."""
        self.nodes = nodes
        """Every broker (Nodes)."""
        self.authorized_operations = authorized_operations
        """The operations allowed on the cluster (not reported: None)."""


class Uuid:
    """A Kafka UUID (a topic id): two signed 64-bit halves; `str()` is
    Kafka's URL-safe base64 form."""

    def __init__(self, most_significant_bits: int, least_significant_bits: int) -> None:
        self._msb = most_significant_bits
        self._lsb = least_significant_bits

    @classmethod
    def _from_bytes(cls, data: bytes) -> "Uuid":
        return cls(int.from_bytes(data[:8], "big", signed=True), int.from_bytes(data[8:16], "big", signed=True))

    def get_most_significant_bits(self) -> int:
        """The first 64 bits, signed."""
        return self._msb

    def get_least_significant_bits(self) -> int:
        """The last 64 bits, signed."""
        return self._lsb

    def __bytes__(self) -> bytes:
        return self._msb.to_bytes(8, "big", signed=True) + self._lsb.to_bytes(8, "big", signed=True)

    def __str__(self) -> str:
        return base64.urlsafe_b64encode(bytes(self)).decode("ascii").rstrip("=")

    def __repr__(self) -> str:
        return f"Uuid({self})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Uuid):
            return NotImplemented
        return (self._msb, self._lsb) == (other._msb, other._lsb)

    def __hash__(self) -> int:
        return hash((self._msb, self._lsb))


class TopicPartitionInfo:
    """A partition as `describe_topics` reports it."""

    def __init__(self, id: int, leader: Optional[Node], replicas: List[Node], isr: List[Node]) -> None:
        self.id = id
        """The partition's index."""
        self.leader = leader
        """The leader (a Node), or None while there is none."""
        self.replicas = replicas
        """The replicas (Nodes)."""
        self.isr = isr
        """The in-sync replicas (Nodes)."""


class TopicDescription:
    """A topic as `describe_topics` reports it."""

    def __init__(
        self,
        name: str,
        topic_id: Uuid,
        is_internal: bool,
        partitions: List[TopicPartitionInfo],
        authorized_operations: Optional[List[Any]] = None,
    ) -> None:
        self.name = name
        """The topic's name."""
        self.topic_id = topic_id
        """Its id (a Uuid)."""
        self.is_internal = is_internal
        """Whether it is internal (`__consumer_offsets`)."""
        self.partitions = partitions
        """TopicPartitionInfos, by index."""
        self.authorized_operations = authorized_operations
        """The operations allowed on the topic (not reported: None)."""


class OffsetSpec:
    """Which offset `list_offsets` finds: `OffsetSpec.earliest()`,
    `OffsetSpec.latest()`, `OffsetSpec.max_timestamp()` or
    `OffsetSpec.for_timestamp(ms)`."""

    _EARLIEST = -2
    _LATEST = -1
    _MAX_TIMESTAMP = -3

    def __init__(self, index: int) -> None:
        if index < 0 and index not in (self._EARLIEST, self._LATEST, self._MAX_TIMESTAMP):
            raise ValueError(f"{index} is not an OffsetSpec")
        self._value = int(index)

    @classmethod
    def earliest(cls) -> "OffsetSpec":
        """The partition's first offset."""
        return cls(cls._EARLIEST)

    @classmethod
    def latest(cls) -> "OffsetSpec":
        """The partition's end offset (the next to be written)."""
        return cls(cls._LATEST)

    @classmethod
    def max_timestamp(cls) -> "OffsetSpec":
        """The offset of the record with the largest timestamp."""
        return cls(cls._MAX_TIMESTAMP)

    @classmethod
    def for_timestamp(cls, timestamp: int) -> "OffsetSpec":
        """The first offset whose timestamp is at or after `timestamp` (ms)."""
        if timestamp < 0:
            raise ValueError("a timestamp must not be negative")
        return cls(timestamp)

    def __repr__(self) -> str:
        names = {self._EARLIEST: "earliest", self._LATEST: "latest", self._MAX_TIMESTAMP: "max_timestamp"}
        return f"OffsetSpec.{names.get(self._value, f'for_timestamp({self._value})')}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OffsetSpec):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, OffsetSpec):
            return NotImplemented
        return self._value < other._value


class ListOffsetsResultInfo:
    """A partition's answer to `list_offsets`."""

    def __init__(self, offset: int, timestamp: int, leader_epoch: int) -> None:
        self.offset = offset
        """The offset found (-1 when no record matches a timestamp)."""
        self.timestamp = timestamp
        """Its record's timestamp in ms (-1 for earliest and latest)."""
        self.leader_epoch: Optional[int] = leader_epoch if leader_epoch is not None and leader_epoch >= 0 else None
        """The leader epoch of the offset, or None."""

    def __repr__(self) -> str:
        return f"ListOffsetsResultInfo(offset={self.offset}, timestamp={self.timestamp})"


class DeletedRecords:
    """A partition's answer to `delete_records`."""

    def __init__(self, low_watermark: int) -> None:
        self.low_watermark = low_watermark
        """The partition's first offset after the deletion."""

    def __repr__(self) -> str:
        return f"DeletedRecords(low_watermark={self.low_watermark})"
