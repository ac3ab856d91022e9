mod common;

use common::*;
use strom_storage::{LogConfig, StorageError};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

/// Appends batches of 5 records whose timestamps are `ts`, until at least
/// `segments` segments exist; returns the LEO.
fn fill(log: &strom_storage::Log, segments: usize, ts: impl Fn(usize) -> i64) -> i64 {
    let mut i = 0;
    while log.segment_count() < segments {
        log.append(&mut simple_batch(5, ts(i), 50), OPTIONS)
            .unwrap();
        i += 1;
    }
    let end = log.log_end_offset();
    log.set_high_watermark(end);
    end
}

#[test]
fn retention_by_time_deletes_old_segments_and_advances_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_ms: 10_000,
            ..config()
        },
    );
    fill(&log, 4, |i| i as i64 * 1_000);
    let bases = log.segment_base_offsets();
    // Segment k's newest record is (base of k+1)/5 - 1 seconds + 4 ms.
    let newest_of_first = ((bases[1] / 5 - 1) * 1_000) + 4;
    let outcome = log.apply_retention(newest_of_first + 10_000).unwrap();
    assert_eq!(
        outcome.deleted_segments, 0,
        "not older than retention.ms yet"
    );
    let outcome = log.apply_retention(newest_of_first + 10_001).unwrap();
    assert_eq!(outcome.deleted_segments, 1);
    assert_eq!(log.log_start_offset(), bases[1]);
    assert_eq!(outcome.log_start_offset, bases[1]);
    assert!(!dir.path().join(format!("{:020}.log", bases[0])).exists());
    assert!(matches!(
        log.read(0, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert_eq!(read_all(&log)[0].base_offset, bases[1]);
}

#[test]
fn retention_can_empty_the_log_by_rolling_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_ms: 10,
            ..config()
        },
    );
    let end = fill(&log, 3, |_| 100);
    log.apply_retention(1_000_000).unwrap();
    assert_eq!(log.log_start_offset(), end);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.size_bytes(), 0);
    let o = log.append(&mut simple_batch(1, 1, 5), OPTIONS).unwrap();
    assert_eq!(o.base_offset, end);
}

#[test]
fn retention_never_deletes_data_above_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_ms: 10,
            ..config()
        },
    );
    fill(&log, 3, |_| 100);
    log.set_high_watermark(0);
    assert_eq!(log.apply_retention(1_000_000).unwrap().deleted_segments, 0);
    let bases = log.segment_base_offsets();
    log.set_high_watermark(bases[1]);
    assert_eq!(log.apply_retention(1_000_000).unwrap().deleted_segments, 1);
    assert_eq!(log.log_start_offset(), bases[1]);
}

#[test]
fn retention_by_bytes_keeps_the_newest_segments_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_bytes: 2500,
            ..config()
        },
    );
    fill(&log, 6, |i| i as i64);
    let before = log.segment_count();
    let outcome = log.apply_retention(0).unwrap();
    assert!(outcome.deleted_segments > 0);
    assert_eq!(log.segment_count(), before - outcome.deleted_segments);
    assert!(log.size_bytes() <= 2500 + 1024, "size {}", log.size_bytes());
    // Deleting one more segment would go below the limit.
    assert!(log.size_bytes() > 2500 - 1024);
    assert_eq!(log.apply_retention(0).unwrap().deleted_segments, 0);
}

#[test]
fn retention_minus_one_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            retention_ms: -1,
            ..config()
        },
    );
    fill(&log, 3, |_| 0);
    assert_eq!(log.apply_retention(i64::MAX).unwrap().deleted_segments, 0);
}

#[test]
fn delete_records_before_moves_the_log_start_and_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    let end = fill(&log, 4, |_| 1);
    let bases = log.segment_base_offsets();
    let target = bases[2] + 3;
    assert!(matches!(
        log.delete_records_before(end + 1),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.delete_records_before(target).unwrap(), target);
    assert_eq!(log.segment_base_offsets(), bases[2..].to_vec());
    assert!(matches!(
        log.read(target - 1, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    // The batch containing the new start is returned whole.
    assert_eq!(
        read_batches(&log, target, 1, i64::MAX, true)[0].base_offset,
        bases[2]
    );
    assert_eq!(
        log.delete_records_before(1).unwrap(),
        target,
        "never moves backwards"
    );
    drop(log); // no clean close
    let log = open(dir.path(), config());
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(log.log_end_offset(), end);
}
