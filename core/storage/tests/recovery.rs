//! Crash recovery: the log after a kill plus a torn or corrupted tail must
//! be exactly the valid prefix of what was appended.

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_storage::{Log, LogConfig};

/// Bytes 12..16 of a batch hold the partition leader epoch, which neither
/// the CRC nor any other check covers (as in Kafka): a flip there is
/// undetectable by design, so the property test does not flip those bytes.
const EPOCH_FIELD: std::ops::Range<u64> = 12..16;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 6 * 1024,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

fn assert_log_is(log: &Log, expected: &[StoredBatch]) {
    let end = expected.last().map_or(0, |b| b.last_offset + 1);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(read_all(log), expected);
    for batch in expected {
        for offset in [batch.base_offset, batch.last_offset] {
            let got = read_batches(log, offset, 1, i64::MAX, true);
            assert_eq!(got[0], *batch, "read at {offset}");
        }
    }
}

#[test]
fn recovery_keeps_exactly_the_valid_prefix() {
    for iteration in 0..80u64 {
        let mut rng = StdRng::seed_from_u64(0x5eed + iteration);
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), config());
        for _ in 0..rng.gen_range(1..120) {
            let count = rng.gen_range(1..6);
            let value_len = rng.gen_range(0..200);
            log.append(
                &mut simple_batch(count, rng.gen_range(0..1_000_000), value_len),
                OPTIONS,
            )
            .unwrap();
        }
        let all = read_all(&log);
        let active_base = *log.segment_base_offsets().last().unwrap();
        drop(log); // simulated kill: no close()

        let (sealed, active): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|b| b.base_offset < active_base);
        let mut ends = Vec::new();
        let mut pos = 0u64;
        for b in &active {
            pos += b.bytes.len() as u64;
            ends.push(pos);
        }
        let file_len = pos;
        let path = dir.path().join(format!("{active_base:020}.log"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let kept = if iteration % 2 == 0 || file_len == 0 {
            let cut = rng.gen_range(0..=file_len);
            file.set_len(cut).unwrap();
            ends.iter().filter(|&&end| end <= cut).count()
        } else {
            let (victim, at) = loop {
                let at = rng.gen_range(0..file_len);
                let victim = ends.iter().position(|&end| end > at).unwrap();
                let start = if victim == 0 { 0 } else { ends[victim - 1] };
                if !EPOCH_FIELD.contains(&(at - start)) {
                    break (victim, at);
                }
            };
            let mut byte = [0u8];
            file.read_exact_at(&mut byte, at).unwrap();
            byte[0] ^= 1 << rng.gen_range(0..8);
            file.write_all_at(&byte, at).unwrap();
            victim
        };
        drop(file);

        let mut expected = sealed;
        expected.extend(active.into_iter().take(kept));
        let log = open(dir.path(), config());
        assert_log_is(&log, &expected);

        // The log keeps working: appends continue right after the prefix.
        let end = log.log_end_offset();
        let outcome = log.append(&mut simple_batch(3, 5, 10), OPTIONS).unwrap();
        assert_eq!(outcome.base_offset, end, "iteration {iteration}");
        let mut after = expected.clone();
        after.push(read_batches(&log, end, 1, i64::MAX, true).remove(0));
        assert_log_is(&log, &after);

        // And a second unclean restart finds the same log.
        drop(log);
        let log = open(dir.path(), config());
        assert_log_is(&log, &after);
    }
}

#[test]
fn garbage_files_do_not_panic_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    for _ in 0..30 {
        log.append(&mut simple_batch(2, 1, 100), OPTIONS).unwrap();
    }
    log.close().unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let junk: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect();
        std::fs::write(&path, junk).unwrap();
    }
    let log = open(dir.path(), config());
    // Whatever survived is readable (damaged sealed segments are kept, so
    // there may be nothing to read below the log end) and the log accepts
    // appends.
    log.read(log.log_start_offset(), 1 << 20, i64::MAX, true)
        .unwrap();
    assert_appends_at_the_end(&log);
}

/// An append lands right at the log end offset.
fn assert_appends_at_the_end(log: &Log) {
    let end = log.log_end_offset();
    let appended = log.append(&mut simple_batch(1, 1, 1), OPTIONS).unwrap();
    assert_eq!(appended.base_offset, end);
}

#[test]
fn clean_close_skips_recovery_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    for i in 0..50 {
        log.append(&mut simple_batch(1 + i % 3, 1, 80), OPTIONS)
            .unwrap();
    }
    log.set_high_watermark(20);
    let before = read_all(&log);
    log.close().unwrap();
    assert!(log.append(&mut simple_batch(1, 1, 1), OPTIONS).is_err());
    let log = open(dir.path(), config());
    assert_eq!(log.high_watermark(), 20);
    assert_eq!(log.recovery_point(), log.log_end_offset());
    assert_log_is(&log, &before);
}

/// Cuts `len` bytes out of a file at `at` (a damaged disk, a bad copy).
/// Recovery reads batches through a window (256 KiB); larger ones are
/// checked a window at a time. Intact, every one is kept; one damaged past
/// its first window is cut, with everything after it.
#[test]
fn recovery_checks_batches_larger_than_its_read_window() {
    const VALUE: usize = 600 * 1024;
    let config = LogConfig {
        segment_bytes: 16 * 1024 * 1024,
        ..LogConfig::default()
    };
    let killed_log = |dir: &std::path::Path| {
        let log = open(dir, config.clone());
        for i in 0..4 {
            log.append(&mut simple_batch(1, i, VALUE), OPTIONS).unwrap();
        }
        let all = read_all(&log);
        drop(log); // simulated kill: no close()
        all
    };

    let intact = tempfile::tempdir().unwrap();
    let all = killed_log(intact.path());
    assert!(all.iter().all(|b| b.bytes.len() > VALUE));
    assert_log_is(&open(intact.path(), config.clone()), &all);

    let damaged = tempfile::tempdir().unwrap();
    let all = killed_log(damaged.path());
    let third_batch_at: usize = all[..2].iter().map(|b| b.bytes.len()).sum();
    let path = damaged.path().join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[third_batch_at + 500 * 1024] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();
    let log = open(damaged.path(), config);
    assert_log_is(&log, &all[..2]);
}

fn cut_bytes(path: &std::path::Path, at: usize, len: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.drain(at..at + len);
    std::fs::write(path, bytes).unwrap();
}

/// A log of `batches` two-record batches over several segments, stopped
/// cleanly or not: what it held, its end and its segment bases.
fn stopped_log(
    dir: &std::path::Path,
    batches: i64,
    clean: bool,
) -> (Vec<StoredBatch>, i64, Vec<i64>) {
    let log = open(dir, config());
    for i in 0..batches {
        log.append(&mut simple_batch(2, i, 150), OPTIONS).unwrap();
    }
    let written = (
        read_all(&log),
        log.log_end_offset(),
        log.segment_base_offsets(),
    );
    assert!(written.2.len() >= 4, "{:?}", written.2);
    if clean {
        log.close().unwrap();
    }
    written
}

#[test]
fn damage_in_a_sealed_segment_costs_only_the_damaged_batch() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (all, end, bases) = stopped_log(dir.path(), 120, clean);
        // Unclean: the sealed segments are below the recovery point.

        // Seven bytes cut from the middle of the second segment: the batch
        // they fall in (two, if they straddle a boundary) is lost.
        let (damaged_base, next_base) = (bases[1], bases[2]);
        let path = dir.path().join(format!("{damaged_base:020}.log"));
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        let cut = len / 2..len / 2 + 7;
        cut_bytes(&path, cut.start, 7);
        let mut position = 0;
        let (mut expected, mut lost) = (Vec::new(), Vec::new());
        for b in &all {
            let in_segment = (damaged_base..next_base).contains(&b.base_offset);
            let bytes = position..position + b.bytes.len();
            if in_segment {
                position = bytes.end;
            }
            if in_segment && bytes.start < cut.end && cut.start < bytes.end {
                lost.push(b.clone());
            } else {
                expected.push(b.clone());
            }
        }
        assert!(!lost.is_empty() && lost.len() <= 2, "{lost:?}");
        // The intact batches after the damage now start a segment.
        let tail_base = lost.last().unwrap().last_offset + 1;
        let damaged_len: usize = expected
            .iter()
            .filter(|b| (damaged_base..tail_base).contains(&b.base_offset))
            .chain(&lost)
            .map(|b| b.bytes.len())
            .sum::<usize>()
            - 7;

        for _ in 0..2 {
            let log = open(dir.path(), config());
            assert_eq!(log.log_end_offset(), end, "clean: {clean}");
            assert_eq!(read_all(&log), expected, "clean: {clean}");
            // An offset lost to the damage reads as the first batch after it.
            let got = read_batches(&log, lost[0].base_offset, 1, i64::MAX, true);
            assert_eq!(got[0].base_offset, tail_base);
            let mut with_tail = bases.clone();
            with_tail.insert(2, tail_base);
            assert_eq!(log.segment_base_offsets(), with_tail);
            // The damaged file keeps its intact batches and the damaged
            // bytes, for inspection.
            assert_eq!(
                std::fs::metadata(&path).unwrap().len() as usize,
                damaged_len
            );
            log.close().unwrap();
        }
        let log = open(dir.path(), config());
        assert_eq!(log.log_end_offset(), end);
        assert_appends_at_the_end(&log);
    }
}

/// Every batch served from the log start on. Offsets lost at the very end
/// of the log read as nothing until the next append (as a compacted
/// log's trailing gap does in Kafka).
fn read_served(log: &Log) -> Vec<StoredBatch> {
    let mut served: Vec<StoredBatch> = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let batches = read_batches(log, offset, 1 << 20, i64::MAX, true);
        let Some(last) = batches.last() else { break };
        offset = last.last_offset + 1;
        served.extend(batches);
    }
    served
}

/// Bytes cut at random places of the sealed segments, or of any segment
/// after a clean stop (up to six cuts of up to 40 bytes, several in one
/// segment at times): every batch
/// served is one that was written, at its offsets; only batches the cuts
/// touch (or their neighbours) are lost; the log end stays; a second open
/// finds the same log; the data files hold every byte left, once;
/// appends go on.
#[test]
fn cuts_in_flushed_segments_cost_only_the_batches_they_touch() {
    for seed in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(0xc075 + seed);
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), config());
        for _ in 0..150 {
            let (count, value_len) = (rng.gen_range(1..5), rng.gen_range(0..300));
            log.append(&mut simple_batch(count, 7, value_len), OPTIONS)
                .unwrap();
        }
        let all = read_all(&log);
        let end = log.log_end_offset();
        let bases = log.segment_base_offsets();
        let clean = rng.gen_bool(0.5);
        if clean {
            log.close().unwrap();
        }
        drop(log);
        // After a clean stop every byte was flushed, the active segment's
        // too: damage anywhere is damage, not a torn write.
        let damageable = if clean { bases.len() } else { bases.len() - 1 };

        let segment_of = |offset: i64| bases.iter().rposition(|&b| b <= offset).unwrap();
        // The active segment's zeros written ahead of appends (fsync mode)
        // go at an unclean open; a clean close cut them already. (Measured
        // before the cuts below change the files.)
        let active = bases.len() - 1;
        let active_data: u64 = all
            .iter()
            .filter(|b| segment_of(b.base_offset) == active)
            .map(|b| b.bytes.len() as u64)
            .sum();
        let active_path = dir.path().join(format!("{:020}.log", bases[active]));
        let zeros_ahead = std::fs::metadata(&active_path).unwrap().len() - active_data;

        // Cuts as byte ranges of the files as written; several in one
        // segment are applied from its end, so they do not move each other.
        let mut cuts: BTreeMap<usize, Vec<std::ops::Range<usize>>> = BTreeMap::new();
        for _ in 0..rng.gen_range(1..=6) {
            let segment = rng.gen_range(0..damageable);
            let path = dir.path().join(format!("{:020}.log", bases[segment]));
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            let at = rng.gen_range(0..len);
            let cut = at..(at + rng.gen_range(1..=40)).min(len);
            let ranges = cuts.entry(segment).or_default();
            if ranges
                .iter()
                .all(|r| cut.end + 64 < r.start || r.end + 64 < cut.start)
            {
                ranges.push(cut);
            }
        }
        for (&segment, ranges) in &mut cuts {
            ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
            let path = dir.path().join(format!("{:020}.log", bases[segment]));
            for cut in ranges.iter() {
                cut_bytes(&path, cut.start, cut.len());
            }
        }
        let log_bytes = |dir: &std::path::Path| -> u64 {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .map(|p| std::fs::metadata(p).unwrap().len())
                .sum()
        };
        let damaged_bytes = log_bytes(dir.path()) - zeros_ahead;
        // A batch the cut touches is lost; so may be a neighbour: bytes cut
        // at a batch's end can leave it whole (its last byte and the next
        // batch's first are often both zero) and the next one headless.
        let mut position = vec![0usize; bases.len()];
        let touched: Vec<bool> = all
            .iter()
            .map(|b| {
                let segment = segment_of(b.base_offset);
                let bytes = position[segment]..position[segment] + b.bytes.len();
                position[segment] = bytes.end;
                cuts.get(&segment).is_some_and(|ranges| {
                    ranges
                        .iter()
                        .any(|cut| bytes.start < cut.end && cut.start < bytes.end)
                })
            })
            .collect();
        let may_be_lost = |i: usize| {
            let same_segment =
                |j: usize| segment_of(all[j].base_offset) == segment_of(all[i].base_offset);
            touched[i]
                || (i > 0 && touched[i - 1] && same_segment(i - 1))
                || (i + 1 < all.len() && touched[i + 1] && same_segment(i + 1))
        };

        for _ in 0..2 {
            let log = open(dir.path(), config());
            assert_eq!(log.log_end_offset(), end, "seed {seed}, cuts {cuts:?}");
            // Every byte is kept, none is copied twice.
            assert_eq!(log_bytes(dir.path()), damaged_bytes, "seed {seed}");
            let served = read_served(&log);
            for batch in &served {
                let written = all.iter().find(|b| b.base_offset == batch.base_offset);
                assert!(
                    written == Some(batch),
                    "seed {seed}: batch {} served as written",
                    batch.base_offset
                );
                let got = read_batches(&log, batch.base_offset, 1, i64::MAX, true);
                assert!(
                    got[0] == *batch,
                    "seed {seed}: read at {}",
                    batch.base_offset
                );
            }
            let lost: Vec<usize> = (0..all.len())
                .filter(|&i| !served.contains(&all[i]))
                .collect();
            assert!(
                lost.iter().all(|&i| may_be_lost(i)) && lost.iter().any(|&i| touched[i]),
                "seed {seed}, cuts {cuts:?}: lost {:?}",
                lost.iter().map(|&i| all[i].base_offset).collect::<Vec<_>>()
            );
            drop(log);
        }
        let log = open(dir.path(), config());
        assert_appends_at_the_end(&log);
    }
}

/// A sealed segment whose files are gone (deleted by hand, lost by the
/// file system) costs its own offsets and nothing after it.
#[test]
fn a_missing_sealed_segment_costs_only_its_own_offsets() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (all, end, bases) = stopped_log(dir.path(), 80, clean);
        for suffix in ["log", "index", "timeindex"] {
            std::fs::remove_file(dir.path().join(format!("{:020}.{suffix}", bases[1]))).unwrap();
        }
        let expected: Vec<StoredBatch> = all
            .into_iter()
            .filter(|b| !(bases[1]..bases[2]).contains(&b.base_offset))
            .collect();
        for _ in 0..2 {
            let log = open(dir.path(), config());
            assert_eq!(log.log_end_offset(), end, "clean: {clean}");
            assert!(read_all(&log) == expected, "clean: {clean}");
            let got = read_batches(&log, bases[1], 1, i64::MAX, true);
            assert_eq!(got[0].base_offset, bases[2]);
            log.close().unwrap();
        }
    }
}

/// Damage that opening does not look for (a clean open trusts the index)
/// is met by a read: the segment is checked and split there and then, and
/// the read goes on past the damaged batch instead of failing forever.
#[test]
fn broken_framing_met_while_serving_costs_only_the_damaged_batch() {
    for in_active_segment in [false, true] {
        framing_damage_met_while_serving(in_active_segment);
    }
}

fn framing_damage_met_while_serving(in_active_segment: bool) {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    for i in 0..120 {
        log.append(&mut simple_batch(2, i, 150), OPTIONS).unwrap();
    }
    let all = read_all(&log);
    let bases = log.segment_base_offsets();
    let victim = if in_active_segment {
        bases.len() - 1
    } else {
        1
    };
    let end = bases.get(victim + 1).copied().unwrap_or(i64::MAX);
    let in_victim: Vec<&StoredBatch> = all
        .iter()
        .filter(|b| (bases[victim]..end).contains(&b.base_offset))
        .collect();
    assert!(in_victim.len() > 4, "{bases:?}");
    // The victim segment's third batch claims a length far past the
    // file's end.
    let position: usize = in_victim[..2].iter().map(|b| b.bytes.len()).sum();
    let path = dir.path().join(format!("{:020}.log", bases[victim]));
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&0x0100_0000i32.to_be_bytes(), position as u64 + 8)
        .unwrap();
    let damaged = in_victim[2].clone();
    let expected: Vec<StoredBatch> = all.iter().filter(|b| **b != damaged).cloned().collect();

    for _ in 0..2 {
        assert!(read_served(&log) == expected);
        let got = read_batches(&log, damaged.base_offset, 1, i64::MAX, true);
        assert_eq!(got[0].base_offset, damaged.last_offset + 1);
    }
    let mut split = bases.clone();
    split.insert(victim + 1, damaged.last_offset + 1);
    if in_active_segment {
        // Rolled first: appends go to a new segment at the log end.
        split.push(log.log_end_offset());
    }
    assert_eq!(log.segment_base_offsets(), split);
    log.close().unwrap();
    let log = open(dir.path(), config());
    assert!(read_served(&log) == expected);
    assert_eq!(log.segment_base_offsets(), split);
    assert_appends_at_the_end(&log);
}

#[test]
fn a_damaged_base_offset_is_served_as_the_offset_the_batch_must_have() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config());
    for i in 0..12 {
        log.append(&mut simple_batch(5, i, 20), OPTIONS).unwrap();
    }
    let all = read_all(&log);
    // The base offset (the one field outside the CRC) of the fourth batch
    // now claims 50 offsets further on, in the file under the open log.
    let path = dir.path().join(format!("{:020}.log", 0));
    let position: usize = all[..3].iter().map(|b| b.bytes.len()).sum();
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&(all[3].base_offset + 50).to_be_bytes(), position as u64)
        .unwrap();

    assert_eq!(
        read_all(&log),
        all,
        "offsets as they must be, bytes as written"
    );
    for batch in &all {
        for offset in [batch.base_offset, batch.last_offset] {
            let got = read_batches(&log, offset, 1, i64::MAX, true);
            assert_eq!(got[0], *batch, "read at {offset}");
        }
    }
}

#[test]
fn a_damaged_base_offset_found_when_the_log_opens_costs_nothing() {
    // No index entries: opening scans every batch of every segment.
    let config = LogConfig {
        index_interval_bytes: 1 << 30,
        ..config()
    };
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), config.clone());
        for i in 0..60 {
            log.append(&mut simple_batch(3, i, 100), OPTIONS).unwrap();
        }
        let all = read_all(&log);
        let bases = log.segment_base_offsets();
        assert!(bases.len() >= 3, "{bases:?}");
        if clean {
            log.close().unwrap();
        }
        drop(log);
        // The third batch of the second segment claims 50 offsets later.
        let in_segment: Vec<&StoredBatch> = all
            .iter()
            .filter(|b| b.base_offset >= bases[1] && b.base_offset < bases[2])
            .collect();
        let position: usize = in_segment[..2].iter().map(|b| b.bytes.len()).sum();
        let path = dir.path().join(format!("{:020}.log", bases[1]));
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(
            &(in_segment[2].base_offset + 50).to_be_bytes(),
            position as u64,
        )
        .unwrap();
        drop(file);

        let log = open(dir.path(), config.clone());
        assert_eq!(read_all(&log), all, "clean: {clean}");
        assert_appends_at_the_end(&log);
    }
}
