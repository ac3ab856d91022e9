//! Opening a partition directory: clean load or crash recovery.
//!
//! After a clean close (the `.clean-shutdown` marker is present) segments
//! are loaded from their indexes and only the batches after the last index
//! entry are read. Otherwise every segment holding offsets at or past the
//! recovery point is fully validated batch by batch (framing, magic 2,
//! CRC32C, contiguous offsets, or only increasing ones below the cleaner's
//! clean offset and in the segments of the gap-segments checkpoint, which
//! hold replicated gaps from a compacted leader); the log is cut at the
//! first torn or corrupt batch, later segments are deleted, and the
//! recovered segments' indexes are rebuilt. A missing or inconsistent
//! index is rebuilt in either case.
//! Damage found in a sealed segment below the recovery point is another
//! matter: that data was durable, so it was damaged later (a bad disk, a
//! stray write). Only the damaged batch is lost: the segment is served up
//! to the damage, the intact batches after it are moved to a segment of
//! their own (`resync`), and every later segment is kept.
//! Producer state comes from the newest usable snapshot plus replay.
//! First of all, a cleaner swap that a crash interrupted is finished or
//! rolled back (`compaction::swap`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::batch_scan::{read_header, HeaderRead};
use crate::checkpoint::{
    dir_entries, fsync_dir, is_tmp_file, list_offset_files, parse_offset_file_name, read_offset,
    read_offsets, read_optional, remove_if_exists, write_offset, write_offsets,
    CLEAN_SHUTDOWN_FILE, DELETED_SUFFIX, GAP_SEGMENTS_FILE, HIGH_WATERMARK_FILE,
    LOG_START_OFFSET_FILE, LOG_SUFFIX, RECOVERY_POINT_FILE, SNAPSHOT_SUFFIX,
};
use crate::compaction::{finish_interrupted_swap, CleanerCheckpoint};
use crate::config::{FlushPolicy, LogConfig};
use crate::dir_health::DirHealth;
use crate::epoch_cache::LeaderEpochCache;
use crate::error::{Result, StorageError};
use crate::group_commit::GroupCommit;
use crate::log::{sync_all_data, Log, LogState};
use crate::producer_state::{decode_snapshot, ProducerStateManager};
use crate::resync::split_damaged;
use crate::segment::{remove_files, Segment};
use crate::tail_cache::{TailCache, TailReads};

/// Who makes what [`Log::open_with`] changes in a log's directory
/// durable: a new log's directory (its name in its parent, its first
/// segment's name in it), or an existing log's removed clean-shutdown
/// marker (a crash after the log takes writes must read as unclean).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewLogSync {
    /// The log: one fsync of its directory.
    Own,
    /// The caller, which opens many logs and then makes them all durable
    /// at once with [`DirHealth::sync_new_logs`] before any of them takes
    /// a write (a fsync per directory made a topic of 1,000 partitions take
    /// half a second to create, and a broker of 10,000 seconds to start).
    Shared,
    /// Nobody, for a new directory, as Kafka does: for a log whose appends
    /// are acknowledged from the page cache, whose promise does not cover
    /// an OS crash either. Its first roll or its close makes it durable.
    /// A removed clean-shutdown marker is still synced, as with `Own`:
    /// that one must never come back.
    Deferred,
}

/// Removes leftovers of interrupted operations and index files without a
/// log; returns the base offsets of the segments, ascending.
fn tidy_directory(dir: &Path) -> Result<Vec<i64>> {
    let mut logs = Vec::new();
    let mut indexes: Vec<(i64, PathBuf)> = Vec::new();
    for (name, path) in dir_entries(dir)? {
        if is_tmp_file(&name) || name.ends_with(DELETED_SUFFIX) {
            remove_if_exists(&path)?;
            continue;
        }
        match parse_offset_file_name(&name) {
            Some((base, LOG_SUFFIX)) => logs.push(base),
            Some((base, suffix)) if suffix != SNAPSHOT_SUFFIX => indexes.push((base, path)),
            _ => {}
        }
    }
    logs.sort_unstable();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            remove_if_exists(&path)?;
        }
    }
    Ok(logs)
}

/// What [`load_segments`] needs to know about the directory.
struct Loading<'a> {
    dir: &'a Path,
    config: &'a LogConfig,
    /// `Some(recovery point)` after an unclean stop.
    recover_from: Option<i64>,
    /// The recovery point checkpoint, whatever the stop (after a clean one
    /// it is the log end): offsets below it existed, and are never reused.
    flushed_end: i64,
    /// From the cleaner checkpoint: segments below it may have offset gaps.
    clean_offset: i64,
}

/// Loads (or recovers) the segments in order, stopping at the first
/// corruption or discontinuity and deleting everything after it. Below
/// the clean offset, offsets need only increase (the cleaner removed
/// records, and may have removed empty segments); above it they must be
/// contiguous, across segments too, except into and within the segments
/// in `gap_segments` (replicated gaps). Damage in a durable sealed segment
/// is the exception: the segment is served up to it, the intact batches
/// after it get a segment of their own (`resync`), and loading goes on;
/// those of a gap segment are gap segments too (added to `gap_segments`).
fn load_segments(
    loading: &Loading<'_>,
    bases: &[i64],
    epochs: &mut LeaderEpochCache,
    gap_segments: &mut BTreeSet<i64>,
) -> Result<Vec<Segment>> {
    let (dir, config, recover_from) = (loading.dir, loading.config, loading.recover_from);
    let interval = config.index_interval_bytes;
    // Offsets below the recovery point (all, after a clean stop) were
    // flushed: damage there is not a torn write but a damaged disk or a
    // stray write, and must cost only the damaged batch.
    let durable = |offset: i64| recover_from.is_none_or(|point| offset < point);
    let mut bases = bases.to_vec();
    // Segments just split off a damaged one: every batch is checked.
    let mut split_off: Vec<i64> = Vec::new();
    let mut loaded: Vec<Segment> = Vec::with_capacity(bases.len());
    let mut i = 0;
    while let Some(&base) = bases.get(i) {
        let mut segment = Segment::open(dir, base, config)?;
        let next_base = bases.get(i + 1).copied();
        let needs_recovery =
            recover_from.is_some_and(|point| next_base.is_none_or(|next| next > point));
        if !needs_recovery {
            // Synced before the recovery point passed it (at its roll, or
            // by the clean stop that wrote the marker): an unclean open
            // need not sync it again, a flush per segment that made a
            // crashed broker of many segments slower to restart. Only a
            // cut below makes it need a sync again.
            segment.mark_log_durable();
        }
        segment.gaps_allowed = base < loading.clean_offset || gap_segments.contains(&base);
        // Whether damage is kept or cut off is decided below, once found.
        segment.keep_damaged = true;
        if let Some(previous) = loaded.last() {
            let continues =
                if base <= loading.clean_offset || previous.damaged || segment.gaps_allowed {
                    previous.next_offset <= base
                } else {
                    previous.next_offset == base
                };
            if !continues && previous.next_offset < base && durable(base - 1) {
                tracing::error!(
                    segment = %segment.log_path().display(),
                    "offsets {} to {} are missing before this segment (a damaged disk or a deleted file: they were flushed); every other batch is served",
                    previous.next_offset,
                    base - 1
                );
            } else if !continues {
                tracing::warn!(
                    segment = %segment.log_path().display(),
                    expected = previous.next_offset,
                    "segment does not continue the previous one; deleting it and all later segments"
                );
                remove_files(&segment.mark_deleted()?);
                delete_from(dir, config, &bases[i + 1..])?;
                break;
            }
        }
        let truncation = if needs_recovery {
            segment.recover(true, interval, |batch| {
                let newer = epochs
                    .latest_epoch()
                    .is_none_or(|latest| batch.partition_leader_epoch > latest);
                if newer {
                    epochs.assign(batch.partition_leader_epoch, batch.base_offset);
                }
            })?
        } else if split_off.contains(&base) {
            segment.recover(true, interval, |_| {})?
        } else {
            segment.load(interval)?
        };
        let Some(cut) = truncation else {
            loaded.push(segment);
            i += 1;
            continue;
        };
        if !durable(segment.next_offset) {
            segment.discard_damage()?;
            if cut.unwritten {
                // Routine after any unclean stop in fsync mode: a line per
                // partition at INFO would flood a restart's log.
                tracing::debug!(
                    segment = %segment.log_path().display(),
                    position = cut.position,
                    "cut the zeros written ahead of the appends"
                );
            } else {
                tracing::warn!(
                    segment = %segment.log_path().display(),
                    position = cut.position,
                    reason = %cut.reason,
                    "truncated the log at a torn or corrupt batch"
                );
            }
            loaded.push(segment);
            delete_from(dir, config, &bases[i + 1..])?;
            break;
        }
        // Where this segment's offsets end: the next one's base, or, in
        // the last segment after a clean stop, the log end.
        let offsets_end = next_base.or(recover_from.is_none().then_some(loading.flushed_end));
        let tails = split_damaged(dir, &segment, &cut, offsets_end, &mut bases);
        if segment.gaps_allowed {
            gap_segments.extend(&tails);
        }
        split_off.extend(tails);
        loaded.push(segment);
        i += 1;
    }
    // Nothing is appended after damaged bytes: a new segment takes the
    // appends, after every offset that existed (unless the damaged one
    // holds nothing readable at all).
    if let Some(last) = loaded.last_mut().filter(|s| s.damaged) {
        let next = last.next_offset.max(loading.flushed_end);
        if next == last.base_offset {
            last.discard_damage()?;
        } else {
            loaded.push(Segment::create(dir, next, config)?);
        }
    }
    Ok(loaded)
}

fn delete_from(dir: &Path, config: &LogConfig, bases: &[i64]) -> Result<()> {
    for &base in bases {
        let segment = Segment::open(dir, base, config)?;
        tracing::warn!(segment = %segment.log_path().display(), "deleting segment after the recovered end of the log");
        remove_files(&segment.mark_deleted()?);
    }
    Ok(())
}

/// Restores producer state: the newest decodable snapshot at or below the
/// LEO (newer ones are deleted: they describe data that is gone), then
/// every batch after it.
pub(crate) fn rebuild_producer_state(dir: &Path, state: &mut LogState) -> Result<()> {
    let end = state.log_end_offset();
    let mut restored: Option<(i64, ProducerStateManager)> = None;
    for (offset, path) in list_offset_files(dir, SNAPSHOT_SUFFIX)?.into_iter().rev() {
        if offset > end {
            remove_if_exists(&path)?;
            continue;
        }
        if restored.is_some() {
            continue;
        }
        match read_optional(&path)?.as_deref().and_then(decode_snapshot) {
            Some(producers) => restored = Some((offset, producers)),
            None => {
                tracing::warn!(path = %path.display(), "ignoring corrupt producer snapshot");
                remove_if_exists(&path)?;
            }
        }
    }
    let (from, mut producers) = restored.unwrap_or((i64::MIN, ProducerStateManager::default()));
    for segment in state.segments().filter(|s| s.next_offset > from) {
        let mut position = segment
            .relative(from)
            .and_then(|rel| segment.offset_index.lookup(rel))
            .map_or(0, |e| u64::from(e.position));
        let file = segment.log_file();
        while let HeaderRead::Batch(batch) = read_header(&file, position, segment.size) {
            if batch.base_offset >= from {
                producers.record(&batch);
            }
            position = batch.end_position();
        }
    }
    state.producers = producers;
    Ok(())
}

impl Log {
    /// Opens (creating if needed) the partition log in `dir`.
    pub fn open(dir: impl Into<PathBuf>, config: LogConfig) -> Result<Log> {
        Log::open_in(dir, config, DirHealth::new())
    }

    /// [`Log::open`] for a log in a data directory whose other logs share
    /// `health`: a failed fsync in any of them stops writes in all.
    pub fn open_in(
        dir: impl Into<PathBuf>,
        config: LogConfig,
        health: Arc<DirHealth>,
    ) -> Result<Log> {
        Log::open_with(dir, config, health, NewLogSync::Own)
    }

    /// [`Log::open_in`], with `sync` saying who makes the directory of a
    /// log created here durable.
    pub fn open_with(
        dir: impl Into<PathBuf>,
        config: LogConfig,
        health: Arc<DirHealth>,
        sync: NewLogSync,
    ) -> Result<Log> {
        let dir = dir.into();
        // A log created just now has nothing to recover or checkpoint:
        // its missing checkpoints read as their defaults (which is what
        // they would say) until its first roll, flush or close writes
        // them. One directory fsync (so its first segment's name is as
        // durable as the records appended to it) instead of nine makes a
        // topic of thousands of partitions quick to create.
        let created = !dir.exists();
        fs::create_dir_all(&dir).map_err(|e| StorageError::io("create log directory", &dir, e))?;
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = marker.exists();
        if clean {
            // From now on a crash must be detected as unclean.
            remove_if_exists(&marker)?;
            match sync {
                NewLogSync::Own | NewLogSync::Deferred => fsync_dir(&dir)?,
                NewLogSync::Shared => health.note_unsynced_log(),
            }
        }
        finish_interrupted_swap(&dir)?;
        let bases = tidy_directory(&dir)?;
        let cleaner = CleanerCheckpoint::read(&dir)?;
        let checkpointed_start = read_offset(&dir, LOG_START_OFFSET_FILE)?;
        let checkpointed_recovery = read_offset(&dir, RECOVERY_POINT_FILE).ok().flatten();
        let flushed_end = checkpointed_recovery.unwrap_or(0);
        let mut epochs = LeaderEpochCache::load(&dir)?;
        let checkpointed_epochs = epochs.clone();
        let gap_checkpoint = read_offsets(&dir, GAP_SEGMENTS_FILE)?;
        let mut gap_segments: BTreeSet<i64> = gap_checkpoint.iter().copied().collect();
        let loading = Loading {
            dir: &dir,
            config: &config,
            recover_from: (!clean).then_some(flushed_end),
            flushed_end,
            clean_offset: cleaner.clean_offset,
        };
        let mut segments = load_segments(&loading, &bases, &mut epochs, &mut gap_segments)?;

        let active = match segments.pop() {
            Some(segment) => segment,
            None => Segment::create(&dir, checkpointed_start.unwrap_or(0).max(0), &config)?,
        };
        let mut sealed: BTreeMap<i64, Segment> =
            segments.into_iter().map(|s| (s.base_offset, s)).collect();
        let first_base = sealed.keys().next().copied().unwrap_or(active.base_offset);
        let tail_reads = Arc::new(TailReads::default());
        let mut state = LogState {
            config,
            sealed: BTreeMap::new(),
            active,
            log_start_offset: checkpointed_start.unwrap_or(first_base).max(first_base),
            high_watermark: 0,
            recovery_point: 0,
            producers: ProducerStateManager::default(),
            epochs,
            unflushed: Vec::new(),
            closed: false,
            clean_offset: cleaner.clean_offset,
            earliest_delete_horizon: cleaner.earliest_delete_horizon,
            gap_segments_checkpoint: gap_checkpoint,
            covering_sync_round: health.next_sync_round(),
            tail: TailCache::new(health.clone(), tail_reads.clone()),
            epochs_unsaved: false,
        };
        std::mem::swap(&mut state.sealed, &mut sealed);
        if state.log_start_offset > state.log_end_offset() {
            // Data below the persisted log start was lost in the crash:
            // restart empty at the log start rather than resurrect offsets.
            let mut removed = state.active.mark_deleted()?;
            for segment in state.sealed.values() {
                removed.extend(segment.mark_deleted()?);
            }
            remove_files(&removed);
            state.sealed.clear();
            state.active = Segment::create(&dir, state.log_start_offset, &state.config)?;
        }
        let end = state.log_end_offset();
        let hw = read_offset(&dir, HIGH_WATERMARK_FILE)?.unwrap_or(state.log_start_offset);
        state.high_watermark = hw.min(end).max(state.log_start_offset);
        state.epochs.truncate_from_end(end);
        state.epochs.truncate_from_start(state.log_start_offset);
        rebuild_producer_state(&dir, &mut state)?;

        state.recovery_point = end;
        if !clean && !created {
            // Recovered data came from the page cache at best: it is made
            // durable before it is declared below the recovery point. A
            // page-cache log leaves its active segment to the next roll or
            // close, as it does any write, and its recovery point where
            // the checkpoint had it (Kafka's rule after a crash too), so a
            // second crash checks that segment again: syncing it here
            // wrote out every dirty page of the crashed broker before the
            // restarted one served (1 s for 4 GB).
            let page_cache = state.config.flush == FlushPolicy::PageCache;
            let mut handles: Vec<_> = state
                .sealed
                .values_mut()
                .flat_map(Segment::take_sync_handles)
                .collect();
            if !page_cache {
                handles.extend(state.active.take_sync_handles());
            }
            sync_all_data(&handles).map_err(|(path, e)| StorageError::io("fdatasync", &path, e))?;
            if page_cache {
                state.recovery_point = flushed_end.max(state.active.base_offset).min(end);
            }
        }
        // On a full disk the log still opens, to serve reads: these
        // checkpoints only save work at the next start (an older one makes
        // it recover more), and are written again at the next roll, flush
        // or close.
        // Drops segments that are gone, adds split-off parts of gap ones.
        let gap_bases = state.gap_segment_bases();
        let gaps_written = if gap_bases == state.gap_segments_checkpoint {
            Ok(())
        } else {
            write_offsets(&dir, GAP_SEGMENTS_FILE, &gap_bases).map(|()| {
                state.gap_segments_checkpoint = gap_bases;
            })
        };
        let checkpoints = if created {
            match sync {
                NewLogSync::Own => vec![fsync_dir(&dir)],
                NewLogSync::Deferred => Vec::new(),
                NewLogSync::Shared => {
                    health.note_unsynced_log();
                    Vec::new()
                }
            }
        } else {
            // Only what changed: after a clean stop, nothing has, and
            // rewriting three files per log (each a new inode and two
            // fsyncs) made a broker of many partitions slow to start.
            let mut written = vec![gaps_written];
            if checkpointed_recovery != Some(state.recovery_point) {
                written.push(write_offset(
                    &dir,
                    RECOVERY_POINT_FILE,
                    state.recovery_point,
                ));
            }
            if checkpointed_start != Some(state.log_start_offset) {
                written.push(write_offset(
                    &dir,
                    LOG_START_OFFSET_FILE,
                    state.log_start_offset,
                ));
            }
            if state.epochs != checkpointed_epochs {
                written.push(state.epochs.persist(&dir));
            }
            written
        };
        for written in checkpoints {
            match written {
                Err(e) if e.is_disk_full() => {
                    tracing::warn!(dir = %dir.display(), "disk full: a checkpoint waits for space ({e})")
                }
                other => other?,
            }
        }
        let durable = state.recovery_point;
        Ok(Log {
            dir,
            state: Mutex::new(state),
            group_commit: GroupCommit::new(durable),
            checkpoint_lock: Mutex::new(()),
            cleaner_lock: Mutex::new(()),
            health,
            tail_reads,
        })
    }
}
