//! A consumer with manually assigned partitions: `assign`, `seek`, `poll`,
//! `position`. Fetches go to each partition's leader (fetch.min.bytes,
//! fetch.max.wait.ms, max.partition.fetch.bytes); batches are decoded
//! lazily, in any of the four codecs, into owned records. Group membership
//! (`subscribe`) is to be added beside `assignment`: the struct keeps the
//! assignment and positions separate from how they were chosen.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::{ApiKey, FetchRequest, Response};
use strom_protocol::records::{batches, DEFAULT_MAX_DECOMPRESSED_BYTES};
use tokio::time::Instant;

use crate::admin::{AdminClient, OffsetSpec};
use crate::cluster::{unexpected, Cluster};
use crate::config::{ClientConfig, OffsetReset};
use crate::error::{ClientError, Result};
use crate::metadata::invalidates_metadata;

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

pub struct Consumer {
    cluster: Cluster,
    admin: AdminClient,
    /// Assigned partitions and their next offset (`None`: reset first).
    positions: BTreeMap<(String, i32), Option<i64>>,
    /// Records fetched but not yet returned by `poll`.
    buffered: VecDeque<ConsumerRecord>,
}

impl Consumer {
    pub async fn new(config: ClientConfig) -> Result<Consumer> {
        let cluster = Cluster::connect(config).await?;
        Ok(Consumer {
            admin: AdminClient::from_cluster(cluster.clone()),
            cluster,
            positions: BTreeMap::new(),
            buffered: VecDeque::new(),
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
        self.buffered
            .retain(|r| old.contains_key(&(r.topic.clone(), r.partition)));
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

    /// The next offset to be returned, once known.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.positions
            .get(&(topic.to_string(), partition))
            .copied()
            .flatten()
    }

    /// Returns up to max.poll.records records, waiting at most `timeout`
    /// for some to arrive.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.buffered.is_empty() {
                let count = self
                    .buffered
                    .len()
                    .min(self.cluster.config().max_poll_records);
                return Ok(self.buffered.drain(..count).collect());
            }
            let now = Instant::now();
            if now >= deadline || self.positions.is_empty() {
                return Ok(Vec::new());
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
            let (leader, _) = self.cluster.leader_for(topic, *partition).await?;
            by_leader
                .entry(leader)
                .or_default()
                .push((topic.clone(), *partition, *offset));
        }
        let max_wait = config.fetch_max_wait.min(remaining);
        for (leader, partitions) in by_leader {
            let build = |_| {
                let mut topics: Vec<FetchTopic> = Vec::new();
                for (topic, partition, offset) in &partitions {
                    let entry = FetchPartition {
                        partition: *partition,
                        current_leader_epoch: -1,
                        fetch_offset: *offset,
                        last_fetched_epoch: -1,
                        log_start_offset: -1,
                        partition_max_bytes: config.max_partition_fetch_bytes,
                        ..Default::default()
                    };
                    match topics.iter_mut().find(|t| &t.topic == topic) {
                        Some(t) => t.partitions.push(entry),
                        None => topics.push(FetchTopic {
                            topic: topic.clone(),
                            partitions: vec![entry],
                            ..Default::default()
                        }),
                    }
                }
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
