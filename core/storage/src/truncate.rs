//! `truncate_to`: dropping the tail of the log, for replication (a follower
//! truncating to the leader's epoch end offset).

use crate::checkpoint::{write_offset, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE};
use crate::compaction::CleanerCheckpoint;
use crate::error::Result;
use crate::log::Log;
use crate::recovery::rebuild_producer_state;
use crate::segment::{remove_files, Segment};

impl Log {
    /// Drops every batch that contains an offset >= `offset`. Truncation is
    /// at batch boundaries: if `offset` falls inside a batch, that whole
    /// batch goes and the new log end offset is its base offset. Leader
    /// epochs starting at or after the new end are dropped, the high
    /// watermark and recovery point are capped, and producer state is
    /// rebuilt from the newest snapshot at or below the new end plus replay.
    /// An offset below the first segment empties the log and restarts it
    /// at `offset`.
    ///
    /// An offset at or past the log end drops no record, but still drops
    /// the leader epochs starting at the log end (Kafka's `truncateTo`
    /// does too): one this broker began as leader and wrote nothing in
    /// before another took over. Left there, it is the follower's latest
    /// epoch, one the new leader never had, and each OffsetForLeaderEpoch
    /// answer sends the follower back to this same end.
    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        let files = self.lock_checkpoints();
        let (removed, new_end, epochs_changed, cleaner) = {
            let mut state = self.lock();
            self.ensure_open(&state)?;
            let end = state.log_end_offset();
            if offset >= end {
                let emptied = state.epochs.truncate_from_end(end);
                drop(state);
                return match emptied {
                    true => self.persist_epochs_holding(&files),
                    false => Ok(()),
                };
            }
            state.tail.clear();
            let mut removed = Vec::new();
            let first_base = state
                .segments()
                .next()
                .map_or(state.active.base_offset, |s| s.base_offset);
            if offset < first_base {
                for segment in state.sealed.values() {
                    removed.extend(segment.mark_deleted()?);
                }
                removed.extend(state.active.mark_deleted()?);
                state.sealed.clear();
                state.active = Segment::create(&self.dir, offset, &state.config)?;
                state.log_start_offset = offset;
            } else {
                while state.active.base_offset > offset {
                    let Some((_, previous)) = state.sealed.pop_last() else {
                        break;
                    };
                    let dropped = std::mem::replace(&mut state.active, previous);
                    removed.extend(dropped.mark_deleted()?);
                }
                let interval = state.config.index_interval_bytes;
                state.active.truncate_to(offset, interval)?;
            }
            let new_end = state.log_end_offset();
            let active_base = state.active.base_offset;
            state.unflushed.retain(|r| r.base_offset < active_base);
            state.log_start_offset = state.log_start_offset.min(new_end);
            state.high_watermark = state.high_watermark.min(new_end);
            state.recovery_point = state.recovery_point.min(new_end);
            let epochs_changed = state.epochs.truncate_from_end(new_end);
            // Offsets past the new end will be new, dirty data.
            let cleaner = (state.clean_offset > new_end).then(|| {
                state.clean_offset = new_end;
                CleanerCheckpoint {
                    clean_offset: new_end,
                    earliest_delete_horizon: state.earliest_delete_horizon,
                }
            });
            rebuild_producer_state(&self.dir, &mut state)?;
            (removed, new_end, epochs_changed, cleaner)
        };
        if let Some(checkpoint) = cleaner {
            checkpoint.write(&self.dir)?;
        }
        self.group_commit.lower_to(new_end);
        remove_files(&removed);
        if epochs_changed {
            self.persist_epochs_holding(&files)?;
        }
        let (point, log_start) = {
            let state = self.lock();
            (state.recovery_point, state.log_start_offset)
        };
        write_offset(&self.dir, LOG_START_OFFSET_FILE, log_start)?;
        write_offset(&self.dir, RECOVERY_POINT_FILE, point)?;
        // Removed gap segments leave the list, so that a segment created
        // later at one of their bases is checked for contiguity again.
        self.persist_gap_segments_holding(&files)
    }
}
