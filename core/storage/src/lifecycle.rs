//! Clean shutdown and deletion of a partition log.

use std::fs;

use crate::checkpoint::{
    encode_offset, offset_file_name, write_atomically, write_if_changed, CLEAN_SHUTDOWN_FILE,
    HIGH_WATERMARK_FILE, LOG_START_OFFSET_FILE, RECOVERY_POINT_FILE, SNAPSHOT_SUFFIX,
};
use crate::error::{Result, StorageError};
use crate::log::Log;
use crate::producer_state::encode_snapshot;

impl Log {
    /// Clean shutdown: writes out and fsyncs every segment and index that
    /// changed since its last sync, a producer snapshot at the LEO, the
    /// log start / recovery point / high watermark / leader epoch
    /// checkpoints (each unless it already holds its value), and finally
    /// the clean-shutdown marker that lets the next open skip recovery. Later calls on this
    /// `Log` fail with `Closed`; calling `close` again is a no-op.
    pub fn close(&self) -> Result<()> {
        let files = self.lock_checkpoints();
        self.flush_rolled_holding(&files)?;
        let mut state = self.lock();
        if state.closed {
            return Ok(());
        }
        // A failed directory is never marked clean: the next start must
        // recover from what really reached the disk.
        self.ensure_writable(&state)?;
        state.active.trim_zeros()?;
        state.active.seal_indexes()?;
        let handles: Vec<_> = state
            .segments_mut()
            .flat_map(|segment| segment.take_sync_handles())
            .collect();
        self.sync_data(&handles)?;
        let end = state.log_end_offset();
        // Each file only if it changed since it was last written or read.
        write_if_changed(
            &self.dir,
            &offset_file_name(end, SNAPSHOT_SUFFIX),
            &encode_snapshot(&state.producers),
        )?;
        for (name, value) in [
            (LOG_START_OFFSET_FILE, state.log_start_offset),
            (RECOVERY_POINT_FILE, end),
            (HIGH_WATERMARK_FILE, state.high_watermark),
        ] {
            write_if_changed(&self.dir, name, encode_offset(value).as_bytes())?;
        }
        state.epochs.persist_if_changed(&self.dir)?;
        state.recovery_point = end;
        state.closed = true;
        write_atomically(&self.dir, CLEAN_SHUTDOWN_FILE, b"")?;
        self.group_commit.publish(end);
        Ok(())
    }

    /// Deletes the partition directory and everything in it (topic
    /// deletion, or a replica moved away). The log is closed first; open
    /// file slices stay readable until dropped.
    pub fn delete_dir(&self) -> Result<()> {
        let _files = self.lock_checkpoints();
        let mut state = self.lock();
        state.closed = true;
        state.unflushed.clear();
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io("delete log directory", &self.dir, e)),
        }
    }
}
