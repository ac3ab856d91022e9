# Type stubs for the native module strom._strom (bindings/python).
# Checked in; python/tests/test_stubs.py fails when they drift from it.

import asyncio
import builtins
import concurrent.futures
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Payload = Union[bytes, bytearray, str, None]
HeaderValue = Union[bytes, str, None]
Headers = Union[Mapping[str, HeaderValue], Sequence[Tuple[str, HeaderValue]], None]
Config = Mapping[str, Any]
DeliveryCallback = Callable[[Optional["KafkaError"], "Message"], Any]
RebalanceCallback = Callable[["Consumer", List["TopicPartition"]], Any]

OFFSET_BEGINNING: int
OFFSET_END: int
OFFSET_STORED: int
OFFSET_INVALID: int
TIMESTAMP_NOT_AVAILABLE: int
TIMESTAMP_CREATE_TIME: int
TIMESTAMP_LOG_APPEND_TIME: int
__version__: str

def run_cli(args: List[str]) -> int: ...
def shutdown_runtime(timeout: float) -> None: ...
def after_fork_in_child() -> None: ...
def install_logging(level: int) -> None: ...
def set_log_level(level: Optional[int]) -> None: ...
def dropped_log_events() -> int: ...

class KafkaError:
    """An error code with its name, message, and whether a retry may help.
    Every Kafka and librdkafka error code is a class attribute
    (`KafkaError.UNKNOWN_TOPIC_OR_PART`, `KafkaError._PARTITION_EOF`)."""

    # Every error code, by Kafka's name and by librdkafka's where it differs.
    _BAD_MSG: ClassVar[int]  # -199
    _BAD_COMPRESSION: ClassVar[int]  # -198
    _DESTROY: ClassVar[int]  # -197
    _FAIL: ClassVar[int]  # -196
    _TRANSPORT: ClassVar[int]  # -195
    _MSG_TIMED_OUT: ClassVar[int]  # -192
    _PARTITION_EOF: ClassVar[int]  # -191
    _UNKNOWN_PARTITION: ClassVar[int]  # -190
    _UNKNOWN_TOPIC: ClassVar[int]  # -188
    _ALL_BROKERS_DOWN: ClassVar[int]  # -187
    _INVALID_ARG: ClassVar[int]  # -186
    _TIMED_OUT: ClassVar[int]  # -185
    _QUEUE_FULL: ClassVar[int]  # -184
    _ASSIGN_PARTITIONS: ClassVar[int]  # -175
    _REVOKE_PARTITIONS: ClassVar[int]  # -174
    _STATE: ClassVar[int]  # -172
    _NO_OFFSET: ClassVar[int]  # -168
    _INTR: ClassVar[int]  # -163
    _KEY_SERIALIZATION: ClassVar[int]  # -162
    _VALUE_SERIALIZATION: ClassVar[int]  # -161
    _KEY_DESERIALIZATION: ClassVar[int]  # -160
    _VALUE_DESERIALIZATION: ClassVar[int]  # -159
    _NOENT: ClassVar[int]  # -156
    _FATAL: ClassVar[int]  # -150
    _ASSIGNMENT_LOST: ClassVar[int]  # -142
    UNKNOWN: ClassVar[int]  # -1
    UNKNOWN_SERVER_ERROR: ClassVar[int]  # -1
    NONE: ClassVar[int]  # 0
    NO_ERROR: ClassVar[int]  # 0
    OFFSET_OUT_OF_RANGE: ClassVar[int]  # 1
    CORRUPT_MESSAGE: ClassVar[int]  # 2
    INVALID_MSG: ClassVar[int]  # 2
    UNKNOWN_TOPIC_OR_PART: ClassVar[int]  # 3
    UNKNOWN_TOPIC_OR_PARTITION: ClassVar[int]  # 3
    INVALID_FETCH_SIZE: ClassVar[int]  # 4
    INVALID_MSG_SIZE: ClassVar[int]  # 4
    LEADER_NOT_AVAILABLE: ClassVar[int]  # 5
    NOT_LEADER_FOR_PARTITION: ClassVar[int]  # 6
    NOT_LEADER_OR_FOLLOWER: ClassVar[int]  # 6
    REQUEST_TIMED_OUT: ClassVar[int]  # 7
    BROKER_NOT_AVAILABLE: ClassVar[int]  # 8
    REPLICA_NOT_AVAILABLE: ClassVar[int]  # 9
    MESSAGE_TOO_LARGE: ClassVar[int]  # 10
    MSG_SIZE_TOO_LARGE: ClassVar[int]  # 10
    STALE_CONTROLLER_EPOCH: ClassVar[int]  # 11
    OFFSET_METADATA_TOO_LARGE: ClassVar[int]  # 12
    NETWORK_EXCEPTION: ClassVar[int]  # 13
    COORDINATOR_LOAD_IN_PROGRESS: ClassVar[int]  # 14
    COORDINATOR_NOT_AVAILABLE: ClassVar[int]  # 15
    NOT_COORDINATOR: ClassVar[int]  # 16
    INVALID_TOPIC_EXCEPTION: ClassVar[int]  # 17
    TOPIC_EXCEPTION: ClassVar[int]  # 17
    RECORD_LIST_TOO_LARGE: ClassVar[int]  # 18
    NOT_ENOUGH_REPLICAS: ClassVar[int]  # 19
    NOT_ENOUGH_REPLICAS_AFTER_APPEND: ClassVar[int]  # 20
    INVALID_REQUIRED_ACKS: ClassVar[int]  # 21
    ILLEGAL_GENERATION: ClassVar[int]  # 22
    INCONSISTENT_GROUP_PROTOCOL: ClassVar[int]  # 23
    INVALID_GROUP_ID: ClassVar[int]  # 24
    UNKNOWN_MEMBER_ID: ClassVar[int]  # 25
    INVALID_SESSION_TIMEOUT: ClassVar[int]  # 26
    REBALANCE_IN_PROGRESS: ClassVar[int]  # 27
    INVALID_COMMIT_OFFSET_SIZE: ClassVar[int]  # 28
    TOPIC_AUTHORIZATION_FAILED: ClassVar[int]  # 29
    GROUP_AUTHORIZATION_FAILED: ClassVar[int]  # 30
    CLUSTER_AUTHORIZATION_FAILED: ClassVar[int]  # 31
    INVALID_TIMESTAMP: ClassVar[int]  # 32
    UNSUPPORTED_SASL_MECHANISM: ClassVar[int]  # 33
    ILLEGAL_SASL_STATE: ClassVar[int]  # 34
    UNSUPPORTED_VERSION: ClassVar[int]  # 35
    TOPIC_ALREADY_EXISTS: ClassVar[int]  # 36
    INVALID_PARTITIONS: ClassVar[int]  # 37
    INVALID_REPLICATION_FACTOR: ClassVar[int]  # 38
    INVALID_REPLICA_ASSIGNMENT: ClassVar[int]  # 39
    INVALID_CONFIG: ClassVar[int]  # 40
    NOT_CONTROLLER: ClassVar[int]  # 41
    INVALID_REQUEST: ClassVar[int]  # 42
    UNSUPPORTED_FOR_MESSAGE_FORMAT: ClassVar[int]  # 43
    POLICY_VIOLATION: ClassVar[int]  # 44
    OUT_OF_ORDER_SEQUENCE_NUMBER: ClassVar[int]  # 45
    DUPLICATE_SEQUENCE_NUMBER: ClassVar[int]  # 46
    INVALID_PRODUCER_EPOCH: ClassVar[int]  # 47
    INVALID_TXN_STATE: ClassVar[int]  # 48
    INVALID_PRODUCER_ID_MAPPING: ClassVar[int]  # 49
    INVALID_TRANSACTION_TIMEOUT: ClassVar[int]  # 50
    CONCURRENT_TRANSACTIONS: ClassVar[int]  # 51
    TRANSACTION_COORDINATOR_FENCED: ClassVar[int]  # 52
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED: ClassVar[int]  # 53
    SECURITY_DISABLED: ClassVar[int]  # 54
    OPERATION_NOT_ATTEMPTED: ClassVar[int]  # 55
    KAFKA_STORAGE_ERROR: ClassVar[int]  # 56
    LOG_DIR_NOT_FOUND: ClassVar[int]  # 57
    SASL_AUTHENTICATION_FAILED: ClassVar[int]  # 58
    UNKNOWN_PRODUCER_ID: ClassVar[int]  # 59
    REASSIGNMENT_IN_PROGRESS: ClassVar[int]  # 60
    DELEGATION_TOKEN_AUTH_DISABLED: ClassVar[int]  # 61
    DELEGATION_TOKEN_NOT_FOUND: ClassVar[int]  # 62
    DELEGATION_TOKEN_OWNER_MISMATCH: ClassVar[int]  # 63
    DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: ClassVar[int]  # 64
    DELEGATION_TOKEN_AUTHORIZATION_FAILED: ClassVar[int]  # 65
    DELEGATION_TOKEN_EXPIRED: ClassVar[int]  # 66
    INVALID_PRINCIPAL_TYPE: ClassVar[int]  # 67
    NON_EMPTY_GROUP: ClassVar[int]  # 68
    GROUP_ID_NOT_FOUND: ClassVar[int]  # 69
    FETCH_SESSION_ID_NOT_FOUND: ClassVar[int]  # 70
    INVALID_FETCH_SESSION_EPOCH: ClassVar[int]  # 71
    LISTENER_NOT_FOUND: ClassVar[int]  # 72
    TOPIC_DELETION_DISABLED: ClassVar[int]  # 73
    FENCED_LEADER_EPOCH: ClassVar[int]  # 74
    UNKNOWN_LEADER_EPOCH: ClassVar[int]  # 75
    UNSUPPORTED_COMPRESSION_TYPE: ClassVar[int]  # 76
    STALE_BROKER_EPOCH: ClassVar[int]  # 77
    OFFSET_NOT_AVAILABLE: ClassVar[int]  # 78
    MEMBER_ID_REQUIRED: ClassVar[int]  # 79
    PREFERRED_LEADER_NOT_AVAILABLE: ClassVar[int]  # 80
    GROUP_MAX_SIZE_REACHED: ClassVar[int]  # 81
    FENCED_INSTANCE_ID: ClassVar[int]  # 82
    ELIGIBLE_LEADERS_NOT_AVAILABLE: ClassVar[int]  # 83
    ELECTION_NOT_NEEDED: ClassVar[int]  # 84
    NO_REASSIGNMENT_IN_PROGRESS: ClassVar[int]  # 85
    GROUP_SUBSCRIBED_TO_TOPIC: ClassVar[int]  # 86
    INVALID_RECORD: ClassVar[int]  # 87
    UNSTABLE_OFFSET_COMMIT: ClassVar[int]  # 88
    THROTTLING_QUOTA_EXCEEDED: ClassVar[int]  # 89
    PRODUCER_FENCED: ClassVar[int]  # 90
    RESOURCE_NOT_FOUND: ClassVar[int]  # 91
    DUPLICATE_RESOURCE: ClassVar[int]  # 92
    UNACCEPTABLE_CREDENTIAL: ClassVar[int]  # 93
    INCONSISTENT_VOTER_SET: ClassVar[int]  # 94
    INVALID_UPDATE_VERSION: ClassVar[int]  # 95
    FEATURE_UPDATE_FAILED: ClassVar[int]  # 96
    PRINCIPAL_DESERIALIZATION_FAILURE: ClassVar[int]  # 97
    SNAPSHOT_NOT_FOUND: ClassVar[int]  # 98
    POSITION_OUT_OF_RANGE: ClassVar[int]  # 99
    UNKNOWN_TOPIC_ID: ClassVar[int]  # 100
    DUPLICATE_BROKER_REGISTRATION: ClassVar[int]  # 101
    BROKER_ID_NOT_REGISTERED: ClassVar[int]  # 102
    INCONSISTENT_TOPIC_ID: ClassVar[int]  # 103
    INCONSISTENT_CLUSTER_ID: ClassVar[int]  # 104
    TRANSACTIONAL_ID_NOT_FOUND: ClassVar[int]  # 105
    FETCH_SESSION_TOPIC_ID_ERROR: ClassVar[int]  # 106
    INELIGIBLE_REPLICA: ClassVar[int]  # 107
    NEW_LEADER_ELECTED: ClassVar[int]  # 108
    OFFSET_MOVED_TO_TIERED_STORAGE: ClassVar[int]  # 109
    FENCED_MEMBER_EPOCH: ClassVar[int]  # 110
    UNRELEASED_INSTANCE_ID: ClassVar[int]  # 111
    UNSUPPORTED_ASSIGNOR: ClassVar[int]  # 112
    STALE_MEMBER_EPOCH: ClassVar[int]  # 113
    MISMATCHED_ENDPOINT_TYPE: ClassVar[int]  # 114
    UNSUPPORTED_ENDPOINT_TYPE: ClassVar[int]  # 115
    UNKNOWN_CONTROLLER_ID: ClassVar[int]  # 116
    UNKNOWN_SUBSCRIPTION_ID: ClassVar[int]  # 117
    TELEMETRY_TOO_LARGE: ClassVar[int]  # 118
    INVALID_REGISTRATION: ClassVar[int]  # 119
    TRANSACTION_ABORTABLE: ClassVar[int]  # 120

    def __init__(
        self,
        error: int,
        reason: Optional[builtins.str] = None,
        fatal: bool = False,
        retriable: bool = False,
        txn_requires_abort: bool = False,
    ) -> None: ...
    def code(self) -> int: ...
    def name(self) -> builtins.str: ...
    def str(self) -> builtins.str: ...
    def fatal(self) -> bool: ...
    def retriable(self) -> bool: ...
    def txn_requires_abort(self) -> bool: ...
    def __hash__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __lt__(self, other: Union["KafkaError", int]) -> bool: ...
    def __le__(self, other: Union["KafkaError", int]) -> bool: ...
    def __gt__(self, other: Union["KafkaError", int]) -> bool: ...
    def __ge__(self, other: Union["KafkaError", int]) -> bool: ...

class Message:
    """A consumed record, a delivery report's record, or an error event."""

    def topic(self) -> Optional[str]: ...
    def partition(self) -> Optional[int]: ...
    def offset(self) -> Optional[int]: ...
    def key(self) -> Optional[bytes]: ...
    def value(self) -> Optional[bytes]: ...
    def headers(self) -> Optional[List[Tuple[str, Optional[bytes]]]]: ...
    def timestamp(self) -> Tuple[int, int]: ...
    def error(self) -> Optional[KafkaError]: ...
    def latency(self) -> Optional[float]: ...
    def leader_epoch(self) -> Optional[int]: ...
    def set_key(self, key: Any) -> None: ...
    def set_value(self, value: Any) -> None: ...
    def set_headers(self, headers: Any) -> None: ...
    def __len__(self) -> int: ...

class TopicPartition:
    topic: str
    partition: int
    offset: int
    metadata: Optional[str]
    leader_epoch: Optional[int]
    error: Optional[KafkaError]
    def __init__(
        self,
        topic: str,
        partition: int = -1,
        offset: int = -1001,
        metadata: Optional[str] = None,
        leader_epoch: Optional[int] = None,
    ) -> None: ...
    def __hash__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __lt__(self, other: "TopicPartition") -> bool: ...
    def __le__(self, other: "TopicPartition") -> bool: ...
    def __gt__(self, other: "TopicPartition") -> bool: ...
    def __ge__(self, other: "TopicPartition") -> bool: ...

class BrokerMetadata:
    id: int
    host: str
    port: int

class PartitionMetadata:
    id: int
    leader: int
    replicas: List[int]
    isrs: List[int]
    error: Optional[KafkaError]

class TopicMetadata:
    topic: str
    partitions: Dict[int, PartitionMetadata]
    error: Optional[KafkaError]

class ClusterMetadata:
    cluster_id: Optional[str]
    controller_id: int
    brokers: Dict[int, BrokerMetadata]
    topics: Dict[str, TopicMetadata]
    orig_broker_id: int
    orig_broker_name: Optional[str]

class Producer:
    """confluent-kafka's Producer: `produce` queues, `poll`/`flush` serve
    delivery reports and `stats_cb` (the config's `stats_cb(json_str)`,
    every `statistics.interval.ms`) on the calling thread."""

    def __init__(self, conf: Optional[Config] = None, **kwargs: Any) -> None: ...
    def produce(
        self,
        topic: str,
        value: Payload = None,
        key: Payload = None,
        partition: int = -1,
        on_delivery: Optional[DeliveryCallback] = None,
        callback: Optional[DeliveryCallback] = None,
        timestamp: int = 0,
        headers: Headers = None,
    ) -> None: ...
    def poll(self, timeout: Optional[float] = None) -> int: ...
    def flush(self, timeout: Optional[float] = None) -> int: ...
    def list_topics(self, topic: Optional[str] = None, timeout: Optional[float] = None) -> ClusterMetadata: ...
    def close(self, timeout: Optional[float] = None) -> int: ...
    def init_transactions(self, *args: Any) -> None: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> "Producer": ...
    def __exit__(self, *exc: Any) -> bool: ...

class Consumer:
    """confluent-kafka's Consumer: `poll` returns one record at a time;
    rebalance and commit callbacks and `stats_cb` (every
    `statistics.interval.ms`) run inside `poll`/`consume` on its thread."""

    def __init__(self, conf: Optional[Config] = None, **kwargs: Any) -> None: ...
    def subscribe(
        self,
        topics: List[str],
        on_assign: Optional[RebalanceCallback] = None,
        on_revoke: Optional[RebalanceCallback] = None,
        on_lost: Optional[RebalanceCallback] = None,
    ) -> None: ...
    def unsubscribe(self) -> None: ...
    def poll(self, timeout: Optional[float] = None) -> Optional[Message]: ...
    def consume(self, num_messages: int = 1, timeout: Optional[float] = None) -> List[Message]: ...
    def commit(
        self,
        message: Optional[Message] = None,
        offsets: Optional[Sequence[TopicPartition]] = None,
        asynchronous: bool = True,
    ) -> Optional[List[TopicPartition]]: ...
    def committed(
        self, partitions: Sequence[TopicPartition], timeout: Optional[float] = None
    ) -> List[TopicPartition]: ...
    def position(self, partitions: Sequence[TopicPartition]) -> List[TopicPartition]: ...
    def assign(self, partitions: Sequence[TopicPartition]) -> None: ...
    def incremental_assign(self, partitions: Sequence[TopicPartition]) -> None: ...
    def incremental_unassign(self, partitions: Sequence[TopicPartition]) -> None: ...
    def unassign(self) -> None: ...
    def assignment(self) -> List[TopicPartition]: ...
    def seek(self, partition: TopicPartition) -> None: ...
    def pause(self, partitions: Sequence[TopicPartition]) -> None: ...
    def resume(self, partitions: Sequence[TopicPartition]) -> None: ...
    def get_watermark_offsets(
        self, partition: TopicPartition, timeout: Optional[float] = None, cached: bool = False
    ) -> Tuple[int, int]: ...
    def offsets_for_times(
        self, partitions: Sequence[TopicPartition], timeout: Optional[float] = None
    ) -> List[TopicPartition]: ...
    def list_topics(self, topic: Optional[str] = None, timeout: Optional[float] = None) -> ClusterMetadata: ...
    def memberid(self) -> Optional[str]: ...
    def store_offsets(
        self, message: Optional[Message] = None, offsets: Optional[Sequence[TopicPartition]] = None
    ) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Consumer": ...
    def __exit__(self, *exc: Any) -> bool: ...

class AioProducer:
    """The native half of strom.aio.AIOProducer."""

    @staticmethod
    def connect(
        future: "asyncio.Future[AioProducer]",
        event_loop: asyncio.AbstractEventLoop,
        conf: Optional[Config] = None,
        kwargs: Optional[Config] = None,
    ) -> None: ...
    def wakeup_fd(self) -> int: ...
    def drain(self) -> int: ...
    def send(
        self,
        future: "asyncio.Future[Message]",
        topic: str,
        value: Payload = None,
        key: Payload = None,
        partition: int = -1,
        timestamp: int = 0,
        headers: Headers = None,
    ) -> None: ...
    def flush(
        self, future: "asyncio.Future[int]", event_loop: asyncio.AbstractEventLoop, timeout: Optional[float] = None
    ) -> None: ...
    def close(
        self, future: "asyncio.Future[None]", event_loop: asyncio.AbstractEventLoop, timeout: Optional[float] = None
    ) -> None: ...
    def __len__(self) -> int: ...

class AioConsumer:
    """The native half of strom.aio.AIOConsumer."""

    @staticmethod
    def connect(
        future: "asyncio.Future[AioConsumer]",
        event_loop: asyncio.AbstractEventLoop,
        conf: Optional[Config] = None,
        kwargs: Optional[Config] = None,
    ) -> None: ...
    def poll_now(self, max: int) -> List[Message]: ...
    def poll(
        self, future: "asyncio.Future[List[Message]]", event_loop: asyncio.AbstractEventLoop, timeout: float, max: int
    ) -> None: ...
    def subscribe(self, future: "asyncio.Future[None]", event_loop: asyncio.AbstractEventLoop, topics: List[str]) -> None: ...
    def assign(
        self, future: "asyncio.Future[None]", event_loop: asyncio.AbstractEventLoop, partitions: Sequence[TopicPartition]
    ) -> None: ...
    def assignment(self, future: "asyncio.Future[List[TopicPartition]]", event_loop: asyncio.AbstractEventLoop) -> None: ...
    def seek(self, future: "asyncio.Future[None]", event_loop: asyncio.AbstractEventLoop, partition: TopicPartition) -> None: ...
    def commit(
        self,
        future: "asyncio.Future[None]",
        event_loop: asyncio.AbstractEventLoop,
        offsets: Optional[Sequence[TopicPartition]] = None,
    ) -> None: ...
    def committed(
        self,
        future: "asyncio.Future[List[TopicPartition]]",
        event_loop: asyncio.AbstractEventLoop,
        partitions: Sequence[TopicPartition],
    ) -> None: ...
    def close(
        self, future: "asyncio.Future[None]", event_loop: asyncio.AbstractEventLoop, timeout: Optional[float] = None
    ) -> None: ...

class _AdminClient:
    """The native half of strom.admin.AdminClient: each call completes the
    given concurrent.futures.Future (a list with one entry per item, an
    item's failure as its exception object); strom/admin builds
    confluent-kafka's result classes from it."""

    def __init__(self, conf: Optional[Config] = None, **kwargs: Any) -> None: ...
    def create_topics(
        self,
        topics: List[Tuple[str, int, int, List[Tuple[str, str]]]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
        validate_only: bool = False,
    ) -> None: ...
    def delete_topics(
        self, topics: List[str], future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None
    ) -> None: ...
    def create_partitions(
        self,
        partitions: List[Tuple[str, int]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
        validate_only: bool = False,
    ) -> None: ...
    def describe_configs(
        self,
        resources: List[Tuple[int, str]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def incremental_alter_configs(
        self,
        resources: List[Tuple[int, str, List[Tuple[str, int, Optional[str]]]]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
        validate_only: bool = False,
    ) -> None: ...
    def list_consumer_groups(
        self, future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None
    ) -> None: ...
    def describe_consumer_groups(
        self, group_ids: List[str], future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None
    ) -> None: ...
    def list_consumer_group_offsets(
        self,
        requests: List[Tuple[str, Optional[List[TopicPartition]]]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def alter_consumer_group_offsets(
        self,
        requests: List[Tuple[str, List[TopicPartition]]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def delete_consumer_groups(
        self, group_ids: List[str], future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None
    ) -> None: ...
    def describe_cluster(self, future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None) -> None: ...
    def alter_user_scram_credentials(
        self,
        upserts: List[Tuple[str, int, int, bytes, Optional[bytes]]],
        deletions: List[Tuple[str, int]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def describe_user_scram_credentials(
        self, users: List[str], future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None
    ) -> None: ...
    def create_acls(
        self,
        acls: List[Tuple[int, str, int, str, str, int, int]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def describe_acls(
        self,
        filter: Tuple[int, Optional[str], int, Optional[str], Optional[str], int, int],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def delete_acls(
        self,
        filters: List[Tuple[int, Optional[str], int, Optional[str], Optional[str], int, int]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def describe_topics(
        self, topics: List[str], future: "concurrent.futures.Future[Any]", request_timeout: Optional[float] = None
    ) -> None: ...
    def list_offsets(
        self,
        queries: List[Tuple[TopicPartition, int]],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def delete_records(
        self,
        partitions: List[TopicPartition],
        future: "concurrent.futures.Future[Any]",
        request_timeout: Optional[float] = None,
    ) -> None: ...
    def list_topics(self, topic: Optional[str] = None, timeout: Optional[float] = None) -> ClusterMetadata: ...
