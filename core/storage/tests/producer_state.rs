mod common;

use common::*;
use strom_protocol::error_codes;
use strom_storage::{LogConfig, StorageError};

fn p(id: i64, epoch: i16, base_sequence: i32) -> Producer {
    Producer {
        id,
        epoch,
        base_sequence,
    }
}

#[test]
fn duplicates_of_the_last_five_batches_return_the_original_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut originals = Vec::new();
    for i in 0..7 {
        // Interleave another producer so offsets are not trivially sequential.
        log.append(&mut simple_batch(1, 1, 5), OPTIONS).unwrap();
        let o = log
            .append(&mut idempotent_batch(3, p(9, 0, 3 * i)), OPTIONS)
            .unwrap();
        originals.push(o);
    }
    let end = log.log_end_offset();
    for (i, original) in originals.iter().enumerate().skip(2) {
        let dup = log
            .append(&mut idempotent_batch(3, p(9, 0, 3 * i as i32)), OPTIONS)
            .unwrap();
        assert!(dup.duplicate);
        assert_eq!(
            (dup.base_offset, dup.last_offset),
            (original.base_offset, original.last_offset)
        );
    }
    assert_eq!(log.log_end_offset(), end, "duplicates are not appended");
    // The sixth-newest batch is forgotten: it is now a sequence error.
    let err = log
        .append(&mut idempotent_batch(3, p(9, 0, 3)), OPTIONS)
        .unwrap_err();
    assert!(matches!(
        err,
        StorageError::OutOfOrderSequence {
            expected: 21,
            received: 3,
            ..
        }
    ));
    assert_eq!(
        err.kafka_error_code(),
        error_codes::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    let state = log.producer_state(9).unwrap();
    assert_eq!(state.batches.len(), 5);
    assert_eq!(state.last_sequence(), Some(20));
}

#[test]
fn gaps_are_rejected_and_unknown_producers_may_start_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    // Unknown producer with sequence 42: accepted (Kafka 2.5+).
    log.append(&mut idempotent_batch(2, p(1, 0, 42)), OPTIONS)
        .unwrap();
    let err = log
        .append(&mut idempotent_batch(2, p(1, 0, 45)), OPTIONS)
        .unwrap_err();
    assert!(matches!(
        err,
        StorageError::OutOfOrderSequence {
            expected: 44,
            received: 45,
            ..
        }
    ));
    assert!(log
        .append(&mut idempotent_batch(2, p(1, 0, 44)), OPTIONS)
        .is_ok());
}

#[test]
fn epochs_fence_old_producers_and_new_epochs_restart_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append(&mut idempotent_batch(2, p(5, 3, 0)), OPTIONS)
        .unwrap();
    let err = log
        .append(&mut idempotent_batch(2, p(5, 2, 2)), OPTIONS)
        .unwrap_err();
    assert!(matches!(
        err,
        StorageError::InvalidProducerEpoch {
            current: 3,
            received: 2,
            ..
        }
    ));
    assert_eq!(err.kafka_error_code(), error_codes::INVALID_PRODUCER_EPOCH);
    let err = log
        .append(&mut idempotent_batch(2, p(5, 4, 2)), OPTIONS)
        .unwrap_err();
    assert!(matches!(
        err,
        StorageError::OutOfOrderSequence { expected: 0, .. }
    ));
    log.append(&mut idempotent_batch(2, p(5, 4, 0)), OPTIONS)
        .unwrap();
    let state = log.producer_state(5).unwrap();
    assert_eq!(state.producer_epoch, 4);
    assert_eq!(state.batches.len(), 1);
}

#[test]
fn a_duplicate_in_a_multi_batch_append_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append(&mut idempotent_batch(2, p(5, 0, 0)), OPTIONS)
        .unwrap();
    let mut bytes = simple_batch(1, 1, 1);
    bytes.extend(idempotent_batch(2, p(5, 0, 0)));
    assert!(log.append(&mut bytes, OPTIONS).unwrap().duplicate);
    assert_eq!(log.log_end_offset(), 2);
    // Sequences are checked batch by batch within one append.
    let mut bytes = idempotent_batch(2, p(5, 0, 2));
    bytes.extend(idempotent_batch(2, p(5, 0, 4)));
    assert_eq!(log.append(&mut bytes, OPTIONS).unwrap().last_offset, 5);
}

fn produce_history(log: &strom_storage::Log) -> Vec<(i64, i64)> {
    let mut offsets = Vec::new();
    for i in 0..40 {
        let o = log
            .append(&mut idempotent_batch(4, p(77, 1, 4 * i)), OPTIONS)
            .unwrap();
        offsets.push((o.base_offset, o.last_offset));
        log.append(&mut idempotent_batch(1, p(78, 0, i)), OPTIONS)
            .unwrap();
    }
    offsets
}

fn assert_state_restored(log: &strom_storage::Log, offsets: &[(i64, i64)]) {
    for (i, original) in offsets.iter().enumerate().skip(35) {
        let dup = log
            .append(&mut idempotent_batch(4, p(77, 1, 4 * i as i32)), OPTIONS)
            .unwrap();
        assert!(dup.duplicate, "batch {i}");
        assert_eq!((dup.base_offset, dup.last_offset), *original);
    }
    assert!(log
        .append(&mut idempotent_batch(1, p(78, 0, 41)), OPTIONS)
        .is_err());
    assert!(matches!(
        log.append(&mut idempotent_batch(1, p(77, 0, 160)), OPTIONS),
        Err(StorageError::InvalidProducerEpoch { .. })
    ));
    log.append(&mut idempotent_batch(4, p(77, 1, 160)), OPTIONS)
        .unwrap();
}

#[test]
fn producer_state_survives_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        ..small_config()
    };
    let log = open(dir.path(), config.clone());
    let offsets = produce_history(&log);
    log.close().unwrap();
    let log = open(dir.path(), config);
    assert_state_restored(&log, &offsets);
}

#[test]
fn producer_state_survives_an_unclean_stop_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        ..small_config()
    };
    let log = open(dir.path(), config.clone());
    let offsets = produce_history(&log);
    assert!(log.segment_count() > 2, "snapshots at rolls are exercised");
    drop(log);
    let log = open(dir.path(), config.clone());
    assert_state_restored(&log, &offsets);
    // Without any snapshot, replay from the start gives the same state.
    drop(log);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), config);
    let state = log.producer_state(77).unwrap();
    assert_eq!(state.last_sequence(), Some(163));
}

#[test]
fn truncation_rewinds_producer_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        ..small_config()
    };
    let log = open(dir.path(), config);
    let offsets = produce_history(&log);
    log.truncate_to(offsets[10].0).unwrap();
    assert_eq!(log.producer_state(77).unwrap().last_sequence(), Some(39));
    // The batch at the truncation point can be sent again and is not a duplicate.
    let o = log
        .append(&mut idempotent_batch(4, p(77, 1, 40)), OPTIONS)
        .unwrap();
    assert!(!o.duplicate);
    assert_eq!(o.base_offset, offsets[10].0);
}
