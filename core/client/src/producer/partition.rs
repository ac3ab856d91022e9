//! One partition's queue of batches and its idempotence bookkeeping, after
//! the Java client's `TransactionManager` (non-transactional part):
//!
//! - a batch gets its sequence when it is first drained, and keeps it on
//!   every retry, so the broker recognises a resend of a written batch;
//! - up to max.in.flight.requests.per.connection batches are in flight;
//! - a batch coming back for a retry is put back in send order, ahead of
//!   newer batches; with idempotence it goes out again only once nothing
//!   else of the partition is in flight, so retries reach the broker in
//!   sequence order (later batches answered OUT_OF_ORDER_SEQUENCE_NUMBER
//!   meanwhile are retried behind it);
//! - when the sequence space gets a gap (a batch failed for good, expired,
//!   or the broker lost the producer's state), the partition waits until
//!   nothing is in flight and restarts its sequences at 0 under a bumped
//!   epoch (KIP-360).

use std::collections::VecDeque;

use strom_protocol::records::{add_sequence, RecordBatchBuilder};
use tokio::time::{Duration, Instant};

use super::settle::Reply;

/// A record's reply (future or callback) and the buffer.memory bytes it
/// holds until it is resolved.
pub(crate) struct Pending {
    pub reply: Reply,
    pub reserved: usize,
}

/// Producer id, epoch and base sequence written into a batch's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
}

/// A batch being filled or sent.
pub(crate) struct Batch {
    pub builder: RecordBatchBuilder,
    /// Each record's reply and timestamp, in offset order.
    pub records: Vec<(Pending, i64)>,
    pub created: Instant,
    pub attempts: u32,
    /// Set when the batch is first drained with idempotence; kept across
    /// retries so a resend is recognised as a duplicate.
    pub stamp: Option<Stamp>,
    /// Position in the partition's send order, set when first drained
    /// (the second part orders the pieces of a split batch).
    pub order: Option<(u64, u32)>,
    /// The records' key and value bytes (the statistics' `txbytes`).
    pub payload_bytes: u64,
}

impl Batch {
    pub fn new(builder: RecordBatchBuilder, created: Instant) -> Batch {
        Batch {
            builder,
            records: Vec::new(),
            created,
            attempts: 0,
            stamp: None,
            order: None,
            payload_bytes: 0,
        }
    }

    pub fn record_count(&self) -> i32 {
        self.builder.record_count()
    }
}

/// What a drain round allows for every partition.
pub(crate) struct DrainRules {
    pub now: Instant,
    pub linger: Duration,
    pub batch_size: usize,
    /// A flush or close is on: send whatever is queued.
    pub urgent: bool,
    pub max_in_flight: usize,
    pub idempotent: bool,
}

#[derive(Default)]
pub(crate) struct PartitionQueue {
    /// Unsent batches: retries first (in send order), then new ones.
    pub batches: VecDeque<Batch>,
    pub in_flight: usize,
    pub retry_at: Option<Instant>,
    /// The producer id and epoch this partition's sequences belong to.
    pub identity: Option<(i64, i16)>,
    pub next_sequence: i32,
    /// Order and last sequence of the newest acknowledged batch.
    pub last_acked: Option<((u64, u32), i32)>,
    /// The sequence space has a gap: restart it under a new epoch once
    /// nothing is in flight.
    pub needs_reset: bool,
    next_order: u64,
    /// Records queued here so far (the statistics' `msgs`).
    pub msgs: u64,
    /// Records acknowledged, and their key and value bytes (the
    /// statistics' `txmsgs` and `txbytes`).
    pub txmsgs: u64,
    pub txbytes: u64,
}

impl PartitionQueue {
    /// Whether the front batch may be sent now; if not, when to look again
    /// (`None`: when something else happens, such as a response).
    pub fn front_ready(&self, rules: &DrainRules) -> std::result::Result<(), Option<Instant>> {
        let Some(front) = self.batches.front() else {
            return Err(None);
        };
        if self.in_flight >= rules.max_in_flight {
            return Err(None);
        }
        // A retry overtaking batches still in flight would reach the broker
        // out of sequence: wait for them.
        if rules.idempotent && front.stamp.is_some() && self.in_flight > 0 {
            return Err(None);
        }
        if let Some(at) = self.retry_at.filter(|at| *at > rules.now) {
            return Err(Some(at));
        }
        let due = front.created + rules.linger;
        let ready = self.batches.len() > 1
            || front.attempts > 0
            || front.order.is_some()
            || front.builder.uncompressed_size() >= rules.batch_size
            || rules.urgent
            || due <= rules.now;
        if ready {
            Ok(())
        } else {
            Err(Some(due))
        }
    }

    /// The stamp the front batch gets if sent now under `identity`.
    pub fn front_stamp(&self, identity: (i64, i16)) -> Option<Stamp> {
        let front = self.batches.front()?;
        Some(front.stamp.unwrap_or(Stamp {
            producer_id: identity.0,
            epoch: identity.1,
            base_sequence: self.next_sequence,
        }))
    }

    /// Takes the front batch to send it, stamped with `stamp` when given.
    pub fn take_front(&mut self, stamp: Option<Stamp>) -> Option<Batch> {
        let mut batch = self.batches.pop_front()?;
        if batch.order.is_none() {
            batch.order = Some((self.next_order, 0));
            self.next_order += 1;
        }
        if let (None, Some(stamp)) = (batch.stamp, stamp) {
            self.next_sequence = add_sequence(stamp.base_sequence, batch.record_count());
            batch.stamp = Some(stamp);
        }
        self.in_flight += 1;
        self.retry_at = None;
        Some(batch)
    }

    /// A sent batch came back (delivered or failed).
    pub fn returned(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Puts a batch back to send it again, ahead of every batch sent after
    /// it and of every batch never sent.
    pub fn requeue(&mut self, batch: Batch, retry_at: Instant) {
        let position = self
            .batches
            .iter()
            .position(|queued| match (queued.order, batch.order) {
                (Some(queued), Some(own)) => queued > own,
                _ => true,
            })
            .unwrap_or(self.batches.len());
        self.batches.insert(position, batch);
        self.retry_at = Some(self.retry_at.map_or(retry_at, |at| at.max(retry_at)));
    }

    /// Records an acknowledged batch.
    pub fn acked(&mut self, batch: &Batch) {
        self.txmsgs += batch.records.len() as u64;
        self.txbytes += batch.payload_bytes;
        let (Some(stamp), Some(order)) = (batch.stamp, batch.order) else {
            return;
        };
        if self.identity != Some((stamp.producer_id, stamp.epoch)) {
            return;
        }
        let last = add_sequence(stamp.base_sequence, batch.record_count() - 1);
        if self.last_acked.is_none_or(|(acked, _)| acked < order) {
            self.last_acked = Some((order, last));
        }
    }

    /// The sequence the broker expects next if every batch up to the last
    /// acknowledged one is in the log.
    pub fn expected_sequence(&self) -> i32 {
        self.last_acked.map_or(0, |(_, last)| add_sequence(last, 1))
    }

    /// Whether the partition must restart its sequences before sending:
    /// after a gap, or once the producer's epoch moved on.
    pub fn must_restart(&self, identity: (i64, i16)) -> bool {
        self.needs_reset || self.identity != Some(identity)
    }

    /// Restarts sequences at 0 under `identity` (nothing may be in flight):
    /// the queued retries are renumbered in order, as Java's
    /// `startSequencesAtBeginning` does.
    pub fn restart_sequences(&mut self, identity: (i64, i16)) {
        let mut next = 0;
        for batch in self.batches.iter_mut() {
            if let Some(stamp) = &mut batch.stamp {
                *stamp = Stamp {
                    producer_id: identity.0,
                    epoch: identity.1,
                    base_sequence: next,
                };
                next = add_sequence(next, batch.builder.record_count());
            }
        }
        self.identity = Some(identity);
        self.next_sequence = next;
        self.last_acked = None;
        self.needs_reset = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strom_protocol::records::CompressionType;

    fn batch(records: usize) -> Batch {
        let mut builder = RecordBatchBuilder::new(CompressionType::None);
        for _ in 0..records {
            builder.append(0, None, Some(b"v"), &[]).unwrap();
        }
        Batch::new(builder, Instant::now())
    }

    #[test]
    fn retries_go_back_in_send_order_and_restart_renumbers_them() {
        let identity = (7, 0);
        let mut queue = PartitionQueue::default();
        queue.restart_sequences(identity);
        for records in [2, 3, 4] {
            queue.batches.push_back(batch(records));
        }
        let mut sent = Vec::new();
        for _ in 0..3 {
            let stamp = queue.front_stamp(identity);
            sent.push(queue.take_front(stamp).unwrap());
        }
        let bases: Vec<i32> = sent
            .iter()
            .map(|b| b.stamp.unwrap().base_sequence)
            .collect();
        assert_eq!(bases, vec![0, 2, 5]);
        queue.batches.push_back(batch(1)); // never sent
        let now = Instant::now();
        let third = sent.pop().unwrap();
        let second = sent.pop().unwrap();
        queue.requeue(third, now);
        queue.requeue(second, now);
        let bases: Vec<Option<i32>> = queue
            .batches
            .iter()
            .map(|b| b.stamp.map(|s| s.base_sequence))
            .collect();
        assert_eq!(bases, vec![Some(2), Some(5), None]);
        queue.acked(&sent[0]);
        assert_eq!(queue.expected_sequence(), 2);
        queue.in_flight = 0;
        queue.restart_sequences((7, 1));
        let bases: Vec<Option<i32>> = queue
            .batches
            .iter()
            .map(|b| b.stamp.map(|s| s.base_sequence))
            .collect();
        assert_eq!(bases, vec![Some(0), Some(3), None]);
        assert_eq!(queue.next_sequence, 7);
        assert_eq!(queue.expected_sequence(), 0);
    }
}
