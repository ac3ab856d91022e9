mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::records::{BatchHeader, TimestampType};
use strom_storage::{AppendOptions, LogConfig, StorageError};

#[test]
fn append_assigns_offsets_and_reads_back_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut expected = Vec::new();
    for i in 0..20 {
        let mut batch = simple_batch(1 + i % 4, 1_000 + i as i64, 30);
        let outcome = log.append(&mut batch, OPTIONS).unwrap();
        assert!(!outcome.duplicate);
        assert_eq!(outcome.log_append_time, -1);
        let h = BatchHeader::parse(&batch).unwrap();
        assert_eq!(h.base_offset(), outcome.base_offset);
        assert_eq!(h.last_offset(), outcome.last_offset);
        h.verify_crc().unwrap();
        expected.push(batch);
    }
    assert_eq!(
        log.log_end_offset(),
        expected
            .iter()
            .map(|b| BatchHeader::parse(b).unwrap().record_count() as i64)
            .sum::<i64>()
    );
    let stored: Vec<Vec<u8>> = read_all(&log).into_iter().map(|b| b.bytes).collect();
    assert_eq!(stored, expected);
}

#[test]
fn several_batches_in_one_append_get_consecutive_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut bytes = simple_batch(3, 10, 5);
    bytes.extend(simple_batch(2, 20, 5));
    let outcome = log.append(&mut bytes, OPTIONS).unwrap();
    assert_eq!((outcome.base_offset, outcome.last_offset), (0, 4));
    let batches = read_all(&log);
    assert_eq!(
        batches
            .iter()
            .map(|b| (b.base_offset, b.last_offset))
            .collect::<Vec<_>>(),
        vec![(0, 2), (3, 4)]
    );
}

#[test]
fn reading_from_the_middle_of_a_batch_returns_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append(&mut simple_batch(5, 1, 10), OPTIONS).unwrap();
    log.append(&mut simple_batch(5, 1, 10), OPTIONS).unwrap();
    let batches = read_batches(&log, 7, 1 << 20, i64::MAX, true);
    assert_eq!(batches[0].base_offset, 5);
    assert_eq!(batches[0].last_offset, 9);
}

#[test]
fn max_bytes_and_min_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut size = 0;
    for _ in 0..3 {
        let mut b = simple_batch(2, 1, 50);
        size = b.len() as u32;
        log.append(&mut b, OPTIONS).unwrap();
    }
    // Room for two batches and a bit: exactly two come back.
    assert_eq!(
        read_batches(&log, 0, 2 * size + 10, i64::MAX, true).len(),
        2
    );
    // Smaller than one batch: nothing, unless min_one_batch.
    assert!(log.read(0, size - 1, i64::MAX, false).unwrap().is_empty());
    let one = read_batches(&log, 0, size - 1, i64::MAX, true);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].bytes.len() as u32, size);
}

#[test]
fn reads_stop_at_max_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    for _ in 0..4 {
        log.append(&mut simple_batch(2, 1, 5), OPTIONS).unwrap();
    }
    let batches = read_batches(&log, 0, 1 << 20, 4, true);
    assert_eq!(
        batches.iter().map(|b| b.base_offset).collect::<Vec<_>>(),
        vec![0, 2]
    );
    // Even min_one_batch does not cross the bound.
    assert!(log.read(4, 1 << 20, 4, true).unwrap().is_empty());
    // A batch straddling the bound is not returned.
    assert!(log.read(4, 1 << 20, 5, true).unwrap().is_empty());
}

#[test]
fn out_of_range_offsets_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append(&mut simple_batch(3, 1, 5), OPTIONS).unwrap();
    assert!(log.read(3, 100, i64::MAX, true).unwrap().is_empty());
    let err = log.read(4, 100, i64::MAX, true).unwrap_err();
    assert!(matches!(
        err,
        StorageError::OffsetOutOfRange {
            offset: 4,
            log_start_offset: 0,
            log_end_offset: 3
        }
    ));
    assert_eq!(err.kafka_error_code(), error_codes::OFFSET_OUT_OF_RANGE);
    assert!(matches!(
        log.read(-1, 100, i64::MAX, true),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn log_append_time_and_leader_epoch_are_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let options = AppendOptions {
        leader_epoch: 7,
        log_append_time_ms: Some(123_456),
    };
    let outcome = log.append(&mut simple_batch(2, 5, 5), options).unwrap();
    assert_eq!(outcome.log_append_time, 123_456);
    let stored = read_all(&log);
    let h = BatchHeader::parse(&stored[0].bytes).unwrap();
    assert_eq!(h.partition_leader_epoch(), 7);
    assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(h.max_timestamp(), 123_456);
    h.verify_crc().unwrap();
    assert_eq!(log.latest_epoch(), Some(7));
}

#[test]
fn malformed_appends_are_rejected_without_changing_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut truncated = simple_batch(2, 1, 5);
    truncated.pop();
    assert_eq!(
        log.append(&mut truncated, OPTIONS)
            .unwrap_err()
            .kafka_error_code(),
        error_codes::CORRUPT_MESSAGE
    );
    assert!(log.append(&mut [][..], OPTIONS).is_err());
    assert_eq!(log.log_end_offset(), 0);
}

/// `read_checked` walks the batches through a window instead of a read
/// per header: it must plan exactly what `read` plans, for any start and
/// size, and say whether every batch it returns has its CRC.
#[test]
fn a_checked_read_plans_the_same_read_and_finds_damage_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    // Sizes around and far past the 256 KiB window.
    let sizes = [
        10, 3_000, 70_000, 300_000, 20, 900_000, 5_000, 128, 262_000, 40,
    ];
    let mut positions = Vec::new();
    let mut position = 0u64;
    for (i, size) in sizes.iter().cycle().take(30).enumerate() {
        let mut batch = simple_batch(1 + i % 3, i as i64, *size / (1 + i % 3));
        positions.push(position);
        position += batch.len() as u64;
        log.append(&mut batch, OPTIONS).unwrap();
    }
    // Reopened, the log reads from the files only (its tail cache starts
    // empty): the checked reads plan from them, which is what this checks.
    drop(log);
    let log = open(dir.path(), LogConfig::default());
    let end = log.log_end_offset();
    let mut scratch = Vec::new();
    let same_plan = |scratch: &mut Vec<u8>, offset, max_bytes, min_one| {
        let plain = log.read(offset, max_bytes, end, min_one).unwrap();
        let (checked, intact) = log
            .read_checked(offset, max_bytes, end, min_one, scratch)
            .unwrap();
        let spans = |r: &strom_storage::LogReadResult| {
            r.slices
                .iter()
                .map(|s| (s.position, s.len))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            spans(&checked),
            spans(&plain),
            "offset {offset}, max {max_bytes}"
        );
        (spans(&checked), intact)
    };
    for offset in 0..end {
        for max_bytes in [1, 100, 5_000, 262_144, 1 << 20, 5 << 20] {
            for min_one in [true, false] {
                let (_, intact) = same_plan(&mut scratch, offset, max_bytes, min_one);
                assert!(
                    intact,
                    "offset {offset}, max {max_bytes}: nothing is damaged"
                );
            }
        }
    }

    // One flipped byte near the end of the 900 KB batch (the sixth).
    let path = dir.path().join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    let damaged_at = positions[6] - 100;
    bytes[damaged_at as usize] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    for offset in 0..end {
        let (spans, intact) = same_plan(&mut scratch, offset, 5 << 20, true);
        let covers = spans
            .iter()
            .any(|&(at, len)| at <= damaged_at && damaged_at < at + u64::from(len));
        assert_eq!(
            intact, !covers,
            "offset {offset}: intact unless it covers the damage"
        );
    }
}
