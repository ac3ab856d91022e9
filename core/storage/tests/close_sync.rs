//! What a clean stop writes and syncs: only what changed since the log
//! opened. A file of its own: the sync counter is process-wide.

mod common;

use std::path::Path;

use common::files::{inodes, syncs_during};
use common::*;

/// The log's checkpoint and producer-snapshot files with their inodes.
fn state_files(dir: &Path) -> Vec<(String, u64)> {
    inodes(dir, |name| {
        name.ends_with("-checkpoint") || name.ends_with(".snapshot")
    })
}

#[test]
fn a_clean_stop_syncs_and_rewrites_only_what_changed_since_the_log_opened() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    for _ in 0..40 {
        log.append(&mut simple_batch(3, 1, 100), OPTIONS).unwrap();
    }
    let segments = log.segment_count() as u64;
    assert!(segments >= 3);
    log.close().unwrap();
    drop(log);
    let written = state_files(dir.path());
    assert!(written.len() >= 5, "{written:?}");

    // Opened and closed again with no write in between: the sealed
    // segments were synced at their roll, the active one and its index
    // files at the last close. Nothing is synced, no checkpoint replaced.
    let log = open(dir.path(), small_config());
    assert_eq!(syncs_during(|| log.close().unwrap()), 0);
    drop(log);
    assert_eq!(
        state_files(dir.path()),
        written,
        "nothing changed, nothing rewritten"
    );
    assert!(dir.path().join(".clean-shutdown").exists());

    // One append: the active segment's log and index files are synced
    // (not the sealed ones'), and the files that name the log end are
    // replaced; the log start is not.
    let log = open(dir.path(), small_config());
    log.append(&mut simple_batch(3, 1, 100), OPTIONS).unwrap();
    assert_eq!(syncs_during(|| log.close().unwrap()), 3);
    drop(log);
    let after = state_files(dir.path());
    let inode = |files: &[(String, u64)], name: &str| {
        files.iter().find(|(n, _)| n == name).map(|(_, ino)| *ino)
    };
    assert_eq!(
        inode(&after, "log-start-offset-checkpoint"),
        inode(&written, "log-start-offset-checkpoint")
    );
    assert_ne!(
        inode(&after, "recovery-point-offset-checkpoint"),
        inode(&written, "recovery-point-offset-checkpoint")
    );
    assert!(
        after
            .iter()
            .any(|(name, _)| name == "00000000000000000123.snapshot"),
        "{after:?}"
    );

    // A crash after writes: the next open syncs every segment again
    // (their data may be in the page cache only), so a clean stop right
    // after syncs only the time index it seals.
    let log = open(dir.path(), small_config());
    log.append(&mut simple_batch(3, 1, 100), OPTIONS).unwrap();
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(read_all(&log).len(), 42, "every batch reads back");
    assert_eq!(syncs_during(|| log.close().unwrap()), 1);
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(read_all(&log).len(), 42);
    assert!(log.segment_count() as u64 >= segments);
}
