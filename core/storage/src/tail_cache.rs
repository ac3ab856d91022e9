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
//! there for [`READERS_GONE_AFTER`] drops its cache at its next append, or
//! sooner when the broker's sweep finds it unread, and pays no copy from
//! then on.
//!
//! Memory: the logs of a data directory hold at most its budget together
//! (`strom.fetch.cache.bytes`, [`TAIL_CACHE_BUDGET`] by default), counted
//! as they take and give back bytes. Each log also keeps at most its share
//! of it, the budget divided among the logs that cache (as it stood at the
//! log's last append), and at most [`MAX_TAIL_CACHE_PER_LOG`], so that one
//! busy partition cannot take the memory of all the others. A log whose
//! share is held by others (logs that cached before more logs started)
//! makes room by dropping its own oldest batches and caches nothing while
//! it has none to drop; the broker drops the caches of logs nobody read
//! lately ([`crate::Log::drop_unread_tail_cache`]), which frees them.
//! The count is of the batches' bytes: an [`AppendBytes`] kept as it is
//! may hold a larger buffer alive (the broker's produce keeps only pieces
//! of at least half their request so, at most doubling the memory).

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

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

/// When a fetch last read the active segment. Noted without the log's
/// lock, as a fetch of many partitions notes it for each of them (where
/// the lock and a full clock read were a fifth of such a fetch's cost);
/// the cache reads it under the lock.
#[derive(Debug, Default)]
pub(crate) struct TailReads {
    /// [`coarse_now_ms`] at the last read, plus one; 0: never read.
    last: AtomicU64,
}

impl TailReads {
    pub fn note(&self) {
        self.last.store(coarse_now_ms() + 1, Ordering::Relaxed);
    }

    fn lately(&self) -> bool {
        match self.last.load(Ordering::Relaxed) {
            0 => false,
            last => {
                coarse_now_ms().saturating_sub(last - 1) < READERS_GONE_AFTER.as_millis() as u64
            }
        }
    }
}

/// Milliseconds on the monotonic clock as the kernel last updated it
/// (its tick, a few ms): cheaper than a precise read, and plenty for
/// [`READERS_GONE_AFTER`].
fn coarse_now_ms() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    (now.tv_sec as u64) * 1000 + (now.tv_nsec as u64) / 1_000_000
}

#[derive(Debug)]
pub(crate) struct TailCache {
    /// Whose budget the cache takes its memory from.
    dir: Arc<DirHealth>,
    /// In offset and file order; the last one ends where the segment ends.
    batches: VecDeque<CachedBatch>,
    /// The memory `batches` take: their bytes and [`ENTRY_COST`] each,
    /// held from `dir`'s budget.
    len: usize,
    /// Whether this log counts among those sharing the budget: while it
    /// keeps its appends.
    sharing: bool,
    /// Shared with the log, which notes the reads.
    reads: Arc<TailReads>,
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
    pub fn new(dir: Arc<DirHealth>, reads: Arc<TailReads>) -> TailCache {
        TailCache {
            dir,
            batches: VecDeque::new(),
            len: 0,
            sharing: false,
            reads,
        }
    }

    /// Forgets everything: the segment's bytes changed, or it is no
    /// longer the active one.
    pub fn clear(&mut self) {
        self.batches.clear();
        self.dir.release_tail_bytes(std::mem::take(&mut self.len));
    }

    /// Drops the oldest batch; false if there was none.
    fn drop_oldest(&mut self) -> bool {
        let Some(oldest) = self.batches.pop_front() else {
            return false;
        };
        self.len -= oldest.cost();
        self.dir.release_tail_bytes(oldest.cost());
        true
    }

    /// Drops what the cache holds if no fetch read the active segment for
    /// [`READERS_GONE_AFTER`]; the log then no longer shares the budget.
    /// Its next append, read lately or not, decides again.
    pub fn drop_if_unread(&mut self) {
        if !self.read_lately() {
            self.clear();
            self.set_sharing(false);
        }
    }

    fn read_lately(&self) -> bool {
        self.reads.lately()
    }

    fn set_sharing(&mut self, sharing: bool) {
        if sharing != self.sharing {
            self.sharing = sharing;
            self.dir.caching_logs_changed(sharing);
        }
    }

    /// Takes in an append that was just written at the end of the
    /// segment: `placed` describes `bytes`, with positions relative to
    /// its start. Keeps at most the log's share of the directory's budget
    /// and only what the budget has room for, dropping the oldest batches
    /// to make room. When that is not enough, or nobody read the active
    /// segment lately, the cache is left empty (the next appends start it
    /// again): it always ends where the segment ends, or holds nothing.
    pub fn push(&mut self, bytes: impl AppendBytes, placed: &[BatchInfo]) {
        let read_lately = self.read_lately();
        self.set_sharing(read_lately);
        let share = if read_lately {
            self.dir.tail_cache_share()
        } else {
            0
        };
        let cost = bytes.as_ref().len() + placed.len() * ENTRY_COST;
        if cost > share {
            self.clear();
            return;
        }
        while self.len + cost > share {
            self.drop_oldest();
        }
        while !self.dir.hold_tail_bytes(cost) {
            if !self.drop_oldest() {
                return;
            }
        }
        let append = bytes.keep();
        for batch in placed {
            self.batches.push_back(CachedBatch {
                base_offset: batch.base_offset,
                last_offset: batch.last_offset,
                append: append.clone(),
                range: batch.position as usize..batch.end_position() as usize,
            });
        }
        self.len += cost;
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

/// The bytes of an append, as the log writes them (offsets stamped in
/// place) and the tail cache may keep them. A buffer of the caller's own
/// ([`BytesMut`]: a produce request's staged batches) is taken as it is,
/// without a copy, leaving the caller's empty; borrowed bytes are copied,
/// and only when the cache keeps them. The cache counts what it keeps by
/// length, so a `BytesMut` passed here should not have much spare room
/// nor be a small piece of a larger buffer.
pub trait AppendBytes: AsRef<[u8]> {
    /// The bytes, to keep.
    fn keep(self) -> Bytes;
}

impl AppendBytes for &mut BytesMut {
    fn keep(self) -> Bytes {
        self.split().freeze()
    }
}

impl AppendBytes for &[u8] {
    fn keep(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl AppendBytes for &mut [u8] {
    fn keep(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl AppendBytes for &mut Vec<u8> {
    fn keep(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl Drop for TailCache {
    /// The log closes: its memory and its place among the caching logs go
    /// back to the directory.
    fn drop(&mut self) {
        self.clear();
        self.set_sharing(false);
    }
}
