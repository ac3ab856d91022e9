//! Durability: `wait_durable`, explicit `flush`, and the fsync of rolled
//! segments that moves the recovery point.
//!
//! `wait_durable` notes the log end, waits for a `syncfs` of the data
//! directory's filesystem that started after it was written (shared by
//! every log of the directory: [`crate::dir_sync`]), then publishes the
//! new durable offset on a `watch` channel.

use std::sync::MutexGuard;

use tokio::sync::watch;

use crate::checkpoint::{
    offset_file_name, write_atomically, write_offset, RECOVERY_POINT_FILE, SNAPSHOT_SUFFIX,
};
use crate::config::FlushPolicy;
use crate::error::{Result, StorageError};
use crate::log::Log;

pub(crate) struct GroupCommit {
    /// Exclusive end offset known to be on disk.
    durable: watch::Sender<i64>,
}

impl GroupCommit {
    pub fn new(durable: i64) -> Self {
        GroupCommit {
            durable: watch::Sender::new(durable),
        }
    }

    pub fn durable(&self) -> i64 {
        *self.durable.borrow()
    }

    pub fn publish(&self, offset: i64) {
        self.durable.send_if_modified(|durable| {
            let advanced = offset > *durable;
            *durable = (*durable).max(offset);
            advanced
        });
    }

    /// After a truncation nothing past the new end can be durable.
    pub fn lower_to(&self, offset: i64) {
        self.durable.send_if_modified(|durable| {
            let lowered = offset < *durable;
            *durable = (*durable).min(offset);
            lowered
        });
    }
}

impl Log {
    /// Exclusive end offset known to be on disk.
    pub fn durable_offset(&self) -> i64 {
        self.group_commit.durable()
    }

    /// Returns once every offset below `offset` (the LEO after an append,
    /// i.e. `last_offset + 1`) is on disk; offsets past the LEO are treated
    /// as the LEO. Waiters of every log in the data directory share one
    /// `syncfs` (see the `dir_sync` module). With [`FlushPolicy::PageCache`] it
    /// returns at once.
    pub async fn wait_durable(&self, offset: i64) -> Result<()> {
        loop {
            let (target, round, file, path) = {
                let state = self.lock();
                // After a failed sync nothing more is acknowledged, not
                // even an append that reached the page cache before it.
                self.ensure_writable(&state)?;
                if state.config.flush == FlushPolicy::PageCache {
                    return Ok(());
                }
                let wanted = offset.min(state.log_end_offset());
                if self.group_commit.durable() >= wanted {
                    return Ok(());
                }
                (
                    state.log_end_offset(),
                    state.covering_sync_round,
                    state.active.log_file(),
                    state.active.log_path().to_path_buf(),
                )
            };
            // Everything below `target` was written before `round` was
            // numbered.
            if let Err(reason) = self.health.sync_written(round, &file, &path).await {
                return Err(StorageError::DirFailed {
                    dir: self.dir.clone(),
                    reason,
                });
            }
            self.group_commit.publish(target);
        }
    }

    /// Synchronous flush of everything: segment data and index files are
    /// fsynced and the recovery point moves to the LEO.
    pub fn flush(&self) -> Result<()> {
        let files = self.lock_checkpoints();
        self.flush_rolled_holding(&files)?;
        let (end, handles) = {
            let mut state = self.lock();
            self.ensure_writable(&state)?;
            state.active.persist_indexes()?;
            (state.log_end_offset(), state.active.take_sync_handles())
        };
        self.sync_data(&handles)?;
        self.group_commit.publish(end);
        let advanced = {
            let mut state = self.lock();
            let advanced = end > state.recovery_point;
            state.recovery_point = state.recovery_point.max(end);
            advanced
        };
        if advanced {
            write_offset(&self.dir, RECOVERY_POINT_FILE, end)?;
        }
        Ok(())
    }

    /// Fsyncs segments that were rolled, writes their producer snapshots and
    /// advances the recovery point past them. Runs on the appending thread
    /// after the log lock is released (once per `segment.bytes`).
    pub(crate) fn flush_rolled(&self) -> Result<()> {
        let files = self.lock_checkpoints();
        self.flush_rolled_holding(&files)
    }

    /// [`Log::flush_rolled`] for callers that already hold the checkpoint lock.
    pub(crate) fn flush_rolled_holding(&self, _files: &MutexGuard<'_, ()>) -> Result<()> {
        let pending: Vec<_> = {
            let state = self.lock();
            state
                .unflushed
                .iter()
                .map(|r| {
                    (
                        r.base_offset,
                        r.next_offset,
                        r.handles.clone(),
                        r.snapshot.clone(),
                    )
                })
                .collect()
        };
        if pending.is_empty() {
            return Ok(());
        }
        self.ensure_dir_healthy()?;
        for (_, next_offset, handles, snapshot) in &pending {
            self.sync_data(handles)?;
            write_atomically(
                &self.dir,
                &offset_file_name(*next_offset, SNAPSHOT_SUFFIX),
                snapshot,
            )?;
        }
        let new_point = {
            let mut state = self.lock();
            state
                .unflushed
                .retain(|r| !pending.iter().any(|(base, ..)| *base == r.base_offset));
            let point = state
                .unflushed
                .iter()
                .map(|r| r.base_offset)
                .min()
                .unwrap_or(state.active.base_offset);
            (point > state.recovery_point).then(|| {
                state.recovery_point = point;
                point
            })
        };
        if let Some(point) = new_point {
            write_offset(&self.dir, RECOVERY_POINT_FILE, point)?;
        }
        Ok(())
    }
}
