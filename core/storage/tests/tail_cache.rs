//! The tail cache: fetches of the newest batches are answered from memory
//! (`Log::read_checked`), and what they get is exactly what a read of the
//! files gets (`Log::read`), through appends, rolls, truncations and
//! reopening, whether it copied an append or took the appender's buffer;
//! the cache keeps to its share of memory.

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

use bytes::{Bytes, BytesMut};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_storage::{
    DirHealth, Log, LogConfig, LogReadResult, MAX_TAIL_CACHE_PER_LOG, READERS_GONE_AFTER,
};

fn checked(
    log: &Log,
    offset: i64,
    max_bytes: u32,
    max_offset: i64,
    min_one: bool,
) -> (LogReadResult, bool) {
    let mut scratch = Vec::new();
    log.read_checked(offset, max_bytes, max_offset, min_one, &mut scratch)
        .unwrap()
}

/// A consumer that keeps up fetches at the log end: from then on the
/// log keeps its appends in memory.
fn wait_at_the_end(log: &Log) {
    let end = log.log_end_offset();
    assert!(checked(log, end, 1 << 20, end, true).0.is_empty());
}

/// The bytes a read serves, from memory or the files.
fn served(read: &LogReadResult) -> Bytes {
    read.read_bytes().unwrap()
}

/// An append of 1 to 4 batches of random sizes; the random timestamps
/// make its bytes differ from those of earlier appends at its offsets, so
/// stale bytes cannot pass for new ones.
fn random_append(rng: &mut StdRng) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..rng.gen_range(1..=4) {
        let count = rng.gen_range(1..=5);
        bytes.extend(simple_batch(
            count,
            rng.gen_range(0..1_000_000_000),
            rng.gen_range(10..3000),
        ));
    }
    bytes
}

/// Compares a checked read with a read of the files; true if it came from
/// memory.
fn compare(log: &Log, offset: i64, max_bytes: u32, max_offset: i64, min_one: bool) -> bool {
    let (fast, intact) = checked(log, offset, max_bytes, max_offset, min_one);
    let files = log.read(offset, max_bytes, max_offset, min_one).unwrap();
    let what =
        format!("read at {offset}, max {max_bytes} bytes, below {max_offset}, min one {min_one}");
    assert!(intact, "{what}: not intact");
    assert_eq!(fast.first_batch_offset, files.first_batch_offset, "{what}");
    assert_eq!(served(&fast), served(&files), "{what}: other bytes");
    assert_eq!(fast.total_len(), files.total_len(), "{what}");
    assert_eq!(fast.high_watermark, files.high_watermark, "{what}");
    fast.cached.is_some()
}

#[test]
fn tail_reads_come_from_memory_and_match_the_files() {
    let (mut from_memory, mut from_files) = (0, 0);
    for seed in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 64 * 1024,
            index_interval_bytes: 1024,
            ..LogConfig::default()
        };
        let mut log = open(dir.path(), config.clone());
        for step in 0..120 {
            match rng.gen_range(0..20) {
                // A follower cutting its log back, then appending others.
                0 if log.log_end_offset() > 0 => {
                    let to = rng.gen_range(log.log_start_offset()..=log.log_end_offset());
                    log.truncate_to(to).unwrap();
                }
                1 if step % 3 == 0 => {
                    drop(log);
                    log = open(dir.path(), config.clone());
                }
                // A produce hands the log its own buffer, which the cache
                // takes as it is; other appends are copied.
                _ if rng.gen_bool(0.5) => {
                    let mut owned = BytesMut::from(&random_append(&mut rng)[..]);
                    log.append(&mut owned, OPTIONS).unwrap();
                }
                _ => {
                    log.append(&mut random_append(&mut rng), OPTIONS).unwrap();
                }
            }
            let (start, end) = (log.log_start_offset(), log.log_end_offset());
            if start == end {
                continue;
            }
            for _ in 0..4 {
                // Mostly near the end, where consumers that keep up read.
                let offset = if rng.gen_bool(0.7) {
                    rng.gen_range(end.saturating_sub(10).max(start)..end)
                } else {
                    rng.gen_range(start..end)
                };
                let max_bytes = rng.gen_range(1..64 * 1024);
                let max_offset = rng.gen_range(offset..=end + 1);
                let cached = compare(&log, offset, max_bytes, max_offset, rng.gen());
                if cached {
                    from_memory += 1;
                } else {
                    from_files += 1;
                }
            }
        }
    }
    // Both paths ran, so the comparison compared something.
    assert!(from_memory > 1000, "{from_memory} reads from memory");
    assert!(from_files > 500, "{from_files} reads from the files");
}

/// Bytes of the batches answered from memory: from the oldest offset
/// still answered so to the end.
fn bytes_in_memory(log: &Log) -> u64 {
    let end = log.log_end_offset();
    let (mut low, mut high) = (log.log_start_offset(), end);
    while low < high {
        let mid = (low + high) / 2;
        if checked(log, mid, 1, end, true).0.cached.is_some() {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let mut held = 0u64;
    let mut offset = low;
    while offset < end {
        let (read, _) = checked(log, offset, 1 << 20, end, true);
        assert!(
            read.cached.is_some(),
            "{offset}: between cached offsets, not cached"
        );
        held += read.total_len();
        offset = split(&served(&read)).last().unwrap().last_offset + 1;
    }
    held
}

/// 10 MiB in one segment, 10 KiB a batch, while a consumer keeps up.
fn write_10_mib(log: &Log) {
    wait_at_the_end(log);
    for i in 0..1024 {
        log.append(&mut simple_batch(10, i, 1000), OPTIONS).unwrap();
    }
}

#[test]
fn the_cache_keeps_to_its_share_and_older_reads_use_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    write_10_mib(&log);
    let end = log.log_end_offset();
    assert!(checked(&log, end - 1, 1 << 20, end, true)
        .0
        .cached
        .is_some());
    assert!(checked(&log, 0, 1 << 20, end, true).0.cached.is_none());
    let held = bytes_in_memory(&log);
    assert!(
        held <= MAX_TAIL_CACHE_PER_LOG as u64,
        "{held} bytes in memory"
    );
    assert!(
        held >= MAX_TAIL_CACHE_PER_LOG as u64 * 3 / 4,
        "only {held} bytes in memory"
    );
}

#[test]
fn logs_that_cache_share_the_budget() {
    let budget = 4 * 1024 * 1024;
    let health = DirHealth::with_tail_cache_budget(budget);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let logs = dirs
        .each_ref()
        .map(|dir| Log::open_in(dir.path(), LogConfig::default(), health.clone()).unwrap());
    for log in &logs {
        write_10_mib(log);
    }
    // The first log filled its cache alone, so the second found no room;
    // the first's next append keeps to the share it has now and frees
    // room that the second's next appends take.
    assert_eq!(bytes_in_memory(&logs[1]), 0);
    logs[0]
        .append(&mut simple_batch(10, 0, 1000), OPTIONS)
        .unwrap();
    for i in 0..200 {
        logs[1]
            .append(&mut simple_batch(10, i, 1000), OPTIONS)
            .unwrap();
    }
    for log in &logs {
        let held = bytes_in_memory(log);
        assert!(held <= budget as u64 / 2, "{held} bytes in memory");
        assert!(held >= budget as u64 / 4, "only {held} bytes in memory");
    }
    // Off: nothing is kept.
    let off = tempfile::tempdir().unwrap();
    let log = Log::open_in(
        off.path(),
        LogConfig::default(),
        DirHealth::with_tail_cache_budget(0),
    )
    .unwrap();
    write_10_mib(&log);
    let end = log.log_end_offset();
    assert!(checked(&log, end - 1, 1 << 20, end, true)
        .0
        .cached
        .is_none());
}

#[test]
fn the_logs_of_a_directory_never_hold_more_than_its_budget_together() {
    let budget = 4 * 1024 * 1024;
    let health = DirHealth::with_tail_cache_budget(budget);
    let dirs: Vec<_> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
    // Logs start caching one after another while the earlier ones sit
    // idle, each when the share is smaller than the earlier ones took.
    let mut logs = Vec::new();
    for dir in &dirs {
        let log = Log::open_in(dir.path(), LogConfig::default(), health.clone()).unwrap();
        wait_at_the_end(&log);
        for i in 0..512 {
            log.append(&mut simple_batch(10, i, 1000), OPTIONS).unwrap();
            assert!(health.tail_cache_held() <= budget);
        }
        logs.push(log);
    }
    let held: u64 = logs.iter().map(bytes_in_memory).sum();
    assert!(held <= budget as u64, "{held} bytes in memory");
    assert!(health.tail_cache_held() >= held as usize);
    // A log that closes gives its memory back.
    drop(logs);
    assert_eq!(health.tail_cache_held(), 0);
}

#[test]
fn a_cache_nobody_read_lately_is_dropped_by_the_sweep() {
    let health = DirHealth::with_tail_cache_budget(4 * 1024 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open_in(dir.path(), LogConfig::default(), health.clone()).unwrap();
    wait_at_the_end(&log);
    log.append(&mut simple_batch(10, 0, 1000), OPTIONS).unwrap();
    let end = log.log_end_offset();
    assert!(checked(&log, 0, 1 << 20, end, true).0.cached.is_some());
    assert_eq!(health.fetch_reads(), (1, 0), "one read from memory");
    // Read lately: the sweep keeps it.
    log.drop_unread_tail_cache();
    let held = health.tail_cache_held();
    assert!(held > 10_000, "{held} bytes held");
    std::thread::sleep(READERS_GONE_AFTER + std::time::Duration::from_millis(100));
    log.drop_unread_tail_cache();
    assert_eq!(health.tail_cache_held(), 0);
    // The files answer, with the same records.
    let (read, intact) = checked(&log, 0, 1 << 20, end, true);
    assert!(intact && read.cached.is_none());
    assert_eq!(split(&served(&read)).len(), 1);
    assert_eq!(health.fetch_reads(), (1, 1), "then one from the files");
}

#[test]
fn the_tail_is_served_as_appended_and_older_damage_is_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    write_10_mib(&log);
    let end = log.log_end_offset();
    let (tail, _) = checked(&log, end - 1, 1 << 20, end, true);
    let appended = served(&tail);
    // The disk damages the file under both: the first batch and the last.
    let file = OpenOptions::new()
        .write(true)
        .open(dir.path().join(format!("{:020}.log", 0)))
        .unwrap();
    file.write_all_at(&[0xff], 100).unwrap();
    file.write_all_at(&[0xff], log.size_bytes() - 10).unwrap();
    let (tail, intact) = checked(&log, end - 1, 1 << 20, end, true);
    assert!(intact);
    assert_eq!(
        served(&tail),
        appended,
        "the tail as appended, not as the disk has it now"
    );
    let (head, intact) = checked(&log, 0, 1 << 20, end, true);
    assert!(head.cached.is_none());
    assert!(!intact, "damage outside the cache is found as before");
}

#[test]
fn a_log_nobody_reads_at_its_end_keeps_nothing_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    for i in 0..10 {
        log.append(&mut simple_batch(10, i, 1000), OPTIONS).unwrap();
    }
    let end = log.log_end_offset();
    assert!(checked(&log, end - 1, 1 << 20, end, true)
        .0
        .cached
        .is_none());
    // Once read there, the next appends are kept.
    log.append(&mut simple_batch(10, 10, 1000), OPTIONS)
        .unwrap();
    let end = log.log_end_offset();
    assert!(checked(&log, end - 1, 1 << 20, end, true)
        .0
        .cached
        .is_some());
}
