//! openraft's `RaftLogStorage` (storage-v2) on top of [`DiskLog`].
//!
//! Disk work runs on tokio's blocking threads so an fsync never stalls the
//! runtime. openraft issues log writes one at a time, and every write here
//! finishes (fsync included) before its future resolves, so writes stay in
//! order and `LogFlushed` is only signalled for entries already on disk.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};

use crate::error::StoreError;
use crate::log_disk::{DiskLog, LogEntry, SharedEntries};
use crate::{NodeId, TypeConfig};

type Lid = LogId<NodeId>;

#[derive(Clone)]
pub(crate) struct LogStore {
    disk: Arc<Mutex<DiskLog>>,
    entries: SharedEntries,
    /// Committed index + 1 (0: nothing committed yet), for `Quorum::status`.
    committed: Arc<AtomicU64>,
}

impl LogStore {
    /// `strict`: refuse holes in the log (see `DiskLog`); true in a node.
    pub(crate) async fn open(
        dir: PathBuf,
        segment_bytes: u64,
        strict: bool,
    ) -> Result<LogStore, StoreError> {
        let disk = tokio::task::spawn_blocking(move || DiskLog::open(&dir, segment_bytes, strict))
            .await
            .map_err(|e| StoreError::Background(e.to_string()))??;
        let committed = disk.committed().map_or(0, |c| c.index + 1);
        Ok(LogStore {
            entries: disk.entries(),
            disk: Arc::new(Mutex::new(disk)),
            committed: Arc::new(AtomicU64::new(committed)),
        })
    }

    /// The highest index known to be committed, as far as this node knows.
    pub(crate) fn committed_index(&self) -> Arc<AtomicU64> {
        self.committed.clone()
    }

    /// Runs `op` on the disk log on a blocking thread.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DiskLog) -> Result<T, StoreError> + Send + 'static,
    {
        let disk = self.disk.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = disk.lock().map_err(|_| StoreError::Failed)?;
            op(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Background(e.to_string()))?
    }

    /// Quick reads of in-memory state; no disk I/O happens under this lock
    /// except inside `run`, which openraft never overlaps with these calls.
    fn with_disk<T>(&self, read: impl FnOnce(&DiskLog) -> T) -> Result<T, StoreError> {
        let guard = self.disk.lock().map_err(|_| StoreError::Failed)?;
        Ok(read(&guard))
    }
}

/// The entries in `range`, an empty list for an empty or inverted range
/// (where `BTreeMap::range` would panic).
fn read_range<RB: RangeBounds<u64>>(entries: &SharedEntries, range: &RB) -> Vec<LogEntry> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => match s.checked_add(1) {
            Some(s) => s,
            None => return Vec::new(),
        },
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    if start >= end {
        return Vec::new();
    }
    let entries = entries.read().unwrap_or_else(PoisonError::into_inner);
    entries.range(start..end).map(|(_, e)| e.clone()).collect()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<LogEntry>, StorageError<NodeId>> {
        Ok(read_range(&self.entries, &range))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        self.with_disk(|d| LogState {
            last_purged_log_id: d.purged(),
            last_log_id: d.last_log_id(),
        })
        .map_err(|e| StorageIOError::read_logs(&e).into())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let vote = *vote;
        self.run(move |d| d.save_vote(&vote))
            .await
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.with_disk(|d| d.vote())
            .map_err(|e| StorageIOError::read_vote(&e).into())
    }

    async fn save_committed(&mut self, committed: Option<Lid>) -> Result<(), StorageError<NodeId>> {
        if let Some(c) = committed {
            self.committed.fetch_max(c.index + 1, Ordering::Relaxed);
        }
        // Only a hint for restarts: losing it is safe, so a failure to write
        // it is logged rather than stopping Raft.
        if let Err(e) = self.run(move |d| d.save_committed(committed)).await {
            tracing::warn!(error = %e, "cannot save the committed-index hint");
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<Lid>, StorageError<NodeId>> {
        self.with_disk(|d| d.committed())
            .map_err(|e| StorageIOError::read_logs(&e).into())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = LogEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let batch: Vec<LogEntry> = entries.into_iter().collect();
        match self.run(move |d| d.append(batch)).await {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(io::Error::other(e.to_string())));
                Err(StorageIOError::write_logs(&e).into())
            }
        }
    }

    async fn truncate(&mut self, log_id: Lid) -> Result<(), StorageError<NodeId>> {
        self.run(move |d| d.truncate(log_id.index))
            .await
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: Lid) -> Result<(), StorageError<NodeId>> {
        self.run(move |d| d.purge(log_id))
            .await
            .map_err(|e| StorageIOError::write_logs(&e).into())
    }
}
