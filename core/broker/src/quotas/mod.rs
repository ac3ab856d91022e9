//! Client quotas (KIP-13, KIP-55, KIP-124, KIP-546): byte rates for
//! produce and fetch and a share of request-handling time, per user,
//! client id, or both, with defaults for each. A client over its quota
//! gets its answer with `throttle_time_ms` set (KIP-219) and its
//! connection is not read again until that time has passed.
//!
//! - this file: the entities and values, stored as Kafka stores them
//!   (`client-quotas.json` on one node, the metadata log in a cluster),
//!   and which quota applies to a client (Kafka's precedence);
//! - [`rates`]: the windowed rates and the throttle time.

pub mod enforce;
pub mod rates;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::topic_store::{retire_imported, write_private_atomically, MetadataStoreError};

const FILE_NAME: &str = "client-quotas.json";

/// The quota keys Strom enforces.
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
pub const QUOTA_KEYS: [&str; 3] = [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE];

/// Kafka's entity types of client quotas.
pub const USER: &str = "user";
pub const CLIENT_ID: &str = "client-id";

/// One component of an entity: a name, or the default for every name
/// without its own quota.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EntityName {
    Default,
    Named(String),
}

impl EntityName {
    /// As the protocol carries it: `None` is the default.
    pub fn from_wire(name: Option<String>) -> EntityName {
        name.map_or(EntityName::Default, EntityName::Named)
    }

    pub fn to_wire(&self) -> Option<String> {
        match self {
            EntityName::Default => None,
            EntityName::Named(name) => Some(name.clone()),
        }
    }
}

/// Who a quota is for: a user, a client id, or a user's client id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QuotaEntity {
    pub user: Option<EntityName>,
    pub client_id: Option<EntityName>,
}

/// Every entity's quotas, by key.
pub type Quotas = BTreeMap<QuotaEntity, BTreeMap<String, f64>>;

/// One change: a key of an entity set (`Some`) or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaChange {
    pub entity: QuotaEntity,
    pub key: String,
    pub value: Option<f64>,
}

/// Applies one change to `quotas` (also what a replicated record does).
pub fn apply_change(quotas: &mut Quotas, change: QuotaChange) {
    match change.value {
        Some(value) => {
            quotas
                .entry(change.entity)
                .or_default()
                .insert(change.key, value);
        }
        None => {
            if let Some(values) = quotas.get_mut(&change.entity) {
                values.remove(&change.key);
                if values.is_empty() {
                    quotas.remove(&change.entity);
                }
            }
        }
    }
}

/// The quota that applies to a client, and whose usage it counts: for a
/// default entity each user (or client id) has its own allowance, so the
/// usage is counted per actual name.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicable {
    pub limit: f64,
    /// The (user, client id) the usage is counted under; empty for a
    /// component the quota's entity does not have.
    pub counted_as: (String, String),
}

pub struct ClientQuotas {
    path: PathBuf,
    quotas: RwLock<Quotas>,
    /// Whether any quota is set: without one, requests count nothing.
    any: AtomicBool,
}

impl ClientQuotas {
    /// Loads the quotas of `data_dir` (none if it has no file yet).
    pub fn open(data_dir: &Path) -> Result<ClientQuotas, MetadataStoreError> {
        let path = data_dir.join(FILE_NAME);
        let quotas = match std::fs::read(&path) {
            Ok(bytes) => {
                let list: Vec<(QuotaEntity, BTreeMap<String, f64>)> =
                    serde_json::from_slice(&bytes).map_err(|e| MetadataStoreError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                list.into_iter().collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Quotas::new(),
            Err(source) => return Err(MetadataStoreError::Io { path, source }),
        };
        Ok(ClientQuotas {
            path,
            any: AtomicBool::new(!quotas.is_empty()),
            quotas: RwLock::new(quotas),
        })
    }

    /// The quota of `key` for `user`'s client `client_id`, by Kafka's
    /// precedence: the user's client, the user's default client, the
    /// user, the default user's client, the default user's default
    /// client, the default user, the client id, the default client id.
    pub fn applicable(&self, key: &str, user: &str, client_id: &str) -> Option<Applicable> {
        use EntityName::{Default, Named};
        let quotas = self.read();
        let named_user = || Some(Named(user.to_string()));
        let named_client = || Some(Named(client_id.to_string()));
        let candidates = [
            (named_user(), named_client()),
            (named_user(), Some(Default)),
            (named_user(), None),
            (Some(Default), named_client()),
            (Some(Default), Some(Default)),
            (Some(Default), None),
            (None, named_client()),
            (None, Some(Default)),
        ];
        candidates.into_iter().find_map(|(u, c)| {
            let counted_as = (
                if u.is_some() {
                    user.to_string()
                } else {
                    String::new()
                },
                if c.is_some() {
                    client_id.to_string()
                } else {
                    String::new()
                },
            );
            let entity = QuotaEntity {
                user: u,
                client_id: c,
            };
            let limit = *quotas.get(&entity)?.get(key)?;
            Some(Applicable { limit, counted_as })
        })
    }

    /// Every entity with its quotas.
    pub fn snapshot(&self) -> Quotas {
        self.read().clone()
    }

    /// Applies `changes` and persists them before they take effect: if the
    /// file cannot be written, nothing changes.
    pub fn apply(&self, changes: Vec<QuotaChange>) -> Result<(), MetadataStoreError> {
        let mut quotas = self.quotas.write().unwrap_or_else(|e| e.into_inner());
        let mut next = quotas.clone();
        for change in changes {
            apply_change(&mut next, change);
        }
        let list: Vec<(&QuotaEntity, &BTreeMap<String, f64>)> = next.iter().collect();
        // Serialising plain data to a Vec cannot fail.
        let bytes = serde_json::to_vec_pretty(&list).unwrap_or_default();
        write_private_atomically(&self.path, &bytes)?;
        self.any.store(!next.is_empty(), Ordering::Relaxed);
        *quotas = next;
        Ok(())
    }

    /// Renames the file once its quotas are in a cluster's metadata.
    pub fn retire_file(&self) -> std::io::Result<()> {
        retire_imported(&self.path)
    }

    /// In a cluster the metadata log holds the quotas: each node takes the
    /// whole set from its table after applying a change.
    pub fn replace_replicated(&self, quotas: Quotas) {
        let mut held = self.quotas.write().unwrap_or_else(|e| e.into_inner());
        self.any.store(!quotas.is_empty(), Ordering::Relaxed);
        *held = quotas;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Quotas> {
        self.quotas.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(user: Option<EntityName>, client_id: Option<EntityName>) -> QuotaEntity {
        QuotaEntity { user, client_id }
    }

    fn set(entity: QuotaEntity, value: f64) -> QuotaChange {
        QuotaChange {
            entity,
            key: PRODUCER_BYTE_RATE.into(),
            value: Some(value),
        }
    }

    #[test]
    fn the_most_specific_quota_applies_as_in_kafka() {
        use EntityName::{Default, Named};
        let dir = tempfile::tempdir().expect("temp dir");
        let quotas = ClientQuotas::open(dir.path()).expect("opens");
        quotas
            .apply(vec![
                set(entity(None, Some(Default)), 1.0),
                set(entity(None, Some(Named("app".into()))), 2.0),
                set(entity(Some(Default), None), 3.0),
                set(entity(Some(Named("alice".into())), None), 4.0),
                set(
                    entity(Some(Named("alice".into())), Some(Named("app".into()))),
                    5.0,
                ),
            ])
            .expect("stored");
        let limit = |user: &str, client: &str| {
            quotas
                .applicable(PRODUCER_BYTE_RATE, user, client)
                .map(|a| (a.limit, a.counted_as))
        };
        let counted = |u: &str, c: &str| (u.to_string(), c.to_string());
        assert_eq!(limit("alice", "app"), Some((5.0, counted("alice", "app"))));
        assert_eq!(limit("alice", "other"), Some((4.0, counted("alice", ""))));
        assert_eq!(limit("bob", "app"), Some((3.0, counted("bob", ""))));
        assert_eq!(quotas.applicable(CONSUMER_BYTE_RATE, "bob", "app"), None);

        let reopened = ClientQuotas::open(dir.path()).expect("reopens");
        assert_eq!(reopened.snapshot(), quotas.snapshot());
        reopened
            .apply(vec![QuotaChange {
                entity: entity(Some(Default), None),
                key: PRODUCER_BYTE_RATE.into(),
                value: None,
            }])
            .expect("stored");
        assert_eq!(
            reopened
                .applicable(PRODUCER_BYTE_RATE, "bob", "app")
                .map(|a| a.limit),
            Some(2.0),
            "the client id's quota once the default user's is gone"
        );
    }
}
