//! Kafka's ACL model: a binding says that a principal, from a host, is
//! allowed or denied an operation on the resources a pattern names (a
//! literal name, `*`, or a name prefix). Filters select bindings for
//! DescribeAcls and DeleteAcls. The codes are Kafka's
//! (`org.apache.kafka.common.acl` and `...resource`), so bindings travel
//! in requests, in the metadata log and in `acls.json` unchanged.

use serde::{Deserialize, Serialize};

/// The one cluster resource's name.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A literal resource name that matches every name, and the principal or
/// host of a binding that matches every one.
pub const WILDCARD: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceType {
    Topic = 2,
    Group = 3,
    Cluster = 4,
    TransactionalId = 5,
    DelegationToken = 6,
    User = 7,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PatternType {
    Literal = 3,
    Prefixed = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operation {
    All = 2,
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    Deny = 2,
    Allow = 3,
}

/// Kafka's "ANY" code in every filter field.
const ANY: i8 = 1;
/// A pattern-type filter that matches what would apply to a name.
const MATCH: i8 = 2;

impl ResourceType {
    pub const ALL: [ResourceType; 6] = [
        ResourceType::Topic,
        ResourceType::Group,
        ResourceType::Cluster,
        ResourceType::TransactionalId,
        ResourceType::DelegationToken,
        ResourceType::User,
    ];

    pub fn from_code(code: i8) -> Option<ResourceType> {
        Self::ALL.into_iter().find(|t| *t as i8 == code)
    }

    /// The operations Kafka reports as authorized on a resource of this
    /// type (KIP-430's `authorized_operations`).
    pub fn reported_operations(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Delete,
                Alter,
                Describe,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Delete, Describe],
            ResourceType::Cluster => &[
                Create,
                Alter,
                Describe,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
            ],
            _ => &[],
        }
    }

    /// Every reported operation as KIP-430's bit field (bit = code): what
    /// a broker without an authorizer allows.
    pub fn all_operations_bits(self) -> i32 {
        operation_bits(self.reported_operations().iter().copied())
    }

    /// `topic`, `Group`, `transactional-id`, ... (any case, `-` or `_`).
    pub fn from_name(name: &str) -> Option<ResourceType> {
        Self::ALL.into_iter().find(|t| same_name(t.name(), name))
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Topic => "Topic",
            ResourceType::Group => "Group",
            ResourceType::Cluster => "Cluster",
            ResourceType::TransactionalId => "TransactionalId",
            ResourceType::DelegationToken => "DelegationToken",
            ResourceType::User => "User",
        }
    }
}

impl PatternType {
    pub fn from_code(code: i8) -> Option<PatternType> {
        [PatternType::Literal, PatternType::Prefixed]
            .into_iter()
            .find(|p| *p as i8 == code)
    }

    pub fn from_name(name: &str) -> Option<PatternType> {
        [PatternType::Literal, PatternType::Prefixed]
            .into_iter()
            .find(|p| same_name(p.name(), name))
    }

    pub fn name(self) -> &'static str {
        match self {
            PatternType::Literal => "LITERAL",
            PatternType::Prefixed => "PREFIXED",
        }
    }
}

/// KIP-430's `authorized_operations` when the client did not ask for them.
pub const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// Operations as KIP-430's bit field: bit `code` set for each.
pub fn operation_bits(operations: impl IntoIterator<Item = Operation>) -> i32 {
    operations
        .into_iter()
        .fold(0, |bits, operation| bits | (1 << operation as i32))
}

impl Operation {
    pub const ALL_OPERATIONS: [Operation; 13] = [
        Operation::All,
        Operation::Read,
        Operation::Write,
        Operation::Create,
        Operation::Delete,
        Operation::Alter,
        Operation::Describe,
        Operation::ClusterAction,
        Operation::DescribeConfigs,
        Operation::AlterConfigs,
        Operation::IdempotentWrite,
        Operation::CreateTokens,
        Operation::DescribeTokens,
    ];

    pub fn from_code(code: i8) -> Option<Operation> {
        Self::ALL_OPERATIONS.into_iter().find(|o| *o as i8 == code)
    }

    /// `write`, `DescribeConfigs`, `describe-configs`, `IDEMPOTENT_WRITE`...
    pub fn from_name(name: &str) -> Option<Operation> {
        Self::ALL_OPERATIONS
            .into_iter()
            .find(|o| same_name(o.name(), name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::All => "All",
            Operation::Read => "Read",
            Operation::Write => "Write",
            Operation::Create => "Create",
            Operation::Delete => "Delete",
            Operation::Alter => "Alter",
            Operation::Describe => "Describe",
            Operation::ClusterAction => "ClusterAction",
            Operation::DescribeConfigs => "DescribeConfigs",
            Operation::AlterConfigs => "AlterConfigs",
            Operation::IdempotentWrite => "IdempotentWrite",
            Operation::CreateTokens => "CreateTokens",
            Operation::DescribeTokens => "DescribeTokens",
        }
    }

    /// Whether an ALLOW binding for `self` grants `wanted`: ALL grants
    /// everything, and as in Kafka, READ, WRITE, DELETE and ALTER imply
    /// DESCRIBE, and ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    pub fn grants(self, wanted: Operation) -> bool {
        use Operation::*;
        self == All
            || self == wanted
            || (wanted == Describe && matches!(self, Read | Write | Delete | Alter))
            || (wanted == DescribeConfigs && self == AlterConfigs)
    }

    /// Whether a DENY binding for `self` refuses `wanted`.
    pub fn refuses(self, wanted: Operation) -> bool {
        self == Operation::All || self == wanted
    }
}

impl Permission {
    pub fn from_code(code: i8) -> Option<Permission> {
        [Permission::Deny, Permission::Allow]
            .into_iter()
            .find(|p| *p as i8 == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Permission::Deny => "DENY",
            Permission::Allow => "ALLOW",
        }
    }
}

/// Whether `given` names `canonical`, ignoring case, `-` and `_`.
fn same_name(canonical: &str, given: &str) -> bool {
    let squeeze = |s: &str| {
        s.chars()
            .filter(|c| *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    squeeze(canonical) == squeeze(given)
}

/// One ACL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `User:alice`, or `User:*` for every principal.
    pub principal: String,
    /// An IP address, or `*` for every host.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

/// Why a binding cannot be created: Kafka answers INVALID_REQUEST with
/// this message.
pub type Invalid = String;

impl AclBinding {
    /// A binding from CreateAcls's codes, checked as Kafka checks them.
    pub fn from_codes(
        resource_type: i8,
        resource_name: String,
        pattern_type: i8,
        principal: String,
        host: String,
        operation: i8,
        permission: i8,
    ) -> Result<AclBinding, Invalid> {
        let resource_type = ResourceType::from_code(resource_type)
            .ok_or_else(|| format!("invalid resource type {resource_type}"))?;
        let pattern_type = PatternType::from_code(pattern_type).ok_or_else(|| {
            format!("invalid pattern type {pattern_type}: an ACL's is LITERAL (3) or PREFIXED (4)")
        })?;
        let operation = Operation::from_code(operation)
            .ok_or_else(|| format!("invalid operation {operation}"))?;
        let permission = Permission::from_code(permission)
            .ok_or_else(|| format!("invalid permission type {permission}"))?;
        if resource_name.is_empty() {
            return Err("the resource name must not be empty".into());
        }
        if resource_type == ResourceType::Cluster
            && (pattern_type != PatternType::Literal || resource_name != CLUSTER_NAME)
        {
            return Err(format!(
                "the cluster resource is the literal name {CLUSTER_NAME}"
            ));
        }
        if pattern_type == PatternType::Prefixed && resource_name == WILDCARD {
            return Err("a PREFIXED pattern cannot be `*`; use a LITERAL `*`".into());
        }
        check_principal(&principal)?;
        if host.is_empty() || (host != WILDCARD && host.parse::<std::net::IpAddr>().is_err()) {
            return Err(format!("invalid host `{host}`: an IP address or `*`"));
        }
        Ok(AclBinding {
            resource_type,
            resource_name,
            pattern_type,
            principal,
            host,
            operation,
            permission,
        })
    }

    /// One line a person can read:
    /// `User:alice from * ALLOW Write on Topic:LITERAL:orders`.
    pub fn describe(&self) -> String {
        format!(
            "{} from {} {} {} on {}:{}:{}",
            self.principal,
            self.host,
            self.permission.name(),
            self.operation.name(),
            self.resource_type.name(),
            self.pattern_type.name(),
            self.resource_name
        )
    }

    /// Whether the binding's pattern covers the resource `name`.
    pub fn covers(&self, name: &str) -> bool {
        match self.pattern_type {
            PatternType::Literal => self.resource_name == name || self.resource_name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&self.resource_name),
        }
    }

    /// Whether the binding applies to `principal` connecting from `host`.
    pub fn applies_to(&self, principal: &str, host: &str) -> bool {
        (self.principal == principal || self.principal == "User:*")
            && (self.host == host || self.host == WILDCARD)
    }
}

/// `Type:name`, as Kafka's principals are written.
fn check_principal(principal: &str) -> Result<(), Invalid> {
    match principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(format!(
            "invalid principal `{principal}`: write it as Type:name, e.g. User:alice"
        )),
    }
}

/// Selects bindings (DescribeAcls, DeleteAcls): each field is "any" when
/// `None`. With `matching` the name selects every binding that would apply
/// to a resource of that name (Kafka's MATCH pattern type).
#[derive(Debug, Clone, Default)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_name: Option<String>,
    pub pattern_type: Option<PatternType>,
    pub matching: bool,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<Operation>,
    pub permission: Option<Permission>,
}

impl AclFilter {
    /// A filter from DescribeAcls's or DeleteAcls's codes.
    pub fn from_codes(
        resource_type: i8,
        resource_name: Option<String>,
        pattern_type: i8,
        principal: Option<String>,
        host: Option<String>,
        operation: i8,
        permission: i8,
    ) -> Result<AclFilter, Invalid> {
        let any_or = |code: i8, parse: &dyn Fn(i8) -> bool, what: &str| {
            if code == ANY || parse(code) {
                Ok(())
            } else {
                Err(format!("invalid {what} filter {code}"))
            }
        };
        any_or(
            resource_type,
            &|c| ResourceType::from_code(c).is_some(),
            "resource type",
        )?;
        any_or(
            pattern_type,
            &|c| c == MATCH || PatternType::from_code(c).is_some(),
            "pattern type",
        )?;
        any_or(
            operation,
            &|c| Operation::from_code(c).is_some(),
            "operation",
        )?;
        any_or(
            permission,
            &|c| Permission::from_code(c).is_some(),
            "permission type",
        )?;
        Ok(AclFilter {
            resource_type: ResourceType::from_code(resource_type),
            resource_name,
            pattern_type: PatternType::from_code(pattern_type),
            matching: pattern_type == MATCH,
            principal,
            host,
            operation: Operation::from_code(operation),
            permission: Permission::from_code(permission),
        })
    }

    /// The filter's codes as DescribeAcls and DeleteAcls carry them:
    /// (resource type, pattern type, operation, permission).
    pub fn codes(&self) -> (i8, i8, i8, i8) {
        let pattern = match (self.pattern_type, self.matching) {
            (_, true) => MATCH,
            (Some(p), false) => p as i8,
            (None, false) => ANY,
        };
        (
            self.resource_type.map_or(ANY, |t| t as i8),
            pattern,
            self.operation.map_or(ANY, |o| o as i8),
            self.permission.map_or(ANY, |p| p as i8),
        )
    }

    pub fn matches(&self, acl: &AclBinding) -> bool {
        fn field<T: PartialEq>(wanted: &Option<T>, have: &T) -> bool {
            wanted.as_ref().is_none_or(|w| w == have)
        }
        let name_matches = match (&self.resource_name, self.matching) {
            (None, _) => true,
            (Some(name), true) => acl.covers(name),
            (Some(name), false) => *name == acl.resource_name,
        };
        field(&self.resource_type, &acl.resource_type)
            && field(&self.pattern_type, &acl.pattern_type)
            && name_matches
            && field(&self.principal, &acl.principal)
            && field(&self.host, &acl.host)
            && field(&self.operation, &acl.operation)
            && field(&self.permission, &acl.permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(name: &str, pattern: PatternType, op: Operation) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: name.into(),
            pattern_type: pattern,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: op,
            permission: Permission::Allow,
        }
    }

    #[test]
    fn patterns_cover_names_as_kafka_does() {
        assert!(binding("orders", PatternType::Literal, Operation::Read).covers("orders"));
        assert!(!binding("orders", PatternType::Literal, Operation::Read).covers("orders-eu"));
        assert!(binding("*", PatternType::Literal, Operation::Read).covers("anything"));
        assert!(binding("orders", PatternType::Prefixed, Operation::Read).covers("orders-eu"));
        assert!(!binding("orders", PatternType::Prefixed, Operation::Read).covers("order"));
    }

    #[test]
    fn read_write_delete_alter_imply_describe() {
        for op in [
            Operation::Read,
            Operation::Write,
            Operation::Delete,
            Operation::Alter,
            Operation::All,
        ] {
            assert!(op.grants(Operation::Describe), "{op:?}");
        }
        assert!(!Operation::Create.grants(Operation::Describe));
        assert!(Operation::AlterConfigs.grants(Operation::DescribeConfigs));
        assert!(!Operation::Write.grants(Operation::Read));
        assert!(!Operation::Read.refuses(Operation::Describe));
        assert!(Operation::All.refuses(Operation::Write));
    }

    #[test]
    fn creation_refuses_what_kafka_refuses() {
        let create = |rt: i8, name: &str, pt: i8, principal: &str, host: &str, op: i8, perm: i8| {
            AclBinding::from_codes(rt, name.into(), pt, principal.into(), host.into(), op, perm)
        };
        assert!(create(2, "a", 3, "User:alice", "*", 4, 3).is_ok());
        assert!(create(2, "a", 3, "User:alice", "10.0.0.1", 4, 3).is_ok());
        assert!(
            create(1, "a", 3, "User:alice", "*", 4, 3).is_err(),
            "ANY type"
        );
        assert!(create(2, "a", 2, "User:alice", "*", 4, 3).is_err(), "MATCH");
        assert!(create(2, "a", 3, "alice", "*", 4, 3).is_err(), "no type");
        assert!(create(2, "a", 3, "User:alice", "host", 4, 3).is_err());
        assert!(
            create(2, "a", 3, "User:alice", "*", 1, 3).is_err(),
            "ANY op"
        );
        assert!(create(2, "", 3, "User:alice", "*", 4, 3).is_err());
        assert!(create(4, "x", 3, "User:alice", "*", 7, 3).is_err());
        assert!(create(4, CLUSTER_NAME, 3, "User:alice", "*", 7, 3).is_ok());
        assert!(create(2, "*", 4, "User:alice", "*", 4, 3).is_err());
    }

    #[test]
    fn a_match_filter_selects_what_applies_to_a_name() {
        let filter = AclFilter::from_codes(2, Some("orders-eu".into()), 2, None, None, 1, 1)
            .expect("valid filter");
        assert!(filter.matches(&binding("orders", PatternType::Prefixed, Operation::Read)));
        assert!(filter.matches(&binding("*", PatternType::Literal, Operation::Read)));
        assert!(!filter.matches(&binding("orders", PatternType::Literal, Operation::Read)));
        let exact = AclFilter::from_codes(2, Some("orders".into()), 3, None, None, 4, 1)
            .expect("valid filter");
        assert!(!exact.matches(&binding("orders", PatternType::Literal, Operation::Read)));
        assert!(exact.matches(&binding("orders", PatternType::Literal, Operation::Write)));
        assert!(AclFilter::from_codes(0, None, 1, None, None, 1, 1).is_err());
        assert_eq!(filter.codes(), (2, 2, 1, 1));
        assert_eq!(exact.codes(), (2, 3, 4, 1));
    }

    #[test]
    fn names_are_read_in_any_case_with_dashes_or_underscores() {
        assert_eq!(Operation::from_name("write"), Some(Operation::Write));
        assert_eq!(
            Operation::from_name("describe-configs"),
            Some(Operation::DescribeConfigs)
        );
        assert_eq!(
            Operation::from_name("IDEMPOTENT_WRITE"),
            Some(Operation::IdempotentWrite)
        );
        assert_eq!(
            ResourceType::from_name("transactional-id"),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(
            PatternType::from_name("prefixed"),
            Some(PatternType::Prefixed)
        );
        assert_eq!(Operation::from_name("writ"), None);
    }
}
