//! The cluster's topic metadata as a table changed only by applying
//! records, in the order they were committed (Redpanda's `topic_table`,
//! Kafka's KRaft `TopicRecord` / `PartitionRecord` / `RemoveTopicRecord`).
//! On one node the records are committed to the topic files of
//! `topic_store`; a replicated metadata log will feed the same `apply`.
//!
//! Applying returns the deltas, so the partition manager opens and closes
//! logs as records arrive. Queries read immutable snapshots: a topic handed
//! out stays consistent while the table changes under it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use strom_protocol::codec::Uuid;

use crate::config::{BrokerConfig, EffectiveTopicConfig, TopicConfigs};

/// Where one partition lives: Kafka's `PartitionRecord` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionAssignment {
    /// Every replica, the preferred leader first.
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 while the partition has no leader.
    pub leader: i32,
    pub leader_epoch: i32,
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
}

/// What an applied record changed, for those who hold runtime state.
#[derive(Debug, Clone)]
pub enum Delta {
    PartitionAdded { topic: Arc<Topic>, index: i32 },
    ConfigsChanged { topic: Arc<Topic> },
    TopicRemoved { topic: Arc<Topic> },
}

/// A record that does not fit the table: a bug in whoever committed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    #[error("topic id {0:?} is not in the table")]
    UnknownTopicId(Uuid),
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
}

impl TopicTable {
    /// Applies one committed record.
    pub fn apply(&mut self, record: MetadataRecord) -> Result<Vec<Delta>, ApplyError> {
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
                let topic = self.change(topic_id, |t| t.partitions.push(assignment))?;
                let index = topic.partition_count() - 1;
                Ok(vec![Delta::PartitionAdded { topic, index }])
            }
            MetadataRecord::TopicConfigs { topic_id, configs } => {
                let topic = self.change(topic_id, |t| t.configs = configs)?;
                Ok(vec![Delta::ConfigsChanged { topic }])
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
                Ok(vec![Delta::TopicRemoved { topic }])
            }
        }
    }

    /// Replaces topic `id`'s snapshot with a changed copy.
    fn change(
        &mut self,
        id: Uuid,
        edit: impl FnOnce(&mut Topic),
    ) -> Result<Arc<Topic>, ApplyError> {
        let name = self
            .name_of
            .get(&id)
            .ok_or(ApplyError::UnknownTopicId(id))?;
        let slot = self
            .by_name
            .get_mut(name)
            .ok_or(ApplyError::UnknownTopicId(id))?;
        let mut changed = Topic::clone(slot);
        edit(&mut changed);
        *slot = Arc::new(changed);
        Ok(slot.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sole(node: i32) -> PartitionAssignment {
        PartitionAssignment {
            replicas: vec![node],
            isr: vec![node],
            leader: node,
            leader_epoch: 0,
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
