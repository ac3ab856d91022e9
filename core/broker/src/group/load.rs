//! Replays each partition of `__consumer_offsets` this broker gains (all of
//! them at start-up) in the background; their groups answer
//! COORDINATOR_LOAD_IN_PROGRESS until done. Also runs the periodic offset
//! expiry.
//!
//! Replay keeps the last record per key (a tombstone removes): the
//! offsets of every group, and the metadata of groups that have it.
//! Groups come back as Kafka restores them: Stable with their members when
//! the last record had members (each member must heartbeat within its
//! session timeout or is removed, which rebalances the group), else Empty.
//! A record that cannot be decoded is skipped with a warning.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::BytesMut;
use strom_protocol::records::{batches, Record};
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};

use super::classic::{ClassicGroup, CommittedOffset, GroupState};
use super::member::Member;
use super::offsets::expire_offsets;
use super::records::{
    decode_group_value, decode_key, decode_offset_value, GroupMetadataValue, RecordKey,
};
use super::store::{Env, OFFSETS_TOPIC};
use super::timers;
use crate::clock::now_ms;
use crate::partition::Partition;
use crate::state::Broker;

/// Bytes read from the log at once while loading (Kafka's
/// `offsets.load.buffer.size` default).
const LOAD_BUFFER_BYTES: u32 = 5 * 1024 * 1024;
/// Bound on a decompressed batch of the offsets topic.
const MAX_DECOMPRESSED_BYTES: usize = 64 * 1024 * 1024;

/// Starts loading `__consumer_offsets` and the offset-expiry loop; the
/// caller aborts the returned tasks at shutdown.
pub fn start(broker: &Arc<Broker>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(load_loop(broker.clone())),
        tokio::spawn(expiry_loop(broker.clone())),
    ]
}

async fn expiry_loop(broker: Arc<Broker>) {
    let interval = broker
        .config
        .settings()
        .offsets_retention_check_interval_ms
        .max(1) as u64;
    loop {
        tokio::time::sleep(Duration::from_millis(interval)).await;
        expire_offsets(&broker, now_ms());
    }
}

#[derive(Default)]
struct Loaded {
    offsets: HashMap<String, HashMap<(String, i32), CommittedOffset>>,
    /// `None`: the last record was a tombstone.
    groups: HashMap<String, Option<GroupMetadataValue>>,
}

/// Replays the `__consumer_offsets` partitions this broker gains, as the
/// coordinator queues them (all of an existing topic at start-up).
async fn load_loop(broker: Arc<Broker>) {
    loop {
        let queued = broker.groups.next_to_load().await;
        let started = Instant::now();
        let (mut partitions, mut total_groups) = (0usize, 0usize);
        for partition in queued {
            let index = partition.index;
            if !broker.groups.is_loading(index) {
                continue; // lost again before its turn
            }
            let partition_started = Instant::now();
            let loaded = tokio::task::spawn_blocking(move || read_partition(&partition)).await;
            match loaded {
                Ok(loaded) => {
                    let groups = install(&broker, index, loaded);
                    partitions += 1;
                    total_groups += groups;
                    tracing::debug!(
                        partition = index,
                        groups,
                        elapsed_ms = partition_started.elapsed().as_millis() as u64,
                        "loaded {OFFSETS_TOPIC} partition"
                    );
                }
                Err(e) => tracing::error!(partition = index, "loading {OFFSETS_TOPIC} failed: {e}"),
            }
            broker.groups.finish_loading(index);
        }
        // One line for all that were queued together: fifty for empty
        // partitions told nothing.
        tracing::info!(
            partitions,
            groups = total_groups,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded consumer groups from {OFFSETS_TOPIC}"
        );
    }
}

/// Reads a whole partition up to its log end, as Kafka's coordinator
/// loader does. Not the high watermark: a newly elected leader learns its
/// followers' log ends only from their next fetches, so its watermark can
/// still stand below offsets the old coordinator committed and
/// acknowledged; everything in the new leader's log becomes committed
/// under its leadership. A read failure ends the replay of that partition
/// with what was read so far.
fn read_partition(partition: &Partition) -> Loaded {
    let log = &partition.log;
    let mut loaded = Loaded::default();
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    let mut offset = start;
    while offset < end {
        let read = match log.read(offset, LOAD_BUFFER_BYTES, end, true) {
            Ok(read) if !read.is_empty() => read,
            Ok(_) => break,
            Err(e) => {
                tracing::error!(
                    partition = partition.index,
                    offset,
                    "cannot read {OFFSETS_TOPIC}: {e}"
                );
                break;
            }
        };
        let mut buf = BytesMut::new();
        if let Err(e) = read.copy_into(&mut buf) {
            tracing::error!(
                partition = partition.index,
                offset,
                "cannot read {OFFSETS_TOPIC}: {e}"
            );
            break;
        }
        let mut next = offset;
        for batch in batches(buf.freeze()) {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(
                        partition = partition.index,
                        offset = next,
                        "skipping unreadable batch: {e}"
                    );
                    break;
                }
            };
            let header = batch.header();
            next = header.base_offset() + i64::from(header.last_offset_delta()) + 1;
            if header.is_control() {
                continue;
            }
            let records = match batch.records(MAX_DECOMPRESSED_BYTES) {
                Ok(records) => records,
                Err(e) => {
                    tracing::warn!(partition = partition.index, "skipping batch: {e}");
                    continue;
                }
            };
            for record in records {
                match record {
                    Ok(record) if record.offset >= start => apply(&mut loaded, &record),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(partition = partition.index, "skipping record: {e}");
                        break;
                    }
                }
            }
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    loaded
}

fn apply(loaded: &mut Loaded, record: &Record) {
    let Some(key) = record.key.as_ref() else {
        return;
    };
    let key = match decode_key(key) {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!(offset = record.offset, "skipping record: {e}");
            return;
        }
    };
    match key {
        RecordKey::Offset {
            group,
            topic,
            partition,
        } => {
            let offsets = loaded.offsets.entry(group).or_default();
            let Some(value) = &record.value else {
                offsets.remove(&(topic, partition));
                return;
            };
            match decode_offset_value(value) {
                Ok(value) => {
                    let committed = CommittedOffset {
                        value,
                        record_offset: record.offset,
                    };
                    offsets.insert((topic, partition), committed);
                }
                Err(e) => tracing::warn!(offset = record.offset, "skipping record: {e}"),
            }
        }
        RecordKey::Group { group } => match &record.value {
            None => {
                loaded.groups.insert(group, None);
            }
            Some(value) => match decode_group_value(value) {
                Ok(value) => {
                    loaded.groups.insert(group, Some(value));
                }
                Err(e) => tracing::warn!(offset = record.offset, "skipping record: {e}"),
            },
        },
        RecordKey::Other(_) => {}
    }
}

/// Puts the loaded groups in the coordinator; how many there were.
fn install(broker: &Arc<Broker>, partition: i32, mut loaded: Loaded) -> usize {
    // Offsets of a topic deleted just before a crash, before its
    // tombstones were durable, would otherwise come back.
    for offsets in loaded.offsets.values_mut() {
        offsets.retain(|(topic, _), _| broker.topic(topic).is_some());
    }
    let mut ids: HashSet<String> = loaded
        .offsets
        .iter()
        .filter(|(_, offsets)| !offsets.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    ids.extend(
        loaded
            .groups
            .iter()
            .filter(|(_, value)| value.is_some())
            .map(|(id, _)| id.clone()),
    );
    for id in &ids {
        let mut group = ClassicGroup::new(id.clone(), partition);
        if let Some(Some(value)) = loaded.groups.remove(id) {
            restore(&mut group, value);
        }
        group.offsets = loaded.offsets.remove(id).unwrap_or_default();
        let members: Vec<String> = group.members.iter().map(|m| m.member_id.clone()).collect();
        let group = broker.groups.insert(group);
        let env = Env {
            broker,
            group: &group,
        };
        for member_id in members {
            timers::spawn_session_timer(&env, member_id);
        }
    }
    ids.len()
}

fn restore(g: &mut ClassicGroup, value: GroupMetadataValue) {
    g.generation = value.generation;
    g.protocol_type = Some(value.protocol_type).filter(|t| !t.is_empty());
    g.protocol_name = value.protocol;
    g.leader = value.leader;
    g.state_timestamp = Some(value.current_state_timestamp).filter(|t| *t >= 0);
    let protocol = g.protocol_name.clone().unwrap_or_default();
    let deadline_base = Instant::now();
    for record in value.members {
        let member = Member {
            member_id: record.member_id,
            group_instance_id: record.group_instance_id,
            client_id: record.client_id,
            client_host: record.client_host,
            rebalance_timeout_ms: record.rebalance_timeout_ms,
            session_timeout_ms: record.session_timeout_ms,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocols: vec![(protocol.clone(), record.subscription)],
            assignment: record.assignment,
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            session_deadline: deadline_base
                + Duration::from_millis(record.session_timeout_ms.max(0) as u64),
        };
        if let Some(instance) = &member.group_instance_id {
            g.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        g.members.push(member);
    }
    if g.leader.as_ref().is_some_and(|leader| !g.has(leader)) {
        g.leader = g.members.first().map(|m| m.member_id.clone());
    }
    g.state = if g.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    g.subscribed_topics = g.compute_subscribed_topics();
}
