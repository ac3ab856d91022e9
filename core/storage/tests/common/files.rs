//! What a log directory holds, and the syncs that wrote it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use strom_storage::latency::FSYNC_LATENCY;

/// The files of `dir` whose names `wanted` picks, by name, with their
/// inodes (a checkpoint rewrite replaces the file, so its inode changes).
pub fn inodes(dir: &Path, wanted: impl Fn(&str) -> bool) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| wanted(&e.file_name().to_string_lossy()))
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().ino(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Syncs (fsync, fdatasync, syncfs) counted while `work` runs. The
/// counter is process-wide: a test that counts runs in a file of its own.
pub fn syncs_during(work: impl FnOnce()) -> u64 {
    let before = FSYNC_LATENCY.count();
    work();
    FSYNC_LATENCY.count() - before
}
