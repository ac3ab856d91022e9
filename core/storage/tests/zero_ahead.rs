//! Zeros written ahead of the appends (both flush policies): the active
//! segment's file runs past its data, so a sync writes data only and the
//! page cache holds it in large folios. Whatever stops the
//! broker, the zeros never become part of the log, never hide damage and
//! never stay in a segment that is no longer active.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use common::*;
use strom_storage::{check_dir, FlushPolicy, Log, LogConfig};

fn config(flush: FlushPolicy) -> LogConfig {
    LogConfig {
        segment_bytes: 256 * 1024,
        index_interval_bytes: 4096,
        flush,
        ..LogConfig::default()
    }
}

fn segment_path(dir: &Path, base: i64) -> std::path::PathBuf {
    dir.join(format!("{base:020}.log"))
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

/// Bytes of every batch of `log` that lies in the segment at `base`
/// (before `next`).
fn data_bytes(batches: &[StoredBatch], base: i64, next: Option<i64>) -> u64 {
    batches
        .iter()
        .filter(|b| b.base_offset >= base && next.is_none_or(|n| b.base_offset < n))
        .map(|b| b.bytes.len() as u64)
        .sum()
}

fn fill(log: &Log, batches: usize) {
    for i in 0..batches {
        log.append(&mut simple_batch(3, i as i64, 500), OPTIONS)
            .unwrap();
    }
}

#[test]
fn small_appends_are_followed_by_zeros_under_either_policy() {
    for flush in [FlushPolicy::Fsync, FlushPolicy::PageCache] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), config(flush));
        fill(&log, 20);
        let data = data_bytes(&read_all(&log), 0, None);
        let len = file_len(&segment_path(dir.path(), 0));
        assert!(len > data, "{flush:?}: file {len} bytes, data {data}");
    }
}

/// A large append pays its own block allocation once for many bytes:
/// writing its blocks twice would cost more than the journal work saved.
#[test]
fn large_appends_write_no_zeros_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config(FlushPolicy::Fsync));
    for i in 0..4 {
        log.append(&mut simple_batch(40, i, 1000), OPTIONS).unwrap();
    }
    let data = data_bytes(&read_all(&log), 0, None);
    assert_eq!(file_len(&segment_path(dir.path(), 0)), data);
}

#[test]
fn a_crash_with_zeros_ahead_loses_nothing_and_appends_go_on() {
    for flush in [FlushPolicy::Fsync, FlushPolicy::PageCache] {
        a_crash_with_zeros_ahead(flush);
    }
}

fn a_crash_with_zeros_ahead(flush: FlushPolicy) {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config(flush));
    fill(&log, 40);
    let written = read_all(&log);
    let end = log.log_end_offset();
    let active = *log.segment_base_offsets().last().unwrap();
    assert!(file_len(&segment_path(dir.path(), active)) > data_bytes(&written, active, None));
    drop(log); // a kill: no close()

    // The offline check of the crashed directory finds no damage.
    let report = check_dir(dir.path()).unwrap();
    assert_eq!(report.damage, vec![], "{report:?}");
    assert_eq!(report.batches, written.len() as u64);

    let log = open(dir.path(), config(flush));
    assert_eq!(log.log_end_offset(), end, "{flush:?}");
    assert_eq!(read_all(&log), written);
    // Recovery cut the zeros: the file ends with the last batch.
    assert_eq!(
        file_len(&segment_path(dir.path(), active)),
        data_bytes(&written, active, None)
    );
    let appended = log.append(&mut simple_batch(2, 99, 10), OPTIONS).unwrap();
    assert_eq!(appended.base_offset, end);
    let mut after = written.clone();
    after.extend(read_batches(&log, end, 1, i64::MAX, true));
    assert_eq!(read_all(&log), after);
}

#[test]
fn rolled_and_closed_segments_end_with_their_last_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config(FlushPolicy::Fsync));
    fill(&log, 400);
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 3, "{bases:?}");
    let written = read_all(&log);
    let end = log.log_end_offset();
    for (i, &base) in bases.iter().enumerate() {
        let next = bases.get(i + 1).copied();
        let len = file_len(&segment_path(dir.path(), base));
        let data = data_bytes(&written, base, next);
        if next.is_some() {
            assert_eq!(len, data, "sealed segment {base}");
        } else {
            assert!(
                len > data,
                "active segment {base}: {len} bytes, data {data}"
            );
        }
    }
    log.close().unwrap();
    let active = *bases.last().unwrap();
    assert_eq!(
        file_len(&segment_path(dir.path(), active)),
        data_bytes(&written, active, None)
    );
    let log = open(dir.path(), config(FlushPolicy::Fsync));
    assert_eq!(log.recovery_point(), end, "a clean load, no recovery");
    assert_eq!(read_all(&log), written);
}

/// Zeros where flushed batches were (a damaged disk that zeroed blocks)
/// are damage, as any other: the offsets are not reused, and the other
/// batches are served.
#[test]
fn zeros_over_flushed_batches_are_damage_not_unwritten_space() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config(FlushPolicy::Fsync));
    fill(&log, 30);
    let written = read_all(&log);
    let end = log.log_end_offset();
    log.close().unwrap();
    drop(log);

    // Zero the last two batches and 64 KiB past them.
    let path = segment_path(dir.path(), 0);
    let data = data_bytes(&written, 0, None);
    let from = data - (written[28].bytes.len() + written[29].bytes.len()) as u64;
    let zeros = vec![0u8; (data - from) as usize + 64 * 1024];
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&zeros, from).unwrap();
    drop(file);

    let report = check_dir(dir.path()).unwrap();
    assert_eq!(report.damage.len(), 1, "{report:?}");
    assert_eq!(report.damage[0].position, from);
    let log = open(dir.path(), config(FlushPolicy::Fsync));
    assert_eq!(log.log_end_offset(), end, "offsets are never reused");
    let served: Vec<StoredBatch> = read_all_served(&log);
    assert_eq!(served, written[..28].to_vec());
    let appended = log.append(&mut simple_batch(1, 1, 1), OPTIONS).unwrap();
    assert_eq!(appended.base_offset, end);
}

/// Every batch the log serves from its start, skipping offsets it
/// cannot serve (damage).
fn read_all_served(log: &Log) -> Vec<StoredBatch> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let got = read_batches(log, offset, 1 << 20, i64::MAX, true);
        match got.last() {
            Some(last) => {
                offset = last.last_offset + 1;
                out.extend(got);
            }
            None => offset += 1,
        }
    }
    out
}
