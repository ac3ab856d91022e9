//! Records waiting to be sent, grouped into one queue of batches per
//! partition, and the partitioner that picks each record's partition.
//!
//! Partitioning follows the Java client: a keyed record goes to
//! `murmur2(key) % partitions`; an unkeyed one to the topic's sticky
//! partition, which changes when that partition's batch is sent or full.
//! Records for a topic whose partition count is not known yet wait, in
//! order, until the sender has fetched the topic's metadata.

use std::collections::{HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use strom_protocol::murmur2::partition_for_key;
use strom_protocol::records::{CompressionType, RecordBatchBuilder};
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use super::{ProducerRecord, RecordMetadata};
use crate::cluster::Cluster;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};

pub(crate) type Reply = oneshot::Sender<Result<RecordMetadata>>;
pub(crate) type TopicPartition = (String, i32);
/// A record that cannot be queued, with its reply channel so the caller
/// can resolve it (and count it as settled).
pub(crate) type Rejected = (Reply, ClientError);

/// A batch being filled or sent.
pub(crate) struct Batch {
    pub builder: RecordBatchBuilder,
    /// Each record's reply channel and timestamp, in offset order.
    pub replies: Vec<(Reply, i64)>,
    pub created: Instant,
    pub attempts: u32,
    /// (producer epoch, base sequence) once first sent idempotently; kept
    /// across retries so the broker can spot duplicates.
    pub sequence: Option<(i16, i32)>,
}

/// One partition's queue.
#[derive(Default)]
pub(crate) struct PartitionQueue {
    pub batches: VecDeque<Batch>,
    pub in_flight: bool,
    pub retry_at: Option<Instant>,
    /// Next sequence number, valid for `sequence_epoch`.
    pub next_sequence: i32,
    pub sequence_epoch: i16,
}

pub(crate) struct Accumulator {
    pub partitions: HashMap<TopicPartition, PartitionQueue>,
    /// Records of topics whose metadata is being fetched, in send order,
    /// with when each was sent (they expire after delivery.timeout.ms).
    pub waiting: HashMap<String, Vec<(ProducerRecord, Reply, Instant)>>,
    sticky: HashMap<String, i32>,
    pub flushing: bool,
    pub closed: bool,
    compression: CompressionType,
    batch_size: usize,
    pub linger: Duration,
    /// Producer id and epoch from InitProducerId (idempotence).
    pub identity: Option<(i64, i16)>,
}

impl Accumulator {
    pub fn new(config: &ClientConfig) -> Accumulator {
        Accumulator {
            partitions: HashMap::new(),
            waiting: HashMap::new(),
            sticky: HashMap::new(),
            flushing: false,
            closed: false,
            compression: config.compression,
            batch_size: config.batch_size,
            linger: config.linger,
            identity: None,
        }
    }

    /// Queues a record. Returns whether the sender should wake now (a batch
    /// is full or metadata is needed).
    pub fn append(
        &mut self,
        cluster: &Cluster,
        record: ProducerRecord,
        reply: Reply,
    ) -> Result<bool> {
        if self.closed {
            return Err(ClientError::Closed { what: "producer" });
        }
        if record.topic.is_empty() {
            return Err(ClientError::InvalidArgument(
                "a record needs a topic".into(),
            ));
        }
        let count = match cluster.cached_partition_count(&record.topic) {
            Some(count) if !self.waiting.contains_key(&record.topic) => count,
            _ => {
                self.waiting.entry(record.topic.clone()).or_default().push((
                    record,
                    reply,
                    Instant::now(),
                ));
                return Ok(true);
            }
        };
        // The record is not counted as outstanding yet: its error goes
        // straight to the caller's future.
        self.place(record, reply, count).map_err(|(_, error)| error)
    }

    /// Appends a record to its partition's open batch once the partition
    /// count is known. Returns whether the sender should wake now, or the
    /// record's reply and error when it cannot be sent at all.
    pub fn place(
        &mut self,
        record: ProducerRecord,
        reply: Reply,
        partition_count: i32,
    ) -> std::result::Result<bool, Rejected> {
        let partition = match (record.partition, &record.key) {
            (Some(partition), _) if (0..partition_count).contains(&partition) => partition,
            (Some(partition), _) => {
                let error = ClientError::InvalidArgument(format!(
                    "topic `{}` has {partition_count} partitions (0..{partition_count}); partition {partition} does not exist",
                    record.topic
                ));
                return Err((reply, error));
            }
            (None, Some(key)) => partition_for_key(key, partition_count).unwrap_or(0),
            (None, None) => *self
                .sticky
                .entry(record.topic.clone())
                .or_insert_with(|| rand::thread_rng().gen_range(0..partition_count.max(1))),
        };
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let headers: Vec<(&[u8], Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_deref()))
            .collect();
        let queue = self
            .partitions
            .entry((record.topic.clone(), partition))
            .or_default();
        let needs_new = match queue.batches.back() {
            None => true,
            Some(last) => {
                last.sequence.is_some()
                    || last.builder.uncompressed_size() + estimated_size(&record) > self.batch_size
            }
        };
        if needs_new {
            queue.batches.push_back(Batch {
                builder: RecordBatchBuilder::new(self.compression),
                replies: Vec::new(),
                created: Instant::now(),
                attempts: 0,
                sequence: None,
            });
        }
        let Some(batch) = queue.batches.back_mut() else {
            return Ok(false);
        };
        if let Err(error) = batch.builder.append(
            timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            &headers,
        ) {
            return Err((reply, error.into()));
        }
        batch.replies.push((reply, timestamp));
        let full = batch.builder.uncompressed_size() >= self.batch_size;
        let wake = full || queue.batches.len() > 1;
        if full && record.key.is_none() && record.partition.is_none() {
            self.rotate_sticky(&record.topic, partition);
        }
        Ok(wake)
    }

    /// Picks a new sticky partition for `topic` after `partition`'s batch
    /// left or filled up.
    pub fn rotate_sticky(&mut self, topic: &str, partition: i32) {
        if self.sticky.get(topic) == Some(&partition) {
            self.sticky.remove(topic);
        }
    }

    /// Takes every batch that may be sent now: the front batch of each
    /// partition with nothing in flight, when it is full, lingered long
    /// enough, is not the last, or a flush is on. Also returns when the
    /// next batch becomes ready.
    pub fn drain_ready(&mut self, now: Instant) -> (Vec<(TopicPartition, Batch)>, Option<Instant>) {
        let mut ready = Vec::new();
        let mut next_wake: Option<Instant> = None;
        let mut sent_unkeyed = Vec::new();
        for (tp, queue) in &mut self.partitions {
            if queue.in_flight {
                continue;
            }
            let Some(front) = queue.batches.front() else {
                continue;
            };
            let due = if front.attempts > 0 {
                queue.retry_at.unwrap_or(now)
            } else {
                front.created + self.linger
            };
            let ready_now = queue.batches.len() > 1
                || front.builder.uncompressed_size() >= self.batch_size
                || self.flushing
                || self.closed
                || due <= now;
            let retry_wait = queue.retry_at.is_some_and(|at| at > now);
            if ready_now && !retry_wait {
                if let Some(batch) = queue.batches.pop_front() {
                    queue.in_flight = true;
                    queue.retry_at = None;
                    sent_unkeyed.push(tp.clone());
                    ready.push((tp.clone(), batch));
                }
            } else {
                let at = queue.retry_at.filter(|at| *at > now).unwrap_or(due);
                next_wake = Some(next_wake.map_or(at, |w| w.min(at)));
            }
        }
        for (topic, partition) in sent_unkeyed {
            self.rotate_sticky(&topic, partition);
        }
        (ready, next_wake)
    }

    /// Puts a batch back at the front of its partition (to retry it).
    pub fn requeue(&mut self, tp: TopicPartition, batch: Batch, retry_at: Instant) {
        let queue = self.partitions.entry(tp).or_default();
        queue.in_flight = false;
        queue.retry_at = Some(retry_at);
        queue.batches.push_front(batch);
    }

    pub fn finished(&mut self, tp: &TopicPartition) {
        if let Some(queue) = self.partitions.get_mut(tp) {
            queue.in_flight = false;
        }
    }

    /// Removes every queued (not in-flight) record, for failing them.
    pub fn take_all(&mut self) -> Vec<Reply> {
        let mut replies = Vec::new();
        for queue in self.partitions.values_mut() {
            for batch in queue.batches.drain(..) {
                replies.extend(batch.replies.into_iter().map(|(reply, _)| reply));
            }
        }
        for (_, records) in self.waiting.drain() {
            replies.extend(records.into_iter().map(|(_, reply, _)| reply));
        }
        replies
    }

    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty()
            && self
                .partitions
                .values()
                .all(|q| q.batches.is_empty() && !q.in_flight)
    }
}

/// A record's size in a batch, close enough to decide when a batch is full.
fn estimated_size(record: &ProducerRecord) -> usize {
    let headers: usize = record
        .headers
        .iter()
        .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()) + 10)
        .sum();
    21 + record.key.as_ref().map_or(0, |k| k.len())
        + record.value.as_ref().map_or(0, |v| v.len())
        + headers
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
