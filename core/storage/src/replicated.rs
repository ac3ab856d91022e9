//! The follower append (Kafka's `appendAsFollower`): batches fetched from
//! the leader are stored exactly as the leader's log holds them.
//!
//! - Offsets and partition leader epochs are kept, never reassigned: a
//!   replica must be byte-for-byte the leader's log, or fetches from it
//!   after a leader change would disagree with what consumers already saw.
//! - Producer state is updated without checks, as replay on open does it:
//!   the leader already rejected duplicates and sequence gaps, and a
//!   follower that judged again could diverge from it. What it records
//!   lets this replica deduplicate once it becomes leader.
//! - Offsets may jump forward (a compacted leader log has gaps), never go
//!   back: the first batch starts at or past the log end offset, and each
//!   batch after the one before it.
//!
//! # Gap segments
//!
//! A segment that was never cleaned must hold contiguous offsets: that is
//! how opening and reading catch a damaged base offset (the one field
//! outside a batch's CRC). A segment that received a replicated gap is
//! marked (`Segment::gaps_allowed`, as cleaned segments are) and listed in
//! the `gap-segments-checkpoint`, so that opening accepts its gaps, into
//! it from the previous segment too. The checkpoint is written before
//! `append_replicated` returns: the caller acknowledges the leader only
//! after `wait_durable`, so every acknowledged gap is listed on disk. An
//! unacknowledged gap lost in a crash costs only the unacknowledged data
//! after it, which the follower fetches again.

use std::sync::MutexGuard;

use strom_protocol::records::BatchHeader;

use crate::batch_scan::BatchInfo;
use crate::checkpoint::{write_offsets, GAP_SEGMENTS_FILE};
use crate::error::{Result, StorageError};
use crate::log::{check_fits_segment, split_batches, AppendOutcome, Log, LogState};

/// What the locked part of a follower append did.
struct Replicated {
    outcome: AppendOutcome,
    rolled: bool,
    epochs_changed: bool,
    /// The active segment has just been marked as a gap segment.
    marked: bool,
}

/// Splits and checks the bytes of a follower append: framing and magic 2
/// as for [`Log::append`], the CRC of every batch (no produce-request
/// validation ran on a fetch response), and offsets that increase from
/// batch to batch and leave room for a next offset.
fn validate(bytes: &[u8]) -> Result<Vec<BatchInfo>> {
    let batches = split_batches(bytes)?;
    let mut previous: Option<&BatchInfo> = None;
    for batch in &batches {
        let position = batch.position as usize;
        BatchHeader::parse(&bytes[position..])
            .and_then(|header| header.verify_crc())
            .map_err(|e| StorageError::CorruptBatch {
                position,
                reason: e.to_string(),
            })?;
        // Saturated in `BatchInfo`: a last offset at i64::MAX leaves no
        // log end offset after it.
        if batch.last_offset == i64::MAX {
            return Err(StorageError::InvalidAppend {
                reason: format!("offsets from {} overflow", batch.base_offset),
            });
        }
        if let Some(before) = previous.filter(|before| batch.base_offset <= before.last_offset) {
            return Err(StorageError::OffsetOutOfOrder {
                base_offset: batch.base_offset,
                last_offset: batch.last_offset,
                after: before.last_offset,
                reason: "the batch before it in the append ends at or after its start".to_string(),
            });
        }
        previous = Some(batch);
    }
    Ok(batches)
}

impl Log {
    /// Appends batches fetched from the leader as they are: their base
    /// offsets, partition leader epochs and every other byte are kept
    /// (module docs). The first batch must start at or past the log end
    /// offset, and each batch after the end of the one before; gaps are
    /// allowed. Otherwise, or if a batch is malformed or fails its CRC,
    /// nothing is written. The epoch cache gains an entry for each batch
    /// that carries another epoch than its latest and drops newer ones
    /// ([`LeaderEpochCache::follow`](crate::epoch_cache::LeaderEpochCache::follow)), and producer state
    /// mirrors the batches without sequence checks. Segments roll, indexes
    /// and recovery bookkeeping advance as for [`Log::append`]; call
    /// [`Log::wait_durable`] with `last_offset + 1` before telling the
    /// leader. The log end offset becomes the last batch's last offset + 1.
    /// An error after the write (a checkpoint that could not be written)
    /// leaves the batches in the log, as with `append`: fetch on from the
    /// log end offset.
    pub fn append_replicated(&self, batches: &mut [u8]) -> Result<AppendOutcome> {
        let incoming = validate(batches)?;
        let done = {
            let mut state = self.lock();
            self.ensure_writable(&state)?;
            self.append_replicated_locked(&mut state, batches, &incoming)?
        };
        if done.marked {
            self.persist_gap_segments()?;
        }
        self.finish_append(done.rolled, done.epochs_changed)?;
        Ok(done.outcome)
    }

    fn append_replicated_locked(
        &self,
        state: &mut LogState,
        bytes: &[u8],
        incoming: &[BatchInfo],
    ) -> Result<Replicated> {
        let (Some(first), Some(last)) = (incoming.first(), incoming.last()) else {
            return Err(StorageError::InvalidAppend {
                reason: "no record batch to append".to_string(),
            });
        };
        let log_end = state.log_end_offset();
        if first.base_offset < log_end {
            return Err(StorageError::OffsetOutOfOrder {
                base_offset: first.base_offset,
                last_offset: first.last_offset,
                after: log_end - 1,
                reason: format!("the log already holds offsets up to its end, {log_end}"),
            });
        }
        check_fits_segment(first.base_offset, last.last_offset + 1, bytes.len())?;
        // A roll starts the new segment at the first batch, so a gap before
        // it lies between segments; opening accepts that only into a
        // listed segment too.
        let gap = first.base_offset > log_end
            || incoming
                .windows(2)
                .any(|pair| pair[1].base_offset != pair[0].last_offset + 1);
        let rolled = self.write_placed(state, bytes, incoming)?;
        let marked = gap && !state.active.gaps_allowed;
        state.active.gaps_allowed |= gap;
        let mut epochs_changed = false;
        for batch in incoming {
            state.producers.record(batch);
            let (stale, changed) =
                state.note_replicated_epoch(batch.partition_leader_epoch, batch.base_offset);
            epochs_changed |= changed;
            if stale > 0 {
                tracing::warn!(
                    dir = %self.dir.display(),
                    epoch = batch.partition_leader_epoch,
                    base_offset = batch.base_offset,
                    stale,
                    "the leader's records go on in an older epoch than this replica's latest; \
                     dropped the newer epochs, which no record of this log carries"
                );
            }
        }
        Ok(Replicated {
            outcome: AppendOutcome {
                base_offset: first.base_offset,
                last_offset: last.last_offset,
                log_append_time: -1,
                log_start_offset: state.log_start_offset,
                duplicate: false,
            },
            rolled,
            epochs_changed,
            marked,
        })
    }

    /// Rewrites the gap-segments checkpoint if the log's gap segments
    /// changed (a segment marked, split or removed).
    pub(crate) fn persist_gap_segments(&self) -> Result<()> {
        let files = self.lock_checkpoints();
        self.persist_gap_segments_holding(&files)
    }

    /// [`Log::persist_gap_segments`] for callers that hold the checkpoint
    /// lock, which keeps the newest list the last one written.
    pub(crate) fn persist_gap_segments_holding(&self, _files: &MutexGuard<'_, ()>) -> Result<()> {
        let bases = {
            let state = self.lock();
            let bases = state.gap_segment_bases();
            if bases == state.gap_segments_checkpoint {
                return Ok(());
            }
            bases
        };
        write_offsets(&self.dir, GAP_SEGMENTS_FILE, &bases)?;
        self.lock().gap_segments_checkpoint = bases;
        Ok(())
    }
}
