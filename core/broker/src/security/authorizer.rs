//! Decides whether a principal may do an operation on a resource, from
//! the ACLs, `super.users` and `allow.everyone.if.no.acl.found`, as
//! Kafka's StandardAuthorizer decides:
//!
//! - super users may do everything;
//! - a DENY binding that applies wins over any ALLOW;
//! - else an ALLOW binding for the operation (or one implying it) allows;
//! - a resource that no binding covers at all is open to everyone only
//!   when `allow.everyone.if.no.acl.found` is true.
//!
//! On one node the ACLs live in `acls.json` in the data dir, replaced
//! atomically on each change; in a cluster the metadata log holds them and
//! each broker takes the whole set after applying a change.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use super::acl::{
    AclBinding, AclFilter, Operation, PatternType, Permission, ResourceType, WILDCARD,
};
use super::LogLimiter;
use crate::topic_store::{retire_imported, write_private_atomically, MetadataStoreError};

const FILE_NAME: &str = "acls.json";

/// The ACLs, ordered so that listings are stable.
pub type Acls = BTreeSet<AclBinding>;

/// Who sent a request: Kafka's principal (`User:ANONYMOUS` before or
/// without a login, `User:<name>` after a SASL login, `User:<DN>` for a
/// client certificate) and the IP address it came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: String,
    pub host: String,
    /// Requests that only brokers make (a follower's Fetch) are allowed on
    /// the brokers' own listener, whose links do not log in yet.
    pub inter_broker: bool,
}

impl Caller {
    pub fn anonymous(peer: SocketAddr) -> Caller {
        Caller {
            principal: super::principal::ANONYMOUS.into(),
            host: peer.ip().to_string(),
            inter_broker: false,
        }
    }

    pub fn user(name: &str) -> String {
        format!("User:{name}")
    }
}

/// The authorizer's settings (`authorizer.class.name`, `super.users`,
/// `allow.everyone.if.no.acl.found`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerSettings {
    pub enabled: bool,
    pub super_users: Vec<String>,
    pub allow_if_no_acl: bool,
}

pub struct Authorizer {
    settings: AuthorizerSettings,
    path: PathBuf,
    acls: RwLock<Indexed>,
}

/// The ACLs with an index by resource: a check looks only at the bindings
/// that could cover the resource, so its cost does not grow with the
/// number of ACLs (a request naming many topics is checked topic by topic).
#[derive(Default)]
struct Indexed {
    all: Acls,
    /// Bindings by resource type, then pattern name.
    by_name: HashMap<ResourceType, HashMap<String, Vec<AclBinding>>>,
    /// The lengths of the PREFIXED patterns of each resource type: a name
    /// is looked up by those prefixes only.
    prefix_lengths: HashMap<ResourceType, BTreeSet<usize>>,
}

impl Indexed {
    fn new(all: Acls) -> Indexed {
        let mut indexed = Indexed::default();
        for acl in &all {
            let names = indexed.by_name.entry(acl.resource_type).or_default();
            names
                .entry(acl.resource_name.clone())
                .or_default()
                .push(acl.clone());
            if acl.pattern_type == PatternType::Prefixed {
                indexed
                    .prefix_lengths
                    .entry(acl.resource_type)
                    .or_default()
                    .insert(acl.resource_name.len());
            }
        }
        indexed.all = all;
        indexed
    }

    /// Every binding that covers the resource `name`.
    fn covering<'a>(
        &'a self,
        resource_type: ResourceType,
        name: &'a str,
    ) -> impl Iterator<Item = &'a AclBinding> + 'a {
        let names = self.by_name.get(&resource_type);
        let lookup = move |key: &str| names.and_then(|n| n.get(key)).into_iter().flatten();
        let prefixes = self
            .prefix_lengths
            .get(&resource_type)
            .into_iter()
            .flatten()
            .filter(move |&&len| len < name.len() && name.is_char_boundary(len))
            .flat_map(move |&len| lookup(&name[..len]));
        let wildcard = (name != WILDCARD)
            .then(|| lookup(WILDCARD))
            .into_iter()
            .flatten();
        lookup(name)
            .chain(wildcard)
            .chain(prefixes)
            .filter(move |acl| acl.covers(name))
    }
}

/// Denials, logged at most 20 a second.
static DENIALS: LogLimiter = LogLimiter::new();

impl Authorizer {
    /// Loads the ACLs of `data_dir` (none if it has no file yet).
    pub fn open(
        data_dir: &Path,
        settings: AuthorizerSettings,
    ) -> Result<Authorizer, MetadataStoreError> {
        let path = data_dir.join(FILE_NAME);
        let acls = match std::fs::read(&path) {
            Ok(bytes) => {
                let list: Vec<AclBinding> =
                    serde_json::from_slice(&bytes).map_err(|e| MetadataStoreError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                list.into_iter().collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Acls::new(),
            Err(source) => return Err(MetadataStoreError::Io { path, source }),
        };
        Ok(Authorizer {
            settings,
            path,
            acls: RwLock::new(Indexed::new(acls)),
        })
    }

    /// Whether requests are checked at all (`authorizer.class.name` set).
    pub fn is_enabled(&self) -> bool {
        self.settings.enabled
    }

    /// Whether `caller` may do `operation` on the resource; a refusal is
    /// logged (as Kafka's authorizer logger does).
    pub fn authorize(
        &self,
        caller: &Caller,
        operation: Operation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        let allowed = self.allows(caller, operation, resource_type, name);
        if !allowed {
            if let Some(left_out) = DENIALS.admit() {
                tracing::info!(
                    principal = caller.principal,
                    host = caller.host,
                    operation = operation.name(),
                    resource = format!("{}:{name}", resource_type.name()),
                    left_out,
                    "authorization denied"
                );
            }
        }
        allowed
    }

    /// [`Authorizer::authorize`] without the log line: for listings that
    /// leave out what the caller may not see.
    pub fn allows(
        &self,
        caller: &Caller,
        operation: Operation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if !self.settings.enabled || self.is_super_user(caller) {
            return true;
        }
        let acls = self.read();
        let mut covered = false;
        let mut allowed = false;
        for acl in acls.covering(resource_type, name) {
            covered = true;
            if !acl.applies_to(&caller.principal, &caller.host) {
                continue;
            }
            match acl.permission {
                Permission::Deny if acl.operation.refuses(operation) => return false,
                Permission::Allow if acl.operation.grants(operation) => allowed = true,
                _ => {}
            }
        }
        allowed || (!covered && self.settings.allow_if_no_acl)
    }

    /// KIP-430: the operations `caller` may do on the resource, as a bit
    /// field (bit = operation code) over those Kafka reports for its type.
    pub fn authorized_operations(
        &self,
        caller: &Caller,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        let allowed = resource_type
            .reported_operations()
            .iter()
            .copied()
            .filter(|&operation| self.allows(caller, operation, resource_type, name));
        strom_protocol::acl::operation_bits(allowed)
    }

    /// Whether `caller` may do `operation` on some resource of the type
    /// (Kafka's `authorizeByResourceType`: an idempotent producer needs
    /// IDEMPOTENT_WRITE on the cluster or WRITE on any topic).
    pub fn allows_any(
        &self,
        caller: &Caller,
        operation: Operation,
        resource_type: ResourceType,
    ) -> bool {
        if !self.settings.enabled || self.is_super_user(caller) {
            return true;
        }
        let indexed = self.read();
        let acls = &indexed.all;
        let applicable = acls.iter().filter(|acl| {
            acl.resource_type == resource_type && acl.applies_to(&caller.principal, &caller.host)
        });
        let mut allowed_names = Vec::new();
        for acl in applicable {
            match acl.permission {
                Permission::Deny
                    if acl.operation.refuses(operation)
                        && acl.resource_name == super::acl::WILDCARD =>
                {
                    return false;
                }
                Permission::Allow if acl.operation.grants(operation) => allowed_names.push(acl),
                _ => {}
            }
        }
        allowed_names.iter().any(|allow| {
            // An allow that a deny on the same pattern cancels grants nothing.
            !acls.iter().any(|deny| {
                deny.permission == Permission::Deny
                    && deny.resource_type == resource_type
                    && deny.pattern_type == allow.pattern_type
                    && deny.resource_name == allow.resource_name
                    && deny.operation.refuses(operation)
                    && deny.applies_to(&caller.principal, &caller.host)
            })
        })
    }

    fn is_super_user(&self, caller: &Caller) -> bool {
        self.settings.super_users.contains(&caller.principal)
    }

    /// The bindings `filter` selects, in a stable order.
    pub fn describe(&self, filter: &AclFilter) -> Vec<AclBinding> {
        self.read()
            .all
            .iter()
            .filter(|acl| filter.matches(acl))
            .cloned()
            .collect()
    }

    /// Every binding.
    pub fn snapshot(&self) -> Acls {
        self.read().all.clone()
    }

    /// Adds `created` and removes `deleted`, persisting the result before
    /// it takes effect: if the file cannot be written, nothing changes.
    pub fn change(
        &self,
        created: Vec<AclBinding>,
        deleted: &[AclBinding],
    ) -> Result<(), MetadataStoreError> {
        let mut acls = self.acls.write().unwrap_or_else(|e| e.into_inner());
        let mut next = acls.all.clone();
        for acl in deleted {
            next.remove(acl);
        }
        next.extend(created);
        let list: Vec<&AclBinding> = next.iter().collect();
        // Serialising plain data to a Vec cannot fail.
        let bytes = serde_json::to_vec_pretty(&list).unwrap_or_default();
        write_private_atomically(&self.path, &bytes)?;
        *acls = Indexed::new(next);
        Ok(())
    }

    /// Renames `acls.json` once its ACLs are in a cluster's metadata.
    pub fn retire_file(&self) -> std::io::Result<()> {
        retire_imported(&self.path)
    }

    /// In a cluster the metadata log holds the ACLs: each node takes the
    /// whole set from its table after applying a change.
    pub fn replace_replicated(&self, acls: Acls) {
        *self.acls.write().unwrap_or_else(|e| e.into_inner()) = Indexed::new(acls);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Indexed> {
        self.acls.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::acl::PatternType;

    fn acl(name: &str, principal: &str, op: Operation, permission: Permission) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: name.into(),
            pattern_type: PatternType::Literal,
            principal: principal.into(),
            host: "*".into(),
            operation: op,
            permission,
        }
    }

    fn caller(principal: &str) -> Caller {
        Caller {
            principal: principal.into(),
            host: "127.0.0.1".into(),
            inter_broker: false,
        }
    }

    fn authorizer(dir: &Path, allow_if_no_acl: bool) -> Authorizer {
        Authorizer::open(
            dir,
            AuthorizerSettings {
                enabled: true,
                super_users: vec!["User:admin".into()],
                allow_if_no_acl,
            },
        )
        .expect("opens")
    }

    #[test]
    fn a_writer_of_one_topic_may_write_and_describe_it_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let auth = authorizer(dir.path(), false);
        auth.change(
            vec![acl("a", "User:alice", Operation::Write, Permission::Allow)],
            &[],
        )
        .expect("stored");
        let alice = caller("User:alice");
        let topic = ResourceType::Topic;
        assert!(auth.allows(&alice, Operation::Write, topic, "a"));
        assert!(auth.allows(&alice, Operation::Describe, topic, "a"));
        assert!(!auth.allows(&alice, Operation::Read, topic, "a"));
        assert!(!auth.allows(&alice, Operation::Describe, topic, "b"));
        assert!(!auth.allows(&caller("User:bob"), Operation::Write, topic, "a"));
        assert!(auth.allows(&caller("User:admin"), Operation::Delete, topic, "b"));
        assert!(auth.allows_any(&alice, Operation::Write, topic));
        assert!(!auth.allows_any(&caller("User:bob"), Operation::Write, topic));
    }

    #[test]
    fn deny_wins_and_uncovered_resources_follow_the_setting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let auth = authorizer(dir.path(), true);
        auth.change(
            vec![
                acl("*", "User:*", Operation::All, Permission::Allow),
                acl("secret", "User:bob", Operation::Read, Permission::Deny),
            ],
            &[],
        )
        .expect("stored");
        let bob = caller("User:bob");
        assert!(!auth.allows(&bob, Operation::Read, ResourceType::Topic, "secret"));
        assert!(auth.allows(&bob, Operation::Write, ResourceType::Topic, "secret"));
        assert!(
            auth.allows(&bob, Operation::Read, ResourceType::Group, "g"),
            "no ACL covers the group and allow.everyone.if.no.acl.found is true"
        );
        let strict = authorizer(tempfile::tempdir().expect("temp dir").path(), false);
        assert!(!strict.allows(&bob, Operation::Read, ResourceType::Group, "g"));
    }

    #[test]
    fn the_index_finds_literal_wildcard_and_prefixed_patterns_among_many() {
        let dir = tempfile::tempdir().expect("temp dir");
        let auth = authorizer(dir.path(), false);
        let mut many: Vec<AclBinding> = (0..10_000)
            .map(|i| {
                acl(
                    &format!("t{i}"),
                    "User:bob",
                    Operation::Read,
                    Permission::Allow,
                )
            })
            .collect();
        let mut prefixed = acl("logs-", "User:alice", Operation::Read, Permission::Allow);
        prefixed.pattern_type = PatternType::Prefixed;
        many.push(prefixed);
        many.push(acl("*", "User:carol", Operation::Write, Permission::Allow));
        auth.change(many, &[]).expect("stored");
        let (alice, bob, carol) = (
            caller("User:alice"),
            caller("User:bob"),
            caller("User:carol"),
        );
        let topic = ResourceType::Topic;
        assert!(auth.allows(&alice, Operation::Read, topic, "logs-app"));
        assert!(!auth.allows(&alice, Operation::Read, topic, "logs"));
        assert!(!auth.allows(&alice, Operation::Read, topic, "t1"));
        assert!(auth.allows(&bob, Operation::Read, topic, "t9999"));
        assert!(!auth.allows(&bob, Operation::Read, topic, "t10000"));
        assert!(auth.allows(&carol, Operation::Write, topic, "anything-é"));
        let long_name = "x".repeat(1 << 20);
        assert!(!auth.allows(&alice, Operation::Read, topic, &long_name));
    }

    #[test]
    fn acls_survive_a_reopen_and_a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let binding = acl("a", "User:alice", Operation::Write, Permission::Allow);
        authorizer(dir.path(), false)
            .change(vec![binding.clone()], &[])
            .expect("stored");
        let reopened = authorizer(dir.path(), false);
        assert!(reopened.snapshot().contains(&binding));
        std::fs::remove_dir_all(dir.path()).expect("removed");
        assert!(reopened
            .change(vec![], std::slice::from_ref(&binding))
            .is_err());
        assert_eq!(reopened.snapshot().len(), 1, "nothing changed");
    }
}
