use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use openraft::testing::log_id;
use openraft::{EntryPayload, Vote};

use super::*;
use crate::codec::{read_record, Scan, RECORD_HEADER};

fn entry(term: u64, index: u64) -> LogEntry {
    LogEntry {
        log_id: log_id(term, 1, index),
        payload: EntryPayload::Normal(format!("record-{term}-{index}").into_bytes()),
    }
}

fn batch(term: u64, range: std::ops::Range<u64>) -> Vec<LogEntry> {
    range.map(|i| entry(term, i)).collect()
}

fn open(dir: &Path, segment_bytes: u64) -> DiskLog {
    DiskLog::open(dir, segment_bytes, true).expect("open log")
}

fn indexes(log: &DiskLog) -> Vec<(u64, u64)> {
    let entries = log.entries();
    let entries = entries.read().expect("entries");
    entries
        .values()
        .map(|e| (e.log_id.index, e.log_id.leader_id.term))
        .collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join(LOG_DIR))
        .expect("read log dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn entries_and_vote_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 1 << 20);
    log.append(batch(1, 0..3)).expect("append");
    log.append(batch(1, 3..5)).expect("append");
    log.save_vote(&Vote::new_committed(1, 1)).expect("vote");
    drop(log);

    let log = open(dir.path(), 1 << 20);
    assert_eq!(indexes(&log), (0..5).map(|i| (i, 1)).collect::<Vec<_>>());
    assert_eq!(log.vote(), Some(Vote::new_committed(1, 1)));
    assert_eq!(log.last_log_id(), Some(log_id(1, 1, 4)));
}

#[test]
fn appending_with_a_hole_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 1 << 20);
    log.append(batch(1, 0..3)).expect("append");
    assert!(matches!(
        log.append(batch(1, 4..5)),
        Err(StoreError::Gap { .. })
    ));
}

#[test]
fn torn_tail_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 1 << 20);
    log.append(batch(1, 0..3)).expect("append");
    log.append(batch(1, 3..6)).expect("append");
    drop(log);
    let seg = segment_files(dir.path()).pop().expect("segment");
    let good_len = fs::metadata(&seg).expect("stat").len();

    // A crash in the middle of the next append: a header promising more
    // bytes than made it to disk.
    let mut torn = Vec::new();
    codec::put_record(&mut torn, good_len, &[7u8; 100]).expect("record");
    torn.truncate(RECORD_HEADER + 10);
    fs::OpenOptions::new()
        .append(true)
        .open(&seg)
        .and_then(|mut f| f.write_all(&torn))
        .expect("write torn tail");

    let mut log = open(dir.path(), 1 << 20);
    assert_eq!(indexes(&log).len(), 6);
    assert_eq!(fs::metadata(&seg).expect("stat").len(), good_len);
    // And the log takes appends again right where it ended.
    log.append(batch(2, 6..7)).expect("append after recovery");
    drop(log);
    assert_eq!(indexes(&open(dir.path(), 1 << 20)).len(), 7);
}

#[test]
fn damaged_record_of_the_last_batch_is_a_torn_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 1 << 20);
    log.append(batch(1, 0..2)).expect("append");
    log.append(batch(1, 2..5)).expect("append");
    drop(log);
    let seg = segment_files(dir.path()).pop().expect("segment");
    let mut data = fs::read(&seg).expect("read");
    // Flip a byte in the second record of the final batch (index 3): its
    // pages never reached the disk; index 4 after it is from the same batch.
    let second_batch_start = {
        let Scan::Record { next, .. } = read_record(&data, 0) else {
            panic!("record 0")
        };
        let Scan::Record { next, .. } = read_record(&data, next) else {
            panic!("record 1")
        };
        next
    };
    let Scan::Record { next: rec3, .. } = read_record(&data, second_batch_start) else {
        panic!("record 2")
    };
    data[rec3 + RECORD_HEADER] ^= 0xff;
    fs::write(&seg, &data).expect("write");

    let log = open(dir.path(), 1 << 20);
    assert_eq!(indexes(&log), vec![(0, 1), (1, 1), (2, 1)]);
}

#[test]
fn damage_before_a_later_batch_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 1 << 20);
    log.append(batch(1, 0..2)).expect("append");
    log.append(batch(1, 2..4)).expect("append");
    drop(log);
    let seg = segment_files(dir.path()).pop().expect("segment");
    let mut data = fs::read(&seg).expect("read");
    data[RECORD_HEADER + 1] ^= 0xff; // inside entry 0, fsynced long ago
    fs::write(&seg, &data).expect("write");

    match DiskLog::open(dir.path(), 1 << 20, true) {
        Err(StoreError::Corrupt { offset, .. }) => assert_eq!(offset, 0),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a damaged fsynced record must not be dropped silently"),
    }
}

#[test]
fn truncate_then_append_replaces_the_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Tiny segments: the truncation point lies in an earlier segment than
    // the last one, so later segments must be deleted.
    let mut log = open(dir.path(), 64);
    for i in 0..10 {
        log.append(batch(1, i..i + 1)).expect("append");
    }
    assert!(segment_files(dir.path()).len() > 3);
    log.truncate(4).expect("truncate");
    assert_eq!(log.last_log_id(), Some(log_id(1, 1, 3)));
    log.append(batch(2, 4..6)).expect("append");
    drop(log);

    let log = open(dir.path(), 64);
    let expected: Vec<(u64, u64)> = (0..4)
        .map(|i| (i, 1))
        .chain((4..6).map(|i| (i, 2)))
        .collect();
    assert_eq!(indexes(&log), expected);
}

#[test]
fn purge_deletes_old_segments_and_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 64);
    for i in 0..10 {
        log.append(batch(1, i..i + 1)).expect("append");
    }
    let before = segment_files(dir.path()).len();
    log.purge(log_id(1, 1, 6)).expect("purge");
    assert!(segment_files(dir.path()).len() < before);
    assert_eq!(indexes(&log), vec![(7, 1), (8, 1), (9, 1)]);
    drop(log);

    let mut log = open(dir.path(), 64);
    assert_eq!(log.purged(), Some(log_id(1, 1, 6)));
    assert_eq!(indexes(&log), vec![(7, 1), (8, 1), (9, 1)]);
    // Purging past the end (a snapshot from the leader) empties the log;
    // appends continue after the purge point.
    log.purge(log_id(3, 1, 20)).expect("purge all");
    assert_eq!(log.last_log_id(), Some(log_id(3, 1, 20)));
    log.append(batch(3, 21..23)).expect("append");
    drop(log);
    assert_eq!(indexes(&open(dir.path(), 64)), vec![(21, 3), (22, 3)]);
}

#[test]
fn committed_hint_is_used_only_if_the_log_holds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = open(dir.path(), 1 << 20);
    log.append(batch(1, 0..4)).expect("append");
    log.save_committed(Some(log_id(1, 1, 2)))
        .expect("committed");
    drop(log);
    let mut log = open(dir.path(), 1 << 20);
    assert_eq!(log.committed(), Some(log_id(1, 1, 2)));
    // A hint naming an entry this log does not have is ignored.
    log.save_committed(Some(log_id(5, 1, 3)))
        .expect("committed");
    drop(log);
    assert_eq!(open(dir.path(), 1 << 20).committed(), None);
}
