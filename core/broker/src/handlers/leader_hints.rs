//! KIP-951: a partition refused because its leadership moved names the
//! current leader and epoch, and the response carries where to reach that
//! leader, so the client retries there without a metadata round trip.
//! Produce (v10+) and Fetch (v16+) answer this way.

use strom_protocol::error_codes;

use crate::state::{Broker, Endpoint};

/// Whether an answer's error means "the leader is elsewhere now".
pub fn leadership_moved(error_code: i16) -> bool {
    matches!(
        error_code,
        error_codes::NOT_LEADER_OR_FOLLOWER | error_codes::FENCED_LEADER_EPOCH
    )
}

/// Collects the current leaders of refused partitions, then the endpoints
/// of those leaders for the response.
#[derive(Default)]
pub struct LeaderHints {
    leaders: Vec<i32>,
}

impl LeaderHints {
    /// The metadata's leader and leader epoch of partition `index` of
    /// `topic`, remembered for [`LeaderHints::endpoints`].
    pub fn leader_of(&mut self, broker: &Broker, topic: &str, index: i32) -> Option<(i32, i32)> {
        let topic = broker.topic(topic)?;
        let assignment = topic.partitions.get(usize::try_from(index).ok()?)?;
        if assignment.leader >= 0 && !self.leaders.contains(&assignment.leader) {
            self.leaders.push(assignment.leader);
        }
        Some((assignment.leader, assignment.leader_epoch))
    }

    /// Where clients reach the live leaders named so far. Most responses
    /// name none: they cost no look at the broker list.
    pub fn endpoints(self, broker: &Broker) -> Vec<Endpoint> {
        if self.leaders.is_empty() {
            return Vec::new();
        }
        let live = broker.live_brokers();
        self.leaders
            .into_iter()
            .filter_map(|id| live.iter().find(|b| b.id == id).cloned())
            .collect()
    }
}
