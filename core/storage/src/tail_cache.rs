//! The newest batches of the active segment, kept in memory as they were
//! appended, so that a fetch at the tail (consumers keeping up, several
//! groups reading the same data, followers) is answered without reading
//! the segment back and checking its CRCs again.
//!
//! The bytes are exactly the ones written to the file, after offsets were
//! assigned; they were checked when they arrived (a produce checks every
//! batch's CRC, a follower takes the leader's checked reads). Serving
//! them is therefore at least as safe as reading the file, which the disk
//! may have damaged since.
//!
//! The cache holds whole batches from some batch up to the end of the
//! active segment: every append to the segment is pushed, and anything
//! that changes the segment's existing bytes (a truncation, a roll, a
//! reopen) clears it. A read starting at or after its first batch is
//! answered from it entirely; any other read goes to the files.
//!
//! Only a log read in its active segment caches: a log that nobody read
//! there for [`READERS_GONE_AFTER`] drops its cache at its next append and
//! pays no copy from then on.
//!
//! Memory: each log keeps at most its share of the data directory's
//! budget (`strom.fetch.cache.bytes`, [`TAIL_CACHE_BUDGET`] by default),
//! divided among the logs that cache, as the share stood at the log's
//! last append; and at most [`MAX_TAIL_CACHE_PER_LOG`]. A log that stops
//! receiving appends keeps what it holds until it is closed, so when many
//! logs start caching one after the other the total can pass the budget
//! by the shares of the earlier ones (a few times the budget at worst,
//! growing with the logarithm of the number of logs).

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::batch_scan::BatchInfo;
use crate::dir_health::DirHealth;

/// What the logs of a data directory keep in memory together, by default
/// (each stays within its share at its last append).
pub const TAIL_CACHE_BUDGET: usize = 32 * 1024 * 1024;

/// What one log keeps at most, however few logs there are.
pub const MAX_TAIL_CACHE_PER_LOG: usize = 4 * 1024 * 1024;

/// A log stops caching when nobody read its active segment for this long
/// (consumers that keep up fetch at least every `fetch.max.wait.ms`).
pub const READERS_GONE_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(crate) struct TailCache {
    /// In offset and file order; the last one ends where the segment ends.
    batches: VecDeque<CachedBatch>,
    /// The memory `batches` take: their bytes and [`ENTRY_COST`] each.
    len: usize,
    /// Whether this log counts among those sharing the budget: while it
    /// keeps its appends.
    sharing: bool,
    /// When a fetch last read the active segment.
    last_tail_read: Option<Instant>,
}

/// What a batch costs beyond its bytes: its entry. Counted, so that many
/// tiny batches stay within the share too.
const ENTRY_COST: usize = std::mem::size_of::<CachedBatch>();

#[derive(Debug)]
struct CachedBatch {
    base_offset: i64,
    last_offset: i64,
    /// The bytes of the append that brought it (shared by its batches),
    /// and where in them it lies.
    append: Bytes,
    range: Range<usize>,
}

impl CachedBatch {
    fn len(&self) -> usize {
        self.range.len()
    }

    fn cost(&self) -> usize {
        self.len() + ENTRY_COST
    }
}

/// A read answered from the cache.
pub(crate) struct CachedRead {
    pub first_batch_offset: Option<i64>,
    /// Its batches in pieces, one per append they came with.
    pub pieces: Vec<Bytes>,
}

impl TailCache {
    /// Forgets everything: the segment's bytes changed, or it is no
    /// longer the active one.
    pub fn clear(&mut self) {
        self.batches.clear();
        self.len = 0;
    }

    /// A fetch reads the active segment: appends are worth keeping.
    pub fn note_tail_read(&mut self) {
        self.last_tail_read = Some(Instant::now());
    }

    /// The log closes: it no longer shares the directory's budget.
    pub fn leave(&mut self, dir: &DirHealth) {
        if std::mem::take(&mut self.sharing) {
            dir.caching_logs_changed(false);
        }
    }

    /// Takes in an append that was just written at the end of the
    /// segment: `placed` describes `bytes`, with positions relative to
    /// its start. Keeps at most the log's share of `dir`'s budget,
    /// dropping the oldest batches; an append larger than that clears the
    /// cache (the next ones start it again), and so does one while nobody
    /// read the active segment lately.
    pub fn push(&mut self, bytes: &[u8], placed: &[BatchInfo], dir: &DirHealth) {
        let read_lately = self
            .last_tail_read
            .is_some_and(|at| at.elapsed() < READERS_GONE_AFTER);
        if read_lately != self.sharing {
            self.sharing = read_lately;
            dir.caching_logs_changed(read_lately);
        }
        let share = if read_lately {
            dir.tail_cache_share()
        } else {
            0
        };
        let cost = bytes.len() + placed.len() * ENTRY_COST;
        if cost > share {
            self.clear();
            return;
        }
        let append = Bytes::copy_from_slice(bytes);
        for batch in placed {
            self.batches.push_back(CachedBatch {
                base_offset: batch.base_offset,
                last_offset: batch.last_offset,
                append: append.clone(),
                range: batch.position as usize..batch.end_position() as usize,
            });
        }
        self.len += cost;
        while self.len > share {
            let Some(oldest) = self.batches.pop_front() else {
                break;
            };
            self.len -= oldest.cost();
        }
    }

    /// The batches a read from `offset` gets, by the same rules as a read
    /// of the files: whole batches from the one that holds `offset` (or
    /// the first after it), none that reaches `max_offset_exclusive`,
    /// together at most `max_bytes` except that `min_one_batch` lets the
    /// first one through whatever its size. `None` when the cache does
    /// not start at or before `offset`: the files answer then.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: u32,
        max_offset_exclusive: i64,
        min_one_batch: bool,
    ) -> Option<CachedRead> {
        if self.batches.front()?.base_offset > offset {
            return None;
        }
        let first = self.batches.partition_point(|b| b.last_offset < offset);
        // (append, range) runs: batches of one append are one piece.
        let mut runs: Vec<(&Bytes, Range<usize>)> = Vec::new();
        let mut len = 0usize;
        for batch in self.batches.range(first..) {
            let fits =
                len + batch.len() <= max_bytes as usize || (runs.is_empty() && min_one_batch);
            if batch.last_offset >= max_offset_exclusive || !fits {
                break;
            }
            len += batch.len();
            match runs.last_mut() {
                // Two live appends never start at the same address.
                Some((append, range))
                    if append.as_ptr() == batch.append.as_ptr()
                        && range.end == batch.range.start =>
                {
                    range.end = batch.range.end;
                }
                _ => runs.push((&batch.append, batch.range.clone())),
            }
        }
        Some(CachedRead {
            first_batch_offset: (!runs.is_empty()).then(|| self.batches[first].base_offset),
            pieces: runs
                .into_iter()
                .map(|(append, range)| append.slice(range))
                .collect(),
        })
    }
}
