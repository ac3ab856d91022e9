//! Logs created with `NewLogSync::Shared` are made durable by one `syncfs`
//! that their creator asks for, and only when one of them is new. A file
//! of its own: the `syncfs` counter is process-wide.

mod common;

use common::*;
use strom_storage::latency::FSYNC_LATENCY;
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

/// Syncs counted while `work` runs.
fn syncs_during(work: impl FnOnce()) -> u64 {
    let before = FSYNC_LATENCY.count();
    work();
    FSYNC_LATENCY.count() - before
}

#[test]
fn new_logs_share_one_syncfs_and_reopened_ones_need_none() {
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

    // A restart (a cluster node replaying its metadata) reopens them.
    let health = DirHealth::new();
    let logs = open_shared(dir.path(), 0..10, &health);
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        0,
        "reopened logs are durable already"
    );
    for log in &logs {
        assert_eq!(log.log_end_offset(), 2, "their records came back");
    }

    // One new log among existing ones is enough to need the syncfs.
    let _new = open_shared(dir.path(), 10..11, &health);
    assert!(dir.path().join("t-10").is_dir());
    assert_eq!(
        syncs_during(|| health.sync_new_logs(dir.path()).unwrap()),
        1
    );
}
