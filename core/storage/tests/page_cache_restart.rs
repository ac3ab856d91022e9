//! A page-cache log restarted after a crash serves at once: what the crash
//! left in the page cache is written out by the next roll or close, as any
//! page-cache write is, not by the open. A file of its own: the sync
//! counter is process-wide.

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use common::files::syncs_during;
use common::*;
use strom_storage::{FlushPolicy, Log, LogConfig};

/// The sync counter is process-wide and the tests of one file run on
/// threads side by side: each test holds this for its whole run, so no
/// other test's syncs land in its count (one CI run counted 2 where 0
/// were due).
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn config(flush: FlushPolicy) -> LogConfig {
    LogConfig {
        flush,
        ..small_config()
    }
}

/// A log of several segments, killed (no close) after `batches` appends:
/// what it held and the base of its active segment.
fn killed_log(dir: &Path, flush: FlushPolicy, batches: i64) -> (Vec<StoredBatch>, i64) {
    let log = open(dir, config(flush));
    for i in 0..batches {
        log.append(&mut simple_batch(2, i, 150), OPTIONS).unwrap();
    }
    let active_base = *log.segment_base_offsets().last().unwrap();
    assert!(log.segment_count() >= 3);
    assert_eq!(log.recovery_point(), active_base, "rolls synced the rest");
    let written = read_all(&log);
    drop(log); // simulated kill: no close()
    (written, active_base)
}

fn reopen_counting_syncs(dir: &Path, flush: FlushPolicy) -> (Log, u64) {
    let mut log = None;
    let syncs = syncs_during(|| log = Some(open(dir, config(flush))));
    (log.unwrap(), syncs)
}

#[test]
fn a_page_cache_log_reopens_after_a_crash_without_syncing_its_active_segment() {
    let _turn = one_at_a_time();
    // The fsync policy syncs what it recovered at the open (its
    // acknowledgements promised that much): the counter sees the syncs.
    let dir = tempfile::tempdir().unwrap();
    let (written, _) = killed_log(dir.path(), FlushPolicy::Fsync, 40);
    let (log, syncs) = reopen_counting_syncs(dir.path(), FlushPolicy::Fsync);
    assert!(syncs > 0);
    assert_eq!(log.recovery_point(), log.log_end_offset());
    assert_eq!(read_all(&log), written);
    drop(log);

    // A page-cache log syncs nothing: not its sealed segments (synced at
    // their rolls, before the recovery point passed them), nor its active
    // one; the recovery point stays where it was, and everything reads
    // back.
    let dir = tempfile::tempdir().unwrap();
    let (written, active_base) = killed_log(dir.path(), FlushPolicy::PageCache, 40);
    let (log, syncs) = reopen_counting_syncs(dir.path(), FlushPolicy::PageCache);
    let sealed = log.segment_count() as u64 - 1;
    assert_eq!(syncs, 0);
    assert_eq!(log.recovery_point(), active_base);
    assert_eq!(read_all(&log), written);

    // Appends go on; the roll that seals the recovered segment syncs it
    // and moves the recovery point past it.
    let mut i = 0;
    while log.segment_count() as u64 == sealed + 1 {
        log.append(&mut simple_batch(2, i, 150), OPTIONS).unwrap();
        i += 1;
    }
    let new_active = *log.segment_base_offsets().last().unwrap();
    assert_eq!(log.recovery_point(), new_active);
    drop(log);
}

/// The region recovered without a sync stays above the recovery point: a
/// second crash checks it again, and damage there is cut off as a torn
/// write, with what follows it (its data may never have reached the disk).
#[test]
fn a_second_crash_checks_the_unsynced_recovered_segment_again() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (written, active_base) = killed_log(dir.path(), FlushPolicy::PageCache, 40);
    let log = open(dir.path(), config(FlushPolicy::PageCache));
    assert_eq!(log.recovery_point(), active_base);
    drop(log); // a second crash, with nothing appended

    let in_active: Vec<_> = written
        .iter()
        .filter(|b| b.base_offset >= active_base)
        .collect();
    assert!(in_active.len() >= 2, "{}", in_active.len());
    let second_at = in_active[0].bytes.len() as u64;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.path().join(format!("{active_base:020}.log")))
        .unwrap();
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, second_at + 40).unwrap();
    file.write_all_at(&[byte[0] ^ 0x01], second_at + 40)
        .unwrap();
    drop(file);

    let log = open(dir.path(), config(FlushPolicy::PageCache));
    let kept: Vec<_> = written
        .iter()
        .filter(|b| b.base_offset <= in_active[0].base_offset)
        .cloned()
        .collect();
    assert_eq!(read_all(&log), kept);
    assert_eq!(log.log_end_offset(), in_active[0].last_offset + 1);
}

/// A sealed segment the recovery point has not passed (its checkpoint was
/// lost, or the crash came between the roll's sync and the checkpoint's
/// write) is synced at the unclean open, in either policy; one below it
/// was synced before the point moved and is not synced again.
#[test]
fn an_unclean_open_syncs_the_sealed_segments_past_the_recovery_point_only() {
    let _turn = one_at_a_time();
    for flush in [FlushPolicy::PageCache, FlushPolicy::Fsync] {
        let dir = tempfile::tempdir().unwrap();
        let (written, _) = killed_log(dir.path(), flush, 40);
        std::fs::remove_file(dir.path().join("recovery-point-offset-checkpoint")).unwrap();
        let (log, syncs) = reopen_counting_syncs(dir.path(), flush);
        let sealed = log.segment_count() as u64 - 1;
        assert_eq!(read_all(&log), written, "{flush:?}");
        match flush {
            // Every sealed segment (index files too, rebuilt past the point).
            FlushPolicy::PageCache => assert!(syncs >= sealed, "{syncs} < {sealed}"),
            // And the active segment.
            FlushPolicy::Fsync => assert!(syncs > sealed, "{syncs} <= {sealed}"),
        }
        drop(log);

        // Now the point is past them: a second crash syncs none of them.
        let (log, syncs_again) = reopen_counting_syncs(dir.path(), flush);
        assert_eq!(read_all(&log), written, "{flush:?}");
        assert!(syncs_again < syncs, "{flush:?}: {syncs_again} >= {syncs}");
        if flush == FlushPolicy::PageCache {
            assert_eq!(syncs_again, 0);
        }
    }
}
