//! One classic group's state, as Kafka's `GroupMetadata` keeps it:
//! members in join order, the static-member map, pending members (issued
//! an id by MEMBER_ID_REQUIRED, not yet rejoined), the generation and the
//! chosen protocol, plus the group's committed offsets.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use strom_protocol::error_codes;
use strom_protocol::messages::ConsumerProtocolSubscription;

use super::member::Member;
use super::records::{GroupMetadataValue, MemberRecord, OffsetCommitValue};
use super::sync::SyncResult;
use crate::clock::now_ms;

/// Kafka's classic group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name ListGroups and DescribeGroups report.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A committed offset and where its record sits in `__consumer_offsets`
/// (a later record for the same partition always wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub value: OffsetCommitValue,
    pub record_offset: i64,
}

/// The consumer protocol type, whose metadata Strom reads for the
/// subscribed topics.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

pub struct ClassicGroup {
    pub group_id: String,
    /// The partition of `__consumer_offsets` holding this group.
    pub partition: i32,
    pub state: GroupState,
    /// Wall-clock ms of the last state change (`currentStateTimestamp`).
    pub state_timestamp: Option<i64>,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    /// In join order: the first is the leader when a leader is needed.
    pub members: Vec<Member>,
    /// group.instance.id -> member id.
    pub static_members: HashMap<String, String>,
    pub pending_members: HashSet<String>,
    /// Members of the new generation that have not sent SyncGroup yet.
    pub pending_sync: HashSet<String>,
    /// A member joined during the initial delay: wait once more.
    pub new_member_added: bool,
    /// The initial-delay timer is running: only it completes the join.
    pub initial_delay_running: bool,
    /// Identifies the live join/sync timer; older timers do nothing.
    pub join_timer: u64,
    pub sync_timer: u64,
    timer_sequence: u64,
    /// From the consumer protocol metadata, when every member's parses.
    pub subscribed_topics: Option<HashSet<String>>,
    pub offsets: HashMap<(String, i32), CommittedOffset>,
    /// Commits appended but not yet durable, per partition: such offsets
    /// do not expire, and the group is not removed meanwhile.
    pub pending_commits: HashMap<(String, i32), usize>,
}

impl ClassicGroup {
    pub fn new(group_id: String, partition: i32) -> ClassicGroup {
        ClassicGroup {
            group_id,
            partition,
            state: GroupState::Empty,
            state_timestamp: Some(now_ms()),
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: Vec::new(),
            static_members: HashMap::new(),
            pending_members: HashSet::new(),
            pending_sync: HashSet::new(),
            new_member_added: false,
            initial_delay_running: false,
            join_timer: 0,
            sync_timer: 0,
            timer_sequence: 0,
            subscribed_topics: None,
            offsets: HashMap::new(),
            pending_commits: HashMap::new(),
        }
    }

    /// Kafka's `hasOffsets`: committed or about to be.
    pub fn has_offsets(&self) -> bool {
        !self.offsets.is_empty() || !self.pending_commits.is_empty()
    }

    pub fn add_pending_commit(&mut self, key: &(String, i32)) {
        *self.pending_commits.entry(key.clone()).or_default() += 1;
    }

    pub fn finish_pending_commit(&mut self, key: &(String, i32)) {
        if let Some(count) = self.pending_commits.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                self.pending_commits.remove(key);
            }
        }
    }

    pub fn next_timer(&mut self) -> u64 {
        self.timer_sequence += 1;
        self.timer_sequence
    }

    pub fn transition(&mut self, state: GroupState) {
        self.state = state;
        self.state_timestamp = Some(now_ms());
    }

    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    pub fn member(&self, member_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.member_id == member_id)
    }

    pub fn member_mut(&mut self, member_id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.member_id == member_id)
    }

    pub fn has(&self, member_id: &str) -> bool {
        self.member(member_id).is_some()
    }

    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    pub fn awaiting_join_count(&self) -> usize {
        self.members.iter().filter(|m| m.is_awaiting_join()).count()
    }

    /// Kafka's `hasAllMembersJoined`.
    pub fn all_members_joined(&self) -> bool {
        self.awaiting_join_count() == self.members.len() && self.pending_members.is_empty()
    }

    /// The longest rebalance timeout of any member: how long a join phase
    /// waits for members to rejoin.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members
            .iter()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    pub fn add(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        self.members.push(member);
    }

    /// Removes a member; a new leader is the earliest remaining member. A
    /// parked SyncGroup is answered UNKNOWN_MEMBER_ID.
    pub fn remove(&mut self, member_id: &str) -> Option<Member> {
        let index = self.members.iter().position(|m| m.member_id == member_id)?;
        let mut member = self.members.remove(index);
        member.answer_sync(SyncResult::error(error_codes::UNKNOWN_MEMBER_ID));
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance) == Some(&member.member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(member_id);
        if self.is_leader(member_id) {
            self.leader = self.members.first().map(|m| m.member_id.clone());
        }
        Some(member)
    }

    /// KIP-345: the static member `instance` now answers to `new_id`. A
    /// request parked under the old id is fenced.
    pub fn replace_static_member(&mut self, instance: &str, old_id: &str, new_id: &str) {
        if let Some(member) = self.member_mut(old_id) {
            member.answer_join(super::join::JoinResult::error(
                old_id.to_string(),
                error_codes::FENCED_INSTANCE_ID,
            ));
            member.answer_sync(SyncResult::error(error_codes::FENCED_INSTANCE_ID));
            member.member_id = new_id.to_string();
        }
        if self.is_leader(old_id) {
            self.leader = Some(new_id.to_string());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.to_string());
        }
        self.static_members
            .insert(instance.to_string(), new_id.to_string());
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty
    /// offer; otherwise the type must match and one protocol must be
    /// supported by every current member.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.members.iter().all(|m| m.supports(name)))
    }

    /// The protocol every member supports that gets most first-choice votes
    /// (ties go to the earlier protocol in the first member's list).
    pub fn select_protocol(&self) -> Option<String> {
        let first = self.members.first()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| self.members.iter().all(|m| m.supports(name)))
            .collect();
        let votes = |candidate: &str| {
            self.members
                .iter()
                .filter(|m| {
                    m.protocols
                        .iter()
                        .map(|(name, _)| name.as_str())
                        .find(|name| candidates.contains(name))
                        == Some(candidate)
                })
                .count()
        };
        let mut best: Option<(&str, usize)> = None;
        for candidate in &candidates {
            let count = votes(candidate);
            if best.is_none_or(|(_, most)| count > most) {
                best = Some((candidate, count));
            }
        }
        best.map(|(name, _)| name.to_string())
    }

    /// Kafka's `maybeElectNewJoinedLeader`: the leader must be a member
    /// that rejoined; false when no member did.
    pub fn elect_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.clone() else {
            return false;
        };
        if self.member(&leader).is_some_and(Member::is_awaiting_join) {
            return true;
        }
        match self.members.iter().find(|m| m.is_awaiting_join()) {
            Some(joined) => {
                self.leader = Some(joined.member_id.clone());
                true
            }
            None => false,
        }
    }

    pub fn init_next_generation(&mut self) {
        self.generation += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.transition(GroupState::Empty);
        } else {
            self.protocol_name = self.select_protocol();
            self.transition(GroupState::CompletingRebalance);
        }
        self.subscribed_topics = self.compute_subscribed_topics();
        self.pending_sync.clear();
    }

    /// The union of the members' subscriptions when the group uses the
    /// consumer protocol and every member's metadata parses.
    pub fn compute_subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for member in &self.members {
            let metadata = member.metadata_for(protocol)?;
            topics.extend(parse_subscription(metadata)?);
        }
        Some(topics)
    }

    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        self.subscribed_topics
            .as_ref()
            .is_some_and(|topics| topics.contains(topic))
    }

    /// (member id, instance id, metadata for the chosen protocol) of every
    /// member: what the leader gets to compute the assignment.
    pub fn member_metadata(&self) -> Vec<(String, Option<String>, Bytes)> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .iter()
            .map(|m| {
                (
                    m.member_id.clone(),
                    m.group_instance_id.clone(),
                    m.metadata_for(protocol).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The GroupMetadataValue record of this group, with `assignment`
    /// (member id -> bytes) in place of the members' current ones.
    pub fn metadata_record(
        &self,
        assignment: Option<&HashMap<String, Bytes>>,
    ) -> GroupMetadataValue {
        let protocol = self.protocol_name.clone();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_timestamp.unwrap_or(-1),
            members: self
                .members
                .iter()
                .map(|m| MemberRecord {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: protocol
                        .as_deref()
                        .and_then(|p| m.metadata_for(p).cloned())
                        .unwrap_or_default(),
                    assignment: match assignment {
                        Some(map) => map.get(&m.member_id).cloned().unwrap_or_default(),
                        None => m.assignment.clone(),
                    },
                })
                .collect(),
        }
    }
}

/// The topics of a ConsumerProtocolSubscription (int16 version, then the
/// struct at that version; newer versions read as the newest known).
pub fn parse_subscription(metadata: &Bytes) -> Option<Vec<String>> {
    use strom_protocol::codec::Message;
    if metadata.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([metadata[0], metadata[1]]);
    if version < 0 {
        return None;
    }
    let mut body = metadata.slice(2..);
    ConsumerProtocolSubscription::decode(&mut body, version.min(3))
        .ok()
        .map(|s| s.topics)
}
