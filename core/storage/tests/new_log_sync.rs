//! Logs opened with `NewLogSync::Shared` are made durable by one `syncfs`
//! that their opener asks for, and only when opening changed a directory
//! (a new log, a removed clean-shutdown marker). A file of its own: the
//! `syncfs` counter is process-wide.

mod common;

use common::files::syncs_during;
use common::*;
use strom_storage::{DirHealth, Log, NewLogSync};

fn open_shared(
    dir: &std::path::Path,
    names: std::ops::Range<usize>,
    health: &std::sync::Arc<DirHealth>,
) -> Vec<Log> {
    names
        .map(|i| {
            let path = dir.join(format!("t-{i}"));
            Log::open_with(path, small_config(), health.clone(), NewLogSync::Shared).unwrap()
        })
        .collect()
}

/// The checkpoint files of a log directory, by name, with their inodes.
fn checkpoint_inodes(dir: &std::path::Path) -> Vec<(String, u64)> {
    common::files::inodes(dir, |name| name.ends_with("-checkpoint"))
}

#[test]
fn logs_opened_together_share_one_syncfs_when_opening_changed_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let health = DirHealth::new();
    let logs = open_shared(dir.path(), 0..10, &health);
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        1,
        "one syncfs for the ten new logs"
    );
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        0,
        "nothing new since"
    );
    for log in &logs {
        log.append(&mut simple_batch(2, 1, 10), OPTIONS).unwrap();
    }
    drop(logs);

    // After a crash (no clean-shutdown markers), reopening changes no
    // directory.
    let health = DirHealth::new();
    let logs = open_shared(dir.path(), 0..10, &health);
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        0,
        "reopened after a crash: nothing to sync"
    );
    for log in &logs {
        assert_eq!(log.log_end_offset(), 2, "their records came back");
        log.close().unwrap();
    }
    drop(logs);
    let checkpoints = checkpoint_inodes(&dir.path().join("t-0"));
    assert_eq!(checkpoints.len(), 4, "{checkpoints:?}");

    // After a clean stop, the removal of the ten markers shares one.
    let health = DirHealth::new();
    let logs = open_shared(dir.path(), 0..10, &health);
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        1,
        "one syncfs for the ten removed markers"
    );
    assert_eq!(logs[9].log_end_offset(), 2);
    let log_dir = dir.path().join("t-0");
    assert!(
        !log_dir.join(".clean-shutdown").exists(),
        "a crash from now on reads as unclean"
    );
    assert_eq!(
        checkpoint_inodes(&log_dir),
        checkpoints,
        "nothing changed, nothing rewritten"
    );

    // One new log among existing ones is enough to need the syncfs.
    let _new = open_shared(dir.path(), 10..11, &health);
    assert!(dir.path().join("t-10").is_dir());
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        1
    );
}
