//! Errors of the broker crate.

use std::path::PathBuf;

use thiserror::Error;

use crate::config::ConfigError;
use crate::topic_store::MetadataStoreError;

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("cluster: {0}")]
    Cluster(String),
    #[error("cannot listen on {addr}: {source} (is another broker running there? choose another --listen address)")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {path} is in use by {holder}: one broker per data dir (stop that broker, or choose another --data-dir)")]
    DataDirInUse { path: PathBuf, holder: String },
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("metadata store: {0}")]
    Metadata(#[from] MetadataStoreError),
    #[error("partition log {topic}-{partition}: {source}")]
    Storage {
        topic: String,
        partition: i32,
        source: strom_storage::StorageError,
    },
    #[error("{failed} partition log(s) could not be flushed and closed at shutdown (the next start recovers them): {first}")]
    UncleanShutdown { failed: usize, first: String },
}

/// An error answered to the client as a Kafka error code plus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: i16,
    pub message: String,
}

impl ApiError {
    pub fn new(code: i16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A failure of the broker's own disk: KAFKA_STORAGE_ERROR, logged.
    pub fn storage(error: impl std::fmt::Display) -> Self {
        tracing::error!("storage failure: {error}");
        Self::new(
            strom_protocol::error_codes::KAFKA_STORAGE_ERROR,
            error.to_string(),
        )
    }
}

/// Why a partition refused a request before touching its log (Kafka's
/// `Partition` checks), or the storage failure that stopped it.
#[derive(Debug, Error)]
pub enum PartitionError {
    #[error(
        "broker {local} is not the leader of {topic}-{partition} (its leader is broker {leader})"
    )]
    NotLeader {
        topic: String,
        partition: i32,
        local: i32,
        leader: i32,
    },
    #[error("leader epoch {requested} of {topic}-{partition} is older than the current epoch {current}: refresh metadata")]
    FencedLeaderEpoch {
        topic: String,
        partition: i32,
        requested: i32,
        current: i32,
    },
    #[error("leader epoch {requested} of {topic}-{partition} is newer than this broker's epoch {current}: it has not caught up yet")]
    UnknownLeaderEpoch {
        topic: String,
        partition: i32,
        requested: i32,
        current: i32,
    },
    #[error("follower {replica} of {topic}-{partition} fetches from {fetch_offset}, past the leader's log end {leader_end}")]
    FollowerAhead {
        topic: String,
        partition: i32,
        replica: i32,
        fetch_offset: i64,
        leader_end: i64,
    },
    #[error("broker {replica} is not a follower of {topic}-{partition}")]
    NotAFollower {
        topic: String,
        partition: i32,
        replica: i32,
    },
    #[error("records fetched for {topic}-{partition} in leader epoch {fetched_in} arrive in epoch {current}: dropped")]
    StaleFetch {
        topic: String,
        partition: i32,
        fetched_in: i32,
        current: i32,
    },
    #[error("{topic}-{partition} has {in_sync} in-sync replica(s), fewer than its min.insync.replicas={required}: acks=all writes are refused")]
    NotEnoughReplicas {
        topic: String,
        partition: i32,
        in_sync: usize,
        required: i32,
    },
    #[error("acks=all: the in-sync replicas of {topic}-{partition} did not all take the records within the request's timeout ({timeout_ms} ms); they are in the leader's log and may still commit")]
    ReplicationTimedOut {
        topic: String,
        partition: i32,
        timeout_ms: u64,
    },
    #[error(transparent)]
    Storage(#[from] strom_storage::StorageError),
}

impl PartitionError {
    pub fn kafka_error_code(&self) -> i16 {
        use strom_protocol::error_codes;
        match self {
            Self::NotLeader { .. } | Self::NotAFollower { .. } => {
                error_codes::NOT_LEADER_OR_FOLLOWER
            }
            Self::FencedLeaderEpoch { .. } | Self::StaleFetch { .. } => {
                error_codes::FENCED_LEADER_EPOCH
            }
            Self::FollowerAhead { .. } => error_codes::OFFSET_OUT_OF_RANGE,
            Self::UnknownLeaderEpoch { .. } => error_codes::UNKNOWN_LEADER_EPOCH,
            Self::NotEnoughReplicas { .. } => error_codes::NOT_ENOUGH_REPLICAS,
            Self::ReplicationTimedOut { .. } => error_codes::REQUEST_TIMED_OUT,
            Self::Storage(e) => e.kafka_error_code(),
        }
    }
}
