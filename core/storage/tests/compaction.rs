//! Log compaction: what survives a cleaning pass, tombstones, the dirty
//! ratio, the active segment, concurrent readers and producer state.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use common::keyed::*;
use common::*;
use strom_protocol::records::{BatchHeader, CompressionType};
use strom_storage::{CleanupPolicy, LogConfig, StorageError};

const NOW: i64 = 5_000_000;

#[test]
fn compaction_keeps_exactly_the_latest_value_of_each_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config());
    let mut model = Model::new();
    many_updates(&log, &mut model, 7);
    roll(&log, &mut model, "end");
    let segments_before = log.segment_count();
    assert!(segments_before > 20, "only {segments_before} segments");
    let size_before = log.size_bytes();
    let end_before = log.log_end_offset();

    let outcome = log.compact(NOW).unwrap();
    assert!(outcome.cleaned && !outcome.aborted, "{outcome:?}");
    assert_eq!(outcome.dirty_ratio, 1.0);
    assert_eq!(outcome.records_removed, 2000 - 50);
    assert_eq!(
        outcome.clean_offset,
        *log.segment_base_offsets().last().unwrap()
    );
    assert!(log.size_bytes() < size_before / 5);
    assert_eq!(log.log_end_offset(), end_before);

    let expected = expected_after_compaction(&model, false);
    assert_eq!(consume_all(&log), expected);
    // Fetching at a compacted-away offset returns the next batch after it.
    for gap in [0, 1, 2, 500, 1000] {
        let next = expected.iter().find(|s| s.offset >= gap).unwrap();
        let batches = read_batches(&log, gap, 1, i64::MAX, true);
        assert!(batches[0].base_offset <= next.offset && batches[0].last_offset >= next.offset);
    }
    // Timestamp lookups land on a surviving record at or after the target.
    for seen in &expected {
        let (offset, ts) = log.offset_for_timestamp(seen.timestamp).unwrap().unwrap();
        assert!(
            offset <= seen.offset && ts >= seen.timestamp,
            "lookup {}",
            seen.timestamp
        );
    }

    // A second pass finds nothing to do.
    let again = log.compact(NOW).unwrap();
    assert!(!again.cleaned);
    assert_eq!(again.dirty_ratio, 0.0);

    // Clean restart, then a full crash recovery (recovery point dropped so
    // every cleaned segment is CRC-checked and re-indexed).
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), compact_config());
    assert_eq!(consume_all(&log), expected);
    drop(log);
    std::fs::remove_file(dir.path().join("recovery-point-offset-checkpoint")).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "index" || e == "timeindex")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), compact_config());
    assert_eq!(log.log_end_offset(), end_before);
    assert_eq!(consume_all(&log), expected);
}

#[test]
fn tombstones_live_for_delete_retention_after_the_pass_that_saw_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        delete_retention_ms: 1_000,
        ..compact_config()
    };
    let log = open(dir.path(), config);
    let mut model = Model::new();
    for round in 0..3 {
        let puts: Vec<Put> = (0..10)
            .map(|k| {
                put(
                    &format!("k{k}"),
                    Some(&format!("v{round}")),
                    100 + round * 10 + k,
                )
            })
            .collect();
        model.append(&log, &puts, CompressionType::Lz4, None);
    }
    let deletes: Vec<Put> = (0..4)
        .map(|k| put(&format!("k{k}"), None, 200 + k))
        .collect();
    model.append(&log, &deletes, CompressionType::None, None);
    // Records without a key have no place in a compacted topic: dropped
    // (they are not in the model).
    log.append(&mut simple_batch(3, 300, 10), OPTIONS).unwrap();
    roll(&log, &mut model, "end");

    let first = log.compact(NOW).unwrap();
    assert!(first.cleaned);
    assert_eq!(first.tombstones_removed, 0);
    assert_eq!(consume_all(&log), expected_after_compaction(&model, false));
    // KIP-534: the tombstones' batch carries its delete horizon.
    let tombstone_offset = model.latest()[b"k0".as_slice()].offset;
    let batch = &read_batches(&log, tombstone_offset, 1, i64::MAX, true)[0];
    let header = BatchHeader::parse(&batch.bytes).unwrap();
    assert_ne!(header.attributes() & 0x40, 0, "delete horizon bit");
    assert_eq!(header.base_timestamp(), NOW + 1_000);

    // Before the horizon nothing is due; no new data either.
    let early = log.compact(NOW + 999).unwrap();
    assert!(!early.cleaned);
    assert_eq!(consume_all(&log), expected_after_compaction(&model, false));
    // The horizon survives a restart (it is in the cleaner checkpoint).
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), config_with_retention());
    let late = log.compact(NOW + 1_000).unwrap();
    assert!(late.cleaned);
    assert_eq!(late.tombstones_removed, 4);
    assert_eq!(consume_all(&log), expected_after_compaction(&model, true));
}

fn config_with_retention() -> LogConfig {
    LogConfig {
        delete_retention_ms: 1_000,
        ..compact_config()
    }
}

fn segment_bytes_on_disk(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn dirty_ratio_and_policy_gate_cleaning() {
    let dir = tempfile::tempdir().unwrap();
    let delete_only = LogConfig {
        cleanup_policy: CleanupPolicy::default(),
        ..compact_config()
    };
    let log = open(dir.path(), delete_only);
    let mut model = Model::new();
    many_updates(&log, &mut model, 11);
    roll(&log, &mut model, "a");
    let untouched = segment_bytes_on_disk(dir.path());
    assert!(
        !log.compact(NOW).unwrap().cleaned,
        "delete-only policy never compacts"
    );
    assert_eq!(segment_bytes_on_disk(dir.path()), untouched);

    log.update_config(compact_config());
    assert!(log.compact(NOW).unwrap().cleaned);
    // A little new data: dirty ratio well below 0.5.
    for i in 0..3 {
        model.append(
            &log,
            &[put(&format!("key-{i:02}"), Some("new"), 3_000_000 + i)],
            CompressionType::None,
            None,
        );
    }
    roll(&log, &mut model, "b");
    let before = segment_bytes_on_disk(dir.path());
    let skipped = log.compact(NOW).unwrap();
    assert!(!skipped.cleaned);
    assert!(
        skipped.dirty_ratio > 0.0 && skipped.dirty_ratio < 0.5,
        "{skipped:?}"
    );
    assert_eq!(segment_bytes_on_disk(dir.path()), before);

    // Lower the threshold below the ratio: now it cleans.
    log.update_config(LogConfig {
        min_cleanable_dirty_ratio: skipped.dirty_ratio / 2.0,
        ..compact_config()
    });
    assert!(log.compact(NOW).unwrap().cleaned);
    assert_eq!(consume_all(&log), expected_after_compaction(&model, false));

    // max.compaction.lag.ms forces a pass whatever the ratio.
    model.append(
        &log,
        &[put("key-07", Some("newer"), 4_000_000)],
        CompressionType::None,
        None,
    );
    roll(&log, &mut model, "c");
    log.update_config(compact_config());
    assert!(!log.compact(NOW).unwrap().cleaned);
    log.update_config(LogConfig {
        max_compaction_lag_ms: 1,
        ..compact_config()
    });
    assert!(log.compact(i64::MAX / 2).unwrap().cleaned);
    assert_eq!(consume_all(&log), expected_after_compaction(&model, false));
}

#[test]
fn min_compaction_lag_and_the_active_segment_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config());
    let mut model = Model::new();
    many_updates(&log, &mut model, 3);
    // Many updates of one key land in the active segment.
    for i in 0..5 {
        model.append(
            &log,
            &[put("hot", Some(&format!("v{i}")), 2_000_000 + i)],
            CompressionType::None,
            None,
        );
    }
    log.set_high_watermark(log.log_end_offset());
    let active_base = *log.segment_base_offsets().last().unwrap();
    let active_name = format!("{active_base:020}.log");
    let active_before = segment_bytes_on_disk(dir.path())[&active_name].clone();

    // Every closed segment is younger than the lag: nothing is cleanable.
    let lagging = LogConfig {
        min_compaction_lag_ms: 10_000_000,
        ..compact_config()
    };
    log.update_config(lagging);
    assert!(!log.compact(NOW).unwrap().cleaned);

    log.update_config(compact_config());
    let outcome = log.compact(NOW).unwrap();
    assert!(outcome.cleaned);
    assert_eq!(outcome.clean_offset, active_base);
    assert_eq!(
        segment_bytes_on_disk(dir.path())[&active_name],
        active_before
    );
    let hot: Vec<_> = consume_all(&log)
        .into_iter()
        .filter(|s| s.key.as_deref() == Some(b"hot".as_slice()))
        .collect();
    assert_eq!(hot.len(), 5, "active segment records are never cleaned");
}

#[test]
fn readers_during_compaction_never_go_backwards_or_miss_a_latest_value() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config());
    let mut model = Model::new();
    for round in 0..4u64 {
        many_updates(&log, &mut model, 100 + round);
        roll(&log, &mut model, &format!("r{round}"));
        let latest = model.latest();
        let done = AtomicBool::new(false);
        let scans = std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut scans = 0;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    // consume_all asserts offsets strictly increase.
                    let seen: BTreeMap<_, _> = consume_all(&log)
                        .into_iter()
                        .map(|r| (r.key.clone().unwrap(), r))
                        .collect();
                    for (key, record) in &latest {
                        assert_eq!(seen.get(key), Some(record), "latest value of {key:?}");
                    }
                    scans += 1;
                    if finished {
                        return scans;
                    }
                }
            });
            let outcome = log.compact(NOW).unwrap();
            done.store(true, Ordering::Release);
            assert!(outcome.cleaned);
            reader.join().unwrap()
        });
        assert!(scans >= 1);
        assert_eq!(consume_all(&log), expected_after_compaction(&model, false));
    }
}

#[test]
fn idempotent_producer_state_survives_compaction_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config());
    let mut model = Model::new();
    const PID: i64 = 42;
    // The producer writes keys that plain writes overwrite later, so every
    // one of its batches is cleaned away entirely.
    let mut seq = 0;
    let mut last_batch = Vec::new();
    for b in 0..6 {
        let puts: Vec<Put> = (0..3)
            .map(|k| put(&format!("p{k}"), Some(&format!("b{b}")), 1_000 + b * 3 + k))
            .collect();
        last_batch = puts.clone();
        model.append(&log, &puts, CompressionType::Lz4, Some((PID, 0, seq)));
        seq += 3;
    }
    let producer_last = log
        .producer_state(PID)
        .unwrap()
        .batches
        .back()
        .copied()
        .unwrap();
    many_updates(&log, &mut model, 5);
    let overwrite: Vec<Put> = (0..3)
        .map(|k| put(&format!("p{k}"), Some("plain"), 2_000_000 + k))
        .collect();
    model.append(&log, &overwrite, CompressionType::None, None);
    roll(&log, &mut model, "end");
    assert!(log.compact(NOW).unwrap().cleaned);
    assert_eq!(consume_all(&log), expected_after_compaction(&model, false));
    // The producer's last batch stays, empty, with its offsets.
    let kept = read_batches(&log, producer_last.first_offset, 1, i64::MAX, true);
    let header = BatchHeader::parse(&kept[0].bytes).unwrap();
    assert_eq!(
        (header.base_offset(), header.last_offset()),
        (producer_last.first_offset, producer_last.last_offset)
    );
    assert_eq!((header.producer_id(), header.record_count()), (PID, 0));

    // Restart without any producer snapshot: the state comes from replay.
    log.close().unwrap();
    drop(log);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), compact_config());
    let retry = model.append(&log, &last_batch, CompressionType::Lz4, Some((PID, 0, 15)));
    assert!(retry.duplicate);
    assert_eq!(
        (retry.base_offset, retry.last_offset),
        (producer_last.first_offset, producer_last.last_offset)
    );
    let mut gap = keyed_batch(&last_batch, CompressionType::None, Some((PID, 0, 30)));
    assert!(matches!(
        log.append(&mut gap, OPTIONS),
        Err(StorageError::OutOfOrderSequence { expected: 18, .. })
    ));
    let next = model.append(&log, &last_batch, CompressionType::None, Some((PID, 0, 18)));
    assert!(!next.duplicate);
}

#[test]
fn retention_applies_only_with_the_delete_policy() {
    let dir = tempfile::tempdir().unwrap();
    let short_retention = LogConfig {
        retention_ms: 1_000,
        ..compact_config()
    };
    let log = open(dir.path(), short_retention.clone());
    let mut model = Model::new();
    many_updates(&log, &mut model, 9);
    roll(&log, &mut model, "end");
    assert!(log.compact(NOW).unwrap().cleaned);
    let far_future = i64::MAX / 2;
    let kept = log.apply_retention(far_future).unwrap();
    assert_eq!(kept.deleted_segments, 0, "compact-only: no time retention");

    log.update_config(LogConfig {
        cleanup_policy: CleanupPolicy {
            delete: true,
            compact: true,
        },
        ..short_retention
    });
    let removed = log.apply_retention(far_future).unwrap();
    assert!(removed.deleted_segments > 0);
    assert_eq!(
        log.segment_count(),
        1,
        "every closed segment, empty ones too"
    );
}

#[test]
fn truncation_into_cleaned_segments_then_a_crash_loses_nothing_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config());
    let mut model = Model::new();
    many_updates(&log, &mut model, 13);
    roll(&log, &mut model, "end");
    assert!(log.compact(NOW).unwrap().cleaned);
    let survivors = consume_all(&log);
    // A follower truncating into the cleaned part of its log.
    let cut = survivors[survivors.len() / 2].offset;
    log.truncate_to(cut).unwrap();
    assert!(log.clean_offset() <= log.log_end_offset());
    let kept: Vec<Seen> = survivors
        .into_iter()
        .filter(|s| s.offset < log.log_end_offset())
        .collect();
    assert_eq!(consume_all(&log), kept);
    drop(log); // crash: no close
    std::fs::remove_file(dir.path().join("recovery-point-offset-checkpoint")).unwrap();
    let log = open(dir.path(), compact_config());
    assert_eq!(consume_all(&log), kept);
}
