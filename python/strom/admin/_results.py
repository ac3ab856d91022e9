"""How the native calls' answers become confluent-kafka's futures and
result objects."""

from __future__ import annotations

import concurrent.futures
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
)
from strom._strom import OFFSET_INVALID, KafkaError, TopicPartition
from strom.error import ConfigError, KafkaException
from strom.admin._types import (
    ConfigEntry,
    ConfigSource,
    ConsumerGroupDescription,
    ConsumerGroupTopicPartitions,
    DescribeClusterResult,
    MemberAssignment,
    MemberDescription,
    Node,
    TopicDescription,
    TopicPartitionInfo,
    Uuid,
    _group_state,
)


def _running_future() -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_running_or_notify_cancel()
    return future


def _settle(future: concurrent.futures.Future[Any], value: Any, convert: Callable[[Any], Any]) -> None:
    """Completes `future` with `convert(value)`, or with `value` as its
    exception when it is one."""
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
        return
    try:
        future.set_result(convert(value))
    except BaseException as error:  # a conversion bug must not hang the caller
        future.set_exception(error)


def _fan_out(
    request: concurrent.futures.Future[Any],
    keys: Sequence[Any],
    futmap: Dict[Any, concurrent.futures.Future[Any]],
    convert: Callable[[Any], Any],
) -> None:
    """When `request` (completed by the native client with one entry per
    key) is done, completes each key's future in `futmap`; a failure of the
    whole request fails every future with the same exception."""

    def done(finished: concurrent.futures.Future[Any]) -> None:
        try:
            results = finished.result()
        except BaseException as error:
            for future in futmap.values():
                if not future.done():
                    future.set_exception(error)
            return
        for key, value in zip(keys, results):
            _settle(futmap[key], value, convert)
        for future in futmap.values():  # only if the native side answered short
            if not future.done():
                future.set_exception(KafkaException(KafkaError(KafkaError._FAIL, "no answer for this item")))

    request.add_done_callback(done)


def _single(request: concurrent.futures.Future[Any], convert: Callable[[Any], Any]) -> concurrent.futures.Future[Any]:
    """A future completed with `convert` of `request`'s result."""
    future = _running_future()

    def done(finished: concurrent.futures.Future[Any]) -> None:
        try:
            value = finished.result()
        except BaseException as error:
            future.set_exception(error)
            return
        _settle(future, value, convert)

    request.add_done_callback(done)
    return future


def _keyed_futures(keys: Iterable[Any]) -> Dict[Any, concurrent.futures.Future[Any]]:
    return {key: _running_future() for key in keys}


def _not_supported(feature: str) -> ConfigError:
    return ConfigError(KafkaError(KafkaError._INVALID_ARG, f"{feature} are not supported by strom yet"))


def _non_empty_list(items: Any, what: str) -> None:
    """confluent-kafka's check of a call's list argument."""
    if not isinstance(items, list):
        raise TypeError(f"Expected list of {what}")
    if len(items) == 0:
        raise ValueError(f"Expected non-empty list of {what}")


def _group_ids_arg(group_ids: Any, doing: str) -> List[str]:
    if not isinstance(group_ids, list):
        raise TypeError(f"Expected input to be list of group ids to be {doing}")
    if len(group_ids) == 0:
        raise ValueError(f"Expected at least one group to be {doing}")
    for group_id in group_ids:
        if not isinstance(group_id, str):
            raise TypeError("Expected list of str")
    return group_ids


def _check_group_partitions_request(request: Any, altering: bool) -> ConsumerGroupTopicPartitions:
    """confluent-kafka's checks of a list/alter group offsets request."""
    doing = "altering" if altering else "listing"
    if request is None:
        raise TypeError("request cannot be None")
    if not isinstance(request, list):
        raise TypeError("request must be a list")
    if len(request) != 1:
        raise ValueError(f"Currently we support {doing} offsets for a single consumer group only")
    req = request[0]
    if not isinstance(req, ConsumerGroupTopicPartitions):
        raise TypeError("Expected list of 'ConsumerGroupTopicPartitions'")
    if req.group_id is None:
        raise TypeError("'group_id' cannot be None")
    if not isinstance(req.group_id, str):
        raise TypeError("'group_id' must be a string")
    if not req.group_id:
        raise ValueError("'group_id' cannot be empty")
    partitions = req.topic_partitions
    if partitions is None:
        if altering:
            raise ValueError("'topic_partitions' cannot be null")
        return req
    if not isinstance(partitions, list):
        raise TypeError("'topic_partitions' must be a list" + ("" if altering else " or None"))
    if len(partitions) == 0:
        raise ValueError("'topic_partitions' cannot be empty")
    for tp in partitions:
        if tp is None:
            raise ValueError("Element of 'topic_partitions' cannot be None")
        if not isinstance(tp, TopicPartition):
            raise TypeError("Element of 'topic_partitions' must be of type TopicPartition")
        if not tp.topic:
            raise ValueError("Element of 'topic_partitions' must not have 'topic' attribute as Empty")
        if tp.partition < 0:
            raise ValueError("Element of 'topic_partitions' must not have negative 'partition' value")
        if altering and tp.offset < 0:
            raise ValueError("Element of 'topic_partitions' must not have negative value for 'offset' field")
        if not altering and tp.offset != OFFSET_INVALID:
            raise ValueError("Element of 'topic_partitions' must not have 'offset' value")
    return req


def _node(row: Optional[Tuple[int, str, int, Optional[str]]]) -> Optional[Node]:
    return None if row is None else Node(*row)


def _config_entries(rows: List[Tuple[str, Optional[str], int, bool, bool, bool]]) -> Dict[str, ConfigEntry]:
    entries = {}
    for name, value, source, read_only, is_default, is_sensitive in rows:
        try:
            config_source = ConfigSource(source)
        except ValueError:
            config_source = ConfigSource.UNKNOWN_CONFIG
        entries[name] = ConfigEntry(
            name,
            value,
            source=config_source,
            is_read_only=read_only,
            is_default=is_default,
            is_sensitive=is_sensitive,
        )
    return entries


def _group_description(row: Tuple[Any, ...]) -> ConsumerGroupDescription:
    group_id, state, protocol_type, protocol, members, coordinator = row
    return ConsumerGroupDescription(
        group_id,
        protocol_type == "",
        [
            MemberDescription(member_id, client_id, host, MemberAssignment(assignment), group_instance_id)
            for member_id, client_id, host, assignment, group_instance_id in members
        ],
        protocol,
        _group_state(state),
        _node(coordinator),
    )


def _topic_description(row: Tuple[Any, ...]) -> TopicDescription:
    name, topic_id, is_internal, partitions, nodes = row

    def node(node_id: int) -> Node:
        return _node(nodes.get(node_id)) or Node(node_id, "", -1)

    return TopicDescription(
        name,
        Uuid._from_bytes(topic_id),
        is_internal,
        [
            TopicPartitionInfo(
                index,
                node(leader) if leader >= 0 else None,
                [node(replica) for replica in replicas],
                [node(replica) for replica in isr],
            )
            for index, leader, replicas, isr in partitions
        ],
    )


def _cluster_result(row: Tuple[Optional[str], int, List[Tuple[int, str, int, Optional[str]]]]) -> DescribeClusterResult:
    cluster_id, controller_id, rows = row
    nodes = [Node(*node) for node in rows]
    controller = next((node for node in nodes if node.id == controller_id), None)
    return DescribeClusterResult(controller, nodes, cluster_id)
