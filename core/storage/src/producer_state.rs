//! Idempotent-producer state of one partition, as Kafka keeps it: per
//! producer id, the current epoch and the metadata of its last five batches,
//! used to detect duplicates and sequence gaps.
//!
//! Rules (Kafka's `ProducerAppendInfo`):
//! - an epoch older than the producer's current one is fenced
//!   ([`StorageError::InvalidProducerEpoch`]);
//! - a newer epoch must start at sequence 0;
//! - with the same epoch, a batch whose first and last sequence equal one of
//!   the last five batches is a duplicate; otherwise its first sequence must
//!   follow the last one (wrapping from `i32::MAX` to 0);
//! - an unknown producer is accepted at any sequence (Kafka 2.5+, KIP-360:
//!   the log cannot tell a new producer from one whose state was expired or
//!   deleted with old segments, so it no longer answers UNKNOWN_PRODUCER_ID).
//!
//! Control batches (transaction markers) are not sequence-checked. State is
//! persisted in `<offset>.snapshot` files (see [`encode_snapshot`]) and
//! rebuilt on open from the newest snapshot plus replay of later batches.

use std::collections::{HashMap, HashSet, VecDeque};

use strom_protocol::records::add_sequence;

use crate::batch_scan::BatchInfo;
use crate::error::{Result, StorageError};

/// How many recent batches per producer are remembered for duplicate detection.
pub const RETAINED_BATCHES: usize = 5;

/// One remembered batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// What the log knows about one producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateEntry {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// Oldest first, at most [`RETAINED_BATCHES`].
    pub batches: VecDeque<BatchMetadata>,
    /// Largest batch timestamp seen, for `producer.id.expiration.ms`.
    pub last_timestamp: i64,
}

impl ProducerStateEntry {
    fn new(producer_id: i64, producer_epoch: i16) -> Self {
        ProducerStateEntry {
            producer_id,
            producer_epoch,
            batches: VecDeque::new(),
            last_timestamp: -1,
        }
    }

    pub fn last_sequence(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_sequence)
    }

    fn record(&mut self, epoch: i16, batch: BatchMetadata) {
        if epoch != self.producer_epoch {
            self.producer_epoch = epoch;
            self.batches.clear();
        }
        if self.batches.len() == RETAINED_BATCHES {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
        self.last_timestamp = self.last_timestamp.max(batch.max_timestamp);
    }
}

/// Result of checking one batch against the producer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceCheck {
    Accept,
    /// Already in the log at these offsets.
    Duplicate(BatchMetadata),
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == next_sequence(last)
}

fn next_sequence(last: i32) -> i32 {
    add_sequence(last, 1)
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ProducerStateManager {
    producers: HashMap<i64, ProducerStateEntry>,
}

impl ProducerStateManager {
    pub fn get(&self, producer_id: i64) -> Option<&ProducerStateEntry> {
        self.producers.get(&producer_id)
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// A copy of the entries of the given producers: the scratch state an
    /// append checks and updates batch by batch before it commits.
    pub fn subset(&self, ids: impl Iterator<Item = i64>) -> Self {
        let mut producers = HashMap::new();
        for id in ids {
            if let Some(entry) = self.producers.get(&id) {
                producers.insert(id, entry.clone());
            }
        }
        ProducerStateManager { producers }
    }

    /// Commits the entries of a scratch state.
    pub fn merge(&mut self, scratch: Self) {
        self.producers.extend(scratch.producers);
    }

    /// Checks `batch` (not yet offset-assigned) for `producer_id >= 0`.
    pub fn check(&self, batch: &BatchInfo) -> Result<SequenceCheck> {
        if batch.producer_id < 0 || batch.is_control {
            return Ok(SequenceCheck::Accept);
        }
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return Ok(SequenceCheck::Accept);
        };
        let epoch = batch.producer_epoch;
        if epoch < entry.producer_epoch {
            return Err(StorageError::InvalidProducerEpoch {
                producer_id: batch.producer_id,
                current: entry.producer_epoch,
                received: epoch,
            });
        }
        if epoch > entry.producer_epoch {
            if batch.base_sequence != 0 {
                return Err(StorageError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    producer_epoch: epoch,
                    expected: 0,
                    received: batch.base_sequence,
                });
            }
            return Ok(SequenceCheck::Accept);
        }
        if let Some(dup) = entry.batches.iter().find(|b| {
            b.first_sequence == batch.base_sequence && b.last_sequence == batch.last_sequence
        }) {
            return Ok(SequenceCheck::Duplicate(*dup));
        }
        match entry.last_sequence() {
            Some(last) if !in_sequence(last, batch.base_sequence) => {
                Err(StorageError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    producer_epoch: epoch,
                    expected: next_sequence(last),
                    received: batch.base_sequence,
                })
            }
            _ => Ok(SequenceCheck::Accept),
        }
    }

    /// Records a batch that is now in the log (offsets assigned). Used both
    /// by appends (after [`check`](Self::check)) and by replay on open.
    pub fn record(&mut self, batch: &BatchInfo) {
        if batch.producer_id < 0 || batch.is_control {
            return;
        }
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(|| ProducerStateEntry::new(batch.producer_id, batch.producer_epoch));
        entry.record(
            batch.producer_epoch,
            BatchMetadata {
                first_sequence: batch.base_sequence,
                last_sequence: batch.last_sequence,
                first_offset: batch.base_offset,
                last_offset: batch.last_offset,
                max_timestamp: batch.max_timestamp,
            },
        );
    }

    /// `(producer id, last offset)` of every remembered batch: the batches
    /// log cleaning must keep (if need be empty) so that rebuilding this
    /// state by replay still finds them.
    pub fn remembered_batches(&self) -> HashSet<(i64, i64)> {
        self.producers
            .values()
            .flat_map(|e| e.batches.iter().map(|b| (e.producer_id, b.last_offset)))
            .collect()
    }

    /// Forgets producers idle since before `now_ms - expiration_ms`.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        let cutoff = now_ms.saturating_sub(expiration_ms);
        self.producers.retain(|_, e| e.last_timestamp >= cutoff);
        before - self.producers.len()
    }
}

const SNAPSHOT_MAGIC: &[u8; 4] = b"STPS";
const SNAPSHOT_VERSION: u16 = 1;
/// magic + version + crc + count
const SNAPSHOT_HEADER: usize = 4 + 2 + 4 + 4;
const ENTRY_FIXED: usize = 8 + 2 + 8 + 1;
const BATCH_LEN: usize = 4 + 4 + 8 + 8 + 8;

/// Snapshot layout (big endian): `"STPS"`, version u16, CRC32C u32 of
/// everything after it, producer count u32, then per producer: id i64,
/// epoch i16, last timestamp i64, batch count u8, and per batch: first
/// sequence i32, last sequence i32, first offset i64, last offset i64,
/// max timestamp i64.
pub(crate) fn encode_snapshot(state: &ProducerStateManager) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(state.producers.len() as u32).to_be_bytes());
    let mut ids: Vec<_> = state.producers.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let Some(e) = state.producers.get(&id) else {
            continue;
        };
        body.extend_from_slice(&e.producer_id.to_be_bytes());
        body.extend_from_slice(&e.producer_epoch.to_be_bytes());
        body.extend_from_slice(&e.last_timestamp.to_be_bytes());
        body.push(e.batches.len() as u8);
        for b in &e.batches {
            body.extend_from_slice(&b.first_sequence.to_be_bytes());
            body.extend_from_slice(&b.last_sequence.to_be_bytes());
            body.extend_from_slice(&b.first_offset.to_be_bytes());
            body.extend_from_slice(&b.last_offset.to_be_bytes());
            body.extend_from_slice(&b.max_timestamp.to_be_bytes());
        }
    }
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER + body.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_at_checked(N)?;
        self.bytes = rest;
        head.try_into().ok()
    }
    fn i64(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take::<4>().map(i32::from_be_bytes)
    }
    fn i16(&mut self) -> Option<i16> {
        self.take::<2>().map(i16::from_be_bytes)
    }
}

/// Parses a snapshot; `None` when it is not one of ours or is corrupt.
pub(crate) fn decode_snapshot(bytes: &[u8]) -> Option<ProducerStateManager> {
    let (magic, rest) = bytes.split_at_checked(4)?;
    if magic != SNAPSHOT_MAGIC {
        return None;
    }
    let mut r = Reader { bytes: rest };
    if u16::from_be_bytes(r.take::<2>()?) != SNAPSHOT_VERSION {
        return None;
    }
    let crc = u32::from_be_bytes(r.take::<4>()?);
    if crc32c::crc32c(r.bytes) != crc {
        return None;
    }
    let count = u32::from_be_bytes(r.take::<4>()?);
    let mut producers = HashMap::new();
    for _ in 0..count {
        if r.bytes.len() < ENTRY_FIXED {
            return None;
        }
        let producer_id = r.i64()?;
        let producer_epoch = r.i16()?;
        let last_timestamp = r.i64()?;
        let n = r.take::<1>()?[0] as usize;
        if n > RETAINED_BATCHES || r.bytes.len() < n * BATCH_LEN {
            return None;
        }
        let mut batches = VecDeque::with_capacity(n);
        for _ in 0..n {
            batches.push_back(BatchMetadata {
                first_sequence: r.i32()?,
                last_sequence: r.i32()?,
                first_offset: r.i64()?,
                last_offset: r.i64()?,
                max_timestamp: r.i64()?,
            });
        }
        producers.insert(
            producer_id,
            ProducerStateEntry {
                producer_id,
                producer_epoch,
                batches,
                last_timestamp,
            },
        );
    }
    if !r.bytes.is_empty() {
        return None;
    }
    Some(ProducerStateManager { producers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pid: i64, epoch: i16, first_seq: i32, count: i32, base_offset: i64) -> BatchInfo {
        BatchInfo {
            position: 0,
            size: 100,
            base_offset,
            last_offset: base_offset + i64::from(count) - 1,
            last_offset_delta: count - 1,
            max_timestamp: 1000,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: first_seq,
            last_sequence: ((i64::from(first_seq) + i64::from(count) - 1)
                % (i64::from(i32::MAX) + 1)) as i32,
            is_control: false,
        }
    }

    #[test]
    fn sequence_wraps_at_i32_max() {
        let mut state = ProducerStateManager::default();
        let first = batch(7, 0, i32::MAX - 1, 2, 0);
        assert_eq!(state.check(&first).unwrap(), SequenceCheck::Accept);
        state.record(&first);
        assert_eq!(
            state.check(&batch(7, 0, 0, 3, 2)).unwrap(),
            SequenceCheck::Accept
        );
        assert!(matches!(
            state.check(&batch(7, 0, 1, 3, 2)),
            Err(StorageError::OutOfOrderSequence {
                expected: 0,
                received: 1,
                ..
            })
        ));
    }

    #[test]
    fn snapshot_round_trip_and_corruption() {
        let mut state = ProducerStateManager::default();
        for i in 0..7 {
            state.record(&batch(1, 3, i * 10, 10, i64::from(i) * 10));
        }
        state.record(&batch(2, 0, 0, 1, 70));
        let bytes = encode_snapshot(&state);
        let back = decode_snapshot(&bytes).unwrap();
        assert_eq!(back.get(1), state.get(1));
        assert_eq!(back.get(1).unwrap().batches.len(), RETAINED_BATCHES);
        assert_eq!(back.get(2), state.get(2));
        for i in 0..bytes.len() {
            let mut broken = bytes.clone();
            broken[i] ^= 0x10;
            assert!(decode_snapshot(&broken).is_none(), "flip at {i} accepted");
        }
        assert!(decode_snapshot(&bytes[..bytes.len() - 1]).is_none());
    }
}
