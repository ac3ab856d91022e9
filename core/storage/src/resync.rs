//! Finding the intact batches after damage in a sealed segment.
//!
//! When a durable sealed segment is damaged in its middle (bytes cut out,
//! a flipped byte, a stray write), the batches before the damage are
//! served as they are. The batches after it are intact too, but the
//! segment's files cannot describe them: a segment is one unbroken run of
//! batches, and every scan, index and read relies on that. So the bytes
//! from the first intact batch after the damage on are moved into a
//! segment of their own, named by that batch's base offset, and the
//! damaged file is cut right after its damaged bytes. No byte is thrown
//! away: the damaged file still holds them, for `strom storage check` and
//! for whoever inspects the disk. (When whole batches went missing, the
//! batch right at the damage is intact, and the split leaves a gap in the
//! offsets between the two segments, which opening accepts and reports.)
//!
//! This happens when a log opens, and while it serves: a read that meets
//! broken framing in a segment (damage that happened after the
//! segment was last checked, which opening does not re-read) has the
//! segment checked whole and split the same way, then goes on
//! ([`Log::contain_damage`]), so a consumer is never stuck at the damage.
//!
//! The move is crash-safe and idempotent: the tail is copied to a
//! temporary file, synced and renamed (a crash before the rename leaves a
//! `.tmp` file that opening removes); the damaged file is cut only once
//! the new segment is durable, and an open that finds the new segment
//! already there only finishes the cut.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, PoisonError};

use crate::batch_scan::{find_intact_batch, read_header, BatchInfo, HeaderRead};
use crate::checkpoint::{fsync_dir, offset_file_name, remove_if_exists, LOG_SUFFIX};
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::log::Log;
use crate::segment::{Segment, Truncation};

/// Logs damage found in `segment` (where its scan stopped: `cut`) and
/// where its intact batches go on (`resumed`), or that none do before
/// `offsets_end`.
pub(crate) fn report_damage(
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
    let mut segments = Vec::new();
    let mut base = base;
    loop {
        let mut segment = Segment::open(dir, base, config)?;
        segment.gaps_allowed = gaps_allowed;
        segment.keep_damaged = true;
        let cut = segment.recover(true, config.index_interval_bytes, |_| {})?;
        let resumed = cut.as_ref().and_then(|cut| {
            let resumed = split_intact_tail(dir, &segment, Some(offsets_end));
            report_damage(&segment, cut, resumed, Some(offsets_end));
            resumed
        });
        segments.push(segment);
        match resumed {
            Some(tail) => base = tail,
            None => return Ok(segments),
        }
    }
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
        Ok(true)
    }
}

/// For `damaged`, whose valid bytes end at its `size`: the base offset of
/// the segment that now holds its intact batches after the damage, or
/// `None` when there are none (or they could not be moved: logged, and
/// retried at the next open). `offsets_end` is where its offsets end (the
/// next segment's base, or the log end), when known.
pub(crate) fn split_intact_tail(
    dir: &Path,
    damaged: &Segment,
    offsets_end: Option<i64>,
) -> Option<i64> {
    let file = damaged.log_file();
    let file_len = file.metadata().ok()?.len();
    let mut from = damaged.size;
    let resume = loop {
        let candidate = find_intact_batch(&file, from, file_len, |batch| {
            batch.base_offset >= damaged.next_offset
                && batch.base_offset > damaged.base_offset
                && offsets_end.is_none_or(|end| batch.last_offset < end)
        })?;
        if offsets_confirmed(damaged, &candidate, offsets_end, file_len) {
            break candidate;
        }
        from = candidate.position + 1;
    };
    match move_tail(dir, damaged, &resume, file_len) {
        Ok(()) => Some(resume.base_offset),
        Err(e) => {
            tracing::error!(
                segment = %damaged.log_path().display(),
                position = resume.position,
                "intact batches follow the damage from this byte (offset {}) but cannot be moved to a segment of their own, so they are not served until the next start: {e}",
                resume.base_offset
            );
            None
        }
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

fn move_tail(dir: &Path, damaged: &Segment, resume: &BatchInfo, file_len: u64) -> Result<()> {
    let file = damaged.log_file();
    let name = offset_file_name(resume.base_offset, LOG_SUFFIX);
    let target = dir.join(&name);
    if !target.exists() {
        let tmp = dir.join(format!("{name}.tmp"));
        let copied = copy_range(&file, resume.position, file_len, &tmp);
        if copied.is_err() {
            remove_if_exists(&tmp)?;
        }
        copied?;
        std::fs::rename(&tmp, &target).map_err(|e| StorageError::io("rename", &tmp, e))?;
        fsync_dir(dir)?;
    }
    file.set_len(resume.position)
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
