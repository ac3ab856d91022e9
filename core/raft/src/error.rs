//! Typed errors. `QuorumError` is what callers see; `StoreError` and
//! `TransportError` stay inside the crate except where start-up surfaces a
//! storage problem (a corrupt log must stop the node with a clear message).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::NodeId;

/// Errors returned by [`crate::Quorum`].
#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    /// This node does not lead; `leader` is the leader it knows of, if any.
    #[error("not the leader (known leader: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    /// No leader answered, or the record did not commit, within the time given.
    /// A timed-out `propose` may still commit later.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// `shutdown` was called, or Raft stopped after a fatal (storage) error.
    #[error("the quorum is shut down")]
    Shutdown,
    /// The record would not fit in one replication frame.
    #[error("record of {size} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge { size: usize, max: usize },
    /// The configuration cannot work (checked before anything is opened).
    #[error("invalid quorum configuration: {0}")]
    Config(String),
    /// The cluster listener could not be bound.
    #[error("cannot bind the cluster listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// The log, vote or snapshot on disk could not be read or written.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// openraft refused or failed an operation in a way none of the above covers.
    #[error("raft: {0}")]
    Raft(String),
}

/// Problems with the files under the quorum directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Data that was already made durable fails its checksum or cannot be
    /// decoded. Never repaired silently: losing acknowledged Raft entries or
    /// votes can break the safety of the whole cluster.
    #[error(
        "corrupt data in {path} at offset {offset}: {reason}; the node refuses to start \
         (restore the directory from a backup, or wipe it so the node is rebuilt from the \
         other voters)"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// The entries on disk are not consecutive.
    #[error("log in {dir} has a hole: expected index {expected}, found {found}")]
    Gap {
        dir: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: bincode::Error,
    },
    /// An earlier write failed half-way; the in-memory view may no longer match
    /// the files, so every later write is refused until a restart re-reads them.
    #[error("the log store failed earlier and refuses further writes until restart")]
    Failed,
    /// Another process (or another `Quorum` in this one) uses the directory.
    #[error("{path} is locked by another running node")]
    Locked { path: PathBuf },
    #[error("background storage task failed: {0}")]
    Background(String),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Failures of one request/response exchange on the cluster port.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: usize, max: usize },
    #[error("malformed message: {0}")]
    Codec(#[from] bincode::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection closed by peer")]
    Closed,
    /// The peer answered that it cannot serve the request.
    #[error("refused: {0}")]
    Refused(String),
    /// The peer answered with a message of the wrong kind.
    #[error("unexpected answer to a {0} request")]
    Unexpected(&'static str),
    /// The TLS handshake failed, or the peer is not a cluster member.
    #[error("TLS: {0}")]
    Tls(String),
}
