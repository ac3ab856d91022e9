//! Configuration of one quorum member, and its translation to openraft's.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::QuorumError;
use crate::tls::ClusterTls;
use crate::NodeId;

/// Bytes a wire frame may add around the records it carries (message tags,
/// log ids, votes). Generous on purpose: it only bounds `max_record_bytes`.
const FRAME_OVERHEAD: usize = 64 * 1024;

/// Settings of one node. Build with [`QuorumConfig::new`] and adjust the
/// public fields; [`crate::Quorum::start`] validates them.
#[derive(Debug, Clone)]
pub struct QuorumConfig {
    pub node_id: NodeId,
    /// Address the cluster (Raft) listener binds in [`crate::Quorum::start`].
    /// Port 0 picks a free port (see [`crate::Quorum::local_addr`]);
    /// [`crate::Quorum::start_with_listener`] ignores this field.
    pub listen: SocketAddr,
    /// Every voter: id -> "host:port" of its cluster listener. Must be the same
    /// on every node; it is also the membership a brand-new cluster starts with.
    /// A node not listed here starts as a learner-to-be and waits for
    /// [`crate::Quorum::add_learner`] on the leader.
    pub voters: BTreeMap<NodeId, String>,
    /// Directory for the Raft log, vote and snapshot (created if missing).
    pub dir: PathBuf,
    /// How often the leader sends heartbeats. openraft also uses it as the
    /// time limit of one AppendEntries RPC, so keep it well above a disk fsync.
    pub heartbeat_interval: Duration,
    /// A follower that hears nothing from the leader for a random time in
    /// `[election_timeout_min, election_timeout_max)` starts an election.
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// Take a snapshot every this many log entries.
    pub snapshot_every: u64,
    /// Entries kept in the log behind a snapshot, so that slightly lagging
    /// followers catch up from the log instead of receiving the snapshot.
    pub keep_after_snapshot: u64,
    /// How long `propose` waits for its record to commit.
    pub propose_timeout: Duration,
    /// Largest record `propose` accepts. The default, 4 MiB, holds a topic
    /// of over 15,000 partitions with three replicas each, past the 10,000
    /// records Kafka's controller takes in one operation.
    pub max_record_bytes: usize,
    /// Largest frame sent or accepted on the cluster port; bigger ones close
    /// the connection.
    pub max_frame_bytes: usize,
    /// A log segment file is closed and a new one started past this size.
    pub segment_bytes: u64,
    /// Idle connections kept open per peer for reuse.
    pub connections_per_peer: usize,
    /// Time limit for opening a TCP connection to a peer.
    pub connect_timeout: Duration,
    /// Mutual TLS on the cluster port; plain TCP when unset.
    pub tls: Option<ClusterTls>,
}

/// Production timings and limits (see [`QuorumConfig::new`]). `node_id`,
/// `listen`, `voters` and `dir` must still be set: the default voter list is
/// empty, which `start` refuses.
impl Default for QuorumConfig {
    fn default() -> Self {
        QuorumConfig {
            node_id: 0,
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            voters: BTreeMap::new(),
            dir: PathBuf::new(),
            heartbeat_interval: Duration::from_millis(200),
            election_timeout_min: Duration::from_millis(1000),
            election_timeout_max: Duration::from_millis(2000),
            snapshot_every: 1000,
            keep_after_snapshot: 500,
            propose_timeout: Duration::from_secs(10),
            max_record_bytes: 4 * 1024 * 1024,
            max_frame_bytes: 16 * 1024 * 1024,
            segment_bytes: 8 * 1024 * 1024,
            connections_per_peer: 4,
            connect_timeout: Duration::from_secs(1),
            tls: None,
        }
    }
}

impl QuorumConfig {
    /// A configuration with production defaults: 200 ms heartbeats, elections
    /// after 1-2 s of silence (a dead leader is replaced within ~2-3 s), a
    /// snapshot every 1000 entries.
    pub fn new(
        node_id: NodeId,
        listen: SocketAddr,
        voters: BTreeMap<NodeId, String>,
        dir: impl Into<PathBuf>,
    ) -> Self {
        QuorumConfig {
            node_id,
            listen,
            voters,
            dir: dir.into(),
            ..QuorumConfig::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<(), QuorumError> {
        let bad = |msg: String| Err(QuorumError::Config(msg));
        if self.dir.as_os_str().is_empty() {
            return bad("dir must be set".into());
        }
        if self.voters.is_empty() {
            return bad("at least one voter is required".into());
        }
        if let Some((id, _)) = self.voters.iter().find(|(_, a)| a.trim().is_empty()) {
            return bad(format!("voter {id} has an empty address"));
        }
        if self.heartbeat_interval.is_zero() {
            return bad("heartbeat_interval must be positive".into());
        }
        if self.election_timeout_min <= self.heartbeat_interval {
            return bad("election_timeout_min must exceed heartbeat_interval".into());
        }
        if self.election_timeout_max <= self.election_timeout_min {
            return bad("election_timeout_max must exceed election_timeout_min".into());
        }
        if self.snapshot_every == 0 {
            return bad("snapshot_every must be positive".into());
        }
        if self.max_frame_bytes < 2 * FRAME_OVERHEAD || self.max_frame_bytes > u32::MAX as usize {
            return bad(format!(
                "max_frame_bytes must be in {}..=4 GiB",
                2 * FRAME_OVERHEAD
            ));
        }
        if self.max_record_bytes == 0
            || self.max_record_bytes + FRAME_OVERHEAD > self.max_frame_bytes
        {
            return bad(format!(
                "max_record_bytes must be positive and at most max_frame_bytes - {FRAME_OVERHEAD}"
            ));
        }
        if self.connections_per_peer == 0 {
            return bad("connections_per_peer must be positive".into());
        }
        Ok(())
    }

    /// openraft's configuration. openraft enforces its own consistency rules
    /// too; a violation is reported as `QuorumError::Config`.
    pub(crate) fn raft_config(&self) -> Result<openraft::Config, QuorumError> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let config = openraft::Config {
            cluster_name: "strom-metadata".to_string(),
            heartbeat_interval: ms(self.heartbeat_interval),
            election_timeout_min: ms(self.election_timeout_min),
            election_timeout_max: ms(self.election_timeout_max),
            // One snapshot chunk must fit a frame with room for the envelope.
            snapshot_max_chunk_size: ((self.max_frame_bytes - FRAME_OVERHEAD) / 2) as u64,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_every),
            max_in_snapshot_log_to_keep: self.keep_after_snapshot,
            // Small AppendEntries batches keep a frame far below the limit; a
            // frame that is still too big is split (PayloadTooLarge).
            max_payload_entries: 64,
            purge_batch_size: 1,
            // A chunk may carry megabytes and the last one also installs the
            // snapshot (restore + fsync), so it gets far longer than a heartbeat.
            install_snapshot_timeout: ms(self.election_timeout_max).max(10_000),
            ..Default::default()
        };
        config
            .validate()
            .map_err(|e| QuorumError::Config(e.to_string()))
    }
}
