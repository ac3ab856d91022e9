mod common;

use common::*;
use strom_storage::LogConfig;

fn segment_files(dir: &std::path::Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

#[test]
fn rolls_by_size_with_kafka_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut batch_len = 0;
    for _ in 0..40 {
        let mut b = simple_batch(3, 1, 100);
        batch_len = b.len() as u64;
        log.append(&mut b, OPTIONS).unwrap();
    }
    let per_segment = 4096 / batch_len;
    let expected_segments = 40_u64.div_ceil(per_segment);
    assert_eq!(log.segment_count() as u64, expected_segments);
    let bases = log.segment_base_offsets();
    assert_eq!(bases[1], 3 * per_segment as i64);
    let logs = segment_files(dir.path(), ".log");
    assert_eq!(logs[0], "00000000000000000000.log");
    assert_eq!(logs[1], format!("{:020}.log", bases[1]));
    // The active segment's index files are written at its roll or close.
    assert_eq!(segment_files(dir.path(), ".index").len(), logs.len() - 1);
    assert_eq!(
        segment_files(dir.path(), ".timeindex").len(),
        logs.len() - 1
    );
    assert_eq!(log.size_bytes(), 40 * batch_len);
    log.close().unwrap();
    assert_eq!(segment_files(dir.path(), ".index").len(), logs.len());
    assert_eq!(segment_files(dir.path(), ".timeindex").len(), logs.len());
}

/// Files of `dir` this process holds open.
fn open_files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir))
        .collect()
}

/// A broker holds thousands of partitions: each segment costs one file
/// descriptor (its log), not three, before and after a restart, and a
/// new log creates one file.
#[test]
fn a_log_holds_one_descriptor_per_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let files = segment_files(dir.path(), "");
    assert!(!files.iter().any(|f| f.contains("index")), "{files:?}");
    for _ in 0..40 {
        log.append(&mut simple_batch(3, 1, 100), OPTIONS).unwrap();
    }
    log.flush().unwrap();
    let segments = log.segment_count();
    assert!(segments >= 3);
    let held = open_files_in(dir.path());
    assert_eq!(held.len(), segments, "{held:?}");
    assert!(held
        .iter()
        .all(|path| path.extension().is_some_and(|e| e == "log")));
    log.close().unwrap();
    drop(log);

    let log = open(dir.path(), small_config());
    assert_eq!(open_files_in(dir.path()).len(), segments);
    assert_eq!(log.segment_count(), segments);
    assert_eq!(read_all(&log).len(), 40, "every batch reads back");
}

#[test]
fn rolls_by_time_on_record_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1_000,
        ..LogConfig::default()
    };
    let log = open(dir.path(), config);
    log.append(&mut simple_batch(1, 10_000, 5), OPTIONS)
        .unwrap();
    log.append(&mut simple_batch(1, 10_900, 5), OPTIONS)
        .unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(&mut simple_batch(1, 11_001, 5), OPTIONS)
        .unwrap();
    assert_eq!(log.segment_count(), 2);
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

#[test]
fn every_offset_reads_its_batch_across_many_segments_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 16 * 1024,
        index_interval_bytes: 300,
        ..LogConfig::default()
    };
    let log = open(dir.path(), config.clone());
    let mut ranges = Vec::new();
    for i in 0..400 {
        let o = log
            .append(&mut simple_batch(1 + i % 5, i as i64, 20 + i % 50), OPTIONS)
            .unwrap();
        ranges.push((o.base_offset, o.last_offset));
    }
    assert!(log.segment_count() > 5);
    let check = |log: &strom_storage::Log| {
        for &(base, last) in &ranges {
            for offset in [base, last, (base + last) / 2] {
                let got = read_batches(log, offset, 1, i64::MAX, true);
                assert_eq!(
                    (got[0].base_offset, got[0].last_offset),
                    (base, last),
                    "offset {offset}"
                );
            }
        }
    };
    check(&log);
    log.close().unwrap();
    let log = open(dir.path(), config);
    check(&log);
}

#[test]
fn timestamp_lookups_find_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 128,
        ..LogConfig::default()
    };
    let log = open(dir.path(), config);
    // Batch i holds records with timestamps 100*i + {0, 10, 20, 30}.
    for i in 0..60 {
        let t = 100 * i;
        log.append(
            &mut build_batch(&[t, t + 10, t + 20, t + 30], 40, NO_PRODUCER),
            OPTIONS,
        )
        .unwrap();
    }
    assert!(log.segment_count() > 3);
    for i in 0..60i64 {
        assert_eq!(
            log.offset_for_timestamp(100 * i).unwrap(),
            Some((4 * i, 100 * i))
        );
        assert_eq!(
            log.offset_for_timestamp(100 * i + 15).unwrap(),
            Some((4 * i + 2, 100 * i + 20))
        );
        assert_eq!(
            log.offset_for_timestamp(100 * i + 31).unwrap(),
            (i < 59).then_some((4 * i + 4, 100 * i + 100))
        );
    }
    assert_eq!(log.offset_for_timestamp(-5).unwrap(), Some((0, 0)));
    assert_eq!(log.max_timestamp_offset().unwrap(), Some((239, 5930)));
}

#[test]
fn max_timestamp_offset_points_at_the_record_not_the_batch_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!(log.max_timestamp_offset().unwrap(), None);
    log.append(&mut build_batch(&[10, 20], 5, NO_PRODUCER), OPTIONS)
        .unwrap();
    log.append(&mut build_batch(&[15, 99, 30], 5, NO_PRODUCER), OPTIONS)
        .unwrap();
    log.append(&mut build_batch(&[40], 5, NO_PRODUCER), OPTIONS)
        .unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), Some((3, 99)));
}

#[test]
fn corrupt_or_missing_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut ranges = Vec::new();
    for _ in 0..60 {
        let o = log.append(&mut simple_batch(2, 1, 60), OPTIONS).unwrap();
        ranges.push((o.base_offset, o.last_offset));
    }
    log.close().unwrap();
    let indexes = segment_files(dir.path(), ".index");
    assert!(indexes.len() >= 3);
    std::fs::remove_file(dir.path().join(&indexes[0])).unwrap();
    // Plausible-looking but wrong: ordered entries pointing at the wrong batches.
    let mut bogus = Vec::new();
    for (rel, pos) in [(1u32, 1u32), (2, 2), (3, 3)] {
        bogus.extend_from_slice(&rel.to_be_bytes());
        bogus.extend_from_slice(&pos.to_be_bytes());
    }
    std::fs::write(dir.path().join(&indexes[1]), &bogus).unwrap();
    std::fs::write(
        dir.path().join(&segment_files(dir.path(), ".timeindex")[2]),
        b"garbage",
    )
    .unwrap();
    let log = open(dir.path(), small_config());
    assert!(dir.path().join(&indexes[0]).exists());
    for &(base, last) in &ranges {
        let got = read_batches(&log, last, 1, i64::MAX, true);
        assert_eq!((got[0].base_offset, got[0].last_offset), (base, last));
    }
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 1)));
}

/// The append an async thread may make (`append_without_file_work`) writes
/// to the active segment and nothing else: one that would roll the
/// segment or start a leader epoch is refused with the log unchanged, and
/// the same batch then appends in full where file work is allowed.
#[test]
fn an_append_without_file_work_refuses_a_roll_and_a_new_epoch_changing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let with_epoch = |leader_epoch| strom_storage::AppendOptions {
        leader_epoch,
        log_append_time_ms: None,
    };
    log.append(&mut simple_batch(3, 1, 100), with_epoch(0))
        .unwrap();

    // A plain append fits the active segment in the same epoch.
    let written = log
        .append_without_file_work(&mut simple_batch(3, 2, 100), with_epoch(0))
        .unwrap()
        .expect("appended without file work");
    assert_eq!((written.base_offset, written.last_offset), (3, 5));

    // A new leader epoch has its checkpoint to write.
    assert_eq!(
        log.append_without_file_work(&mut simple_batch(1, 3, 100), with_epoch(1))
            .unwrap(),
        None
    );
    assert_eq!(log.log_end_offset(), 6);
    assert_eq!(log.latest_epoch(), Some(0));

    // Fill the 4 KiB segment until the next append would roll it.
    let size_before_refusal = loop {
        let size = log.size_bytes();
        let refused = log
            .append_without_file_work(&mut simple_batch(3, 4, 100), with_epoch(0))
            .unwrap()
            .is_none();
        if refused {
            break size;
        }
        assert_eq!(log.segment_count(), 1, "an append without file work rolled");
    };
    let end = log.log_end_offset();
    assert_eq!(
        log.size_bytes(),
        size_before_refusal,
        "a refused append wrote"
    );
    assert_eq!(log.segment_count(), 1);

    let rolled = log
        .append(&mut simple_batch(3, 4, 100), with_epoch(1))
        .unwrap();
    assert_eq!(rolled.base_offset, end, "the refusal took no offsets");
    assert_eq!(log.segment_count(), 2);
    assert_eq!(log.latest_epoch(), Some(1));
    let read = read_all(&log);
    assert_eq!(read.last().unwrap().last_offset, end + 2);
}
