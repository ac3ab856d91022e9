"""ACL admin types, as confluent-kafka names them (`confluent_kafka.admin.
_acl`): an `AclBinding` is one ACL, an `AclBindingFilter` selects ACLs for
`describe_acls` and `delete_acls`. Enum arguments may be given as the
enum, its name (any case) or its value."""

from __future__ import annotations

from enum import Enum
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar, Union

from strom.admin._types import ResourcePatternType, ResourceType, _OrderedEnum


class AclOperation(_OrderedEnum):
    """The operations an ACL allows or denies."""

    UNKNOWN = 0  #: Not known or not set.
    ANY = 1  #: Any operation, in a filter.
    ALL = 2  #: Every operation.
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


class AclPermissionType(_OrderedEnum):
    """Whether an ACL allows or denies."""

    UNKNOWN = 0  #: Not known or not set.
    ANY = 1  #: Either, in a filter.
    DENY = 2
    ALLOW = 3


E = TypeVar("E", bound=Enum)


def _enum(value: Union[E, str, int], kind: Type[E], field: str) -> E:
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind[value.upper()]
        except KeyError:
            raise ValueError(f"{field}: unknown {kind.__name__} {value!r}") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return kind(value)
    raise TypeError(f"{field}: expected a {kind.__name__}, its name or its value, got {value!r}")


class AclBinding:
    """One ACL: `principal` (e.g. "User:alice") from `host` (an IP or "*")
    is allowed or denied `operation` on the resources of type `restype`
    that `name` and `resource_pattern_type` (LITERAL or PREFIXED) select."""

    # The values each field may not take in this class.
    _forbidden: Dict[str, Tuple[Enum, ...]] = {
        "restype": (ResourceType.ANY,),
        "resource_pattern_type": (ResourcePatternType.ANY, ResourcePatternType.MATCH),
        "operation": (AclOperation.ANY,),
        "permission_type": (AclPermissionType.ANY,),
    }
    # The fields that must be given (filters may leave the strings None).
    _required: Tuple[str, ...] = ("restype", "name", "resource_pattern_type", "principal", "host", "operation", "permission_type")

    def __init__(
        self,
        restype: Union[ResourceType, str, int],
        name: Optional[str],
        resource_pattern_type: Union[ResourcePatternType, str, int],
        principal: Optional[str],
        host: Optional[str],
        operation: Union[AclOperation, str, int],
        permission_type: Union[AclPermissionType, str, int],
    ) -> None:
        given = {
            "restype": restype,
            "name": name,
            "resource_pattern_type": resource_pattern_type,
            "principal": principal,
            "host": host,
            "operation": operation,
            "permission_type": permission_type,
        }
        for field in self._required:
            if given[field] is None:
                raise ValueError(f"Expected {field} to be not None")
        for field in ("name", "principal", "host"):
            if given[field] is not None and not isinstance(given[field], str):
                raise TypeError(f"Expected {field} to be a str")
        self.restype: ResourceType = _enum(restype, ResourceType, "restype")
        self.name = name
        self.resource_pattern_type: ResourcePatternType = _enum(
            resource_pattern_type, ResourcePatternType, "resource_pattern_type"
        )
        self.principal = principal
        self.host = host
        self.operation: AclOperation = _enum(operation, AclOperation, "operation")
        self.permission_type: AclPermissionType = _enum(permission_type, AclPermissionType, "permission_type")
        for field, forbidden in self._forbidden.items():
            value = getattr(self, field)
            if value in forbidden:
                raise ValueError(f"Cannot use enum {field}, value {value.name} in this class")
        self.restype_int = self.restype.value
        self.resource_pattern_type_int = self.resource_pattern_type.value
        self.operation_int = self.operation.value
        self.permission_type_int = self.permission_type.value

    def _to_tuple(self) -> Tuple[Any, ...]:
        return (
            self.restype,
            self.name,
            self.resource_pattern_type,
            self.principal,
            self.host,
            self.operation,
            self.permission_type,
        )

    def _codes(self) -> Tuple[int, Optional[str], int, Optional[str], Optional[str], int, int]:
        """The fields as the native client takes them."""
        return (
            self.restype_int,
            self.name,
            self.resource_pattern_type_int,
            self.principal,
            self.host,
            self.operation_int,
            self.permission_type_int,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({','.join(str(v) for v in self._to_tuple())})"

    def __hash__(self) -> int:
        return hash((type(self),) + self._to_tuple())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AclBinding):
            return NotImplemented
        return type(self) is type(other) and self._to_tuple() == other._to_tuple()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, AclBinding):
            return NotImplemented
        return _sort_key(self) < _sort_key(other)


def _sort_key(acl: AclBinding) -> Tuple[Any, ...]:
    return tuple((v is not None, v.value if isinstance(v, Enum) else v) for v in acl._to_tuple())


class AclBindingFilter(AclBinding):
    """Selects ACLs: None strings match anything, as do the ANY enum
    values; ResourcePatternType.MATCH selects every ACL that applies to
    `name` (literal, `*` or a prefix of it)."""

    _forbidden = {
        "restype": (ResourceType.UNKNOWN,),
        "resource_pattern_type": (ResourcePatternType.UNKNOWN,),
        "operation": (AclOperation.UNKNOWN,),
        "permission_type": (AclPermissionType.UNKNOWN,),
    }
    _required = ("restype", "resource_pattern_type", "operation", "permission_type")


def _bindings(rows: List[Tuple[int, str, int, str, str, int, int]]) -> List[AclBinding]:
    """The native client's rows of codes as bindings."""
    return [AclBinding(*row) for row in rows]
