//! The fetch path: find the batch that contains the start offset, then
//! return whole batches as file slices. The log lock is held only to pick
//! the segment and the index position; header reads happen outside it.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use strom_protocol::records::BATCH_HEADER_LEN;
use strom_protocol::splice::{FileRange, HeldBytes, Spliced};

use crate::batch_scan::{read_at_into, read_header, BatchInfo, HeaderRead, ScanWindow};
use crate::error::{Result, StorageError};
use crate::log::{Log, LogState};
use crate::log_limit::once_every;

/// How much [`Log::read_checked`] reads at a time: small enough to stay
/// in the CPU's cache while the CRCs of its batches are computed.
pub const VERIFY_WINDOW: u64 = 256 * 1024;

/// What a fetch gets back from one partition.
#[derive(Debug, Clone)]
pub struct LogReadResult {
    /// Whole batches, in offset order (one run per segment touched).
    pub slices: Vec<FileRange>,
    /// Base offset of the first returned batch, if any.
    pub first_batch_offset: Option<i64>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    /// Batches whose base offset field was damaged on disk, as (byte
    /// position in the copied result, the base offset they must have):
    /// [`LogReadResult::copy_into`] writes the right one.
    pub base_offset_fixes: Vec<(u64, i64)>,
    /// The batches from memory (the tail cache) instead of `slices`, in
    /// pieces.
    pub cached: Option<Vec<Bytes>>,
}

impl LogReadResult {
    pub fn total_len(&self) -> u64 {
        let cached: usize = self.cached.iter().flatten().map(Bytes::len).sum();
        cached as u64 + self.slices.iter().map(|s| u64::from(s.len)).sum::<u64>()
    }

    pub fn is_empty(&self) -> bool {
        self.total_len() == 0
    }

    /// Reads every slice into one buffer, with damaged base offsets put
    /// right.
    pub fn read_bytes(&self) -> Result<Bytes> {
        if let Some(pieces) = &self.cached {
            return Ok(match pieces.as_slice() {
                [one] => one.clone(),
                pieces => Bytes::from(pieces.concat()),
            });
        }
        let mut buf = Vec::with_capacity(self.total_len() as usize);
        for slice in &self.slices {
            read_at_into(&slice.file, slice.position, slice.len as usize, &mut buf)
                .map_err(|e| StorageError::io("read segment slice", "segment file", e))?;
        }
        for &(position, base_offset) in &self.base_offset_fixes {
            let at = position as usize;
            if let Some(field) = buf.get_mut(at..at + 8) {
                field.copy_from_slice(&base_offset.to_be_bytes());
            }
        }
        Ok(Bytes::from(buf))
    }

    /// The first `len` bytes of the read (all of it, if shorter), without
    /// reading the rest: the header of its first batch.
    pub fn read_head(&self, len: usize) -> Result<Bytes> {
        let mut buf = Vec::with_capacity(len);
        if let Some(pieces) = &self.cached {
            for piece in pieces {
                let take = (len - buf.len()).min(piece.len());
                buf.extend_from_slice(&piece[..take]);
            }
            return Ok(Bytes::from(buf));
        }
        for slice in &self.slices {
            let take = (len - buf.len()).min(slice.len as usize);
            read_at_into(&slice.file, slice.position, take, &mut buf)
                .map_err(|e| StorageError::io("read segment slice", "segment file", e))?;
        }
        Ok(Bytes::from(buf))
    }

    /// The read where it lies, to be sent from there: runs of its
    /// segment files, or its pieces in memory.
    pub fn held_bytes(&self) -> HeldBytes {
        let pieces = match &self.cached {
            Some(pieces) => pieces.iter().cloned().map(Spliced::Memory).collect(),
            None => self.slices.iter().cloned().map(Spliced::File).collect(),
        };
        HeldBytes { pieces }
    }

    /// [`LogReadResult::read_bytes`], appended to `buf`.
    pub fn copy_into(&self, buf: &mut BytesMut) -> Result<()> {
        buf.extend_from_slice(&self.read_bytes()?);
        Ok(())
    }
}

/// Where to start reading, as decided under the lock.
struct ReadPlan {
    file: Arc<File>,
    path: PathBuf,
    /// Position of an index entry at or before the wanted batch.
    start_position: u64,
    /// Valid bytes of the segment when the plan was made.
    end_position: u64,
    /// Where the next segment starts, to continue if this one has no match.
    next_segment: Option<i64>,
    /// The segment's base offset, and whether its batches are contiguous
    /// (it has no gaps, from the cleaner or replication): see [`Expected`].
    segment_base: i64,
    contiguous: bool,
    /// The last offset of the batch at `start_position`, when that is an
    /// index entry.
    entry_last: Option<i64>,
}

/// The offsets a batch must have in a contiguous segment (no gaps):
/// each starts right after the previous one, the first at the segment's
/// base, and an indexed batch ends at its entry's offset. The base offset
/// is the one field of a batch outside its CRC, so a batch that does not
/// follow its predecessor has a damaged base offset (a damaged length
/// breaks the framing; anything else breaks the CRC, which the broker
/// checks before serving). Served as stored, consumers would silently skip
/// or repeat offsets; its true offsets are the expected ones.
struct Expected {
    contiguous: bool,
    next_base: Option<i64>,
    /// For the first batch: its last offset, when known from the index.
    first_last: Option<i64>,
}

impl Expected {
    /// Expectations for a scan of `plan` from byte `from`.
    fn from(plan: &ReadPlan, from: u64) -> Expected {
        let (next_base, first_last) = match plan.entry_last {
            Some(last) if from == plan.start_position && from > 0 => (None, Some(last)),
            _ if from == 0 => (Some(plan.segment_base), None),
            _ => (None, None),
        };
        Expected {
            contiguous: plan.contiguous,
            next_base,
            first_last,
        }
    }

    /// `batch` with the offsets it must have: unchanged when it has them,
    /// or when the segment allows gaps.
    fn place(&mut self, batch: BatchInfo) -> BatchInfo {
        if !self.contiguous {
            return batch;
        }
        let delta = i64::from(batch.last_offset_delta);
        let base = match (self.next_base, self.first_last.take()) {
            (Some(next), _) => next,
            (None, Some(last)) => last - delta,
            (None, None) => batch.base_offset,
        };
        self.next_base = Some(base.saturating_add(delta).saturating_add(1));
        BatchInfo {
            base_offset: base,
            last_offset: base.saturating_add(delta),
            ..batch
        }
    }
}

fn plan(state: &LogState, offset: i64) -> ReadPlan {
    let segment = state.segment_for(offset);
    let entry = segment
        .relative(offset)
        .and_then(|rel| segment.offset_index.lookup(rel));
    let start_position = entry.map_or(0, |e| u64::from(e.position));
    let next_segment = (segment.base_offset != state.active.base_offset)
        .then(|| state.segment_end_offset(segment.base_offset));
    ReadPlan {
        file: segment.log_file(),
        path: segment.log_path().to_path_buf(),
        start_position,
        end_position: segment.size,
        next_segment,
        segment_base: segment.base_offset,
        contiguous: !segment.gaps_allowed,
        entry_last: entry.map(|e| segment.base_offset + i64::from(e.relative_offset)),
    }
}

/// What [`find_batch`] found: the batch with its true offsets, the base
/// offset stored in it, and what the batches after it must be.
struct Found {
    batch: BatchInfo,
    stored_base: i64,
    expected: Expected,
}

/// Finds the first batch whose last offset is >= `offset`, starting at an
/// index position, with its true offsets and the expectations for the
/// batches after it. A position that does not land on a plausible batch
/// (a stale or damaged index, or a damaged base offset there) is retried
/// once from the segment start, where the offsets are known.
fn find_batch(plan: &ReadPlan, offset: i64) -> Result<Option<Found>> {
    let mut from = plan.start_position;
    loop {
        let mut position = from;
        let mut expected = Expected::from(plan, from);
        let mut first = true;
        let found = loop {
            match read_header(&plan.file, position, plan.end_position) {
                HeaderRead::End => break Ok(None),
                HeaderRead::Invalid(reason) => break Err(reason),
                HeaderRead::Batch(stored) => {
                    let b = expected.place(stored);
                    if first
                        && from > 0
                        && (b.base_offset > offset || b.base_offset != stored.base_offset)
                    {
                        break Err("index points past the wanted offset, or at a damaged batch"
                            .to_string());
                    }
                    first = false;
                    if b.last_offset >= offset {
                        break Ok(Some((b, stored.base_offset)));
                    }
                    position = b.end_position();
                }
            }
        };
        match found {
            Ok(batch) => {
                return Ok(batch.map(|(batch, stored_base)| Found {
                    batch,
                    stored_base,
                    expected,
                }))
            }
            Err(reason) if from > 0 => {
                tracing::warn!(segment = %plan.path.display(), position, %reason, "index lookup failed; scanning the segment from its start");
                from = 0;
            }
            Err(reason) => {
                return Err(StorageError::CorruptLog {
                    path: plan.path.clone(),
                    position,
                    reason,
                })
            }
        }
    }
}

/// Notes a batch served with its damaged base offset put right.
fn fix_base_offset(
    result: &mut LogReadResult,
    plan: &ReadPlan,
    stored: i64,
    placed: &BatchInfo,
    position_in_result: u64,
) {
    if stored == placed.base_offset {
        return;
    }
    static LAST_LOGGED_MS: AtomicI64 = AtomicI64::new(0);
    if once_every(&LAST_LOGGED_MS, 10_000) {
        tracing::error!(
            segment = %plan.path.display(),
            position = placed.position,
            "damaged base offset: the batch at this byte says {stored} but follows offset {}; served as {}. `strom storage check` shows every damaged spot",
            placed.base_offset - 1,
            placed.base_offset
        );
    }
    result
        .base_offset_fixes
        .push((position_in_result, placed.base_offset));
}

impl Log {
    /// Reads whole batches starting with the one that contains
    /// `start_offset`. Stops before `max_bytes` would be exceeded, except
    /// that with `min_one_batch` the first batch is returned whole whatever
    /// its size (KIP-74). Never returns a batch whose last offset is at or
    /// past `max_offset_exclusive` (the high watermark for consumers).
    /// Batches come from a single segment, as in Kafka; the next fetch
    /// continues in the next segment. An offset outside
    /// `[log start, log end]` is `OffsetOutOfRange`; reading at the log end
    /// returns nothing. In a compacted log, an offset that was cleaned
    /// away reads as the first batch after it, and so does an offset lost
    /// to damage (damage found here is contained first: `resync`).
    pub fn read(
        &self,
        start_offset: i64,
        max_bytes: u32,
        max_offset_exclusive: i64,
        min_one_batch: bool,
    ) -> Result<LogReadResult> {
        let (read, _) = self.read_planned(
            start_offset,
            max_bytes,
            max_offset_exclusive,
            min_one_batch,
            None,
        )?;
        Ok(read)
    }

    /// [`Log::read`] that also checks the CRC of every batch it returns,
    /// reading them through `scratch` [`VERIFY_WINDOW`] bytes (or one
    /// batch, if larger) at a time instead of one header at a time: true
    /// if all are intact and none has a damaged base offset to put right,
    /// so the read may be sent from the files as it lies there. A read at
    /// the tail comes from memory instead (`tail_cache.rs`: the batches as
    /// appended, checked when they arrived), in [`LogReadResult::cached`].
    pub fn read_checked(
        &self,
        start_offset: i64,
        max_bytes: u32,
        max_offset_exclusive: i64,
        min_one_batch: bool,
        scratch: &mut Vec<u8>,
    ) -> Result<(LogReadResult, bool)> {
        if let Some(read) =
            self.read_cached(start_offset, max_bytes, max_offset_exclusive, min_one_batch)
        {
            if !read.is_empty() {
                self.health.count_read(true);
            }
            return Ok((read, true));
        }
        let (read, intact) = self.read_planned(
            start_offset,
            max_bytes,
            max_offset_exclusive,
            min_one_batch,
            Some(scratch),
        )?;
        if !read.is_empty() {
            self.health.count_read(false);
        }
        let intact = intact && read.base_offset_fixes.is_empty();
        Ok((read, intact))
    }

    /// A reader waits at the end of the log: the appends that it will read
    /// next are kept in memory (see `tail_cache.rs`).
    pub fn note_tail_read(&self) {
        self.tail_reads.note();
    }

    /// Frees the tail cache if no fetch read the active segment lately
    /// (`tail_cache::READERS_GONE_AFTER`): a log that stopped receiving
    /// appends would otherwise keep it, and its part of the directory's
    /// budget, until it closes. The broker calls it periodically.
    pub fn drop_unread_tail_cache(&self) {
        self.lock().tail.drop_if_unread();
    }

    /// [`Log::read`] from the tail cache, when it holds the batch at
    /// `start_offset` (or the first after it). `None`: read the files.
    fn read_cached(
        &self,
        start_offset: i64,
        max_bytes: u32,
        max_offset_exclusive: i64,
        min_one_batch: bool,
    ) -> Option<LogReadResult> {
        let state = self.lock();
        if start_offset >= state.active.base_offset {
            self.tail_reads.note();
        }
        let (log_start, log_end) = (state.log_start_offset, state.log_end_offset());
        // Out of range, at the end or closed: the files' path answers.
        if state.closed || start_offset < log_start || start_offset >= log_end {
            return None;
        }
        let read = state
            .tail
            .read(start_offset, max_bytes, max_offset_exclusive, min_one_batch)?;
        Some(LogReadResult {
            slices: Vec::new(),
            first_batch_offset: read.first_batch_offset,
            log_start_offset: log_start,
            log_end_offset: log_end,
            high_watermark: state.high_watermark,
            base_offset_fixes: Vec::new(),
            cached: Some(read.pieces),
        })
    }

    /// The read, and with `scratch` whether every batch in it had its CRC.
    fn read_planned(
        &self,
        start_offset: i64,
        max_bytes: u32,
        max_offset_exclusive: i64,
        min_one_batch: bool,
        mut scratch: Option<&mut Vec<u8>>,
    ) -> Result<(LogReadResult, bool)> {
        let mut offset = start_offset;
        let mut contained = false;
        loop {
            let (mut result, plan) = {
                let state = self.lock();
                self.ensure_open(&state)?;
                let (log_start, log_end) = (state.log_start_offset, state.log_end_offset());
                if start_offset < log_start || start_offset > log_end {
                    return Err(StorageError::OffsetOutOfRange {
                        offset: start_offset,
                        log_start_offset: log_start,
                        log_end_offset: log_end,
                    });
                }
                let result = LogReadResult {
                    slices: Vec::new(),
                    first_batch_offset: None,
                    log_start_offset: log_start,
                    log_end_offset: log_end,
                    high_watermark: state.high_watermark,
                    base_offset_fixes: Vec::new(),
                    cached: None,
                };
                if offset >= log_end {
                    return Ok((result, true));
                }
                (result, plan(&state, offset))
            };
            let found = match find_batch(&plan, offset) {
                // Broken framing: contained once, then the read goes on
                // past it.
                Err(e @ StorageError::CorruptLog { .. }) if !contained => {
                    contained = true;
                    if self.contain_damage(plan.segment_base)? {
                        continue;
                    }
                    return Err(e);
                }
                other => other?,
            };
            let Some(Found {
                batch: first,
                stored_base,
                mut expected,
            }) = found
            else {
                // Nothing at or after the offset in this segment: go on to the next.
                match plan.next_segment {
                    Some(next) if next > offset => {
                        offset = next;
                        continue;
                    }
                    _ => return Ok((result, true)),
                }
            };
            if first.last_offset >= max_offset_exclusive
                || (first.size > max_bytes && !min_one_batch)
            {
                return Ok((result, true));
            }
            fix_base_offset(&mut result, &plan, stored_base, &first, 0);
            // With a scratch buffer the batches are walked (and checked)
            // through a window; without, one header read at a time.
            // The window reads no further than the read can reach: up to
            // max_bytes, and the header after them, which decides.
            let window_len = u64::from(max_bytes).clamp(1, VERIFY_WINDOW);
            let reach = u64::from(max_bytes.max(first.size)) + BATCH_HEADER_LEN as u64;
            let scan_end = plan.end_position.min(first.position + reach);
            let mut window = scratch
                .take()
                .map(|buf| ScanWindow::new(&plan.file, scan_end, window_len, buf));
            let mut intact = window.as_mut().is_none_or(|w| w.crc_matches(&first));
            let mut len = u64::from(first.size);
            let mut position = first.end_position();
            loop {
                let next = match window.as_mut() {
                    Some(window) => window.header(position),
                    None => read_header(&plan.file, position, plan.end_position),
                };
                let HeaderRead::Batch(stored) = next else {
                    break;
                };
                let b = expected.place(stored);
                if b.last_offset >= max_offset_exclusive
                    || len + u64::from(b.size) > u64::from(max_bytes)
                {
                    break;
                }
                if let Some(window) = window.as_mut() {
                    intact &= window.crc_matches(&b);
                }
                fix_base_offset(&mut result, &plan, stored.base_offset, &b, len);
                len += u64::from(b.size);
                position = b.end_position();
            }
            // len <= max(max_bytes, first batch size), both u32.
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            result.first_batch_offset = Some(first.base_offset);
            result.slices.push(FileRange {
                file: plan.file,
                position: first.position,
                len,
            });
            return Ok((result, intact));
        }
    }
}
