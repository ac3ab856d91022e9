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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ControllerResponse {
    /// Done; the change is at this metadata log index (0: nothing changed).
    Applied { index: u64 },
    /// Producer ids `first..first + count` are the caller's.
    ProducerIds { first: i64, index: u64 },
    /// Refused with a Kafka error code.
    Error { code: i16, message: String },
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}
