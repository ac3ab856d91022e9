//! One broker per data dir: an advisory lock on `DIR/.lock`, as Kafka
//! takes on each log dir. Two brokers on one dir would overwrite each
//! other's acknowledged records.
//!
//! The lock is the operating system's (`flock`): it is released when the
//! holder's process ends, however it ends, so a crashed broker never leaves
//! a stale lock behind. The file also names the holder (process id and
//! start time) so that the refused broker can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::clock::now_ms;
use crate::error::BrokerError;

/// The lock file's name inside the data dir, Kafka's.
pub const LOCK_FILE: &str = ".lock";

/// Held for as long as the broker uses the data dir; dropping it unlocks.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (created if missing), or says which
    /// process holds it.
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, BrokerError> {
        let io_error = |source| BrokerError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io_error)?;
        let path = data_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(BrokerError::DataDirInUse {
                    path: data_dir.to_path_buf(),
                    holder: describe_holder(&holder),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        // Only the holder writes the file, so a reader never sees two names.
        // The lock is what matters: on a full disk the name may not fit,
        // and the broker must still start (to serve reads).
        let holder = format!("pid={} started_ms={}\n", std::process::id(), now_ms());
        let named = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.as_bytes()));
        if let Err(e) = named {
            tracing::warn!(path = %path.display(), "cannot write the lock holder's pid: {e}");
        }
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn describe_holder(contents: &str) -> String {
    let pid = contents
        .split_whitespace()
        .find_map(|field| field.strip_prefix("pid="));
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_dir_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        let refused = DataDirLock::acquire(dir.path()).unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("in use"), "{message}");
        drop(held);
        DataDirLock::acquire(dir.path()).expect("free again once the holder is gone");
    }
}
