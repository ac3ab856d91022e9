//! The consumer's fetcher: Fetch requests run as spawned tasks, at most one
//! in flight per leader, all leaders at once, and they keep running while
//! the application works between polls. Each task owns a `Cluster` clone
//! and sends its outcome back through a channel, so `poll` can be dropped
//! at any await without losing or half-applying anything: outcomes are
//! applied, and records taken, only in synchronous code.
//!
//! A completed fetch is kept as the raw bytes of one partition with the
//! offset it was fetched at, and decoded batch by batch only as far as
//! `poll` returns records (max.poll.records). Fetched data is used only
//! while the partition is assigned, not paused, and its position still
//! equals the offset the data continues from; anything else (a `seek`, a
//! rebalance, a new assignment) makes it stale, and stale data is dropped.
//! That check is what keeps seek, pause and rebalances safe without the
//! rest of the consumer knowing about fetches in flight.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use strom_protocol::error_codes::OFFSET_OUT_OF_RANGE;
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::{ApiKey, FetchRequest, FetchResponse, Response};
use strom_protocol::records::{batches, Batches, Record, Records, DEFAULT_MAX_DECOMPRESSED_BYTES};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Duration, Instant};

use super::{header_pairs, ConsumerRecord, TopicPartition};
use crate::cluster::{group_by_topic, unexpected, Cluster};
use crate::config::OffsetReset;
use crate::error::{ClientError, Result};
use crate::metadata::invalidates_metadata;

/// What a fetch task hands back: the request's partitions with the offsets
/// they were fetched at, and the broker's answer.
struct FetchOutcome {
    leader: i32,
    requested: Vec<(TopicPartition, i64)>,
    result: Result<FetchResponse>,
}

pub(crate) struct Fetcher {
    cluster: Cluster,
    outcomes_tx: mpsc::UnboundedSender<FetchOutcome>,
    /// Unbounded, but holds at most one outcome per leader: a leader gets
    /// no new fetch until its last outcome has been taken from here.
    outcomes_rx: mpsc::UnboundedReceiver<FetchOutcome>,
    /// The fetch task in flight per leader node.
    in_flight: HashMap<i32, JoinHandle<()>>,
    /// Partitions in some fetch in flight, so that a leader change cannot
    /// get one partition fetched twice at once.
    fetching: HashSet<TopicPartition>,
    /// Fetched data not yet fully returned, oldest first; at most one per
    /// partition.
    completed: VecDeque<CompletedFetch>,
    /// Partitions not to fetch again before the instant, after an error.
    backoff: HashMap<TopicPartition, Instant>,
    /// A fetch error that the next `poll` reports (when it has no records).
    pending_error: Option<ClientError>,
    /// Per partition, the log start offset (-1: the broker did not say),
    /// high watermark and last stable offset (-1: not said) its last fetch
    /// response told.
    watermarks: HashMap<TopicPartition, (i64, i64, i64)>,
    /// The end offset each partition's end was last reported at
    /// (enable.partition.eof): once per arrival at the end.
    eof_reported: HashMap<TopicPartition, i64>,
    /// Records `poll` returned, and their key and value bytes, in all and
    /// per partition (the statistics' `rxmsgs` and `rxbytes`); counted
    /// only when the client reports statistics.
    consumed: Consumed,
    counts_consumed: bool,
}

/// Records handed to the application: counted per `take_records` call and
/// partition, not per record.
#[derive(Default)]
pub(crate) struct Consumed {
    pub records: u64,
    pub bytes: u64,
    pub per_partition: HashMap<TopicPartition, (u64, u64)>,
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        for task in self.in_flight.values() {
            task.abort();
        }
    }
}

impl Fetcher {
    pub(crate) fn new(cluster: Cluster) -> Fetcher {
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
        let counts_consumed = cluster.config().reports_statistics();
        Fetcher {
            cluster,
            outcomes_tx,
            outcomes_rx,
            in_flight: HashMap::new(),
            fetching: HashSet::new(),
            completed: VecDeque::new(),
            backoff: HashMap::new(),
            pending_error: None,
            watermarks: HashMap::new(),
            eof_reported: HashMap::new(),
            consumed: Consumed::default(),
            counts_consumed,
        }
    }

    /// Drops fetched data for the partitions `keep` rejects (fetches in
    /// flight are dropped when they arrive, by the position check).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&TopicPartition) -> bool) {
        self.completed.retain(|fetch| keep(&fetch.key));
        self.watermarks.retain(|key, _| keep(key));
        self.eof_reported.retain(|key, _| keep(key));
    }

    /// Partitions whose position reached the end the broker last told of,
    /// with nothing fetched left, not reported at that offset yet:
    /// librdkafka's `_PARTITION_EOF` events (enable.partition.eof).
    pub(crate) fn partition_eofs(
        &mut self,
        positions: &BTreeMap<TopicPartition, Option<i64>>,
        paused: &BTreeSet<TopicPartition>,
    ) -> Vec<(TopicPartition, i64)> {
        let mut ends = Vec::new();
        for (key, position) in positions {
            let Some(position) = *position else { continue };
            let at_end = self.watermarks.get(key).map(|(_, high, _)| *high) == Some(position);
            if !at_end
                || paused.contains(key)
                || self.has_fetched(key)
                || self.eof_reported.get(key) == Some(&position)
            {
                continue;
            }
            self.eof_reported.insert(key.clone(), position);
            ends.push((key.clone(), position));
        }
        ends
    }

    /// The log start offset (-1: not told) and high watermark the
    /// partition's last fetch response told.
    pub(crate) fn watermarks(&self, key: &TopicPartition) -> Option<(i64, i64)> {
        self.watermarks.get(key).map(|(low, high, _)| (*low, *high))
    }

    /// The last stable offset the partition's last fetch response told
    /// (-1: not told).
    pub(crate) fn last_stable_offset(&self, key: &TopicPartition) -> Option<i64> {
        self.watermarks.get(key).map(|(_, _, stable)| *stable)
    }

    /// The end offset the partition's end was last reported at
    /// (enable.partition.eof).
    pub(crate) fn eof_offset(&self, key: &TopicPartition) -> Option<i64> {
        self.eof_reported.get(key).copied()
    }

    /// The records `poll` returned so far.
    pub(crate) fn consumed(&self) -> &Consumed {
        &self.consumed
    }

    /// Whether some fetched data is waiting for `poll` for this partition.
    pub(crate) fn has_fetched(&self, key: &TopicPartition) -> bool {
        self.completed.iter().any(|fetch| fetch.key == *key)
    }

    /// The error a fetch ran into, once.
    pub(crate) fn take_error(&mut self) -> Option<ClientError> {
        self.pending_error.take()
    }

    /// Whether a partition with a position is neither paused, nor being
    /// fetched, nor holding fetched records: `send_fetches` has work.
    pub(crate) fn fetches_due(
        &self,
        positions: &BTreeMap<TopicPartition, Option<i64>>,
        paused: &BTreeSet<TopicPartition>,
    ) -> bool {
        let idle = |key: &TopicPartition| {
            !paused.contains(key) && !self.fetching.contains(key) && !self.has_fetched(key)
        };
        positions
            .iter()
            .any(|(key, position)| position.is_some() && idle(key))
    }

    /// Sends a Fetch to every leader that has none in flight, for the
    /// partitions with a known position and leader that are not paused,
    /// not backing off, not being fetched and have no fetched data waiting.
    /// Synchronous, so `poll` can call it after taking records and before
    /// returning them.
    pub(crate) fn send_fetches(
        &mut self,
        positions: &BTreeMap<TopicPartition, Option<i64>>,
        paused: &BTreeSet<TopicPartition>,
    ) {
        // Called after every poll that returns records: most of the time
        // every partition is being fetched or has fetched records left, and
        // nothing is to be sent. Say so before building anything.
        if !self.fetches_due(positions, paused) {
            return;
        }
        let now = Instant::now();
        let mut leaders: HashMap<&str, Vec<i32>> = HashMap::new();
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        // Leaders with a partition left out because it still has fetched
        // records: their fetch must not be held by the broker.
        let mut buffered_leaders: HashSet<i32> = HashSet::new();
        for (key, position) in positions {
            let Some(offset) = *position else { continue };
            let buffered = self.has_fetched(key);
            if paused.contains(key)
                || self.fetching.contains(key)
                || self.backoff.get(key).is_some_and(|until| *until > now)
            {
                continue;
            }
            let topic_leaders = leaders
                .entry(&*key.topic)
                .or_insert_with(|| cached_leaders(&self.cluster, &key.topic));
            let leader = usize::try_from(key.partition)
                .ok()
                .and_then(|index| topic_leaders.get(index).copied())
                .filter(|leader| *leader >= 0);
            let Some(leader) = leader else { continue };
            if buffered {
                buffered_leaders.insert(leader);
                continue;
            }
            if self.in_flight.contains_key(&leader) {
                continue;
            }
            by_leader
                .entry(leader)
                .or_default()
                .push((key.clone(), offset));
        }
        self.backoff.retain(|_, until| *until > now);
        for (leader, partitions) in by_leader {
            self.fetching
                .extend(partitions.iter().map(|(key, _)| key.clone()));
            let cluster = self.cluster.clone();
            let outcomes = self.outcomes_tx.clone();
            // With one fetch in flight per leader, a fetch of partitions
            // at their end that the broker holds for fetch.max.wait.ms
            // would keep a partition whose fetched records are being read
            // from being fetched again until it returns: the application
            // would stall for up to fetch.max.wait.ms each time that
            // partition runs dry (on a topic whose partitions are uneven).
            // So such a fetch asks the broker not to wait.
            let wait = if buffered_leaders.contains(&leader) {
                Duration::ZERO
            } else {
                cluster.config().fetch_max_wait
            };
            let task = tokio::spawn(async move {
                let result = fetch(&cluster, leader, &partitions, wait).await;
                // The receiver is gone only when the consumer is.
                let _ = outcomes.send(FetchOutcome {
                    leader,
                    requested: partitions,
                    result,
                });
            });
            self.in_flight.insert(leader, task);
        }
    }

    /// Looks up the leaders the metadata cache lacks for the partitions
    /// `send_fetches` would send, so that it finds them. Fails, as
    /// `Cluster::leader_for` does, for a topic or partition that does not
    /// exist; a partition without a leader for now is left for later.
    /// Changes nothing but the cluster's cache, so it is safe to cancel.
    pub(crate) async fn look_up_missing_leaders(
        &self,
        positions: &BTreeMap<TopicPartition, Option<i64>>,
        paused: &BTreeSet<TopicPartition>,
    ) -> Result<()> {
        let mut leaders: HashMap<&str, Vec<i32>> = HashMap::new();
        for (key, position) in positions {
            if position.is_none() || paused.contains(key) || self.fetching.contains(key) {
                continue;
            }
            let topic_leaders = leaders
                .entry(&*key.topic)
                .or_insert_with(|| cached_leaders(&self.cluster, &key.topic));
            let known = usize::try_from(key.partition)
                .ok()
                .and_then(|index| topic_leaders.get(index))
                .is_some_and(|leader| *leader >= 0);
            if known {
                continue;
            }
            match self.cluster.leader_for(&key.topic, key.partition).await {
                Ok(_) => {
                    leaders.insert(&*key.topic, cached_leaders(&self.cluster, &key.topic));
                }
                Err(ClientError::NoLeader { .. }) => {
                    tracing::debug!("{key} has no leader yet");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Whether any fetch is in flight.
    pub(crate) fn is_fetching(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// When the first partition now backing off may be fetched again.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.backoff.values().min().copied()
    }

    /// Applies every outcome that has arrived, without waiting.
    pub(crate) fn apply_arrived(&mut self, positions: &mut BTreeMap<TopicPartition, Option<i64>>) {
        while let Ok(outcome) = self.outcomes_rx.try_recv() {
            self.apply(outcome, positions);
        }
    }

    /// Waits until `until` for a fetch to complete and applies it. Safe to
    /// cancel: an outcome is applied right after it is received, with no
    /// await in between.
    pub(crate) async fn wait_for_outcome(
        &mut self,
        until: Instant,
        positions: &mut BTreeMap<TopicPartition, Option<i64>>,
    ) {
        if let Ok(Some(outcome)) = tokio::time::timeout_at(until, self.outcomes_rx.recv()).await {
            self.apply(outcome, positions);
        }
    }

    fn apply(
        &mut self,
        outcome: FetchOutcome,
        positions: &mut BTreeMap<TopicPartition, Option<i64>>,
    ) {
        let FetchOutcome {
            leader,
            requested,
            result,
        } = outcome;
        self.in_flight.remove(&leader);
        for (key, _) in &requested {
            self.fetching.remove(key);
        }
        let retry_at = Instant::now() + self.cluster.config().retry_backoff;
        let response = match result {
            Ok(response) if response.error_code != 0 => {
                let context = || format!("fetching from node {leader}");
                let error = ClientError::kafka(response.error_code, context(), None);
                self.fail_request(leader, &requested, error, retry_at);
                return;
            }
            Ok(response) => response,
            Err(error) => {
                self.fail_request(leader, &requested, error, retry_at);
                return;
            }
        };
        let requested: HashMap<&TopicPartition, i64> =
            requested.iter().map(|(k, o)| (k, *o)).collect();
        let check_crcs = self.cluster.config().check_crcs;
        let mut stale_metadata = BTreeSet::new();
        for topic in response.responses {
            for data in topic.partitions {
                let asked = TopicPartition::new(topic.topic.as_str(), data.partition_index);
                // The key the request was made with: its records share
                // the topic name of the consumer's own maps.
                let Some((&key, &fetch_offset)) = requested.get_key_value(&asked) else {
                    continue; // not asked for: ignore
                };
                let key = key.clone();
                if positions.get(&key) != Some(&Some(fetch_offset)) {
                    continue; // unassigned or moved (seek) meanwhile: stale
                }
                match data.error_code {
                    0 => {
                        let marks = (
                            data.log_start_offset,
                            data.high_watermark,
                            data.last_stable_offset,
                        );
                        self.watermarks.insert(key.clone(), marks);
                        let records = data.records.unwrap_or_default();
                        if records.is_empty() {
                            continue;
                        }
                        self.completed.push_back(CompletedFetch::new(
                            key,
                            fetch_offset,
                            records,
                            check_crcs,
                        ));
                    }
                    OFFSET_OUT_OF_RANGE
                        if self.cluster.config().auto_offset_reset != OffsetReset::None =>
                    {
                        // Reset per auto.offset.reset by the next poll.
                        positions.insert(key, None);
                    }
                    code if invalidates_metadata(code) => {
                        tracing::debug!("fetching {key}: error {code}; refreshing metadata");
                        stale_metadata.insert(key.topic.to_string());
                        self.backoff.insert(key, retry_at);
                    }
                    code => {
                        self.backoff.insert(key.clone(), retry_at);
                        self.pending_error = Some(ClientError::kafka(
                            code,
                            format!("fetching {key} at offset {fetch_offset}"),
                            None,
                        ));
                    }
                }
            }
        }
        self.refresh_metadata(stale_metadata.into_iter().collect());
    }

    /// A whole Fetch failed: retriable errors back off and refresh the
    /// metadata (the leader may have moved); others go to the next poll.
    fn fail_request(
        &mut self,
        leader: i32,
        requested: &[(TopicPartition, i64)],
        error: ClientError,
        retry_at: Instant,
    ) {
        for (key, _) in requested {
            self.backoff.insert(key.clone(), retry_at);
        }
        if error.is_retriable() {
            tracing::debug!("fetch from node {leader} failed: {error}");
            let topics: BTreeSet<String> = requested
                .iter()
                .map(|(key, _)| key.topic.to_string())
                .collect();
            self.refresh_metadata(topics.into_iter().collect());
        } else {
            self.pending_error = Some(error);
        }
    }

    fn refresh_metadata(&self, topics: Vec<String>) {
        if topics.is_empty() {
            return;
        }
        let cluster = self.cluster.clone();
        tokio::spawn(async move {
            if let Err(error) = cluster.refresh_metadata(&topics).await {
                tracing::debug!("metadata refresh after a fetch error failed: {error}");
            }
        });
    }

    /// Takes up to `max` records from the fetched data of assigned,
    /// unpaused partitions whose position the data continues from, oldest
    /// fetch first, and moves their positions past what it returns. Stale
    /// data is dropped on the way. A record that cannot be decoded ends
    /// its partition's data with the position on it: the error is returned
    /// when no record was taken, and otherwise by a later poll, which
    /// fetches the same bytes again.
    pub(crate) fn take_records(
        &mut self,
        max: usize,
        positions: &mut BTreeMap<TopicPartition, Option<i64>>,
        paused: &BTreeSet<TopicPartition>,
    ) -> Result<Vec<ConsumerRecord>> {
        let mut records = Vec::new();
        let mut index = 0;
        while records.len() < max && index < self.completed.len() {
            let Some(fetch) = self.completed.get_mut(index) else {
                break;
            };
            if positions.get(&fetch.key) != Some(&Some(fetch.next_offset)) {
                self.completed.remove(index);
                continue;
            }
            if paused.contains(&fetch.key) {
                index += 1; // kept for `resume`
                continue;
            }
            let before = records.len();
            let result = fetch.take(max - records.len(), &mut records);
            if self.counts_consumed {
                count_consumed(&mut self.consumed, &fetch.key, &records[before..]);
            }
            positions.insert(fetch.key.clone(), Some(fetch.next_offset));
            match result {
                Ok(()) if fetch.has_more() => index += 1,
                Ok(()) => {
                    // Control batches at the end still move the position.
                    positions.insert(fetch.key.clone(), Some(fetch.next_offset));
                    self.completed.remove(index);
                }
                Err(error) => {
                    self.completed.remove(index);
                    if records.is_empty() {
                        return Err(error);
                    }
                    tracing::debug!("decoding fetched records failed: {error}");
                    break;
                }
            }
        }
        Ok(records)
    }
}

/// Adds records just taken from one partition to the consumed counts.
fn count_consumed(consumed: &mut Consumed, key: &TopicPartition, taken: &[ConsumerRecord]) {
    if taken.is_empty() {
        return;
    }
    let records = taken.len() as u64;
    let bytes: u64 = taken
        .iter()
        .map(|r| {
            (r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len())) as u64
        })
        .sum();
    consumed.records += records;
    consumed.bytes += bytes;
    match consumed.per_partition.get_mut(key) {
        Some((r, b)) => {
            *r += records;
            *b += bytes;
        }
        None => {
            consumed.per_partition.insert(key.clone(), (records, bytes));
        }
    }
}

/// The leader of each partition of `topic` (by index) in the metadata
/// cache; empty when the topic is not cached.
fn cached_leaders(cluster: &Cluster, topic: &str) -> Vec<i32> {
    let Some(info) = cluster.cached_topic(topic) else {
        return Vec::new();
    };
    let count = info
        .partitions
        .iter()
        .map(|p| usize::try_from(p.partition).map_or(0, |i| i + 1))
        .max()
        .unwrap_or(0);
    let mut leaders = vec![-1; count];
    for partition in &info.partitions {
        if let Ok(index) = usize::try_from(partition.partition) {
            leaders[index] = partition.leader;
        }
    }
    leaders
}

/// One Fetch to `leader` for `partitions` at their offsets.
async fn fetch(
    cluster: &Cluster,
    leader: i32,
    partitions: &[(TopicPartition, i64)],
    max_wait: Duration,
) -> Result<FetchResponse> {
    let config = cluster.config();
    let build = |_| {
        let entries = partitions.iter().map(|(tp, offset)| {
            let entry = FetchPartition {
                partition: tp.partition,
                current_leader_epoch: -1,
                fetch_offset: *offset,
                last_fetched_epoch: -1,
                log_start_offset: -1,
                partition_max_bytes: config.max_partition_fetch_bytes,
                ..Default::default()
            };
            (tp.topic.to_string(), entry)
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
            // No fetch session (KIP-227): every request names its partitions.
            session_epoch: -1,
            topics,
            ..Default::default()
        }
        .into()
    };
    match cluster.send(leader, ApiKey::Fetch, build).await? {
        Response::Fetch(response) => Ok(response),
        other => Err(unexpected(ApiKey::Fetch, &other)),
    }
}

/// One partition's fetched bytes, decoded as far as `poll` has read.
struct CompletedFetch {
    key: TopicPartition,
    /// The offset of the next record to return: the fetch offset at first.
    next_offset: i64,
    batches: Batches,
    /// The batch being read, with its last offset.
    current: Option<(Records, i64)>,
    /// The next record (or the error instead of it), decoded ahead by
    /// `has_more`.
    peeked: Option<Result<Record>>,
    /// The partition leader epoch of the batch `current` reads.
    epoch: Option<i32>,
    /// check.crcs.
    check_crcs: bool,
}

impl CompletedFetch {
    fn new(
        key: TopicPartition,
        fetch_offset: i64,
        records: Bytes,
        check_crcs: bool,
    ) -> CompletedFetch {
        CompletedFetch {
            key,
            next_offset: fetch_offset,
            batches: batches(records),
            current: None,
            peeked: None,
            epoch: None,
            check_crcs,
        }
    }

    /// Appends up to `limit` records to `out`.
    fn take(&mut self, limit: usize, out: &mut Vec<ConsumerRecord>) -> Result<()> {
        for _ in 0..limit {
            let Some(record) = self.next_record()? else {
                break;
            };
            self.next_offset = offset_after(record.offset)?;
            out.push(ConsumerRecord {
                topic: self.key.topic.clone(),
                partition: self.key.partition,
                offset: record.offset,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
                headers: header_pairs(record.headers),
                leader_epoch: self.epoch,
            });
        }
        Ok(())
    }

    /// Whether a record remains; decodes it ahead to know. A decoding
    /// error counts as more: `take` reports it.
    fn has_more(&mut self) -> bool {
        if self.peeked.is_none() {
            match self.next_record() {
                Ok(None) => return false,
                Ok(Some(record)) => self.peeked = Some(Ok(record)),
                Err(error) => self.peeked = Some(Err(error)),
            }
        }
        true
    }

    /// The next record at or after `next_offset`, skipping control
    /// batches and the records a compressed batch holds from before the
    /// fetch offset. `next_offset` moves past skipped batches.
    fn next_record(&mut self) -> Result<Option<Record>> {
        if let Some(peeked) = self.peeked.take() {
            return peeked.map(Some);
        }
        loop {
            if let Some((records, last_offset)) = &mut self.current {
                match records.next() {
                    Some(record) => {
                        let record = record?;
                        if record.offset >= self.next_offset {
                            return Ok(Some(record));
                        }
                        continue;
                    }
                    None => {
                        // Compaction can leave gaps at a batch's end.
                        let after_batch = offset_after(*last_offset)?;
                        self.next_offset = self.next_offset.max(after_batch);
                        self.current = None;
                    }
                }
            }
            let Some(batch) = self.batches.next() else {
                return Ok(None);
            };
            let batch = batch?;
            let header = batch.header();
            let last_offset = header.last_offset();
            if last_offset < self.next_offset {
                continue;
            }
            // check.crcs (on by default, as in Java): corrupt bytes are not
            // records.
            if self.check_crcs {
                batch.verify_crc()?;
            }
            if header.is_control() {
                self.next_offset = offset_after(last_offset)?;
                continue;
            }
            self.epoch = Some(header.partition_leader_epoch()).filter(|epoch| *epoch >= 0);
            self.current = Some((batch.records(DEFAULT_MAX_DECOMPRESSED_BYTES)?, last_offset));
        }
    }
}

/// The offset after `offset`; a batch claiming the largest offset there is
/// (a hostile or broken broker) is refused rather than overflowing.
fn offset_after(offset: i64) -> Result<i64> {
    offset.checked_add(1).ok_or_else(|| ClientError::Protocol {
        addr: "the partition leader".to_string(),
        reason: format!("a fetched batch holds offset {offset}, after which no offset exists"),
    })
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use strom_protocol::records::{CompressionType, RecordBatchBuilder};

    use super::*;

    fn batch(base_offset: i64, count: i64, control: bool) -> Bytes {
        let mut builder = RecordBatchBuilder::new(CompressionType::Lz4)
            .with_base_offset(base_offset)
            .with_control(control);
        for i in 0..count {
            let value = format!("v{}", base_offset + i);
            builder
                .append(0, None, Some(value.as_bytes()), &[])
                .unwrap();
        }
        builder.build().unwrap()
    }

    fn fetched(fetch_offset: i64, parts: &[Bytes]) -> CompletedFetch {
        let mut bytes = BytesMut::new();
        for part in parts {
            bytes.extend_from_slice(part);
        }
        CompletedFetch::new(
            TopicPartition::new("t", 0),
            fetch_offset,
            bytes.freeze(),
            true,
        )
    }

    #[test]
    fn takes_only_as_many_records_as_asked_and_resumes_where_it_stopped() {
        let mut fetch = fetched(0, &[batch(0, 5, false), batch(5, 5, false)]);
        let mut out = Vec::new();
        fetch.take(3, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(fetch.next_offset, 3);
        assert!(fetch.has_more());
        fetch.take(100, &mut out).unwrap();
        let offsets: Vec<i64> = out.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (0..10).collect::<Vec<_>>());
        assert_eq!(out[7].value.as_deref(), Some(&b"v7"[..]));
        assert!(!fetch.has_more());
        assert_eq!(fetch.next_offset, 10);
    }

    #[test]
    fn skips_records_before_the_fetch_offset_and_control_batches() {
        let mut fetch = fetched(
            3,
            &[batch(0, 5, false), batch(5, 1, true), batch(6, 2, false)],
        );
        let mut out = Vec::new();
        fetch.take(100, &mut out).unwrap();
        let offsets: Vec<i64> = out.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![3, 4, 6, 7]);
        assert_eq!(fetch.next_offset, 8);
    }

    #[test]
    fn a_trailing_control_batch_moves_the_position_without_records() {
        let mut fetch = fetched(0, &[batch(0, 2, false), batch(2, 1, true)]);
        let mut out = Vec::new();
        fetch.take(2, &mut out).unwrap();
        assert_eq!(fetch.next_offset, 2);
        assert!(!fetch.has_more());
        assert_eq!(fetch.next_offset, 3);
    }

    #[test]
    fn a_corrupt_batch_is_an_error_after_the_records_before_it() {
        let mut corrupt = BytesMut::from(&batch(2, 2, false)[..]);
        // A size field below any batch's minimum cannot be framed.
        corrupt[8..12].copy_from_slice(&1i32.to_be_bytes());
        let mut fetch = fetched(0, &[batch(0, 2, false), corrupt.freeze()]);
        let mut out = Vec::new();
        fetch.take(2, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(fetch.has_more());
        assert!(fetch.take(1, &mut out).is_err());
        assert_eq!(fetch.next_offset, 2);
    }
}
