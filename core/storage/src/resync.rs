//! Finding the intact batches after damage in a segment.
//!
//! When flushed data is damaged in the middle of a segment (bytes cut out,
//! a flipped byte, a stray write), the batches before the damage are
//! served as they are. The batches after it are intact too, but the
//! segment's files cannot describe them: a segment is one unbroken run of
//! batches, and every scan, index and read relies on that. So each run of
//! intact batches after damage is moved into a segment of its own, named
//! by its first batch's base offset (with the damaged bytes that follow
//! it, if more damage follows), and the damaged file is cut right after
//! its own damaged bytes. No byte is thrown away: the damaged bytes stay
//! at the end of the file they were in, for `strom storage check` and for
//! whoever inspects the disk. Every byte is copied once, however many
//! damaged spots a segment has. (When whole batches went missing, the
//! batch right at the damage is intact, and the split leaves a gap in the
//! offsets between the two segments, which opening accepts and reports.)
//!
//! This happens when a log opens, and while it serves: a read that meets
//! broken framing in a segment (damage that happened after the segment
//! was last checked, which opening does not re-read) has the segment
//! checked whole and split the same way, then goes on
//! ([`Log::contain_damage`]), so a consumer is never stuck at the damage.
//!
//! The move is crash-safe and idempotent: each run is copied to a
//! temporary file, synced and renamed (a crash before the rename leaves a
//! `.tmp` file that opening removes); the damaged file is cut only once
//! every new segment is durable, and an open that finds some of them
//! already there makes only the others, then the cut.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, PoisonError};

use crate::batch_scan::{crc_matches, find_intact_batch, read_header, BatchInfo, HeaderRead};
use crate::checkpoint::{fsync_dir, offset_file_name, remove_if_exists, LOG_SUFFIX};
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::log::Log;
use crate::segment::{Segment, Truncation};

/// Logs damage found in `segment` (where its scan stopped: `cut`) and
/// where its intact batches go on (`resumed`), or that none do before
/// `offsets_end`.
fn report_damage(
    segment: &Segment,
    cut: &Truncation,
    resumed: Option<i64>,
    offsets_end: Option<i64>,
) {
    tracing::error!(
        segment = %segment.log_path().display(),
        position = cut.position,
        reason = %cut.reason,
        "damaged segment: offsets from {} to {} cannot be read; every other batch is served. {}. `strom storage check` reports the damage",
        segment.next_offset,
        resumed.or(offsets_end).map_or_else(|| "the end".to_string(), |next| (next - 1).to_string()),
        match resumed {
            Some(tail) => format!("The intact batches after the damage are in segment {tail}, the damaged bytes stay at the end of this file"),
            None => "The file is kept as it is".to_string(),
        }
    );
}

/// The segment at `base` checked whole (CRC32C included) and, if it is
/// damaged, split as the module docs say, and so on for each split-off
/// part: the segments that replace it, in offset order.
fn check_and_split(
    dir: &Path,
    config: &LogConfig,
    base: i64,
    gaps_allowed: bool,
    offsets_end: i64,
) -> Result<Vec<Segment>> {
    let mut bases = vec![base];
    let mut segments = Vec::new();
    while let Some(&base) = bases.get(segments.len()) {
        let end = bases
            .get(segments.len() + 1)
            .copied()
            .unwrap_or(offsets_end);
        let mut segment = Segment::open(dir, base, config)?;
        segment.gaps_allowed = gaps_allowed;
        segment.keep_damaged = true;
        if let Some(cut) = segment.recover(true, config.index_interval_bytes, |_| {})? {
            split_damaged(dir, &segment, &cut, Some(end), &mut bases);
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// What opening and serving both do with a segment whose scan stopped at
/// damage (`cut`): its intact batches after the damage split off, the
/// damage logged, and the new segments' bases added to the ascending
/// `bases` (once each). Returns those bases.
pub(crate) fn split_damaged(
    dir: &Path,
    damaged: &Segment,
    cut: &Truncation,
    offsets_end: Option<i64>,
    bases: &mut Vec<i64>,
) -> Vec<i64> {
    let tails = split_intact_tail(dir, damaged, offsets_end);
    report_damage(damaged, cut, tails.first().copied(), offsets_end);
    for &base in &tails {
        if let Err(at) = bases.binary_search(&base) {
            bases.insert(at, base);
        }
    }
    tails
}

impl Log {
    /// A read met broken framing in the segment at `base`: checks it and
    /// splits it where damaged (see the module docs), after rolling it if
    /// it is the active one. `true` when the segment was replaced, so the
    /// read can go on.
    pub(crate) fn contain_damage(&self, base: i64) -> Result<bool> {
        // No compaction swap meanwhile; taken before any other lock.
        let _cleaning = self
            .cleaner_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut rolled = false;
        let (config, file, gaps_allowed, offsets_end) = {
            let mut state = self.lock();
            if base == state.active.base_offset && !state.active.is_empty() {
                // Appends go on in a new segment; this one can then be
                // split like any sealed one.
                self.ensure_writable(&state)?;
                state.roll(&self.dir)?;
                rolled = true;
            }
            let Some(segment) = state.sealed.get(&base) else {
                return Ok(false);
            };
            (
                state.config.clone(),
                segment.log_file(),
                segment.gaps_allowed,
                state.segment_end_offset(base),
            )
        };
        if rolled {
            self.flush_rolled()?;
        }
        let replacement = check_and_split(&self.dir, &config, base, gaps_allowed, offsets_end)?;
        if !replacement[0].damaged {
            return Ok(false);
        }
        let mut state = self.lock();
        // Retention may have deleted it meanwhile.
        if !state
            .sealed
            .get(&base)
            .is_some_and(|s| Arc::ptr_eq(&s.log_file(), &file))
        {
            return Ok(false);
        }
        for segment in replacement {
            state.sealed.insert(segment.base_offset, segment);
        }
        drop(state);
        if gaps_allowed {
            // The parts of a gap segment are gap segments: list them.
            self.persist_gap_segments()?;
        }
        Ok(true)
    }
}

/// For `damaged`, whose valid bytes end at its `size`: the base offsets of
/// the segments that now hold the intact batches after the damage, in
/// order; none when there are none (or they could not be moved: logged,
/// and retried at the next open). `offsets_end` is where its offsets end
/// (the next segment's base, or the log end), when known.
fn split_intact_tail(dir: &Path, damaged: &Segment, offsets_end: Option<i64>) -> Vec<i64> {
    let Ok(file_len) = damaged.log_file().metadata().map(|m| m.len()) else {
        return Vec::new();
    };
    let runs = intact_runs(damaged, offsets_end, file_len);
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    match move_runs(dir, damaged, &runs, file_len) {
        Ok(()) => runs.iter().map(|run| run.base_offset).collect(),
        Err(e) => {
            tracing::error!(
                segment = %damaged.log_path().display(),
                position = first.position,
                "intact batches follow the damage from this byte (offset {}) but cannot be moved to segments of their own, so they are not served until the next start: {e}",
                first.base_offset
            );
            Vec::new()
        }
    }
}

/// The first batch of each run of intact batches after the damage. A run
/// goes on while batches are framed and their CRC holds; their offsets are
/// checked when the run's segment is opened.
fn intact_runs(damaged: &Segment, offsets_end: Option<i64>, file_len: u64) -> Vec<BatchInfo> {
    let file = damaged.log_file();
    let mut runs: Vec<BatchInfo> = Vec::new();
    let mut from = damaged.size;
    let mut min_base = damaged.next_offset.max(damaged.base_offset + 1);
    while let Some(start) = find_resume(damaged, from, file_len, min_base, offsets_end) {
        let mut last = start;
        while let HeaderRead::Batch(next) = read_header(&file, last.end_position(), file_len) {
            if !crc_matches(&file, &next) {
                break;
            }
            last = next;
        }
        runs.push(start);
        from = last.end_position();
        min_base = start.base_offset + 1;
    }
    runs
}

/// The first intact batch at or after byte `from` whose offsets are
/// plausible (at least `min_base`, before `offsets_end`) and confirmed by
/// what follows it.
fn find_resume(
    damaged: &Segment,
    mut from: u64,
    file_len: u64,
    min_base: i64,
    offsets_end: Option<i64>,
) -> Option<BatchInfo> {
    loop {
        let candidate = find_intact_batch(&damaged.log_file(), from, file_len, |batch| {
            batch.base_offset >= min_base && offsets_end.is_none_or(|end| batch.last_offset < end)
        })?;
        if offsets_confirmed(damaged, &candidate, offsets_end, file_len) {
            return Some(candidate);
        }
        from = candidate.position + 1;
    }
}

/// The base offset is the one field outside a batch's CRC, and bytes cut
/// from just before a batch can leave its frame and CRC whole with other
/// bytes in that field: a batch found past damage is taken only when what
/// follows it agrees with its offsets (the next batch starts right after
/// it, or the segment's offsets end right after it).
fn offsets_confirmed(
    damaged: &Segment,
    batch: &BatchInfo,
    offsets_end: Option<i64>,
    file_len: u64,
) -> bool {
    let following = match read_header(&damaged.log_file(), batch.end_position(), file_len) {
        HeaderRead::Batch(next) => Some(next.base_offset),
        HeaderRead::End => offsets_end,
        HeaderRead::Invalid(_) => None,
    };
    following.is_some_and(|next| {
        if damaged.gaps_allowed {
            batch.last_offset < next
        } else {
            batch.last_offset.checked_add(1) == Some(next)
        }
    })
}

/// Copies each run (up to the next run, or the end of the file) into a
/// segment of its own, then cuts the damaged file where the first run
/// starts.
fn move_runs(dir: &Path, damaged: &Segment, runs: &[BatchInfo], file_len: u64) -> Result<()> {
    let file = damaged.log_file();
    for (i, run) in runs.iter().enumerate() {
        let name = offset_file_name(run.base_offset, LOG_SUFFIX);
        if dir.join(&name).exists() {
            continue;
        }
        let end = runs.get(i + 1).map_or(file_len, |next| next.position);
        let tmp = dir.join(format!("{name}.tmp"));
        let copied = copy_range(&file, run.position, end, &tmp);
        if copied.is_err() {
            remove_if_exists(&tmp)?;
        }
        copied?;
        std::fs::rename(&tmp, dir.join(&name)).map_err(|e| StorageError::io("rename", &tmp, e))?;
    }
    fsync_dir(dir)?;
    file.set_len(runs[0].position)
        .and_then(|()| file.sync_all())
        .map_err(|e| StorageError::io("cut the damaged segment", damaged.log_path(), e))
}

/// Copies bytes `[from, to)` of `source` into a new file `path`, durably
/// (the kernel copies file to file where it can).
fn copy_range(source: &File, from: u64, to: u64, path: &Path) -> Result<()> {
    let io = |e| StorageError::io("copy the intact batches", path, e);
    let mut reader = source.try_clone().map_err(io)?;
    reader.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut target = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    let copied =
        std::io::copy(&mut std::io::Read::take(reader, to - from), &mut target).map_err(io)?;
    if copied != to - from {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("copied {copied} of {} bytes", to - from),
        )));
    }
    target.sync_all().map_err(io)
}
