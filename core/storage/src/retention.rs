//! Deleting old data: `retention.ms`, `retention.bytes` and DeleteRecords.
//!
//! As in Kafka, only whole segments are deleted, oldest first, stopping at
//! the first segment that must stay; a segment is only deletable when all
//! of it is below the high watermark (data followers or consumers may still
//! need is never removed). When every segment including the active one is
//! expired, the log first rolls an empty active segment so the old one can
//! go. Segment files are renamed to `*.deleted` under the lock and unlinked
//! after it is released.

use std::path::PathBuf;
use std::sync::MutexGuard;

use crate::checkpoint::{
    list_offset_files, remove_if_exists, write_offset, LOG_START_OFFSET_FILE, SNAPSHOT_SUFFIX,
};
use crate::error::{Result, StorageError};
use crate::log::{Log, LogState};
use crate::segment::{remove_files, NO_TIMESTAMP};

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub deleted_segments: usize,
    pub deleted_bytes: u64,
    pub log_start_offset: i64,
    pub expired_producers: usize,
}

/// Which rules may delete a segment in this pass.
#[derive(Clone, Copy)]
struct Rules {
    /// `Some(now)` to apply `retention.ms` and `retention.bytes`.
    now_ms: Option<i64>,
}

struct Removed {
    files: Vec<PathBuf>,
    segments: usize,
    bytes: u64,
    log_start_changed: bool,
    epochs_changed: bool,
    rolled: bool,
}

fn doomed_segments(state: &LogState, rules: Rules) -> Vec<i64> {
    let config = &state.config;
    let mut remaining: u64 = state.segments().map(|s| s.size).sum();
    let mut doomed = Vec::new();
    // Empty sealed segments (left by compaction) have no timestamp to
    // expire by; they go with the next segment that does expire.
    let mut empty_run = Vec::new();
    for segment in state.segments() {
        let is_active = segment.base_offset == state.active.base_offset;
        let end = state.segment_end_offset(segment.base_offset);
        if (is_active && segment.is_empty()) || end > state.high_watermark {
            break;
        }
        if !is_active && segment.is_empty() && end > state.log_start_offset {
            empty_run.push(segment.base_offset);
            continue;
        }
        let below_start = !is_active && end <= state.log_start_offset;
        let (too_old, too_big) = match rules.now_ms {
            Some(now) => (
                config.retention_ms >= 0
                    && segment.max_timestamp != NO_TIMESTAMP
                    && now.saturating_sub(segment.max_timestamp) > config.retention_ms,
                config.retention_bytes >= 0
                    && remaining - segment.size >= config.retention_bytes as u64,
            ),
            None => (false, false),
        };
        if !(below_start || too_old || too_big) {
            break;
        }
        doomed.append(&mut empty_run);
        doomed.push(segment.base_offset);
        remaining -= segment.size;
    }
    doomed
}

impl Log {
    /// Applies `retention.ms` (against each segment's largest timestamp;
    /// segments without timestamps are kept) and `retention.bytes` when
    /// the cleanup policy includes `delete`, and always the log start
    /// offset and `producer.id.expiration.ms`. The broker calls this
    /// periodically with the current wall-clock time.
    pub fn apply_retention(&self, now_ms: i64) -> Result<RetentionOutcome> {
        let files = self.lock_checkpoints();
        let (removed, expired, log_start) = {
            let mut state = self.lock();
            self.ensure_open(&state)?;
            let delete = state.config.cleanup_policy.delete;
            let removed = self.remove_segments(
                &mut state,
                Rules {
                    now_ms: delete.then_some(now_ms),
                },
            )?;
            let expiration = state.config.producer_id_expiration_ms;
            let expired = state.producers.expire(now_ms, expiration);
            (removed, expired, state.log_start_offset)
        };
        self.finish_removal(&files, &removed, log_start)?;
        Ok(RetentionOutcome {
            deleted_segments: removed.segments,
            deleted_bytes: removed.bytes,
            log_start_offset: log_start,
            expired_producers: expired,
        })
    }

    /// DeleteRecords: moves the log start offset up to `offset` (persisted
    /// before returning) and deletes the segments wholly below it. `offset`
    /// must not exceed the high watermark. Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        let files = self.lock_checkpoints();
        let (removed, log_start) = {
            let mut state = self.lock();
            self.ensure_open(&state)?;
            if offset < 0 || offset > state.high_watermark {
                return Err(StorageError::OffsetOutOfRange {
                    offset,
                    log_start_offset: state.log_start_offset,
                    log_end_offset: state.high_watermark,
                });
            }
            let advanced = offset > state.log_start_offset;
            if advanced {
                state.log_start_offset = offset;
            }
            let mut removed = self.remove_segments(&mut state, Rules { now_ms: None })?;
            removed.log_start_changed |= advanced;
            (removed, state.log_start_offset)
        };
        self.finish_removal(&files, &removed, log_start)?;
        Ok(log_start)
    }

    fn remove_segments(&self, state: &mut LogState, rules: Rules) -> Result<Removed> {
        let doomed = doomed_segments(state, rules);
        let mut removed = Removed {
            files: Vec::new(),
            segments: 0,
            bytes: 0,
            log_start_changed: false,
            epochs_changed: false,
            rolled: false,
        };
        if doomed.is_empty() {
            removed.epochs_changed = state.epochs.truncate_from_start(state.log_start_offset);
            return Ok(removed);
        }
        if doomed.contains(&state.active.base_offset) {
            state.roll(&self.dir)?;
            removed.rolled = true;
        }
        for base in &doomed {
            if let Some(segment) = state.sealed.remove(base) {
                removed.segments += 1;
                removed.bytes += segment.size;
                removed.files.extend(segment.mark_deleted()?);
            }
        }
        state.unflushed.retain(|r| !doomed.contains(&r.base_offset));
        let first_base = state
            .segments()
            .next()
            .map_or(state.active.base_offset, |s| s.base_offset);
        if first_base > state.log_start_offset {
            state.log_start_offset = first_base;
            removed.log_start_changed = true;
        }
        state.recovery_point = state.recovery_point.max(first_base);
        state.high_watermark = state.high_watermark.max(state.log_start_offset);
        removed.epochs_changed = state.epochs.truncate_from_start(state.log_start_offset);
        Ok(removed)
    }

    fn finish_removal(
        &self,
        files: &MutexGuard<'_, ()>,
        removed: &Removed,
        log_start: i64,
    ) -> Result<()> {
        remove_files(&removed.files);
        if removed.rolled {
            self.flush_rolled_holding(files)?;
        }
        if removed.log_start_changed {
            write_offset(&self.dir, LOG_START_OFFSET_FILE, log_start)?;
        }
        if removed.epochs_changed {
            self.persist_epochs_holding(files)?;
        }
        if removed.segments > 0 {
            // Snapshots below the oldest segment can never be replayed from.
            let first_base = self.lock().segments().next().map(|s| s.base_offset);
            if let Some(first_base) = first_base {
                for (offset, path) in list_offset_files(&self.dir, SNAPSHOT_SUFFIX)? {
                    if offset < first_base {
                        remove_if_exists(&path)?;
                    }
                }
            }
        }
        Ok(())
    }
}
