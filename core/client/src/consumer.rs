//! The consumer: partitions either assigned by hand (`assign`, `seek`) or
//! by the consumer group (`subscribe`, in `consumer/subscription.rs`;
//! `subscribe_pattern`, in `consumer/pattern.rs`), read with
//! `poll`. Fetches go to each partition's leader (fetch.min.bytes,
//! fetch.max.wait.ms, max.partition.fetch.bytes); batches are decoded
//! lazily, in any of the four codecs, into owned records. The struct keeps
//! the assignment and positions separate from how they were chosen.
//!
//! With group.id set, offsets are committed to the group (`consumer/commit.rs`):
//! by hand or every auto.commit.interval.ms (enable.auto.commit).

mod assignors;
mod commit;
mod group;
mod heartbeat;
mod member_data;
mod pattern;
mod subscription;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::{ApiKey, FetchRequest, Response};
use strom_protocol::records::{batches, DEFAULT_MAX_DECOMPRESSED_BYTES};
use tokio::time::Instant;

use crate::admin::{AdminClient, OffsetSpec};
use crate::cluster::{group_by_topic, unexpected, Cluster};
use crate::config::{ClientConfig, OffsetReset};
use crate::error::{ClientError, Result};
use crate::metadata::invalidates_metadata;
use assignors::Assignor;
use group::GroupCoordinator;
use subscription::Callbacks;

const OFFSET_OUT_OF_RANGE: i16 = 1;

/// A record as the consumer returns it; owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A partition of a topic, as rebalance callbacks receive them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

/// A rebalance callback: called with the partitions assigned, revoked or
/// lost. It runs inside `poll` (or `close`), on the polling task.
pub type RebalanceCallback = Box<dyn Fn(&[TopicPartition]) + Send + Sync + 'static>;

pub struct Consumer {
    cluster: Cluster,
    admin: AdminClient,
    /// Assigned partitions and their next fetch offset (`None`: reset first).
    positions: BTreeMap<(String, i32), Option<i64>>,
    /// Records fetched but not yet returned by `poll`.
    buffered: VecDeque<ConsumerRecord>,
    /// The group of group.id, when set.
    group: Option<GroupCoordinator>,
    /// Subscribed topics, sorted; empty when partitions are assigned by hand.
    subscription: Vec<String>,
    /// With `subscribe_pattern`: the pattern that `subscription` follows.
    pattern: Option<pattern::PatternSubscription>,
    assignors: Vec<Assignor>,
    callbacks: Callbacks,
    /// Assigned partitions `poll` neither fetches nor returns for now.
    paused: BTreeSet<(String, i32)>,
    next_auto_commit: Instant,
    closed: bool,
}

impl Consumer {
    pub async fn new(config: ClientConfig) -> Result<Consumer> {
        let group = config
            .group_id
            .clone()
            .map(|group_id| (group_id, config.group_instance_id.clone()));
        let next_auto_commit = Instant::now() + config.auto_commit_interval;
        let cluster = Cluster::connect(config).await?;
        Ok(Consumer {
            admin: AdminClient::from_cluster(cluster.clone()),
            group: group.map(|(group_id, instance_id)| {
                GroupCoordinator::new(cluster.clone(), group_id, instance_id)
            }),
            cluster,
            positions: BTreeMap::new(),
            buffered: VecDeque::new(),
            subscription: Vec::new(),
            pattern: None,
            assignors: Vec::new(),
            callbacks: Callbacks::default(),
            paused: BTreeSet::new(),
            next_auto_commit,
            closed: false,
        })
    }

    /// Replaces the assignment. New partitions start per auto.offset.reset
    /// unless `seek` sets a position.
    pub fn assign(&mut self, partitions: &[(&str, i32)]) {
        let old = std::mem::take(&mut self.positions);
        for (topic, partition) in partitions {
            let key = (topic.to_string(), *partition);
            let position = old.get(&key).copied().flatten();
            self.positions.insert(key, position);
        }
        // Records already fetched stay only for partitions still assigned.
        let positions = &self.positions;
        self.buffered
            .retain(|r| positions.contains_key(&(r.topic.clone(), r.partition)));
        self.paused.retain(|key| positions.contains_key(key));
    }

    pub fn assignment(&self) -> Vec<(String, i32)> {
        self.positions.keys().cloned().collect()
    }

    /// Sets the next offset `poll` returns for an assigned partition.
    pub fn seek(&mut self, topic: &str, partition: i32, offset: i64) -> Result<()> {
        let position = self
            .positions
            .get_mut(&(topic.to_string(), partition))
            .ok_or_else(|| {
                ClientError::InvalidArgument(format!(
                    "`{topic}` partition {partition} is not assigned"
                ))
            })?;
        *position = Some(offset);
        self.buffered
            .retain(|r| !(r.topic == topic && r.partition == partition));
        Ok(())
    }

    /// The next offset to be returned, once known: the first record
    /// fetched but not yet returned by `poll`, else the fetch position.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        let buffered = self
            .buffered
            .iter()
            .find(|r| r.partition == partition && r.topic == topic)
            .map(|r| r.offset);
        buffered.or_else(|| {
            self.positions
                .get(&(topic.to_string(), partition))
                .copied()
                .flatten()
        })
    }

    /// Stops fetching the given assigned partitions until `resume`; records
    /// already fetched for them are dropped and fetched again later.
    /// Unassigned partitions are ignored. A rebalance forgets the pauses of
    /// the partitions it takes away.
    pub fn pause(&mut self, partitions: &[(&str, i32)]) {
        for (topic, partition) in partitions {
            let key = (topic.to_string(), *partition);
            let Some(position) = self.positions.get(&key).copied() else {
                continue;
            };
            let first_buffered = self
                .buffered
                .iter()
                .find(|r| r.partition == key.1 && r.topic == key.0)
                .map(|r| r.offset);
            if let Some(offset) = first_buffered {
                self.buffered
                    .retain(|r| !(r.partition == key.1 && r.topic == key.0));
                self.positions
                    .insert(key.clone(), Some(offset).or(position));
            }
            self.paused.insert(key);
        }
    }

    pub fn resume(&mut self, partitions: &[(&str, i32)]) {
        for (topic, partition) in partitions {
            self.paused.remove(&(topic.to_string(), *partition));
        }
    }

    /// The paused partitions, sorted.
    pub fn paused(&self) -> Vec<(String, i32)> {
        self.paused.iter().cloned().collect()
    }

    /// Returns up to max.poll.records records, waiting at most `timeout`
    /// for some to arrive. With `subscribe`, this is also where the
    /// consumer joins and rejoins its group and runs the rebalance
    /// callbacks; with auto commit, where offsets are committed.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        if self.closed {
            return Err(ClientError::Closed { what: "consumer" });
        }
        let deadline = Instant::now() + timeout;
        loop {
            self.maintain_group().await?;
            if !self.buffered.is_empty() {
                let count = self
                    .buffered
                    .len()
                    .min(self.cluster.config().max_poll_records);
                return Ok(self.buffered.drain(..count).collect());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            if self.positions.keys().all(|key| self.paused.contains(key)) {
                let subscribed = !self.subscription.is_empty() || self.pattern.is_some();
                if !subscribed && self.positions.is_empty() {
                    return Ok(Vec::new());
                }
                // Nothing to fetch: wait for a resume or, for a member with
                // no partitions, the next rebalance.
                let pause = self.cluster.config().retry_backoff;
                tokio::time::sleep_until(deadline.min(now + pause)).await;
                continue;
            }
            self.reset_unknown_positions().await?;
            self.fetch_once(deadline - now).await?;
        }
    }

    async fn reset_unknown_positions(&mut self) -> Result<()> {
        let unknown: Vec<(String, i32)> = self
            .positions
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let spec = match self.cluster.config().auto_offset_reset {
            OffsetReset::Earliest => OffsetSpec::Earliest,
            OffsetReset::Latest => OffsetSpec::Latest,
            OffsetReset::None => {
                return Err(ClientError::kafka(
                    OFFSET_OUT_OF_RANGE,
                    format!("no position for {unknown:?} and auto.offset.reset=none; call seek"),
                    None,
                ))
            }
        };
        let queries: Vec<(&str, i32, OffsetSpec)> = unknown
            .iter()
            .map(|(t, p)| (t.as_str(), *p, spec))
            .collect();
        for listed in self.admin.list_offsets(&queries).await? {
            self.positions
                .insert((listed.topic, listed.partition), Some(listed.offset));
        }
        Ok(())
    }

    /// One Fetch per leader of the assigned partitions.
    async fn fetch_once(&mut self, remaining: Duration) -> Result<()> {
        let config = self.cluster.config().clone();
        let mut by_leader: HashMap<i32, Vec<(String, i32, i64)>> = HashMap::new();
        for ((topic, partition), position) in &self.positions {
            let Some(offset) = position else { continue };
            if self.paused.contains(&(topic.clone(), *partition)) {
                continue;
            }
            let (leader, _) = self.cluster.leader_for(topic, *partition).await?;
            by_leader
                .entry(leader)
                .or_default()
                .push((topic.clone(), *partition, *offset));
        }
        let max_wait = config.fetch_max_wait.min(remaining);
        for (leader, partitions) in by_leader {
            let build = |_| {
                let entries = partitions.iter().map(|(topic, partition, offset)| {
                    let entry = FetchPartition {
                        partition: *partition,
                        current_leader_epoch: -1,
                        fetch_offset: *offset,
                        last_fetched_epoch: -1,
                        log_start_offset: -1,
                        partition_max_bytes: config.max_partition_fetch_bytes,
                        ..Default::default()
                    };
                    (topic.clone(), entry)
                });
                let topics = group_by_topic(entries)
                    .into_iter()
                    .map(|(topic, partitions)| FetchTopic {
                        topic,
                        partitions,
                        ..Default::default()
                    })
                    .collect();
                FetchRequest {
                    replica_id: -1,
                    max_wait_ms: i32::try_from(max_wait.as_millis()).unwrap_or(i32::MAX),
                    min_bytes: config.fetch_min_bytes,
                    max_bytes: config.fetch_max_bytes,
                    isolation_level: config.isolation_level.wire_value(),
                    session_epoch: -1,
                    topics,
                    ..Default::default()
                }
                .into()
            };
            let response = self.cluster.send(leader, ApiKey::Fetch, build).await?;
            let Response::Fetch(response) = response else {
                return Err(unexpected(ApiKey::Fetch, &response));
            };
            crate::error::check_code(
                response.error_code,
                || format!("fetching from node {leader}"),
                None,
            )?;
            for topic in response.responses {
                for data in topic.partitions {
                    self.absorb(
                        &topic.topic,
                        data.partition_index,
                        data.error_code,
                        data.records,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Forgets records fetched but not yet returned by `poll` for these
    /// partitions (for every partition with `None`), e.g. when a rebalance
    /// takes them away; they are fetched again from the position if kept.
    pub(crate) fn discard_fetched(&mut self, partitions: Option<&[TopicPartition]>) {
        match partitions {
            None => self.buffered.clear(),
            Some(partitions) => self.buffered.retain(|r| {
                !partitions
                    .iter()
                    .any(|tp| tp.partition == r.partition && tp.topic == r.topic)
            }),
        }
    }

    /// Decodes one partition's fetched batches into the buffer.
    fn absorb(
        &mut self,
        topic: &str,
        partition: i32,
        error_code: i16,
        records: Option<Bytes>,
    ) -> Result<()> {
        let key = (topic.to_string(), partition);
        let Some(Some(mut position)) = self.positions.get(&key).copied() else {
            return Ok(());
        };
        match error_code {
            0 => {}
            OFFSET_OUT_OF_RANGE if self.cluster.config().auto_offset_reset != OffsetReset::None => {
                self.positions.insert(key, None);
                return Ok(());
            }
            code if invalidates_metadata(code) => {
                let cluster = self.cluster.clone();
                let topic = topic.to_string();
                tokio::spawn(async move { cluster.refresh_metadata(&[topic]).await });
                return Ok(());
            }
            code => {
                return Err(ClientError::kafka(
                    code,
                    format!("fetching `{topic}` partition {partition} at offset {position}"),
                    None,
                ))
            }
        }
        for batch in batches(records.unwrap_or_default()) {
            let batch = batch?;
            let header = batch.header();
            if header.last_offset() < position {
                continue;
            }
            if header.is_control() {
                position = header.last_offset() + 1;
                continue;
            }
            for record in batch.records(DEFAULT_MAX_DECOMPRESSED_BYTES)? {
                let record = record?;
                if record.offset < position {
                    continue;
                }
                position = record.offset + 1;
                self.buffered.push_back(ConsumerRecord {
                    topic: topic.to_string(),
                    partition,
                    offset: record.offset,
                    timestamp: record.timestamp,
                    key: record.key,
                    value: record.value,
                    headers: record
                        .headers
                        .into_iter()
                        .map(|h| (String::from_utf8_lossy(&h.key).into_owned(), h.value))
                        .collect(),
                });
            }
            position = position.max(header.last_offset() + 1);
        }
        self.positions.insert(key, Some(position));
        Ok(())
    }
}
