//! Records waiting to be sent, grouped into one queue of batches per
//! partition, and the partitioner that picks each record's partition.
//!
//! Partitioning follows the `partitioner` setting (`partitioner.rs`); by
//! default the Java client's: a keyed record goes to
//! `murmur2(key) % partitions`; an unkeyed one to the topic's sticky
//! partition, which changes when that partition's batch is sent or full.
//! Records for a topic whose partition count is not known yet wait, in
//! order, until the sender has fetched the topic's metadata.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use strom_protocol::records::{CompressionType, RecordBatchBuilder};
use tokio::time::{Duration, Instant};

use super::memory::record_size_upper_bound;
use super::partition::{Batch, PartitionQueue, Pending};
use super::partitioner::Partitioner;
use super::record::SendRecord;
use super::settle::records_of;
use super::ProducerRecord;
use crate::cluster::Cluster;
use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::topic_partition::PartitionKey;
use crate::TopicPartition;

/// A record that cannot be queued, with its reply so the caller can
/// resolve it (and count it as settled), and the record to hand back.
pub(crate) type Rejected = (Pending, Box<ProducerRecord>, ClientError);

pub(crate) struct Accumulator {
    pub partitions: HashMap<TopicPartition, PartitionQueue>,
    /// Records of topics whose metadata is being fetched, in send order,
    /// with when each was sent (they expire after delivery.timeout.ms).
    pub waiting: HashMap<String, Vec<(ProducerRecord, Pending, Instant)>>,
    sticky: HashMap<String, i32>,
    /// Flushes running (from any clone): while any is, batches go out
    /// without lingering.
    pub flushes: usize,
    pub closed: bool,
    compression: CompressionType,
    /// The `partitioner` setting: how a record's partition is picked.
    partitioner: Partitioner,
    pub batch_size: usize,
    /// batch.num.messages: no batch holds more records.
    batch_max_records: usize,
    /// No batch grows past max.request.size.
    max_request_size: usize,
    pub linger: Duration,
    /// Producer id and epoch from InitProducerId (idempotence).
    pub identity: Option<(i64, i16)>,
    /// A partition found a gap in its sequences: bump the epoch before the
    /// next drain.
    pub epoch_bump_requested: bool,
    /// Produce requests in flight per leader (at most
    /// max.in.flight.requests.per.connection).
    pub leader_requests: HashMap<i32, usize>,
}

impl Accumulator {
    pub fn new(config: &ClientConfig) -> Accumulator {
        Accumulator {
            partitions: HashMap::new(),
            waiting: HashMap::new(),
            sticky: HashMap::new(),
            flushes: 0,
            closed: false,
            compression: config.compression,
            partitioner: config.partitioner,
            batch_size: config.batch_size,
            batch_max_records: config.batch_max_records,
            max_request_size: config.max_request_size,
            linger: config.linger,
            identity: None,
            epoch_bump_requested: false,
            leader_requests: HashMap::new(),
        }
    }

    /// Queues a record. Returns whether the sender should wake now (a batch
    /// is full or metadata is needed), or the record's reply and error.
    pub fn append(
        &mut self,
        cluster: &Cluster,
        record: impl SendRecord,
        pending: Pending,
    ) -> std::result::Result<bool, Rejected> {
        if self.closed {
            return Err(rejected(
                pending,
                record,
                ClientError::Closed { what: "producer" },
            ));
        }
        if record.topic().is_empty() {
            let error = ClientError::InvalidArgument("a record needs a topic".into());
            return Err(rejected(pending, record, error));
        }
        let known = cluster.cached_partition_count(record.topic());
        let count = match known {
            // Records of a topic still waiting stay behind those, in order.
            Some(count)
                if self.waiting.is_empty() || !self.waiting.contains_key(record.topic()) =>
            {
                count
            }
            _ => {
                let record = record.into_owned();
                self.waiting.entry(record.topic.clone()).or_default().push((
                    record,
                    pending,
                    Instant::now(),
                ));
                return Ok(true);
            }
        };
        self.place(record, pending, count)
    }

    /// Appends a record to its partition's open batch once the partition
    /// count is known. Returns whether the sender should wake now, or the
    /// record's reply and error when it cannot be sent at all.
    pub fn place(
        &mut self,
        record: impl SendRecord,
        pending: Pending,
        partition_count: i32,
    ) -> std::result::Result<bool, Rejected> {
        let topic = record.topic();
        let partition = match (record.partition(), record.key()) {
            (Some(partition), _) if (0..partition_count).contains(&partition) => partition,
            (Some(partition), _) => {
                let error = ClientError::UnknownPartition {
                    topic: topic.to_string(),
                    partition,
                    partitions: partition_count,
                };
                return Err(rejected(pending, record, error));
            }
            (None, key) => match self.partitioner.partition(key, partition_count) {
                Some(partition) => partition,
                // Looked up before inserting: no topic name is copied per record.
                None => match self.sticky.get(topic) {
                    Some(partition) => *partition,
                    None => {
                        let partition = rand::thread_rng().gen_range(0..partition_count.max(1));
                        self.sticky.insert(topic.to_string(), partition);
                        partition
                    }
                },
            },
        };
        // Found by borrowed parts; a key is built once per partition, not
        // per record.
        let key = (topic, partition);
        if !self.partitions.contains_key(&key as &dyn PartitionKey) {
            self.partitions.insert(
                TopicPartition::new(topic, partition),
                PartitionQueue::default(),
            );
        }
        let Some(queue) = self.partitions.get_mut(&key as &dyn PartitionKey) else {
            let error = ClientError::InvalidArgument(format!(
                "no queue for `{topic}` partition {partition}; please report this client bug"
            ));
            return Err(rejected(pending, record, error));
        };
        let timestamp = record.timestamp().unwrap_or_else(now_ms);
        // No allocation for a record without headers (the common case).
        let headers: Vec<(&[u8], Option<&[u8]>)> = if record.header_count() == 0 {
            Vec::new()
        } else {
            record.headers().collect()
        };
        let size = record_size_upper_bound(&record);
        let limit = self.batch_size.min(self.max_request_size);
        // Only the last batch is open: earlier ones may be retries, and a
        // batch never grows past batch.size, batch.num.messages or
        // max.request.size (a record bigger than batch.size gets a batch of
        // its own).
        let needs_new = match queue.batches.back() {
            None => true,
            Some(last) => {
                last.order.is_some()
                    || last.builder.uncompressed_size() + size > limit
                    || last.records.len() >= self.batch_max_records
            }
        };
        if needs_new {
            queue.batches.push_back(Batch::new(
                RecordBatchBuilder::new(self.compression),
                Instant::now(),
            ));
        }
        let Some(batch) = queue.batches.back_mut() else {
            return Ok(false);
        };
        let appended = batch
            .builder
            .append(timestamp, record.key(), record.value(), &headers);
        drop(headers);
        if let Err(error) = appended {
            return Err(rejected(pending, record, error.into()));
        }
        let payload = record.key().map_or(0, <[u8]>::len) + record.value().map_or(0, <[u8]>::len);
        batch.payload_bytes += payload as u64;
        batch.records.push((pending, timestamp));
        let full = batch.builder.uncompressed_size() >= self.batch_size
            || batch.records.len() >= self.batch_max_records;
        let wake = full || queue.batches.len() > 1;
        queue.msgs += 1;
        if full && record.key().is_none() && record.partition().is_none() {
            self.rotate_sticky(record.topic(), partition);
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

    /// Removes every queued (not in-flight) record with the record itself,
    /// for failing them.
    pub fn take_all(&mut self) -> Vec<(Pending, Option<Box<ProducerRecord>>)> {
        let mut taken = Vec::new();
        for (tp, queue) in self.partitions.iter_mut() {
            for batch in queue.batches.drain(..) {
                let records = records_of(tp, &batch);
                let pending = batch.records.into_iter().map(|(pending, _)| pending);
                taken.extend(pending.zip(records));
            }
        }
        for (_, records) in self.waiting.drain() {
            taken.extend(
                records
                    .into_iter()
                    .map(|(record, pending, _)| (pending, Some(Box::new(record)))),
            );
        }
        taken
    }

    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty()
            && self
                .partitions
                .values()
                .all(|q| q.batches.is_empty() && q.in_flight == 0)
    }
}

/// A refused record with its reply, owned again to be handed back.
fn rejected(pending: Pending, record: impl SendRecord, error: ClientError) -> Rejected {
    (pending, Box::new(record.into_owned()), error)
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::settle::Reply;
    use crate::RecordRef;

    fn pending() -> Pending {
        Pending {
            reply: Reply::Discard,
            reserved: 0,
        }
    }

    #[test]
    fn a_batch_closes_at_batch_num_messages() {
        let config = ClientConfig::from_pairs([("batch.num.messages", "3")]).unwrap();
        let mut accumulator = Accumulator::new(&config);
        let record = RecordRef {
            topic: "t",
            partition: Some(0),
            value: Some(b"v"),
            ..RecordRef::default()
        };
        let wakes: Vec<bool> = (0..7)
            .map(|_| {
                let placed = accumulator.place(record, pending(), 1);
                placed.unwrap_or_else(|_| panic!("the record was refused"))
            })
            .collect();
        let queue = &accumulator.partitions[&TopicPartition::new("t", 0)];
        let counts: Vec<usize> = queue.batches.iter().map(|b| b.records.len()).collect();
        assert_eq!(counts, [3, 3, 1]);
        // The third record fills the first batch: the sender is woken.
        assert!(wakes[2]);
    }
}
