//! The health of a data directory, shared by every log in it.
//!
//! After an fsync fails, the kernel may already have dropped the dirty
//! pages it could not write and marked them clean, so a later fsync can
//! succeed while the data is gone ("fsyncgate"). The page cache can no
//! longer be trusted to reach the disk. So the first failure fails the
//! directory until the process restarts (recovery then re-reads what is
//! really on disk): no log in it accepts or acknowledges a write again, as
//! Kafka takes a failed log dir offline. Reads go on: what they return is
//! below the high watermark, which only covers data whose fsync succeeded.
//!
//! It also holds what else the directory's logs share: the `syncfs` group
//! commit, and the count of logs that divide the tail cache budget.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::dir_sync::DirSync;
use crate::error::{Result, StorageError};
use crate::latency::FSYNC_LATENCY;
use crate::tail_cache::{MAX_TAIL_CACHE_PER_LOG, TAIL_CACHE_BUDGET};

#[derive(Debug)]
pub struct DirHealth {
    failure: OnceLock<String>,
    /// Group commit across the directory's logs.
    sync: DirSync,
    /// A log opened with [`NewLogSync::Shared`](crate::NewLogSync::Shared)
    /// changed its directory (created it, removed its clean-shutdown
    /// marker) and no `syncfs` has made that durable yet.
    new_logs_unsynced: AtomicBool,
    /// Held while [`DirHealth::sync_new_logs`] takes that mark and syncs:
    /// a caller whose logs another caller's `syncfs` covers waits for it.
    new_logs_sync: Mutex<()>,
    /// The directory's logs that keep their appends in memory: they share
    /// the tail cache budget.
    caching_logs: AtomicUsize,
    /// What the directory's tail caches may hold together (0: none).
    tail_cache_budget: usize,
    /// What they hold now: never more than the budget.
    tail_cache_held: AtomicUsize,
    /// Checked reads that returned batches, from the tail cache and from
    /// the segment files: how well the budget serves the readers.
    reads_from_memory: AtomicU64,
    reads_from_files: AtomicU64,
}

impl DirHealth {
    /// With the default tail cache budget, [`TAIL_CACHE_BUDGET`].
    pub fn new() -> Arc<DirHealth> {
        DirHealth::with_tail_cache_budget(TAIL_CACHE_BUDGET)
    }

    pub fn with_tail_cache_budget(bytes: usize) -> Arc<DirHealth> {
        Arc::new(DirHealth {
            failure: OnceLock::new(),
            sync: DirSync::default(),
            new_logs_unsynced: AtomicBool::new(false),
            new_logs_sync: Mutex::new(()),
            caching_logs: AtomicUsize::new(0),
            tail_cache_budget: bytes,
            tail_cache_held: AtomicUsize::new(0),
            reads_from_memory: AtomicU64::new(0),
            reads_from_files: AtomicU64::new(0),
        })
    }

    /// Records that `what` failed on `path`; the first failure is logged
    /// (once, as an ERROR) and kept as the reason writes are refused.
    pub fn fail(&self, what: &str, path: &Path, error: &std::io::Error) {
        let reason = format!("{what} of {} failed: {error}", path.display());
        if self.failure.set(reason.clone()).is_ok() {
            tracing::error!(
                "{reason}; the data directory no longer accepts writes: restart the broker once the disk is sound (recovery checks what reached it)"
            );
        }
    }

    /// The `syncfs` round that covers everything written to the directory
    /// before this call (see [`DirSync::next_round`]).
    pub(crate) fn next_sync_round(&self) -> u64 {
        self.sync.next_round()
    }

    /// Makes everything written to the directory before `round` was
    /// numbered durable (one `syncfs` shared by all logs that wait at the
    /// same time; `file`, any file of the directory, names the
    /// filesystem). `Err` with the reason once the directory has failed,
    /// by this sync or earlier.
    pub(crate) async fn sync_written(
        &self,
        round: u64,
        file: &Arc<File>,
        path: &Path,
    ) -> Result<(), String> {
        self.sync
            .sync_round(round, file, |e| self.fail("syncfs", path, e))
            .await;
        match self.failure() {
            Some(reason) => Err(reason.to_string()),
            None => Ok(()),
        }
    }

    /// [`Log::open_with`](crate::Log::open_with) changed a log's
    /// directory (created it, or removed its clean-shutdown marker) and
    /// left making that durable to [`DirHealth::sync_new_logs`]
    /// ([`NewLogSync::Shared`](crate::NewLogSync::Shared)).
    pub(crate) fn note_unsynced_log(&self) {
        self.new_logs_unsynced.store(true, Ordering::Release);
    }

    /// Makes what [`Log::open_with`](crate::Log::open_with) changed in the
    /// directories of logs opened with
    /// [`NewLogSync::Shared`](crate::NewLogSync::Shared) before this call
    /// durable, on this thread: one `syncfs` of the filesystem that holds
    /// `dir` if any such change waits for one, nothing otherwise (logs a
    /// crash left unclean have no marker to remove). Callers that open
    /// logs at the same time share a `syncfs`. A failed `syncfs`
    /// fails the directory, as a failed group commit does (written-back
    /// data of any of its logs may be lost); `Err` once it has failed.
    pub fn sync_new_logs(&self, dir: &Path) -> Result<()> {
        let _round = self.new_logs_sync.lock().unwrap_or_else(|e| e.into_inner());
        if self.new_logs_unsynced.swap(false, Ordering::AcqRel) {
            let handle = File::open(dir).map_err(|e| {
                // Still waiting: the next call must sync for them.
                self.new_logs_unsynced.store(true, Ordering::Release);
                StorageError::io("open directory", dir, e)
            })?;
            FSYNC_LATENCY
                .time(|| rustix::fs::syncfs(&handle))
                .map_err(|e| self.fail("syncfs", dir, &std::io::Error::from(e)))
                .ok();
        }
        match self.failure() {
            Some(reason) => Err(StorageError::DirFailed {
                dir: dir.to_path_buf(),
                reason: reason.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// A log starts (`true`) or stops keeping its appends in memory.
    pub(crate) fn caching_logs_changed(&self, caching: bool) {
        if caching {
            self.caching_logs.fetch_add(1, Ordering::Relaxed);
        } else {
            self.caching_logs.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// How many bytes of its newest batches each log may keep in memory
    /// (see `tail_cache.rs`): the directory's budget shared among the
    /// logs that do.
    pub(crate) fn tail_cache_share(&self) -> usize {
        let logs = self.caching_logs.load(Ordering::Relaxed).max(1);
        (self.tail_cache_budget / logs).min(MAX_TAIL_CACHE_PER_LOG)
    }

    /// Takes `bytes` of the tail cache budget for one log's cache; false,
    /// taking nothing, when the caches together would pass the budget.
    pub(crate) fn hold_tail_bytes(&self, bytes: usize) -> bool {
        self.tail_cache_held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(bytes)
                    .filter(|&after| after <= self.tail_cache_budget)
            })
            .is_ok()
    }

    /// Gives back what [`DirHealth::hold_tail_bytes`] took.
    pub(crate) fn release_tail_bytes(&self, bytes: usize) {
        self.tail_cache_held.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// What the directory's tail caches hold together, in bytes (their
    /// entries counted): at most `strom.fetch.cache.bytes`.
    pub fn tail_cache_held(&self) -> usize {
        self.tail_cache_held.load(Ordering::Relaxed)
    }

    /// A checked read returned batches, from memory or from the files.
    pub(crate) fn count_read(&self, from_memory: bool) {
        let counter = if from_memory {
            &self.reads_from_memory
        } else {
            &self.reads_from_files
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Checked reads (fetches) that returned batches since the start:
    /// (from the tail cache, from the segment files).
    pub fn fetch_reads(&self) -> (u64, u64) {
        (
            self.reads_from_memory.load(Ordering::Relaxed),
            self.reads_from_files.load(Ordering::Relaxed),
        )
    }

    /// Why writes are refused, once a failure was recorded.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }
}
