"""`AdminClient`: confluent-kafka's admin calls on the native client."""

from __future__ import annotations

import concurrent.futures
import functools
import time
from typing import (
    Any,
    Dict,
    List,
    Optional,
    Set,
    Tuple,
    cast,
)
from strom._strom import (
    OFFSET_INVALID,
    ClusterMetadata,
    KafkaError,
    TopicPartition,
)
from strom._strom import _AdminClient
from strom.error import ConfigError, KafkaException
from strom.admin._types import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
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
    NewPartitions,
    NewTopic,
    OffsetSpec,
    TopicCollection,
    TopicDescription,
    _group_state,
)
from strom.admin._acl import AclBinding, AclBindingFilter, _bindings
from strom.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialsDescription,
    UserScramCredentialUpsertion,
)
from strom.admin._results import (
    _settle,
    _check_group_partitions_request,
    _cluster_result,
    _config_entries,
    _fan_out,
    _group_description,
    _group_ids_arg,
    _keyed_futures,
    _non_empty_list,
    _not_supported,
    _running_future,
    _single,
    _topic_description,
)


class AdminClient:
    """confluent-kafka's AdminClient on Strom's client core: topics,
    partitions, configs, consumer groups and their offsets, partition
    offsets and records, and the cluster.

    The calls return at once: a dict of `concurrent.futures.Future` keyed
    by the topic, group, ConfigResource or TopicPartition asked about (a
    single future for `list_consumer_groups` and `describe_cluster`). Each
    call is bounded as a whole by its `request_timeout` in seconds
    (default: the larger of default.api.timeout.ms, 60 s, and
    request.timeout.ms); its futures then fail with
    `strom.KafkaTimeoutError`. The client connects on its first call, so
    making one never blocks.
    """

    def __init__(self, conf: Optional[Dict[str, Any]] = None, **kwargs: Any) -> None:
        """Creates the client from a confluent-kafka config dict
        (`bootstrap.servers` at least); keyword arguments are merged into
        it. An unknown or invalid setting raises `strom.ConfigError` (a
        `KafkaException` with code `_INVALID_ARG`)."""
        self._impl = _AdminClient(conf, **kwargs)

    # -- topics ----------------------------------------------------------

    def create_topics(
        self,
        new_topics: List[NewTopic],
        *,
        operation_timeout: float = 0,
        request_timeout: Optional[float] = None,
        validate_only: bool = False,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Creates topics. Returns a future per topic name; its result is
        None, or it raises (`KafkaError.TOPIC_ALREADY_EXISTS`, ...).

        `validate_only` checks the request without creating anything.
        `operation_timeout` is accepted for compatibility: the broker
        always waits for the creation, up to request.timeout.ms.
        """
        _non_empty_list(new_topics, "NewTopic objects")
        topics = []
        for topic in new_topics:
            if not isinstance(topic, NewTopic):
                raise TypeError("Expected list of NewTopic")
            if topic.replica_assignment is not None:
                raise _not_supported("replica assignments")
            config = [(str(name), str(value)) for name, value in topic.config.items()]
            topics.append((topic.topic, topic.num_partitions, topic.replication_factor, config))
        keys = [topic.topic for topic in new_topics]
        futmap = _keyed_futures(keys)
        request = _running_future()
        _fan_out(request, keys, futmap, lambda value: None)
        self._impl.create_topics(topics, request, request_timeout, validate_only)
        return futmap

    def delete_topics(
        self,
        topics: List[str],
        *,
        operation_timeout: float = 0,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Deletes topics. Returns a future per topic name; its result is
        None, or it raises (`KafkaError.UNKNOWN_TOPIC_OR_PART`, ...)."""
        _non_empty_list(topics, "topic names")
        for topic in topics:
            if not isinstance(topic, str):
                raise TypeError("Expected list of str")
        futmap = _keyed_futures(topics)
        request = _running_future()
        _fan_out(request, topics, futmap, lambda value: None)
        self._impl.delete_topics(topics, request, request_timeout)
        return futmap

    def create_partitions(
        self,
        new_partitions: List[NewPartitions],
        *,
        operation_timeout: float = 0,
        request_timeout: Optional[float] = None,
        validate_only: bool = False,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Raises topics' partition counts to `new_total_count`. Returns a
        future per topic name; its result is None, or it raises."""
        _non_empty_list(new_partitions, "NewPartitions objects")
        totals = []
        for partitions in new_partitions:
            if not isinstance(partitions, NewPartitions):
                raise TypeError("Expected list of NewPartitions")
            if partitions.replica_assignment is not None:
                raise _not_supported("replica assignments")
            totals.append((partitions.topic, partitions.new_total_count))
        keys = [partitions.topic for partitions in new_partitions]
        futmap = _keyed_futures(keys)
        request = _running_future()
        _fan_out(request, keys, futmap, lambda value: None)
        self._impl.create_partitions(totals, request, request_timeout, validate_only)
        return futmap

    def list_topics(self, topic: Optional[str] = None, timeout: float = -1) -> ClusterMetadata:
        """The cluster's brokers and topics (only `topic` when given), as
        ClusterMetadata; blocks for at most `timeout` seconds (negative:
        the client's default bound, 60 s unless configured)."""
        return self._impl.list_topics(topic, timeout)

    def describe_topics(
        self,
        topics: TopicCollection,
        *,
        include_authorized_operations: bool = False,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Describes topics. Returns a future per topic name; its result
        is a TopicDescription, or it raises (`UNKNOWN_TOPIC_OR_PART`)."""
        if not isinstance(topics, TopicCollection):
            raise TypeError("Expected input to be instance of TopicCollection")
        names = topics.topic_names
        if not isinstance(names, list):
            raise TypeError("Expected list of topic names to be described")
        for name in names:
            if not isinstance(name, str):
                raise TypeError("Expected list of str")
            if not name:
                raise ValueError("topic names cannot be empty")
        futmap = _keyed_futures(names)
        request = _running_future()
        _fan_out(request, names, futmap, _topic_description)
        self._impl.describe_topics(names, request, request_timeout)
        return futmap

    # -- configs ---------------------------------------------------------

    def describe_configs(
        self,
        resources: List[ConfigResource],
        *,
        request_timeout: Optional[float] = None,
    ) -> Dict[ConfigResource, concurrent.futures.Future[Any]]:
        """Reads resources' configs. Returns a future per ConfigResource;
        its result is a dict of setting name to ConfigEntry."""
        _non_empty_list(resources, "ConfigResource objects")
        for resource in resources:
            if not isinstance(resource, ConfigResource):
                raise ValueError(f"Expected list of {ConfigResource!r}")
        futmap = _keyed_futures(resources)
        request = _running_future()
        _fan_out(request, resources, futmap, _config_entries)
        self._impl.describe_configs(
            [(resource.restype.value, resource.name) for resource in resources],
            request,
            request_timeout,
        )
        return futmap

    def incremental_alter_configs(
        self,
        resources: List[ConfigResource],
        *,
        request_timeout: Optional[float] = None,
        validate_only: bool = False,
        broker: Optional[int] = None,
    ) -> Dict[ConfigResource, concurrent.futures.Future[Any]]:
        """Applies each resource's `incremental_configs` (ConfigEntry with
        an `incremental_operation`: SET, DELETE, APPEND, SUBTRACT); other
        settings stay as they are. Returns a future per ConfigResource;
        its result is None, or it raises."""
        _non_empty_list(resources, "ConfigResource objects")
        requests = []
        for resource in resources:
            if not isinstance(resource, ConfigResource):
                raise TypeError(f"Expected list of {ConfigResource!r}")
            ops = []
            for entry in resource.incremental_configs:
                if not isinstance(entry, ConfigEntry):
                    raise TypeError("incremental_configs must hold ConfigEntry objects")
                if not isinstance(entry.incremental_operation, AlterConfigOpType):
                    raise TypeError(f"ConfigEntry {entry.name}: incremental_operation must be an AlterConfigOpType")
                value = None if entry.value is None else str(entry.value)
                ops.append((entry.name, entry.incremental_operation.value, value))
            requests.append((resource.restype.value, resource.name, ops))
        futmap = _keyed_futures(resources)
        request = _running_future()
        _fan_out(request, resources, futmap, lambda value: None)
        self._impl.incremental_alter_configs(requests, request, request_timeout, validate_only)
        return futmap

    def alter_configs(self, resources: List[ConfigResource], **kwargs: Any) -> Dict[ConfigResource, concurrent.futures.Future[Any]]:
        """Deprecated in confluent-kafka and not supported: use
        incremental_alter_configs."""
        raise _not_supported("alter_configs (deprecated; use incremental_alter_configs) calls")

    # -- consumer groups ---------------------------------------------------

    def list_consumer_groups(
        self,
        *,
        request_timeout: Optional[float] = None,
        states: Optional[Set[ConsumerGroupState]] = None,
        types: Optional[Set[ConsumerGroupType]] = None,
    ) -> concurrent.futures.Future[Any]:
        """Lists the cluster's groups. Returns a future whose result is a
        ListConsumerGroupsResult; `states` keeps only groups in those
        ConsumerGroupStates. `types` is checked but not applied: group
        types are not reported yet."""
        if states is not None:
            if not isinstance(states, set):
                raise TypeError("'states' must be a set")
            for state in states:
                if not isinstance(state, ConsumerGroupState):
                    raise TypeError("All elements of states must be of type ConsumerGroupState")
        if types is not None:
            if not isinstance(types, set):
                raise TypeError("'types' must be a set")
            for kind in types:
                if not isinstance(kind, ConsumerGroupType):
                    raise TypeError("All elements of types must be of type ConsumerGroupType")

        def result(rows: List[Tuple[str, str, str]]) -> ListConsumerGroupsResult:
            listings = [
                ConsumerGroupListing(group_id, protocol_type == "", _group_state(state), ConsumerGroupType.UNKNOWN)
                for group_id, protocol_type, state in rows
            ]
            if states:
                listings = [listing for listing in listings if listing.state in states]
            return ListConsumerGroupsResult(valid=listings, errors=[])

        request = _running_future()
        future = _single(request, result)
        self._impl.list_consumer_groups(request, request_timeout)
        return future

    def describe_consumer_groups(
        self,
        group_ids: List[str],
        *,
        include_authorized_operations: bool = False,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Describes groups. Returns a future per group id; its result is
        a ConsumerGroupDescription (a group that does not exist is DEAD,
        or raises `GROUP_ID_NOT_FOUND`, as the broker answers)."""
        group_ids = _group_ids_arg(group_ids, "described")
        futmap = _keyed_futures(group_ids)
        request = _running_future()
        _fan_out(request, group_ids, futmap, _group_description)
        self._impl.describe_consumer_groups(group_ids, request, request_timeout)
        return futmap

    def delete_consumer_groups(
        self,
        group_ids: List[str],
        *,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Deletes groups that have no active members. Returns a future
        per group id; its result is None, or it raises
        (`GROUP_ID_NOT_FOUND`, `NON_EMPTY_GROUP`, ...)."""
        group_ids = _group_ids_arg(group_ids, "deleted")
        futmap = _keyed_futures(group_ids)
        request = _running_future()
        _fan_out(request, group_ids, futmap, lambda value: None)
        self._impl.delete_consumer_groups(group_ids, request, request_timeout)
        return futmap

    def list_consumer_group_offsets(
        self,
        list_consumer_group_offsets_request: List[ConsumerGroupTopicPartitions],
        *,
        require_stable: bool = False,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Reads a group's committed offsets (one group per call, as in
        confluent-kafka): of the given partitions, or of every partition
        it has committed when `topic_partitions` is None. Returns a future
        per group id; its result is a ConsumerGroupTopicPartitions whose
        TopicPartitions carry the offsets (OFFSET_INVALID: none
        committed)."""
        req = _check_group_partitions_request(list_consumer_group_offsets_request, altering=False)
        group_id = req.group_id
        futmap = _keyed_futures([group_id])
        request = _running_future()
        _fan_out(
            request,
            [group_id],
            futmap,
            lambda partitions: ConsumerGroupTopicPartitions(group_id, partitions),
        )
        self._impl.list_consumer_group_offsets([(group_id, req.topic_partitions)], request, request_timeout)
        return futmap

    def alter_consumer_group_offsets(
        self,
        alter_consumer_group_offsets_request: List[ConsumerGroupTopicPartitions],
        *,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Commits offsets for a group that has no active members (one
        group per call, as in confluent-kafka); this also creates the
        group. Returns a future per group id; its result is a
        ConsumerGroupTopicPartitions with the partitions committed."""
        req = _check_group_partitions_request(alter_consumer_group_offsets_request, altering=True)
        group_id = req.group_id
        futmap = _keyed_futures([group_id])
        request = _running_future()
        _fan_out(
            request,
            [group_id],
            futmap,
            lambda partitions: ConsumerGroupTopicPartitions(group_id, partitions),
        )
        self._impl.alter_consumer_group_offsets([(group_id, list(req.topic_partitions or []))], request, request_timeout)
        return futmap

    def list_groups(self, *args: Any, **kwargs: Any) -> List[Any]:
        """Deprecated in confluent-kafka and not supported: use
        list_consumer_groups and describe_consumer_groups."""
        raise _not_supported("list_groups (deprecated; use list_consumer_groups) calls")

    # -- cluster -----------------------------------------------------------

    def describe_cluster(
        self,
        *,
        include_authorized_operations: bool = False,
        request_timeout: Optional[float] = None,
    ) -> concurrent.futures.Future[Any]:
        """Describes the cluster. Returns a future whose result is a
        DescribeClusterResult (cluster id, controller, nodes)."""
        request = _running_future()
        future = _single(request, _cluster_result)
        self._impl.describe_cluster(request, request_timeout)
        return future

    # -- partition offsets and records -------------------------------------

    def list_offsets(
        self,
        topic_partition_offsets: Dict[TopicPartition, OffsetSpec],
        *,
        isolation_level: Optional[IsolationLevel] = None,
        request_timeout: Optional[float] = None,
    ) -> Dict[TopicPartition, concurrent.futures.Future[Any]]:
        """Finds partitions' earliest, latest, max-timestamp or
        by-timestamp offsets. Returns a future per TopicPartition given;
        its result is a ListOffsetsResultInfo. Partitions are asked in one
        request per leader: a partition's error fails the whole call."""
        if not isinstance(topic_partition_offsets, dict):
            raise TypeError(
                "Expected topic_partition_offsets to be dict of [TopicPartitions,OffsetSpec] for list offsets request"
            )
        queries = []
        for tp, spec in topic_partition_offsets.items():
            if not isinstance(tp, TopicPartition):
                raise TypeError("partition must be a TopicPartition")
            if not tp.topic:
                raise ValueError("partition topic name cannot be empty")
            if tp.partition < 0:
                raise ValueError("partition index must be non-negative")
            if not isinstance(spec, OffsetSpec):
                raise TypeError("Value must be a OffsetSpec")
            queries.append((tp, spec._value))
        if isolation_level is not None:
            if not isinstance(isolation_level, IsolationLevel):
                raise TypeError("isolation_level argument should be an IsolationLevel")
            if isolation_level is IsolationLevel.READ_COMMITTED:
                raise _not_supported("READ_COMMITTED offset lookups")
        keys = list(topic_partition_offsets)
        futmap = _keyed_futures(keys)
        request = _running_future()
        _fan_out(request, keys, futmap, lambda row: ListOffsetsResultInfo(*row))
        self._impl.list_offsets(queries, request, request_timeout)
        return futmap

    def delete_records(
        self,
        topic_partition_offsets: List[TopicPartition],
        *,
        request_timeout: Optional[float] = None,
        operation_timeout: Optional[float] = None,
    ) -> Dict[TopicPartition, concurrent.futures.Future[Any]]:
        """Deletes each partition's records before its TopicPartition's
        offset (OFFSET_END, -1: all of them). Returns a future per
        TopicPartition; its result is DeletedRecords (the new low
        watermark). Partitions are asked in one request per leader: a
        partition's error fails the whole call."""
        if not isinstance(topic_partition_offsets, list):
            raise TypeError(f"Expected Request to be a list, got '{type(topic_partition_offsets).__name__}' ")
        for tp in topic_partition_offsets:
            if not isinstance(tp, TopicPartition):
                raise TypeError(f"Element of the request list must be of type 'TopicPartition' got '{type(tp).__name__}' ")
            if tp.partition < 0:
                raise ValueError("'partition' cannot be negative")
        futmap = _keyed_futures(topic_partition_offsets)
        request = _running_future()
        _fan_out(request, topic_partition_offsets, futmap, DeletedRecords)
        self._impl.delete_records(topic_partition_offsets, request, request_timeout)
        return futmap

    # -- ACLs -----------------------------------------------------------------

    def create_acls(
        self,
        acls: List[AclBinding],
        *,
        request_timeout: Optional[float] = None,
    ) -> Dict[AclBinding, concurrent.futures.Future[Any]]:
        """Creates ACLs. Returns a future per binding; its result is None,
        or it raises (`SECURITY_DISABLED` without an authorizer,
        `CLUSTER_AUTHORIZATION_FAILED` without ALTER on the cluster)."""
        _non_empty_list(acls, "AclBinding")
        if not all(type(acl) is AclBinding for acl in acls):
            raise TypeError("Expected list of AclBinding")
        if len(set(acls)) != len(acls):
            raise ValueError("duplicate ACL bindings not allowed")
        futmap = _keyed_futures(acls)
        request = _running_future()
        _fan_out(request, acls, futmap, lambda value: None)
        # A binding (unlike a filter) has every string set: checked when made.
        rows = [cast(Tuple[int, str, int, str, str, int, int], acl._codes()) for acl in acls]
        self._impl.create_acls(rows, request, request_timeout)
        return futmap

    def describe_acls(
        self,
        acl_binding_filter: AclBindingFilter,
        *,
        request_timeout: Optional[float] = None,
    ) -> concurrent.futures.Future[Any]:
        """The ACLs the filter selects: a future of a list of AclBinding."""
        if not isinstance(acl_binding_filter, AclBindingFilter):
            raise TypeError("Expected an AclBindingFilter")
        native = _running_future()
        self._impl.describe_acls(acl_binding_filter._codes(), native, request_timeout)
        return _single(native, _bindings)

    def delete_acls(
        self,
        acl_binding_filters: List[AclBindingFilter],
        *,
        request_timeout: Optional[float] = None,
    ) -> Dict[AclBindingFilter, concurrent.futures.Future[Any]]:
        """Deletes what each filter selects. Returns a future per filter;
        its result is the list of AclBinding deleted."""
        _non_empty_list(acl_binding_filters, "AclBindingFilter")
        if not all(isinstance(f, AclBindingFilter) for f in acl_binding_filters):
            raise TypeError("Expected list of AclBindingFilter")
        if len(set(acl_binding_filters)) != len(acl_binding_filters):
            raise ValueError("duplicate ACL binding filters not allowed")
        futmap = _keyed_futures(acl_binding_filters)
        request = _running_future()
        _fan_out(request, acl_binding_filters, futmap, _bindings)
        self._impl.delete_acls([f._codes() for f in acl_binding_filters], request, request_timeout)
        return futmap

    def describe_user_scram_credentials(
        self,
        users: Optional[List[str]] = None,
        *,
        request_timeout: Optional[float] = None,
    ) -> Any:
        """Describes SCRAM users. With `users` None (every user): one future
        of `{user: UserScramCredentialsDescription}`; else a future per
        user, raising `RESOURCE_NOT_FOUND` for one that has none."""
        if users is not None and (not isinstance(users, list) or not all(isinstance(u, str) for u in users)):
            raise TypeError("Expected users to be a list of strings")
        native = _running_future()
        self._impl.describe_user_scram_credentials(users or [], native, request_timeout)
        if users is None:
            every = _running_future()

            def all_done(finished: concurrent.futures.Future[Any]) -> None:
                try:
                    rows = finished.result()
                    failed = next((value for _, value in rows if isinstance(value, BaseException)), None)
                    if failed is not None:
                        raise failed
                    every.set_result({user: _scram_description(user, value) for user, value in rows})
                except BaseException as error:
                    every.set_exception(error)

            native.add_done_callback(all_done)
            return every
        futmap = _keyed_futures(users)

        def each_done(finished: concurrent.futures.Future[Any]) -> None:
            try:
                answered = dict(finished.result())
            except BaseException as error:
                answered = {user: error for user in users}
            for user in users:
                missing = KafkaException(KafkaError(KafkaError._FAIL, "no answer for this user"))
                _settle(futmap[user], answered.get(user, missing), functools.partial(_scram_description, user))

        native.add_done_callback(each_done)
        return futmap

    def alter_user_scram_credentials(
        self,
        alterations: List[UserScramCredentialAlteration],
        *,
        request_timeout: Optional[float] = None,
    ) -> Dict[str, concurrent.futures.Future[Any]]:
        """Sets (UserScramCredentialUpsertion) and removes
        (UserScramCredentialDeletion) SCRAM credentials. Returns a future
        per user; its result is None, or it raises."""
        _non_empty_list(alterations, "UserScramCredentialAlteration")
        upserts = []
        deletions = []
        users: List[str] = []
        for alteration in alterations:
            if isinstance(alteration, UserScramCredentialUpsertion):
                info = alteration.scram_credential_info
                upserts.append(
                    (alteration.user, info.mechanism.value, info.iterations, bytes(alteration.password), alteration.salt)
                )
            elif isinstance(alteration, UserScramCredentialDeletion):
                deletions.append((alteration.user, alteration.mechanism.value))
            else:
                raise TypeError("Expected each element of list to be subclass of UserScramCredentialAlteration")
            if alteration.user not in users:
                users.append(alteration.user)
        futmap = _keyed_futures(users)
        request = _running_future()
        _fan_out(request, users, futmap, lambda value: None)
        self._impl.alter_user_scram_credentials(upserts, deletions, request, request_timeout)
        return futmap

    def elect_leaders(self, election_type: Any, partitions: Optional[List[TopicPartition]] = None, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Leader elections are not supported yet."""
        raise _not_supported("leader elections")

    def set_sasl_credentials(self, username: str, password: str) -> None:
        """SASL is not supported yet."""
        raise _not_supported("SASL credentials")

    # -- compatibility -------------------------------------------------------

    def poll(self, timeout: Optional[float] = None) -> int:
        """Serves nothing (the admin client has no callbacks to run) and
        returns 0; waits `timeout` seconds when positive, as confluent-
        kafka's poll does when there is nothing to serve."""
        if timeout is not None and timeout > 0:
            time.sleep(timeout)
        return 0

    def __len__(self) -> int:
        """Callbacks waiting to be served: always 0."""
        return 0


def _scram_description(user: str, infos: List[Tuple[int, int]]) -> UserScramCredentialsDescription:
    return UserScramCredentialsDescription(
        user, [ScramCredentialInfo(ScramMechanism(mechanism), iterations) for mechanism, iterations in infos]
    )
