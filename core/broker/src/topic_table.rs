//! The cluster's topic metadata as a table changed only by applying
//! records, in the order they were committed (Redpanda's `topic_table`,
//! Kafka's KRaft `TopicRecord` / `PartitionRecord` / `RemoveTopicRecord`).
//! On one node the records are committed to the topic files of
//! `topic_store`; a replicated metadata log will feed the same `apply`.
//!
//! Applying returns the deltas, so the partition manager opens and closes
//! logs as records arrive. Queries read immutable snapshots: a topic handed
//! out stays consistent while the table changes under it.

use strom_protocol::sasl::{ScramCredential, ScramMechanism};

use crate::quotas::{apply_change as apply_quota_change, QuotaChange, Quotas};
use crate::security::acl::AclBinding;
use crate::security::authorizer::Acls;

use crate::security::users::{apply_change, CredentialChange, Credentials};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use strom_protocol::codec::Uuid;

use crate::config::{BrokerConfig, EffectiveTopicConfig, TopicConfigs};

/// Where one partition lives: Kafka's `PartitionRecord` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionAssignment {
    /// Every replica, the preferred leader first; during a reassignment,
    /// the target replicas and then those being removed.
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 while the partition has no leader.
    pub leader: i32,
    pub leader_epoch: i32,
    /// A reassignment in progress: replicas catching up to join...
    pub adding: Vec<i32>,
    /// ...and replicas that leave once they have.
    pub removing: Vec<i32>,
}

impl PartitionAssignment {
    pub fn is_reassigning(&self) -> bool {
        !self.adding.is_empty() || !self.removing.is_empty()
    }
}

/// One change to the topic metadata.
#[derive(Debug, Clone)]
pub enum MetadataRecord {
    /// A new topic, without partitions yet (they follow as `Partition`).
    Topic {
        name: String,
        id: Uuid,
        configs: TopicConfigs,
    },
    /// The next partition of topic `topic_id`.
    Partition {
        topic_id: Uuid,
        assignment: PartitionAssignment,
    },
    /// A topic's config overrides, replaced as a whole.
    TopicConfigs {
        topic_id: Uuid,
        configs: TopicConfigs,
    },
    RemoveTopic {
        topic_id: Uuid,
    },
    /// Partition `index` of a topic has a new leader, epoch, ISR or
    /// replica set (Kafka's `PartitionChangeRecord`, here carried whole).
    PartitionChange {
        topic_id: Uuid,
        index: i32,
        assignment: PartitionAssignment,
    },
    /// A broker joined (or came back): it is live and may lead partitions.
    /// `host:port` is its first listener; `listeners` every listener by
    /// name, so clients are told the addresses of the listener they use.
    RegisterBroker {
        id: i32,
        host: String,
        port: i32,
        listeners: Vec<ListenerEndpoint>,
        /// Its HTTP listener, where the consoles of the others ask it.
        http: Option<String>,
    },
    /// A broker stopped heartbeating or shut down: it leads nothing.
    FenceBroker {
        id: i32,
    },
    /// Producer ids below `next` are handed out (Kafka's `ProducerIdsRecord`).
    ProducerIds {
        next: i64,
    },
    /// The cluster's id, recorded once by the first controller.
    ClusterId {
        id: String,
    },
    /// A user's SCRAM credential for its mechanism, set or replaced
    /// (Kafka's `UserScramCredentialRecord`).
    ScramCredential {
        user: String,
        credential: ScramCredential,
    },
    RemoveScramCredential {
        user: String,
        mechanism: ScramMechanism,
    },
    /// An ACL (Kafka's `AccessControlEntryRecord`).
    Acl(AclBinding),
    RemoveAcl(AclBinding),
    /// A client quota set or removed (Kafka's `ClientQuotaRecord`).
    ClientQuota(QuotaChange),
}

impl MetadataRecord {
    /// Whether the record changes the SCRAM users.
    pub fn changes_users(&self) -> bool {
        matches!(
            self,
            MetadataRecord::ScramCredential { .. } | MetadataRecord::RemoveScramCredential { .. }
        )
    }

    /// Whether the record changes the ACLs.
    pub fn changes_acls(&self) -> bool {
        matches!(self, MetadataRecord::Acl(_) | MetadataRecord::RemoveAcl(_))
    }

    /// Whether the record changes the client quotas.
    pub fn changes_quotas(&self) -> bool {
        matches!(self, MetadataRecord::ClientQuota(_))
    }
}

/// Where one listener of a broker is reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListenerEndpoint {
    pub name: String,
    pub host: String,
    pub port: i32,
}

/// A broker the cluster knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredBroker {
    pub id: i32,
    pub host: String,
    pub port: i32,
    /// Every client listener (empty for a broker registered before
    /// listeners were recorded: `host:port` then serves every client).
    pub listeners: Vec<ListenerEndpoint>,
    /// Its HTTP listener (console, API, metrics), when it runs one.
    pub http: Option<String>,
    /// Fenced brokers are down (or shut down): not live, lead nothing.
    pub fenced: bool,
}

/// What an applied record changed, for those who hold runtime state.
#[derive(Debug, Clone)]
pub enum Delta {
    PartitionAdded { topic: Arc<Topic>, index: i32 },
    PartitionChanged { topic: Arc<Topic>, index: i32 },
    ConfigsChanged { topic: Arc<Topic> },
    TopicRemoved { topic: Arc<Topic> },
}

/// What a record changed, before the batch it is in has finished applying
/// (see [`TopicTable::apply_all`]).
enum Changed {
    PartitionAdded { id: Uuid, index: i32 },
    Partition { id: Uuid, index: i32 },
    Configs { id: Uuid },
    Removed { topic: Arc<Topic> },
}

/// A record that does not fit the table: a bug in whoever committed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    #[error("topic id {0:?} is not in the table")]
    UnknownTopicId(Uuid),
    #[error("topic id {0:?} has no partition {1}")]
    UnknownPartition(Uuid, i32),
}

/// A topic as the metadata describes it (no logs: those are the partition
/// manager's).
#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub configs: TopicConfigs,
    pub partitions: Vec<PartitionAssignment>,
}

impl Topic {
    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }

    pub fn effective_config(&self, broker: &BrokerConfig) -> EffectiveTopicConfig {
        self.configs.effective(broker)
    }
}

#[derive(Default)]
pub struct TopicTable {
    by_name: BTreeMap<String, Arc<Topic>>,
    name_of: HashMap<Uuid, String>,
    brokers: BTreeMap<i32, RegisteredBroker>,
    next_producer_id: i64,
    cluster_id: Option<String>,
    scram_users: Credentials,
    acls: Acls,
    client_quotas: Quotas,
}

impl TopicTable {
    /// Applies one committed record.
    pub fn apply(&mut self, record: MetadataRecord) -> Result<Vec<Delta>, ApplyError> {
        let changed = self.apply_one(record)?;
        Ok(self.resolve(changed))
    }

    /// Applies committed records in order; those that do not fit are
    /// skipped and returned as errors. The deltas name each topic as it
    /// stands after the whole batch: resolving them only at the end keeps
    /// every topic unshared while the batch applies, so a record changes
    /// its topic in place instead of copying all of its partitions (a
    /// CreateTopics of N partitions, or a fence moving N leaders, would
    /// otherwise copy N partitions N times).
    pub fn apply_all(
        &mut self,
        records: impl IntoIterator<Item = MetadataRecord>,
    ) -> (Vec<Delta>, Vec<ApplyError>) {
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        for record in records {
            match self.apply_one(record) {
                Ok(c) => changed.extend(c),
                Err(e) => errors.push(e),
            }
        }
        (self.resolve(changed), errors)
    }

    /// The deltas for `changed`, against the table as it stands now. A
    /// change to a topic removed later in the same batch has none.
    fn resolve(&self, changed: Vec<Changed>) -> Vec<Delta> {
        changed
            .into_iter()
            .filter_map(|c| match c {
                Changed::PartitionAdded { id, index } => Some(Delta::PartitionAdded {
                    topic: self.topic_by_id(id)?,
                    index,
                }),
                Changed::Partition { id, index } => Some(Delta::PartitionChanged {
                    topic: self.topic_by_id(id)?,
                    index,
                }),
                Changed::Configs { id } => Some(Delta::ConfigsChanged {
                    topic: self.topic_by_id(id)?,
                }),
                Changed::Removed { topic } => Some(Delta::TopicRemoved { topic }),
            })
            .collect()
    }

    fn apply_one(&mut self, record: MetadataRecord) -> Result<Vec<Changed>, ApplyError> {
        match record {
            MetadataRecord::Topic { name, id, configs } => {
                if self.by_name.contains_key(&name) {
                    return Err(ApplyError::TopicExists(name));
                }
                let topic = Arc::new(Topic {
                    name: name.clone(),
                    id,
                    configs,
                    partitions: Vec::new(),
                });
                self.name_of.insert(id, name.clone());
                self.by_name.insert(name, topic);
                Ok(Vec::new())
            }
            MetadataRecord::Partition {
                topic_id,
                assignment,
            } => {
                let mut index = 0;
                self.change(topic_id, |t| {
                    t.partitions.push(assignment);
                    index = t.partition_count() - 1;
                })?;
                Ok(vec![Changed::PartitionAdded {
                    id: topic_id,
                    index,
                }])
            }
            MetadataRecord::TopicConfigs { topic_id, configs } => {
                self.change(topic_id, |t| t.configs = configs)?;
                Ok(vec![Changed::Configs { id: topic_id }])
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                let name = self
                    .name_of
                    .remove(&topic_id)
                    .ok_or(ApplyError::UnknownTopicId(topic_id))?;
                let topic = self
                    .by_name
                    .remove(&name)
                    .ok_or(ApplyError::UnknownTopicId(topic_id))?;
                Ok(vec![Changed::Removed { topic }])
            }
            MetadataRecord::PartitionChange {
                topic_id,
                index,
                assignment,
            } => {
                let slot = usize::try_from(index).ok();
                let mut fits = false;
                self.change(topic_id, |t| {
                    if let Some(p) = slot.and_then(|i| t.partitions.get_mut(i)) {
                        *p = assignment;
                        fits = true;
                    }
                })?;
                if !fits {
                    return Err(ApplyError::UnknownPartition(topic_id, index));
                }
                Ok(vec![Changed::Partition {
                    id: topic_id,
                    index,
                }])
            }
            MetadataRecord::RegisterBroker {
                id,
                host,
                port,
                listeners,
                http,
            } => {
                self.brokers.insert(
                    id,
                    RegisteredBroker {
                        id,
                        host,
                        port,
                        listeners,
                        http,
                        fenced: false,
                    },
                );
                Ok(Vec::new())
            }
            MetadataRecord::FenceBroker { id } => {
                if let Some(broker) = self.brokers.get_mut(&id) {
                    broker.fenced = true;
                }
                Ok(Vec::new())
            }
            MetadataRecord::ProducerIds { next } => {
                self.next_producer_id = self.next_producer_id.max(next);
                Ok(Vec::new())
            }
            MetadataRecord::ClusterId { id } => {
                self.cluster_id.get_or_insert(id);
                Ok(Vec::new())
            }
            MetadataRecord::ScramCredential { user, credential } => {
                apply_change(
                    &mut self.scram_users,
                    CredentialChange::Upsert(user, credential),
                );
                Ok(Vec::new())
            }
            MetadataRecord::RemoveScramCredential { user, mechanism } => {
                apply_change(
                    &mut self.scram_users,
                    CredentialChange::Delete(user, mechanism),
                );
                Ok(Vec::new())
            }
            MetadataRecord::Acl(binding) => {
                self.acls.insert(binding);
                Ok(Vec::new())
            }
            MetadataRecord::RemoveAcl(binding) => {
                self.acls.remove(&binding);
                Ok(Vec::new())
            }
            MetadataRecord::ClientQuota(change) => {
                apply_quota_change(&mut self.client_quotas, change);
                Ok(Vec::new())
            }
        }
    }

    /// Every client quota.
    pub fn client_quotas(&self) -> &Quotas {
        &self.client_quotas
    }

    /// Every ACL.
    pub fn acls(&self) -> &Acls {
        &self.acls
    }

    /// Every user's SCRAM credentials.
    pub fn scram_users(&self) -> &Credentials {
        &self.scram_users
    }

    /// Every broker the cluster knows, by id.
    pub fn brokers(&self) -> impl Iterator<Item = &RegisteredBroker> {
        self.brokers.values()
    }

    pub fn broker(&self, id: i32) -> Option<&RegisteredBroker> {
        self.brokers.get(&id)
    }

    /// Whether broker `id` is registered and not fenced.
    pub fn is_live(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(|b| !b.fenced)
    }

    /// The first producer id not handed out yet.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// The records that rebuild this table from empty (a metadata snapshot).
    pub fn to_records(&self) -> Vec<MetadataRecord> {
        let mut records = Vec::new();
        if let Some(id) = &self.cluster_id {
            records.push(MetadataRecord::ClusterId { id: id.clone() });
        }
        for broker in self.brokers.values() {
            records.extend(registration_records(broker));
        }
        records.push(MetadataRecord::ProducerIds {
            next: self.next_producer_id,
        });
        for topic in self.by_name.values() {
            records.extend(creation_records(topic));
        }
        records.extend(scram_records(&self.scram_users));
        records.extend(self.acls.iter().cloned().map(MetadataRecord::Acl));
        records.extend(quota_records(&self.client_quotas));
        records
    }

    /// The records that turn this table into `target` (a snapshot
    /// installed over older state): topics gone are removed, new ones
    /// added, changed partitions and configs replaced.
    pub fn records_to_reach(&self, target: &TopicTable) -> Vec<MetadataRecord> {
        let mut records = Vec::new();
        for topic in self.by_name.values() {
            if target.topic_by_id(topic.id).is_none() {
                records.push(MetadataRecord::RemoveTopic { topic_id: topic.id });
            }
        }
        for wanted in target.by_name.values() {
            let Some(current) = self.topic_by_id(wanted.id) else {
                records.extend(creation_records(wanted));
                continue;
            };
            if current.configs.overrides() != wanted.configs.overrides() {
                records.push(MetadataRecord::TopicConfigs {
                    topic_id: wanted.id,
                    configs: wanted.configs.clone(),
                });
            }
            for (index, assignment) in wanted.partitions.iter().enumerate() {
                let record = match current.partitions.get(index) {
                    Some(held) if held == assignment => continue,
                    Some(_) => MetadataRecord::PartitionChange {
                        topic_id: wanted.id,
                        index: index as i32,
                        assignment: assignment.clone(),
                    },
                    None => MetadataRecord::Partition {
                        topic_id: wanted.id,
                        assignment: assignment.clone(),
                    },
                };
                records.push(record);
            }
        }
        for broker in target.brokers.values() {
            if self.brokers.get(&broker.id) != Some(broker) {
                records.extend(registration_records(broker));
            }
        }
        records.push(MetadataRecord::ProducerIds {
            next: target.next_producer_id,
        });
        if let Some(id) = &target.cluster_id {
            records.push(MetadataRecord::ClusterId { id: id.clone() });
        }
        for (user, creds) in &self.scram_users {
            for held in creds {
                let kept = target
                    .scram_users
                    .get(user)
                    .is_some_and(|wanted| wanted.iter().any(|w| w.mechanism == held.mechanism));
                if !kept {
                    records.push(MetadataRecord::RemoveScramCredential {
                        user: user.clone(),
                        mechanism: held.mechanism,
                    });
                }
            }
        }
        for (user, creds) in &target.scram_users {
            for wanted in creds {
                let held = self
                    .scram_users
                    .get(user)
                    .is_some_and(|c| c.contains(wanted));
                if !held {
                    records.push(MetadataRecord::ScramCredential {
                        user: user.clone(),
                        credential: wanted.clone(),
                    });
                }
            }
        }
        let gone = self.acls.difference(&target.acls).cloned();
        records.extend(gone.map(MetadataRecord::RemoveAcl));
        let new = target.acls.difference(&self.acls).cloned();
        records.extend(new.map(MetadataRecord::Acl));
        for (entity, values) in &self.client_quotas {
            for key in values.keys() {
                let kept = target
                    .client_quotas
                    .get(entity)
                    .is_some_and(|v| v.contains_key(key));
                if !kept {
                    records.push(MetadataRecord::ClientQuota(QuotaChange {
                        entity: entity.clone(),
                        key: key.clone(),
                        value: None,
                    }));
                }
            }
        }
        records.extend(quota_records(&target.client_quotas));
        records
    }

    /// Replaces topic `id`'s snapshot with a changed copy.
    /// Edits topic `id` in place, or a copy of it when a snapshot of it is
    /// still handed out (those never change).
    fn change(&mut self, id: Uuid, edit: impl FnOnce(&mut Topic)) -> Result<(), ApplyError> {
        let name = self
            .name_of
            .get(&id)
            .ok_or(ApplyError::UnknownTopicId(id))?;
        let slot = self
            .by_name
            .get_mut(name)
            .ok_or(ApplyError::UnknownTopicId(id))?;
        edit(Arc::make_mut(slot));
        Ok(())
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.by_name.get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.name_of.get(&id).and_then(|name| self.topic(name))
    }

    /// Every topic, sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.by_name.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Every partition of `topics`, as (topic name, index).
pub fn every_partition(topics: &[Arc<Topic>]) -> Vec<(String, i32)> {
    topics
        .iter()
        .flat_map(|t| (0..t.partition_count()).map(|i| (t.name.clone(), i)))
        .collect()
}

/// The records that create `topic` as it is now.
fn creation_records(topic: &Topic) -> Vec<MetadataRecord> {
    let mut records = vec![MetadataRecord::Topic {
        name: topic.name.clone(),
        id: topic.id,
        configs: topic.configs.clone(),
    }];
    records.extend(
        topic
            .partitions
            .iter()
            .map(|assignment| MetadataRecord::Partition {
                topic_id: topic.id,
                assignment: assignment.clone(),
            }),
    );
    records
}

/// The records that set every client quota.
fn quota_records(quotas: &Quotas) -> impl Iterator<Item = MetadataRecord> + '_ {
    quotas.iter().flat_map(|(entity, values)| {
        values.iter().map(move |(key, value)| {
            MetadataRecord::ClientQuota(QuotaChange {
                entity: entity.clone(),
                key: key.clone(),
                value: Some(*value),
            })
        })
    })
}

/// The records that recreate every user's SCRAM credentials.
fn scram_records(users: &Credentials) -> impl Iterator<Item = MetadataRecord> + '_ {
    users.iter().flat_map(|(user, creds)| {
        creds
            .iter()
            .map(move |credential| MetadataRecord::ScramCredential {
                user: user.clone(),
                credential: credential.clone(),
            })
    })
}

/// The records that register `broker` as it is now (fenced or not).
fn registration_records(broker: &RegisteredBroker) -> Vec<MetadataRecord> {
    let mut records = vec![MetadataRecord::RegisterBroker {
        id: broker.id,
        host: broker.host.clone(),
        port: broker.port,
        listeners: broker.listeners.clone(),
        http: broker.http.clone(),
    }];
    if broker.fenced {
        records.push(MetadataRecord::FenceBroker { id: broker.id });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sole(node: i32) -> PartitionAssignment {
        PartitionAssignment {
            replicas: vec![node],
            isr: vec![node],
            leader: node,
            leader_epoch: 0,
            ..Default::default()
        }
    }

    fn configs(pairs: &[(&str, &str)]) -> TopicConfigs {
        TopicConfigs::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .expect("valid configs")
    }

    #[test]
    fn records_build_topics_and_say_what_changed() {
        let mut table = TopicTable::default();
        let id = Uuid([7; 16]);
        let created = table
            .apply(MetadataRecord::Topic {
                name: "orders".into(),
                id,
                configs: configs(&[]),
            })
            .expect("applies");
        assert!(created.is_empty(), "no partitions yet");
        for _ in 0..2 {
            let deltas = table
                .apply(MetadataRecord::Partition {
                    topic_id: id,
                    assignment: sole(1),
                })
                .expect("applies");
            assert!(matches!(deltas[..], [Delta::PartitionAdded { .. }]));
        }
        let before = table.topic("orders").expect("present");
        assert_eq!(before.partition_count(), 2);

        table
            .apply(MetadataRecord::TopicConfigs {
                topic_id: id,
                configs: configs(&[("retention.ms", "1000")]),
            })
            .expect("applies");
        let after = table.topic_by_id(id).expect("present");
        assert_eq!(after.configs.overrides().len(), 1);
        assert!(
            before.configs.overrides().is_empty(),
            "a snapshot handed out earlier does not change"
        );

        let removed = table
            .apply(MetadataRecord::RemoveTopic { topic_id: id })
            .expect("applies");
        assert!(matches!(&removed[..], [Delta::TopicRemoved { topic }] if topic.name == "orders"));
        assert!(table.is_empty() && table.topic_by_id(id).is_none());
    }

    #[test]
    fn a_batch_changes_each_topic_in_place_and_names_it_once() {
        let mut table = TopicTable::default();
        let id = Uuid([8; 16]);
        table
            .apply(MetadataRecord::Topic {
                name: "wide".into(),
                id,
                configs: configs(&[]),
            })
            .expect("applies");
        let partitions = (0..1000).map(|_| MetadataRecord::Partition {
            topic_id: id,
            assignment: sole(1),
        });
        let changes = (0..1000).map(|index| MetadataRecord::PartitionChange {
            topic_id: id,
            index,
            assignment: sole(2),
        });
        let (deltas, errors) = table.apply_all(partitions.chain(changes));
        assert!(errors.is_empty());
        assert_eq!(deltas.len(), 2000);
        let topic = table.topic("wide").expect("present");
        // Every delta holds the table's own final snapshot: no record of
        // the batch left a copy of the topic behind.
        assert!(deltas.iter().all(|d| match d {
            Delta::PartitionAdded { topic: t, .. } | Delta::PartitionChanged { topic: t, .. } =>
                Arc::ptr_eq(t, &topic),
            _ => false,
        }));
        assert!(topic.partitions.iter().all(|p| p.leader == 2));
    }

    #[test]
    fn records_that_do_not_fit_are_refused_and_change_nothing() {
        let mut table = TopicTable::default();
        let topic = |id| MetadataRecord::Topic {
            name: "t".into(),
            id,
            configs: configs(&[]),
        };
        table.apply(topic(Uuid([1; 16]))).expect("applies");
        assert_eq!(
            table.apply(topic(Uuid([2; 16]))).err(),
            Some(ApplyError::TopicExists("t".into()))
        );
        let stray = Uuid([3; 16]);
        assert!(table
            .apply(MetadataRecord::Partition {
                topic_id: stray,
                assignment: sole(1)
            })
            .is_err());
        assert!(table
            .apply(MetadataRecord::RemoveTopic { topic_id: stray })
            .is_err());
        assert_eq!(table.len(), 1);
        assert_eq!(table.topic("t").expect("kept").id, Uuid([1; 16]));
    }
}
