mod common;

use std::sync::Arc;

use common::*;
use strom_storage::{FlushPolicy, LogConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_waiters_all_complete_and_are_covered() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(
        dir.path(),
        LogConfig {
            segment_bytes: 8 * 1024,
            ..small_config()
        },
    ));
    assert_eq!(log.durable_offset(), 0);
    let mut tasks = Vec::new();
    for task in 0..32 {
        let log = Arc::clone(&log);
        tasks.push(tokio::spawn(async move {
            let mut covered = 0;
            for i in 0..10 {
                let mut batch = simple_batch(1 + (task + i) % 3, 1, 50);
                let outcome = log.append(&mut batch, OPTIONS).unwrap();
                log.wait_durable(outcome.last_offset + 1).await.unwrap();
                assert!(log.durable_offset() > outcome.last_offset);
                covered = covered.max(outcome.last_offset + 1);
            }
            covered
        }));
    }
    let mut highest = 0;
    for task in tasks {
        highest = highest.max(task.await.unwrap());
    }
    assert_eq!(highest, log.log_end_offset());
    assert!(log.durable_offset() >= highest);
    assert!(log.segment_count() > 1, "waits spanned segment rolls");
}

#[tokio::test]
async fn page_cache_policy_returns_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            flush: FlushPolicy::PageCache,
            ..small_config()
        },
    );
    let o = log.append(&mut simple_batch(2, 1, 5), OPTIONS).unwrap();
    log.wait_durable(o.last_offset + 1).await.unwrap();
    assert_eq!(log.durable_offset(), 0, "nothing was fsynced");
    log.flush().unwrap();
    assert_eq!(log.durable_offset(), 2);
    assert_eq!(log.recovery_point(), 2);
}
