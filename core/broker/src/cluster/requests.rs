//! What brokers ask the controller (the Raft leader) and what it answers,
//! carried by `strom_raft::Quorum::call_leader` (Kafka's broker-to-
//! controller channel: CreateTopics forwarding, BrokerHeartbeat,
//! AlterPartition, AllocateProducerIds).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerRequest {
    CreateTopic {
        name: String,
        partitions: i32,
        replication_factor: i16,
        /// Replicas per partition, when the client chose them.
        assignments: Option<Vec<Vec<i32>>>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    },
    DeleteTopic {
        name: String,
    },
    CreatePartitions {
        name: String,
        total: i32,
        validate_only: bool,
    },
    SetTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// A broker is alive (and where clients reach it).
    Heartbeat {
        id: i32,
        host: String,
        port: i32,
        /// Every client listener of the broker.
        #[serde(default)]
        listeners: Vec<crate::topic_table::ListenerEndpoint>,
        /// Its HTTP listener (console, API), when it runs one.
        #[serde(default)]
        http: Option<String>,
        /// A broker that is not a voter: where it receives the metadata
        /// log, as a Raft learner.
        learner_address: Option<String>,
    },
    /// A broker is shutting down cleanly: move its leaderships first.
    ShutDown {
        id: i32,
    },
    /// A partition leader asks for a new ISR (Kafka's AlterPartition).
    AlterIsr {
        topic_id: [u8; 16],
        index: i32,
        leader: i32,
        leader_epoch: i32,
        isr: Vec<i32>,
    },
    AllocateProducerIds {
        count: i64,
    },
    /// Kafka's ElectLeaders: preferred replicas back to leading, or
    /// (unclean) any live replica for partitions with no leader. `None`:
    /// every partition.
    ElectLeaders {
        unclean: bool,
        partitions: Option<Vec<(String, i32)>>,
    },
    /// Kafka's AlterPartitionReassignments: move each partition to the
    /// given replicas, or (`None`) cancel its reassignment in progress.
    Reassign {
        partitions: Vec<(String, i32, Option<Vec<i32>>)>,
    },
    /// A one-node data dir moving into the cluster: its topics, kept on
    /// `node` alone, join the metadata (Kafka's ZooKeeper-to-KRaft
    /// migration in miniature). Topics already there are left alone.
    ImportTopics {
        node: i32,
        /// Producer ids below this were handed out by the one node.
        producer_id_bound: i64,
        topics: Vec<ImportedTopic>,
    },
    /// The quorum's state as its leader sees it (Kafka's DescribeQuorum,
    /// which brokers forward to the active controller).
    DescribeQuorum,
    /// Kafka's AlterUserScramCredentials, checked by the broker that took
    /// it: credentials to set, and (user, mechanism) pairs to remove.
    AlterScramCredentials {
        upserts: Vec<(String, crate::security::users::StoredCredential)>,
        deletions: Vec<(String, String)>,
    },
    /// Kafka's CreateAcls and DeleteAcls, checked by the broker that took
    /// them: bindings to add and bindings to remove.
    AlterAcls {
        created: Vec<crate::security::acl::AclBinding>,
        deleted: Vec<crate::security::acl::AclBinding>,
    },
    /// Kafka's AlterClientQuotas, checked by the broker that took it.
    AlterClientQuotas {
        changes: Vec<crate::quotas::QuotaChange>,
    },
}

/// A topic of a one-node data dir, as its topic file and logs describe it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportedTopic {
    pub name: String,
    pub id: [u8; 16],
    pub configs: BTreeMap<String, String>,
    /// Per partition, the leader epoch its log was last written in.
    pub epochs: Vec<i32>,
}

/// The metadata quorum, for DescribeQuorum and `strom cluster status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuorumReport {
    pub leader: i32,
    /// The Raft term, Kafka's leader epoch of the metadata log.
    pub epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<ReplicaReport>,
    pub learners: Vec<ReplicaReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaReport {
    pub id: i32,
    /// Its cluster listener, if known.
    pub address: Option<String>,
    /// Last metadata log index it is known to hold; -1 if unknown.
    pub log_end: i64,
    /// When it last answered the leader (Unix ms); -1 if never.
    pub last_contact_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerResponse {
    /// Done; the change is at this metadata log index (0: nothing changed).
    Applied {
        index: u64,
    },
    /// Producer ids `first..first + count` are the caller's.
    ProducerIds {
        first: i64,
        index: u64,
    },
    Quorum(QuorumReport),
    /// Per partition: (topic, partition, error code, message).
    PartitionResults {
        index: u64,
        results: Vec<(String, i32, i16, Option<String>)>,
    },
    /// Refused with a Kafka error code.
    Error {
        code: i16,
        message: String,
    },
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}
