//! Messages on the cluster port. Each frame carries one bincode-encoded
//! [`Request`] and is answered by exactly one [`Response`] on the same
//! connection; a connection carries one exchange at a time.

use openraft::error::SnapshotMismatch;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use crate::{NodeId, TypeConfig};

/// Bumped on incompatible changes; a peer speaking another version is refused.
pub(crate) const WIRE_VERSION: u16 = 1;

#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) version: u16,
    pub(crate) body: Request,
}

#[derive(Serialize, Deserialize)]
pub(crate) enum Request {
    /// Raft RPCs name their target so that a node reached at a wrong address
    /// (a stale or swapped `--voters` entry) refuses instead of answering.
    AppendEntries {
        to: NodeId,
        rpc: AppendEntriesRequest<TypeConfig>,
    },
    Vote {
        to: NodeId,
        rpc: VoteRequest<NodeId>,
    },
    InstallSnapshot {
        to: NodeId,
        rpc: InstallSnapshotRequest<TypeConfig>,
    },
    /// A request for the `LeaderHandler` of whichever node leads.
    Leader { request: Vec<u8> },
}

#[derive(Serialize, Deserialize)]
pub(crate) enum Response {
    AppendEntries(AppendEntriesResponse<NodeId>),
    Vote(VoteResponse<NodeId>),
    InstallSnapshot(InstallSnapshotResponse<NodeId>),
    /// The snapshot stream must restart from offset 0.
    SnapshotMismatch(SnapshotMismatch),
    /// The answer of the leader's `LeaderHandler`.
    Leader(Vec<u8>),
    /// The receiver does not lead; it names the leader it knows of.
    NotLeader {
        leader: Option<NodeId>,
        addr: Option<String>,
    },
    /// The request could not be served (wrong target, Raft stopping, ...).
    Refused(String),
}
