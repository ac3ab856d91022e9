//! A durable, replicated metadata log for Strom, built on [openraft] 0.9.
//!
//! openraft runs the consensus (elections, replication, commit, snapshots,
//! membership). This crate gives it storage and a TCP transport, and wraps it
//! in a small API, [`Quorum`]: `propose` a record on the leader, have every
//! node's [`StateMachine`] apply committed records in log order, and send
//! requests to whichever node leads with `call_leader` (served there by a
//! [`LeaderHandler`], the "controller").
//!
//! # Files on disk (`QuorumConfig::dir`)
//!
//! * `log/<index>.seg`: the Raft log in segment files. Each entry is one
//!   record `len | crc32c | batch_start | bincode(entry)`. A batch of entries
//!   is written with one write and fsynced before openraft is told it is
//!   persisted (storage-v2 `LogFlushed`). At open a torn final batch (crash
//!   mid-append) is cut off; a bad record followed by an intact record of a
//!   later batch means fsynced data was damaged, and start-up fails with
//!   `StoreError::Corrupt` naming the file and offset. Conflicting entries
//!   are truncated; entries covered by a snapshot are purged (whole segments
//!   deleted, the purge point recorded first).
//! * `vote`, `purged`: one checksummed record each, replaced atomically
//!   (temp file, fsync, rename, directory fsync).
//! * `committed`: the last committed log id, same format but not fsynced: a
//!   hint that lets a restarted node re-apply committed entries at once.
//! * `snapshot`: the latest snapshot (its log id, membership and the bytes of
//!   [`StateMachine::snapshot`]), replaced atomically like `vote`.
//! * `lock`: held (advisory lock) while a node runs in the directory.
//!
//! On start the state machine is restored from `snapshot`, then openraft
//! re-applies the committed entries after it through [`StateMachine::apply`].
//! Un-purged entries are also kept in memory: the metadata log between two
//! snapshots is small.
//!
//! # Wire format (the cluster port)
//!
//! TCP, frames of `len: u32 big endian | payload`, at most
//! `max_frame_bytes`. A request frame is a bincode `Envelope { version,
//! body }`; every request gets one response frame on the same connection.
//! Bodies are openraft's AppendEntries, Vote and InstallSnapshot (snapshots
//! travel in chunks) RPCs, each naming its target node id, plus `Leader`
//! requests. Clients keep a few idle connections per peer for reuse, give
//! every RPC a deadline, drop a connection after any failure and reconnect.
//! Oversized frames or bytes that do not decode close that one connection.
//!
//! # Leader requests
//!
//! `call_leader` runs the local [`LeaderHandler`] if this node leads.
//! Otherwise it sends a `Leader` request to the leader it knows of (or, when
//! it knows none, to the voters in turn); a node that does not lead answers
//! `NotLeader` with the leader it knows, and the caller follows that hint,
//! waits for a leader change, or retries until its deadline.
//!
//! # Bootstrap
//!
//! Every node gets the same `voters` map. A voter whose directory holds no
//! log calls openraft's `initialize` with it, which writes the initial
//! membership entry at index 0. That is safe on any number of voters, since
//! they all write the identical entry, but they take turns to avoid an
//! election storm: the lowest id initializes at once, each next voter one
//! `election_timeout_max` later, and only if no leader's log reached it
//! meanwhile. So a cluster forms as soon as a majority is up, whichever
//! voters those are. A voter with an existing log never initializes again.
//! Nodes not in `voters` wait until the leader adds them with
//! [`Quorum::add_learner`].
//!
//! # Limits
//!
//! * The cluster port has no authentication or encryption: any peer that
//!   speaks the protocol is trusted. Keep it on a private network.
//! * A `Leader` request may reach a handler more than once (retries after a
//!   lost connection or answer); a `propose` that timed out may still commit.
//! * Un-purged log entries and the latest snapshot are held in memory; the
//!   snapshot is sent and restored whole. Fine for metadata, not for bulk data.
//! * Membership is the `voters` list plus learners; changing the voter set of
//!   a running cluster is not offered.
//!
//! [openraft]: https://docs.rs/openraft/0.9

use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;

mod codec;
mod config;
mod error;
mod log_disk;
mod log_scan;
mod log_store;
mod network;
mod quorum;
mod server;
mod startup;
mod state_machine;
mod status;
#[cfg(test)]
mod suite_tests;
mod tls;
mod wire;

pub use config::QuorumConfig;
pub use error::{QuorumError, StoreError};
pub use quorum::Quorum;
pub use status::{QuorumStatus, ReplicaStatus};
pub use tls::{ClusterTls, PeerCheck};

/// Identifies a node (a broker) in the quorum.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// openraft's type parameters: records are opaque bytes, snapshots are
    /// held in memory, nodes are known by their cluster address.
    pub(crate) TypeConfig:
        D = Vec<u8>,
        R = (),
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
        Responder = openraft::impls::OneshotResponder<TypeConfig>,
);

/// The application's state, fed committed records in log order.
///
/// Calls come from openraft's state-machine task one at a time; they should
/// not block for long (no network waits), and must not panic: a panic stops
/// Raft on this node.
pub trait StateMachine: Send + Sync + 'static {
    /// Applies one committed record; called once per record, in increasing
    /// index order, also when the log is replayed after a restart (from the
    /// last snapshot on). Indexes are Raft log indexes, so they have gaps
    /// where Raft stored its own entries (leader no-ops, membership changes).
    fn apply(&self, index: u64, record: &[u8]);
    /// Everything applied so far, as bytes.
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the whole state with a snapshot (on start-up, or from the leader).
    fn restore(&self, snapshot: &[u8]);
}

/// Runs on whichever node is the Raft leader: handles requests other nodes
/// (or this one) send with [`Quorum::call_leader`] (the "controller"). A
/// request may arrive more than once (retries after a connection failure).
pub trait LeaderHandler: Send + Sync + 'static {
    fn handle(&self, request: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;
}
