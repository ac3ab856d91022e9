//! Log compaction (`cleanup.policy=compact`): [`Log::compact`] runs one
//! cleaning pass, as Kafka's `LogCleaner` does for one log.
//!
//! A pass: decide under the log lock whether the log is dirty enough
//! (`plan`); build the key → latest offset map over the dirty part
//! (`offset_map`); rewrite every segment up to the end of the map into
//! `.cleaned` files, keeping the latest record of each key (`filter`,
//! `encode`); then swap the rewritten segments in (`swap`). Only the swap
//! holds the log lock, for a few renames per segment; reads that started
//! on an old segment finish on its open file, which stays readable after
//! it is replaced.

mod encode;
mod filter;
mod offset_map;
mod plan;
mod swap;

use std::path::Path;
use std::sync::{Arc, MutexGuard, PoisonError};

use strom_protocol::records::BatchHeader;

use self::filter::{filter_batch, Cleaned, FilterRules};
use self::offset_map::{for_each_batch, SourceSegment};
use self::plan::{CleaningPlan, Plan};
pub(crate) use self::swap::{finish_interrupted_swap, CleanerCheckpoint};
use crate::batch_scan::BatchInfo;
use crate::checkpoint::{fsync_dir, remove_if_exists};
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::log::Log;
use crate::segment::{remove_files, Segment};

/// What one call to [`Log::compact`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactionOutcome {
    /// A pass ran and its result is in place.
    pub cleaned: bool,
    /// Dirty bytes / (clean + dirty bytes) of the cleanable log when the
    /// call started.
    pub dirty_ratio: f64,
    /// The log changed under the pass (its segments were deleted or
    /// truncated meanwhile): nothing was swapped in.
    pub aborted: bool,
    /// Segments whose files were replaced.
    pub segments_rewritten: usize,
    /// Size of the replaced segments before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Records dropped because a later record has the same key (or none).
    pub records_removed: u64,
    /// Tombstones dropped because their delete horizon passed.
    pub tombstones_removed: u64,
    /// Offset below which the log is now clean (the cleaner checkpoint).
    pub clean_offset: i64,
}

impl CompactionOutcome {
    fn skipped(dirty_ratio: f64, clean_offset: i64) -> Self {
        CompactionOutcome {
            cleaned: false,
            dirty_ratio,
            aborted: false,
            segments_rewritten: 0,
            bytes_before: 0,
            bytes_after: 0,
            records_removed: 0,
            tombstones_removed: 0,
            clean_offset,
        }
    }
}

/// A rewritten segment waiting to be swapped in, and what it replaces.
struct Rewritten {
    source: SourceSegment,
    segment: Segment,
}

/// Totals of one pass.
#[derive(Default)]
struct PassTotals {
    records_removed: u64,
    tombstones_removed: u64,
    earliest_delete_horizon: Option<i64>,
}

fn append_batch(segment: &mut Segment, bytes: &[u8], interval: u64, path: &Path) -> Result<()> {
    let header = BatchHeader::parse(bytes).map_err(|e| StorageError::CorruptLog {
        path: path.to_path_buf(),
        position: segment.size,
        reason: e.to_string(),
    })?;
    let size = u32::try_from(bytes.len()).map_err(|_| StorageError::CorruptLog {
        path: path.to_path_buf(),
        position: segment.size,
        reason: "batch larger than 4 GiB".to_string(),
    })?;
    let info = BatchInfo::from_header(&header, 0, size);
    segment.append(bytes, &[info], interval)
}

fn remove_segment_files(segment: &Segment) -> Result<()> {
    for path in segment.file_paths() {
        remove_if_exists(path)?;
    }
    Ok(())
}

/// Writes the cleaned copy of `source`. `None` when cleaning changes
/// nothing in it (the copy is deleted and the segment stays as it is).
fn clean_segment(
    dir: &Path,
    config: &LogConfig,
    rules: &FilterRules<'_>,
    source: &SourceSegment,
    totals: &mut PassTotals,
) -> Result<Option<Segment>> {
    let mut out = Segment::create_named(dir, source.base_offset, config, swap::CLEANED)?;
    out.gaps_allowed = true;
    let interval = config.index_interval_bytes;
    let mut changed = false;
    let written = for_each_batch(source, |stored| {
        let filtered = filter_batch(rules, source, &stored)?;
        totals.records_removed += filtered.records_removed;
        totals.tombstones_removed += filtered.tombstones_removed;
        if let Some(h) = filtered.delete_horizon {
            let earliest = totals.earliest_delete_horizon.get_or_insert(h);
            *earliest = (*earliest).min(h);
        }
        match filtered.cleaned {
            Cleaned::Original => append_batch(&mut out, &stored.bytes, interval, &source.path),
            Cleaned::Rebuilt(bytes) => {
                changed = true;
                append_batch(&mut out, &bytes, interval, &source.path)
            }
            Cleaned::Dropped => {
                changed = true;
                Ok(())
            }
        }
    });
    if let Err(e) = written {
        remove_segment_files(&out)?;
        return Err(e);
    }
    if !changed {
        remove_segment_files(&out)?;
        return Ok(None);
    }
    out.seal_indexes()?;
    for (path, file) in out.take_sync_handles() {
        file.sync_all()
            .map_err(|e| StorageError::io("fsync cleaned segment", &path, e))?;
    }
    Ok(Some(out))
}

impl Log {
    fn lock_cleaner(&self) -> MutexGuard<'_, ()> {
        self.cleaner_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Offset below which the log has been cleaned (the cleaner checkpoint).
    pub fn clean_offset(&self) -> i64 {
        self.lock().clean_offset
    }

    /// Runs one cleaning pass if the policy includes `compact` and the log
    /// is dirty enough (see the crate docs for the rules and guarantees).
    /// `now_ms` is the wall clock, for the compaction lags and tombstone
    /// horizons. Appends and reads go on while the pass runs; one pass at
    /// a time runs per log.
    pub fn compact(&self, now_ms: i64) -> Result<CompactionOutcome> {
        let _pass = self.lock_cleaner();
        let (decision, clean_offset) = {
            let state = self.lock();
            self.ensure_writable(&state)?;
            (plan::plan(&state, now_ms), state.clean_offset)
        };
        let plan = match decision {
            Plan::Skip { dirty_ratio } => {
                return Ok(CompactionOutcome::skipped(dirty_ratio, clean_offset))
            }
            Plan::Clean(plan) => plan,
        };
        swap::discard_leftovers(&self.dir)?;
        let (map, clean_end) = if plan.first_dirty < plan.sources.len() {
            offset_map::build(&plan.sources[plan.first_dirty..])?
        } else {
            let end = plan.sources.last().map_or(clean_offset, |s| s.end_offset);
            (offset_map::OffsetMap::default(), end)
        };
        let rules = FilterRules {
            dir: &self.dir,
            map: &map,
            now_ms,
            delete_retention_ms: plan.config.delete_retention_ms,
            producer_batches: &plan.producer_batches,
        };
        let mut totals = PassTotals::default();
        let mut rewritten = Vec::new();
        for source in plan.sources.iter().filter(|s| s.end_offset <= clean_end) {
            let cleaned = clean_segment(&self.dir, &plan.config, &rules, source, &mut totals);
            match cleaned {
                Ok(Some(segment)) => rewritten.push(Rewritten {
                    source: source.clone(),
                    segment,
                }),
                Ok(None) => {}
                Err(e) => {
                    swap::discard_leftovers(&self.dir)?;
                    return Err(e);
                }
            }
        }
        self.finish_pass(&plan, rewritten, clean_end, totals)
    }

    fn finish_pass(
        &self,
        plan: &CleaningPlan,
        rewritten: Vec<Rewritten>,
        clean_end: i64,
        totals: PassTotals,
    ) -> Result<CompactionOutcome> {
        let bytes_before = rewritten.iter().map(|r| r.source.size).sum();
        let bytes_after = rewritten.iter().map(|r| r.segment.size).sum();
        let segments_rewritten = rewritten.len();
        let checkpoint = CleanerCheckpoint {
            clean_offset: clean_end,
            earliest_delete_horizon: totals.earliest_delete_horizon,
        };
        let swapped = self.swap_in(rewritten, checkpoint)?;
        Ok(CompactionOutcome {
            cleaned: swapped,
            dirty_ratio: plan.dirty_ratio,
            aborted: !swapped,
            segments_rewritten: if swapped { segments_rewritten } else { 0 },
            bytes_before: if swapped { bytes_before } else { 0 },
            bytes_after: if swapped { bytes_after } else { 0 },
            records_removed: if swapped { totals.records_removed } else { 0 },
            tombstones_removed: if swapped {
                totals.tombstones_removed
            } else {
                0
            },
            clean_offset: self.clean_offset(),
        })
    }

    /// Replaces the source segments with their cleaned copies (module docs
    /// of `swap` for the crash-safe order). Holding the checkpoint lock
    /// keeps retention, truncation and close out until the swap is done;
    /// appends only wait for the renames. Returns false, with nothing
    /// changed, when a source segment is no longer the log's.
    fn swap_in(
        &self,
        mut rewritten: Vec<Rewritten>,
        checkpoint: CleanerCheckpoint,
    ) -> Result<bool> {
        let _files = self.lock_checkpoints();
        let still_current = {
            let state = self.lock();
            !state.closed
                && rewritten.iter().all(|r| {
                    state.sealed.get(&r.source.base_offset).is_some_and(|s| {
                        Arc::ptr_eq(&s.log_file(), &r.source.file) && s.size == r.source.size
                    })
                })
                && checkpoint.clean_offset <= state.active.base_offset
        };
        if !still_current {
            drop(rewritten);
            swap::discard_leftovers(&self.dir)?;
            return Ok(false);
        }
        checkpoint.write(&self.dir)?;
        for r in &mut rewritten {
            r.segment.rename_files(&self.dir, swap::SWAP)?;
        }
        fsync_dir(&self.dir)?;
        let removed = {
            let mut state = self.lock();
            for r in rewritten {
                let mut segment = r.segment;
                segment.rename_files(&self.dir, "")?;
                state.sealed.insert(segment.base_offset, segment);
            }
            state.clean_offset = checkpoint.clean_offset;
            state.earliest_delete_horizon = checkpoint.earliest_delete_horizon;
            // An empty segment after the first holds nothing: its offsets
            // read through to the next segment just as well without it.
            let first = state.sealed.keys().next().copied();
            let empty: Vec<i64> = state
                .sealed
                .iter()
                .filter(|(base, s)| Some(**base) != first && s.is_empty())
                .map(|(base, _)| *base)
                .collect();
            let mut removed = Vec::new();
            for base in empty {
                if let Some(segment) = state.sealed.remove(&base) {
                    removed.extend(segment.mark_deleted()?);
                }
            }
            removed
        };
        fsync_dir(&self.dir)?;
        remove_files(&removed);
        Ok(true)
    }
}
