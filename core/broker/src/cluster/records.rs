//! Metadata records as they are written to the Raft log and snapshots:
//! one entry holds the records of one controller decision (a topic with
//! its partitions, a leader election), applied together. JSON, because
//! metadata is small and a log that can be read by eye is worth more than
//! the bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strom_protocol::codec::Uuid;

use crate::config::TopicConfigs;
use strom_protocol::sasl::{ScramCredential, ScramMechanism};

use crate::quotas::QuotaChange;
use crate::security::acl::AclBinding;
use crate::security::users::StoredCredential;
use crate::topic_table::{ListenerEndpoint, MetadataRecord, PartitionAssignment};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Assignment {
    replicas: Vec<i32>,
    isr: Vec<i32>,
    leader: i32,
    leader_epoch: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    adding: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removing: Vec<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
enum Record {
    Topic {
        name: String,
        id: [u8; 16],
        configs: BTreeMap<String, String>,
    },
    Partition {
        topic_id: [u8; 16],
        assignment: Assignment,
    },
    TopicConfigs {
        topic_id: [u8; 16],
        configs: BTreeMap<String, String>,
    },
    RemoveTopic {
        topic_id: [u8; 16],
    },
    PartitionChange {
        topic_id: [u8; 16],
        index: i32,
        assignment: Assignment,
    },
    RegisterBroker {
        id: i32,
        host: String,
        port: i32,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        listeners: Vec<ListenerEndpoint>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http: Option<String>,
    },
    FenceBroker {
        id: i32,
    },
    ProducerIds {
        next: i64,
    },
    ClusterId {
        id: String,
    },
    ScramCredential {
        user: String,
        credential: StoredCredential,
    },
    RemoveScramCredential {
        user: String,
        mechanism: String,
    },
    Acl {
        binding: AclBinding,
    },
    RemoveAcl {
        binding: AclBinding,
    },
    ClientQuota {
        change: QuotaChange,
    },
}

/// Encodes the records of one log entry.
pub fn encode(records: &[MetadataRecord]) -> Vec<u8> {
    let wire: Vec<Record> = records.iter().map(to_wire).collect();
    // Serialising plain data to a Vec cannot fail.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Decodes a log entry. Topic configs are validated again: an entry that
/// does not decode is reported whole, never half-applied.
pub fn decode(bytes: &[u8]) -> Result<Vec<MetadataRecord>, String> {
    let wire: Vec<Record> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    wire.into_iter().map(from_wire).collect()
}

fn to_wire(record: &MetadataRecord) -> Record {
    match record {
        MetadataRecord::Topic { name, id, configs } => Record::Topic {
            name: name.clone(),
            id: id.0,
            configs: configs.overrides().clone(),
        },
        MetadataRecord::Partition {
            topic_id,
            assignment,
        } => Record::Partition {
            topic_id: topic_id.0,
            assignment: assignment_to_wire(assignment),
        },
        MetadataRecord::TopicConfigs { topic_id, configs } => Record::TopicConfigs {
            topic_id: topic_id.0,
            configs: configs.overrides().clone(),
        },
        MetadataRecord::RemoveTopic { topic_id } => Record::RemoveTopic {
            topic_id: topic_id.0,
        },
        MetadataRecord::PartitionChange {
            topic_id,
            index,
            assignment,
        } => Record::PartitionChange {
            topic_id: topic_id.0,
            index: *index,
            assignment: assignment_to_wire(assignment),
        },
        MetadataRecord::RegisterBroker {
            id,
            host,
            port,
            listeners,
            http,
        } => Record::RegisterBroker {
            id: *id,
            host: host.clone(),
            port: *port,
            listeners: listeners.clone(),
            http: http.clone(),
        },
        MetadataRecord::FenceBroker { id } => Record::FenceBroker { id: *id },
        MetadataRecord::ProducerIds { next } => Record::ProducerIds { next: *next },
        MetadataRecord::ClusterId { id } => Record::ClusterId { id: id.clone() },
        MetadataRecord::ScramCredential { user, credential } => Record::ScramCredential {
            user: user.clone(),
            credential: StoredCredential::from(credential),
        },
        MetadataRecord::RemoveScramCredential { user, mechanism } => {
            Record::RemoveScramCredential {
                user: user.clone(),
                mechanism: mechanism.name().to_string(),
            }
        }
        MetadataRecord::Acl(binding) => Record::Acl {
            binding: binding.clone(),
        },
        MetadataRecord::RemoveAcl(binding) => Record::RemoveAcl {
            binding: binding.clone(),
        },
        MetadataRecord::ClientQuota(change) => Record::ClientQuota {
            change: change.clone(),
        },
    }
}

fn from_wire(record: Record) -> Result<MetadataRecord, String> {
    let configs = |map: BTreeMap<String, String>| TopicConfigs::new(map).map_err(|e| e.to_string());
    Ok(match record {
        Record::Topic {
            name,
            id,
            configs: c,
        } => MetadataRecord::Topic {
            name,
            id: Uuid(id),
            configs: configs(c)?,
        },
        Record::Partition {
            topic_id,
            assignment,
        } => MetadataRecord::Partition {
            topic_id: Uuid(topic_id),
            assignment: assignment_from_wire(assignment),
        },
        Record::TopicConfigs {
            topic_id,
            configs: c,
        } => MetadataRecord::TopicConfigs {
            topic_id: Uuid(topic_id),
            configs: configs(c)?,
        },
        Record::RemoveTopic { topic_id } => MetadataRecord::RemoveTopic {
            topic_id: Uuid(topic_id),
        },
        Record::PartitionChange {
            topic_id,
            index,
            assignment,
        } => MetadataRecord::PartitionChange {
            topic_id: Uuid(topic_id),
            index,
            assignment: assignment_from_wire(assignment),
        },
        Record::RegisterBroker {
            id,
            host,
            port,
            listeners,
            http,
        } => MetadataRecord::RegisterBroker {
            id,
            host,
            port,
            listeners,
            http,
        },
        Record::FenceBroker { id } => MetadataRecord::FenceBroker { id },
        Record::ProducerIds { next } => MetadataRecord::ProducerIds { next },
        Record::ClusterId { id } => MetadataRecord::ClusterId { id },
        Record::ScramCredential { user, credential } => MetadataRecord::ScramCredential {
            credential: ScramCredential::try_from(credential)
                .map_err(|e| format!("credential of {user}: {e}"))?,
            user,
        },
        Record::RemoveScramCredential { user, mechanism } => {
            MetadataRecord::RemoveScramCredential {
                mechanism: ScramMechanism::from_name(&mechanism).ok_or_else(|| {
                    format!("credential of {user}: unknown mechanism {mechanism}")
                })?,
                user,
            }
        }
        Record::Acl { binding } => MetadataRecord::Acl(binding),
        Record::RemoveAcl { binding } => MetadataRecord::RemoveAcl(binding),
        Record::ClientQuota { change } => MetadataRecord::ClientQuota(change),
    })
}

fn assignment_to_wire(a: &PartitionAssignment) -> Assignment {
    Assignment {
        replicas: a.replicas.clone(),
        isr: a.isr.clone(),
        leader: a.leader,
        leader_epoch: a.leader_epoch,
        adding: a.adding.clone(),
        removing: a.removing.clone(),
    }
}

fn assignment_from_wire(a: Assignment) -> PartitionAssignment {
    PartitionAssignment {
        replicas: a.replicas,
        isr: a.isr,
        leader: a.leader,
        leader_epoch: a.leader_epoch,
        adding: a.adding,
        removing: a.removing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_table::TopicTable;

    /// Kafka's controller takes up to 10,000 records in one operation; a
    /// topic that large, three replicas per partition and the biggest ids
    /// and epochs, must fit the quorum's record limit.
    #[test]
    fn a_ten_thousand_partition_topic_fits_one_quorum_record() {
        let id = Uuid([255; 16]);
        let mut records = vec![MetadataRecord::Topic {
            name: "t".repeat(249),
            id,
            configs: TopicConfigs::default(),
        }];
        records.extend((0..10_000).map(|_| MetadataRecord::Partition {
            topic_id: id,
            assignment: PartitionAssignment {
                replicas: vec![i32::MAX - 2, i32::MAX - 1, i32::MAX],
                isr: vec![i32::MAX - 2, i32::MAX - 1, i32::MAX],
                leader: i32::MAX,
                leader_epoch: i32::MAX,
                adding: vec![],
                removing: vec![],
            },
        }));
        let limit = strom_raft::QuorumConfig::default().max_record_bytes;
        let size = encode(&records).len();
        assert!(size < limit, "{size} bytes");
    }

    #[test]
    fn a_table_survives_encoding_as_its_records() {
        let mut table = TopicTable::default();
        let id = Uuid([9; 16]);
        let configs =
            TopicConfigs::new([("retention.ms".to_string(), "5".to_string())]).expect("valid");
        let acl = AclBinding::from_codes(2, "t".into(), 4, "User:bob".into(), "*".into(), 3, 3)
            .expect("valid ACL");
        let records = vec![
            MetadataRecord::ClusterId { id: "c1".into() },
            MetadataRecord::RegisterBroker {
                id: 2,
                host: "h".into(),
                port: 9,
                listeners: vec![ListenerEndpoint {
                    name: "SASL_SSL".into(),
                    host: "h".into(),
                    port: 10,
                }],
                http: Some("h:9644".into()),
            },
            MetadataRecord::FenceBroker { id: 2 },
            MetadataRecord::ProducerIds { next: 2000 },
            MetadataRecord::Topic {
                name: "t".into(),
                id,
                configs,
            },
            MetadataRecord::Partition {
                topic_id: id,
                assignment: PartitionAssignment {
                    replicas: vec![1, 2, 3],
                    isr: vec![1, 3],
                    leader: 3,
                    leader_epoch: 4,
                    adding: vec![],
                    removing: vec![2],
                },
            },
            MetadataRecord::ScramCredential {
                user: "alice".into(),
                credential: ScramCredential::from_password(
                    ScramMechanism::Sha512,
                    "secret",
                    b"salt".to_vec(),
                    4096,
                ),
            },
            MetadataRecord::Acl(acl.clone()),
        ];
        for record in decode(&encode(&records)).expect("decodes") {
            table.apply(record).expect("applies");
        }
        let mut copy = TopicTable::default();
        for record in decode(&encode(&table.to_records())).expect("decodes") {
            copy.apply(record).expect("applies");
        }
        assert!(
            copy.records_to_reach(&table).len() <= 2,
            "only the idempotent producer-id and cluster-id records"
        );
        let topic = copy.topic("t").expect("present");
        assert_eq!(topic.partitions[0].isr, vec![1, 3]);
        assert_eq!(topic.configs.overrides().len(), 1);
        assert!(copy.broker(2).is_some_and(|b| b.fenced));
        assert_eq!(copy.next_producer_id(), 2000);
        assert_eq!(copy.cluster_id(), Some("c1"));
        assert_eq!(copy.broker(2).map(|b| b.listeners.len()), Some(1));
        let alice = &copy.scram_users()["alice"];
        assert!(alice[0].verify_password("secret"));
        // A snapshot without the user removes it.
        let empty = TopicTable::default();
        let removal = copy.records_to_reach(&empty);
        assert!(removal.iter().any(
            |r| matches!(r, MetadataRecord::RemoveScramCredential { user, .. } if user == "alice")
        ));
        assert!(copy.acls().contains(&acl), "the ACL is in the snapshot");
        assert!(removal
            .iter()
            .any(|r| matches!(r, MetadataRecord::RemoveAcl(removed) if *removed == acl)));
        assert!(decode(b"[{\"type\":\"Nope\"}]").is_err());
    }
}
