mod common;

use common::*;
use strom_storage::{AppendOptions, EpochEntry};

fn with_epoch(leader_epoch: i32) -> AppendOptions {
    AppendOptions {
        leader_epoch,
        log_append_time_ms: None,
    }
}

fn entry(epoch: i32, start_offset: i64) -> EpochEntry {
    EpochEntry {
        epoch,
        start_offset,
    }
}

#[test]
fn leader_epoch_checkpoint_is_persisted_in_kafka_format_and_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append(&mut simple_batch(5, 1, 5), with_epoch(0))
        .unwrap();
    log.append(&mut simple_batch(5, 1, 5), with_epoch(0))
        .unwrap();
    log.assign_epoch(2, 10).unwrap();
    log.append(&mut simple_batch(5, 1, 5), with_epoch(2))
        .unwrap();
    log.append(&mut simple_batch(5, 1, 5), with_epoch(4))
        .unwrap();
    log.append(&mut simple_batch(5, 1, 5), with_epoch(4))
        .unwrap();
    assert_eq!(
        log.epoch_entries(),
        vec![entry(0, 0), entry(2, 10), entry(4, 15)]
    );
    let text = std::fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(text, "0\n3\n0 0\n2 10\n4 15\n");
    assert_eq!(log.end_offset_for_epoch(4), Some((4, 25)));
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 15)));
    assert_eq!(log.end_offset_for_epoch(3), Some((2, 15)));
    assert_eq!(log.end_offset_for_epoch(5), None);

    log.truncate_to(12).unwrap();
    // Truncation is at batch boundaries: the batch holding 12 goes entirely.
    assert_eq!(log.log_end_offset(), 10);
    assert_eq!(log.epoch_entries(), vec![entry(0, 0)]);
    let text = std::fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(text, "0\n1\n0 0\n");
    assert_eq!(read_all(&log).last().unwrap().last_offset, 9);

    log.append(&mut simple_batch(2, 1, 5), with_epoch(6))
        .unwrap();
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(log.epoch_entries(), vec![entry(0, 0), entry(6, 10)]);
    assert_eq!(log.latest_epoch(), Some(6));
}

#[test]
fn unclean_recovery_relearns_epochs_and_drops_lost_ones() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append(&mut simple_batch(3, 1, 5), with_epoch(1))
        .unwrap();
    log.append(&mut simple_batch(3, 1, 5), with_epoch(3))
        .unwrap();
    let data_end: u64 = read_all(&log).iter().map(|b| b.bytes.len() as u64).sum();
    drop(log);
    // Lose the second batch and the checkpoint.
    let path = dir.path().join(format!("{:020}.log", 0));
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(data_end - 1).unwrap();
    std::fs::remove_file(dir.path().join("leader-epoch-checkpoint")).unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(log.epoch_entries(), vec![entry(1, 0)]);
}

#[test]
fn truncating_across_segments_and_below_the_first_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    for _ in 0..60 {
        log.append(&mut simple_batch(2, 1, 100), OPTIONS).unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 3);
    log.set_high_watermark(log.log_end_offset());
    log.truncate_to(bases[1] + 2).unwrap();
    assert_eq!(log.segment_base_offsets(), bases[..2].to_vec());
    assert_eq!(log.log_end_offset(), bases[1] + 2);
    assert_eq!(log.high_watermark(), bases[1] + 2);
    assert_eq!(read_all(&log).len() as i64, (bases[1] + 2) / 2);
    let o = log.append(&mut simple_batch(2, 1, 100), OPTIONS).unwrap();
    assert_eq!(o.base_offset, bases[1] + 2);
    log.close().unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), bases[1] + 4);
    log.delete_records_before(4).unwrap();
    log.truncate_to(2).unwrap();
    assert_eq!(log.log_start_offset(), 2);
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(
        log.append(&mut simple_batch(1, 1, 1), OPTIONS)
            .unwrap()
            .base_offset,
        2
    );
}

#[test]
fn a_new_leader_epoch_is_known_at_once_and_saved_with_its_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("leader-epoch-checkpoint");
    let saved = || std::fs::read_to_string(&checkpoint).unwrap_or_default();
    let log = open(dir.path(), small_config());

    // A partition just created: the epoch is known at once (a follower
    // asking where it ends is answered), saved with the first append.
    log.begin_leader_epoch(3).unwrap();
    assert_eq!(log.epoch_entries(), vec![entry(3, 0)]);
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 0)));
    assert_eq!(saved(), "", "nothing to save yet");
    log.begin_leader_epoch(4).unwrap();
    assert_eq!(log.epoch_entries(), vec![entry(4, 0)]);
    log.append(&mut simple_batch(2, 1, 5), with_epoch(4))
        .unwrap();
    assert_eq!(saved(), "0\n1\n4 0\n");

    // The same with records below the new epoch.
    log.begin_leader_epoch(6).unwrap();
    assert_eq!(log.end_offset_for_epoch(4), Some((4, 2)));
    assert_eq!(saved(), "0\n1\n4 0\n");
    log.append(&mut simple_batch(2, 1, 5), with_epoch(6))
        .unwrap();
    assert_eq!(saved(), "0\n2\n4 0\n6 2\n");

    // An epoch no record followed is gone after a restart either way
    // (opening drops entries at the log end), saved or not.
    log.begin_leader_epoch(8).unwrap();
    log.close().unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!(log.epoch_entries(), vec![entry(4, 0), entry(6, 2)]);
}
