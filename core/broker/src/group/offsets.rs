//! Committed offsets: OffsetCommit, OffsetFetch and offset retention, as
//! Kafka's GroupCoordinator and GroupMetadataManager run them. A commit is
//! answered once its record is durable; only then does the cache change.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use strom_protocol::error_codes;

use super::classic::{ClassicGroup, CommittedOffset, GroupState, CONSUMER_PROTOCOL_TYPE};
use super::join::validate_current_member;
use super::records::{encode_group_key, encode_offset_key, encode_offset_value, OffsetCommitValue};
use super::{lock, store, GroupApi};
use crate::clock::now_ms;
use crate::state::Broker;

#[derive(Debug, Clone)]
pub struct CommitPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CommitParams {
    pub group_id: String,
    /// -1 for a consumer that does not use group management.
    pub generation: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// OffsetCommit v2-4's retention time, when not -1.
    pub retention_ms: Option<i64>,
    pub partitions: Vec<CommitPartition>,
}

/// One error per partition of `params`, in order.
pub async fn commit(broker: &Arc<Broker>, params: &CommitParams) -> Vec<i16> {
    let count = params.partitions.len();
    let partition = match broker
        .groups
        .check(broker, &params.group_id, GroupApi::OffsetCommit)
        .await
    {
        Ok(partition) => partition,
        Err(code) => return vec![code; count],
    };
    let now = now_ms();
    let mut errors = vec![error_codes::NONE; count];
    let mut entries = Vec::new();
    let mut attempts = 0;
    let (group, appended) = loop {
        let group = match broker.groups.get(&params.group_id) {
            Some(group) => group,
            // A consumer without group management commits into a group
            // that exists only for its offsets.
            None if params.generation < 0 => {
                broker.groups.get_or_create(&params.group_id, partition)
            }
            None => return vec![error_codes::ILLEGAL_GENERATION; count],
        };
        let mut g = lock(&group);
        // Offset expiry may have removed an empty group just now: such a
        // commit goes to a new one.
        if g.is(GroupState::Dead) && params.generation < 0 && attempts < 3 {
            attempts += 1;
            continue;
        }
        if let Err(code) = validate_commit(&mut g, params) {
            return vec![code; count];
        }
        let records = stage_commit(broker, params, now, &mut errors, &mut entries);
        if records.is_empty() {
            return errors;
        }
        let appended = store::append(broker, g.partition, &records);
        if appended.is_ok() {
            for (index, _) in &entries {
                let p = &params.partitions[*index];
                g.add_pending_commit(&(p.topic.clone(), p.partition));
            }
        }
        drop(g);
        break (group, appended);
    };
    let appended_base = appended.as_ref().ok().map(|a| a.base_offset);
    let outcome = match appended {
        Ok(appended) => store::wait(appended).await,
        Err(code) => Err(code),
    };
    let failed = outcome.err();
    let mut g = lock(&group);
    for (position, (index, value)) in entries.into_iter().enumerate() {
        let p = &params.partitions[index];
        let key = (p.topic.clone(), p.partition);
        match (failed, &appended_base) {
            (Some(code), _) => errors[index] = code,
            // The topic may have been deleted while the record became
            // durable: its offsets were tombstoned and must not come back.
            (None, Some(base)) if !g.is(GroupState::Dead) && broker.topic(&p.topic).is_some() => {
                let committed = CommittedOffset {
                    value,
                    record_offset: base + position as i64,
                };
                apply_commit(&mut g, key.clone(), committed);
            }
            _ => {}
        }
        if appended_base.is_some() {
            g.finish_pending_commit(&key);
        }
    }
    errors
}

/// The records of the valid partitions of a commit; the others get their
/// error in `errors`. `entries`: (index in the request, value) per record.
fn stage_commit(
    broker: &Broker,
    params: &CommitParams,
    now: i64,
    errors: &mut [i16],
    entries: &mut Vec<(usize, OffsetCommitValue)>,
) -> Vec<(Bytes, Option<Bytes>)> {
    let max_metadata = broker.config.settings().offset_metadata_max_bytes.max(0) as usize;
    let mut records = Vec::new();
    for (index, p) in params.partitions.iter().enumerate() {
        if !broker.partition_exists(&p.topic, p.partition) {
            errors[index] = error_codes::UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        let metadata = p.metadata.clone().unwrap_or_default();
        if metadata.len() > max_metadata {
            errors[index] = error_codes::OFFSET_METADATA_TOO_LARGE;
            continue;
        }
        let value = OffsetCommitValue {
            offset: p.offset,
            leader_epoch: p.leader_epoch,
            metadata,
            commit_timestamp: now,
            expire_timestamp: params.retention_ms.map(|ms| now.saturating_add(ms)),
        };
        let key = encode_offset_key(&params.group_id, &p.topic, p.partition);
        records.push((key, Some(encode_offset_value(&value))));
        entries.push((index, value));
    }
    records
}

/// Kafka's `validateOffsetCommit` plus the state rules of `doCommitOffsets`.
fn validate_commit(g: &mut ClassicGroup, params: &CommitParams) -> Result<(), i16> {
    if g.is(GroupState::Dead) {
        return Err(error_codes::COORDINATOR_NOT_AVAILABLE);
    }
    let claims_membership = params.generation >= 0
        || !params.member_id.is_empty()
        || params.group_instance_id.is_some();
    if claims_membership {
        validate_current_member(g, &params.member_id, params.group_instance_id.as_deref())?;
        if params.generation != g.generation {
            return Err(error_codes::ILLEGAL_GENERATION);
        }
    } else if !g.is(GroupState::Empty) {
        // Only members may commit into a group that has members.
        return Err(error_codes::UNKNOWN_MEMBER_ID);
    }
    match g.state {
        GroupState::Empty => Ok(()),
        // Commits during a rebalance are allowed: the member learns of the
        // rebalance from its next heartbeat.
        GroupState::Stable | GroupState::PreparingRebalance => {
            if let Some(member) = g.member_mut(&params.member_id) {
                member.heartbeat_received();
            }
            Ok(())
        }
        GroupState::CompletingRebalance => Err(error_codes::REBALANCE_IN_PROGRESS),
        GroupState::Dead => Err(error_codes::COORDINATOR_NOT_AVAILABLE),
    }
}

/// A later record wins; an older one finishing late changes nothing.
pub(crate) fn apply_commit(g: &mut ClassicGroup, key: (String, i32), committed: CommittedOffset) {
    let newer = g
        .offsets
        .get(&key)
        .is_none_or(|current| current.record_offset < committed.record_offset);
    if newer {
        g.offsets.insert(key, committed);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    pub partition: i32,
    /// -1 when nothing is committed.
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub error: i16,
}

impl FetchedOffset {
    fn none(partition: i32) -> FetchedOffset {
        FetchedOffset {
            partition,
            offset: -1,
            leader_epoch: -1,
            metadata: String::new(),
            error: error_codes::NONE,
        }
    }
}

/// Committed offsets of `topics` (every committed partition when `None`),
/// or the group-level error.
pub async fn fetch(
    broker: &Arc<Broker>,
    group_id: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Result<Vec<(String, Vec<FetchedOffset>)>, i16> {
    broker
        .groups
        .check(broker, group_id, GroupApi::OffsetFetch)
        .await?;
    let group = broker.groups.get(group_id);
    let g = group.as_ref().map(lock);
    let lookup = |topic: &str, partition: i32| {
        let committed = g
            .as_ref()
            .filter(|g| !g.is(GroupState::Dead))
            .and_then(|g| g.offsets.get(&(topic.to_string(), partition)));
        match committed {
            Some(c) => FetchedOffset {
                partition,
                offset: c.value.offset,
                leader_epoch: c.value.leader_epoch,
                metadata: c.value.metadata.clone(),
                error: error_codes::NONE,
            },
            None => FetchedOffset::none(partition),
        }
    };
    let result = match topics {
        Some(topics) => topics
            .into_iter()
            .map(|(topic, partitions)| {
                let fetched = partitions.iter().map(|p| lookup(&topic, *p)).collect();
                (topic, fetched)
            })
            .collect(),
        None => {
            let mut all: std::collections::BTreeMap<String, Vec<FetchedOffset>> =
                Default::default();
            if let Some(g) = g.as_ref().filter(|g| !g.is(GroupState::Dead)) {
                for (topic, partition) in g.offsets.keys() {
                    all.entry(topic.clone())
                        .or_default()
                        .push(lookup(topic, *partition));
                }
            }
            all.into_iter()
                .map(|(topic, mut partitions)| {
                    partitions.sort_by_key(|p| p.partition);
                    (topic, partitions)
                })
                .collect()
        }
    };
    Ok(result)
}

/// Removes the offsets of `partitions` from `g`; their tombstones.
pub(crate) fn remove_offsets(
    g: &mut ClassicGroup,
    partitions: &[(String, i32)],
) -> Vec<(Bytes, Option<Bytes>)> {
    partitions
        .iter()
        .filter(|key| g.offsets.remove(*key).is_some())
        .map(|(topic, partition)| (encode_offset_key(&g.group_id, topic, *partition), None))
        .collect()
}

/// Kafka's rule: an empty group with no offsets left is removed, with a
/// tombstone for its metadata. Returns that tombstone if it applies.
pub(crate) fn remove_if_empty(
    broker: &Broker,
    group: &super::GroupRef,
    g: &mut ClassicGroup,
) -> Option<(Bytes, Option<Bytes>)> {
    if g.is(GroupState::Empty) && !g.has_offsets() {
        g.transition(GroupState::Dead);
        broker.groups.remove_if_same(&g.group_id, group);
        return Some((encode_group_key(&g.group_id), None));
    }
    None
}

/// Removes offsets past `offsets.retention.minutes` (Kafka's
/// `removeExpiredOffsets`): all offsets of a group that has been empty
/// that long; for a stable consumer group, offsets of topics it no longer
/// subscribes to; for a group without protocol, offsets not committed
/// that long. Groups left empty without offsets are removed.
pub(crate) fn expire_offsets(broker: &Arc<Broker>, now: i64) {
    let retention = broker.config.settings().offsets_retention_ms;
    for group in broker.groups.all() {
        let mut g = lock(&group);
        if g.is(GroupState::Dead) {
            continue;
        }
        let Some(rule) = expiry_rule(&g) else {
            continue;
        };
        let keys: Vec<(String, i32)> = g
            .offsets
            .iter()
            .filter(|(key, c)| {
                !g.pending_commits.contains_key(*key) && rule.expires(&key.0, c, now, retention)
            })
            .map(|(key, _)| key.clone())
            .collect();
        let Some(appended) = remove_with_tombstones(broker, &group, &mut g, &keys, Vec::new())
        else {
            continue;
        };
        tracing::info!(group = %g.group_id, offsets = keys.len(), "expired committed offsets");
        if let Ok(appended) = appended {
            tokio::spawn(store::wait_logged(appended));
        }
    }
}

/// Removes `keys` from a locked group, then the group itself if that
/// leaves it empty without offsets (Kafka's `cleanupGroupMetadata`), and
/// appends one batch of tombstones: `extra` first, then the removed
/// offsets, then the group's. `None` when there was nothing to write.
fn remove_with_tombstones(
    broker: &Broker,
    group: &super::GroupRef,
    g: &mut ClassicGroup,
    keys: &[(String, i32)],
    extra: Vec<(Bytes, Option<Bytes>)>,
) -> Option<Result<store::Appended, i16>> {
    let mut records = extra;
    records.extend(remove_offsets(g, keys));
    records.extend(remove_if_empty(broker, group, g));
    if records.is_empty() {
        return None;
    }
    Some(store::append(broker, g.partition, &records))
}

/// Kafka's `onPartitionsDeleted`: forgets every group's committed offsets
/// of the deleted topic `topic`, with tombstones so a replay does not bring
/// them back, and removes groups left empty without offsets. Returns once
/// the tombstones are durable, like a commit. A failed write is logged:
/// the topic is gone either way, and replay drops offsets of topics that
/// no longer exist.
pub(crate) async fn remove_topic_offsets(broker: &Broker, topic: &str) {
    let mut writes = Vec::new();
    for group in broker.groups.all() {
        let mut g = lock(&group);
        if g.is(GroupState::Dead) {
            continue;
        }
        let keys: Vec<(String, i32)> = g
            .offsets
            .keys()
            .filter(|(t, _)| t == topic)
            .cloned()
            .collect();
        // A commit still in flight has its record in the log but not yet
        // in the cache: it needs a tombstone too (written after it, since
        // the group's appends are ordered by its lock).
        let in_flight: Vec<(Bytes, Option<Bytes>)> = g
            .pending_commits
            .keys()
            .filter(|(t, p)| t == topic && !g.offsets.contains_key(&(t.clone(), *p)))
            .map(|(t, p)| (encode_offset_key(&g.group_id, t, *p), None))
            .collect();
        let removed = keys.len() + in_flight.len();
        let Some(appended) = remove_with_tombstones(broker, &group, &mut g, &keys, in_flight)
        else {
            continue;
        };
        tracing::info!(group = %g.group_id, topic, offsets = removed, "removed offsets of deleted topic");
        writes.push((g.group_id.clone(), appended));
    }
    for (group_id, appended) in writes {
        let outcome = match appended {
            Ok(appended) => store::wait(appended).await,
            Err(code) => Err(code),
        };
        if let Err(code) = outcome {
            tracing::error!(
                group = %group_id,
                topic,
                code,
                "cannot write tombstones for the offsets of a deleted topic"
            );
        }
    }
}

/// Which offsets of a group may expire, and counted from when.
enum ExpiryRule {
    /// An empty group: all offsets, counted from when it became empty
    /// (from each commit when that time is unknown).
    SinceEmpty(Option<i64>),
    /// A stable consumer group: offsets of topics no member subscribes to.
    UnsubscribedSinceCommit(HashSet<String>),
    /// A group without protocol (offsets only): from each commit.
    SinceCommit,
}

impl ExpiryRule {
    fn expires(&self, topic: &str, committed: &CommittedOffset, now: i64, retention: i64) -> bool {
        let commit_time = committed.value.commit_timestamp;
        match self {
            ExpiryRule::SinceEmpty(since) => {
                expired(now, retention, since.unwrap_or(commit_time), committed)
            }
            ExpiryRule::UnsubscribedSinceCommit(subscribed) => {
                !subscribed.contains(topic) && expired(now, retention, commit_time, committed)
            }
            ExpiryRule::SinceCommit => expired(now, retention, commit_time, committed),
        }
    }
}

fn expiry_rule(g: &ClassicGroup) -> Option<ExpiryRule> {
    match (&g.protocol_type, g.state) {
        (Some(_), GroupState::Empty) => Some(ExpiryRule::SinceEmpty(g.state_timestamp)),
        (Some(protocol_type), GroupState::Stable) if protocol_type == CONSUMER_PROTOCOL_TYPE => g
            .subscribed_topics
            .clone()
            .map(ExpiryRule::UnsubscribedSinceCommit),
        (None, _) => Some(ExpiryRule::SinceCommit),
        _ => None,
    }
}

fn expired(now: i64, retention: i64, base: i64, committed: &CommittedOffset) -> bool {
    match committed.value.expire_timestamp {
        // Set by OffsetCommit v2-4's retention time: Kafka's old rule.
        Some(expire) => now >= expire,
        None => now.saturating_sub(base) >= retention,
    }
}
