//! A snapshot of the quorum's state, shaped for Kafka's DescribeQuorum.

use std::time::{SystemTime, UNIX_EPOCH};

use openraft::{BasicNode, RaftMetrics};

use crate::network::Transport;
use crate::NodeId;

/// What this node knows about the quorum. Fields that only the leader can
/// know (other replicas' progress and contact times) are unknown elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStatus {
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    /// The Raft term: Kafka's leader epoch.
    pub term: u64,
    /// Highest log index known to be committed here, if any.
    pub committed: Option<u64>,
    /// `committed` as Kafka reports it: -1 if none.
    pub high_watermark: i64,
    /// Highest log index applied to this node's state machine, -1 if none.
    pub last_applied: i64,
    pub voters: Vec<ReplicaStatus>,
    pub learners: Vec<ReplicaStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub id: NodeId,
    /// Its cluster address, if known.
    pub addr: Option<String>,
    /// Last log index it is known to hold: its own log for this node, the
    /// leader's replication progress for others; -1 if unknown.
    pub log_end_index: i64,
    /// When it last answered an RPC from this node (Unix ms): Kafka's last
    /// fetch time. `None` if it never did (or this node never asked).
    pub last_contact_unix_ms: Option<u64>,
}

fn index_or_minus_one(index: Option<u64>) -> i64 {
    index.map_or(-1, |i| i64::try_from(i).unwrap_or(i64::MAX))
}

fn unix_ms(t: SystemTime) -> Option<u64> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(d.as_millis()).ok()
}

pub(crate) fn build(
    m: &RaftMetrics<NodeId, BasicNode>,
    transport: &Transport,
    committed: Option<u64>,
) -> QuorumStatus {
    let membership = m.membership_config.membership();
    let replica = |id: NodeId| {
        let node_addr = membership.get_node(&id).map(|n| n.addr.as_str());
        let (log_end, contact) = if id == m.id {
            (m.last_log_index, Some(SystemTime::now()))
        } else {
            let matched = m
                .replication
                .as_ref()
                .and_then(|r| r.get(&id).copied().flatten());
            (matched.map(|l| l.index), transport.last_contact(id))
        };
        ReplicaStatus {
            id,
            addr: transport.address_of(id, node_addr),
            log_end_index: index_or_minus_one(log_end),
            last_contact_unix_ms: contact.and_then(unix_ms),
        }
    };
    QuorumStatus {
        node_id: m.id,
        leader: m.current_leader,
        term: m.current_term,
        committed,
        high_watermark: index_or_minus_one(committed),
        last_applied: index_or_minus_one(m.last_applied.map(|l| l.index)),
        voters: membership.voter_ids().map(replica).collect(),
        learners: membership.learner_ids().map(replica).collect(),
    }
}
