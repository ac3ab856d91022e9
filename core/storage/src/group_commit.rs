//! Durability: group commit for `wait_durable`, explicit `flush`, and the
//! fsync of rolled segments that moves the recovery point.
//!
//! Group commit: the first waiter that finds no fsync in flight becomes the
//! syncer. It notes the LEO and the file handles to sync under the log lock,
//! runs `fdatasync` on tokio's blocking pool, then publishes the new durable
//! offset on a `watch` channel. Every other waiter sleeps on that channel
//! and re-checks, so one fdatasync serves all appends that reached the page
//! cache before it started.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::MutexGuard;

use tokio::sync::watch;

use crate::checkpoint::{
    offset_file_name, write_atomically, write_offset, RECOVERY_POINT_FILE, SNAPSHOT_SUFFIX,
};
use crate::config::FlushPolicy;
use crate::error::{Result, StorageError};
use crate::log::{sync_all_data, Log};

pub(crate) struct GroupCommit {
    /// Exclusive end offset known to be fdatasync'ed.
    durable: watch::Sender<i64>,
    sync_in_flight: AtomicBool,
}

/// The right to run the one fsync in flight; releasing it wakes waiters
/// even when the fsync failed or the syncer was cancelled.
struct SyncTurn<'a> {
    commit: &'a GroupCommit,
}

impl Drop for SyncTurn<'_> {
    fn drop(&mut self) {
        self.commit.sync_in_flight.store(false, Ordering::Release);
        self.commit.durable.send_modify(|_| {});
    }
}

impl GroupCommit {
    pub fn new(durable: i64) -> Self {
        GroupCommit {
            durable: watch::Sender::new(durable),
            sync_in_flight: AtomicBool::new(false),
        }
    }

    pub fn durable(&self) -> i64 {
        *self.durable.borrow()
    }

    fn try_begin(&self) -> Option<SyncTurn<'_>> {
        self.sync_in_flight
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| SyncTurn { commit: self })
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
    /// i.e. `last_offset + 1`) has been fdatasync'ed; offsets past the LEO
    /// are treated as the LEO. Concurrent callers share one fdatasync. With
    /// [`FlushPolicy::PageCache`] it returns at once.
    pub async fn wait_durable(&self, offset: i64) -> Result<()> {
        loop {
            let mut durable = self.group_commit.durable.subscribe();
            let (target, handles) = {
                let state = self.lock();
                // After a failed fsync nothing more is acknowledged, not
                // even an append that reached the page cache before it.
                self.ensure_writable(&state)?;
                if state.config.flush == FlushPolicy::PageCache {
                    return Ok(());
                }
                let wanted = offset.min(state.log_end_offset());
                if *durable.borrow_and_update() >= wanted {
                    return Ok(());
                }
                let mut handles: Vec<_> = state
                    .unflushed
                    .iter()
                    .filter_map(|r| r.handles.first().cloned())
                    .collect();
                handles.push((
                    state.active.log_path().to_path_buf(),
                    state.active.log_file(),
                ));
                (state.log_end_offset(), handles)
            };
            let Some(turn) = self.group_commit.try_begin() else {
                // Someone else is syncing: wait for their result, then re-check.
                // The sender lives as long as `self`, so this cannot fail.
                let _ = durable.changed().await;
                continue;
            };
            let synced = tokio::task::spawn_blocking(move || sync_all_data(&handles)).await;
            match synced {
                Ok(Ok(())) => self.group_commit.publish(target),
                Ok(Err((path, e))) => return Err(self.fsync_failed("fdatasync", &path, e)),
                Err(join) => {
                    return Err(StorageError::io(
                        "fdatasync",
                        &self.dir,
                        std::io::Error::other(join.to_string()),
                    ))
                }
            }
            drop(turn);
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
            (state.log_end_offset(), state.active.sync_handles())
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
