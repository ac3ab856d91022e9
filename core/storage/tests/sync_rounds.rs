//! How many `syncfs` rounds acknowledged writes cost. A file of its own:
//! the round counter is process-wide.

mod common;

use common::*;
use strom_storage::latency::FSYNC_LATENCY;
use strom_storage::{DirHealth, Log};

/// The partitions of one produce request are written together and then
/// each waits for its commit: one round covers them all, however late
/// each one asks.
#[tokio::test]
async fn logs_written_before_a_round_share_it_however_late_they_wait() {
    let dir = tempfile::tempdir().unwrap();
    let health = DirHealth::new();
    let logs: Vec<Log> = (0..6)
        .map(|i| {
            let path = dir.path().join(format!("t-{i}"));
            Log::open_in(path, small_config(), health.clone()).unwrap()
        })
        .collect();
    let ends: Vec<i64> = logs
        .iter()
        .map(|log| {
            log.append(&mut simple_batch(3, 1, 100), OPTIONS)
                .unwrap()
                .last_offset
                + 1
        })
        .collect();
    let before = FSYNC_LATENCY.count();
    for (log, end) in logs.iter().zip(&ends) {
        log.wait_durable(*end).await.unwrap();
        assert!(log.durable_offset() >= *end);
    }
    assert_eq!(FSYNC_LATENCY.count() - before, 1, "one round for all six");

    // A write after that round started needs a round of its own.
    let end = logs[0]
        .append(&mut simple_batch(1, 2, 100), OPTIONS)
        .unwrap()
        .last_offset
        + 1;
    logs[0].wait_durable(end).await.unwrap();
    assert!(logs[0].durable_offset() >= end);
    assert_eq!(FSYNC_LATENCY.count() - before, 2);
}
