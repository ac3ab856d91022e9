//! One member of a classic group: what it told the coordinator when it
//! joined, its assignment, and the requests of its that are parked.

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use super::join::JoinResult;
use super::sync::SyncResult;

/// Kafka's `GroupCoordinator.NewMemberJoinTimeoutMs`: a member that joined
/// but has not yet completed a rebalance cannot heartbeat, so it is
/// expired after this long instead of its session timeout (KIP-394).
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub struct Member {
    pub member_id: String,
    /// KIP-345 static membership.
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// From the leader's last SyncGroup.
    pub assignment: Bytes,
    /// The member's JoinGroup, parked until the join phase completes.
    pub awaiting_join: Option<oneshot::Sender<JoinResult>>,
    /// The member's SyncGroup, parked until the leader's assignment lands.
    pub awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// Joined but has not yet been through a completed join phase.
    pub is_new: bool,
    /// The member is removed if it has not heartbeated by then (unless it
    /// is parked in a rebalance, which counts as alive).
    pub session_deadline: Instant,
}

impl Member {
    pub fn metadata_for(&self, protocol: &str) -> Option<&Bytes> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata)
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.metadata_for(protocol).is_some()
    }

    /// Same protocols with the same metadata in the same order.
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    pub fn is_awaiting_join(&self) -> bool {
        self.awaiting_join.is_some()
    }

    /// Kafka's `hasSatisfiedHeartbeat` at expiry: members parked in a
    /// rebalance are alive; new members must complete their join in time.
    pub fn is_parked(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms.max(0) as u64)
    }

    /// Kafka's `completeAndScheduleNextHeartbeatExpiration`.
    pub fn heartbeat_received(&mut self) {
        self.session_deadline = Instant::now() + self.session_timeout();
    }

    pub fn answer_join(&mut self, result: JoinResult) {
        if let Some(waiter) = self.awaiting_join.take() {
            let _ = waiter.send(result);
        }
    }

    pub fn answer_sync(&mut self, result: SyncResult) {
        if let Some(waiter) = self.awaiting_sync.take() {
            let _ = waiter.send(result);
        }
    }
}
