//! The follower append (`Log::append_replicated`) and what a leader needs
//! to serve followers (reads up to the log end offset).

mod common;

use bytes::BytesMut;
use common::*;
use strom_storage::{
    check_dir, AppendOptions, EpochEntry, Log, LogConfig, StorageError, RETAINED_BATCHES,
};

/// `batch` as a leader's log holds it: at `base_offset`, stamped with
/// leader `epoch`. Neither field is under the CRC.
fn at(mut batch: Vec<u8>, base_offset: i64, epoch: i32) -> Vec<u8> {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
    batch
}

fn concat(batches: &[Vec<u8>]) -> Vec<u8> {
    batches.concat()
}

/// Every byte the log serves from its start to its end.
fn all_bytes(log: &Log) -> Vec<u8> {
    read_all(log).into_iter().flat_map(|b| b.bytes).collect()
}

fn entry(epoch: i32, start_offset: i64) -> EpochEntry {
    EpochEntry {
        epoch,
        start_offset,
    }
}

fn producer(id: i64, epoch: i16, base_sequence: i32) -> Producer {
    Producer {
        id,
        epoch,
        base_sequence,
    }
}

fn epoch(leader_epoch: i32) -> AppendOptions {
    AppendOptions {
        leader_epoch,
        log_append_time_ms: None,
    }
}

/// Replicates `leader` into `follower` the way a fetcher does: reads from
/// the follower's log end up to the leader's log end (not its high
/// watermark), `max_bytes` at a time.
fn replicate(leader: &Log, follower: &Log, max_bytes: u32) {
    loop {
        let offset = follower.log_end_offset();
        let result = leader.read(offset, max_bytes, i64::MAX, true).unwrap();
        if result.is_empty() {
            assert_eq!(offset, leader.log_end_offset());
            return;
        }
        let mut buf = BytesMut::new();
        result.copy_into(&mut buf).unwrap();
        let outcome = follower.append_replicated(&mut buf).unwrap();
        assert_eq!(outcome.base_offset, result.first_batch_offset.unwrap());
        assert_eq!(follower.log_end_offset(), outcome.last_offset + 1);
    }
}

#[tokio::test]
async fn a_follower_copies_the_leader_byte_for_byte_beyond_its_high_watermark() {
    let (leader_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let leader = open(leader_dir.path(), small_config());
    for i in 0..30 {
        let leader_epoch = [1, 4, 7][i / 10];
        let count = 1 + i % 4;
        leader
            .append(
                &mut simple_batch(count, 1_000 + i as i64, 40),
                epoch(leader_epoch),
            )
            .unwrap();
    }
    let end = leader.log_end_offset();
    leader.set_high_watermark(10);
    // A consumer's read stops at the high watermark; a follower's at the end.
    let consumer = read_batches(&leader, 10, 1 << 20, leader.high_watermark(), true);
    assert!(consumer.is_empty());
    let fetched = read_batches(&leader, 10, 1 << 20, i64::MAX, true);
    assert!(fetched[0].base_offset <= 10 && fetched.last().unwrap().last_offset > 10);

    let follower = open(follower_dir.path(), small_config());
    replicate(&leader, &follower, 700);
    follower.wait_durable(end).await.unwrap();
    assert!(follower.durable_offset() >= end);
    assert_eq!(follower.log_end_offset(), end);
    assert_eq!(all_bytes(&follower), all_bytes(&leader));
    assert_eq!(follower.epoch_entries(), leader.epoch_entries());
    assert!(follower.segment_count() > 1);
    for e in 0..9 {
        assert_eq!(
            follower.end_offset_for_epoch(e),
            leader.end_offset_for_epoch(e)
        );
    }
}

#[test]
fn epochs_of_the_batches_fill_the_epoch_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut first = concat(&[
        at(simple_batch(3, 1, 10), 0, 0),
        at(simple_batch(2, 1, 10), 3, 0),
        at(simple_batch(2, 1, 10), 5, 2),
    ]);
    let outcome = log.append_replicated(&mut first).unwrap();
    assert_eq!((outcome.base_offset, outcome.last_offset), (0, 6));
    assert!(!outcome.duplicate);
    // The latest epoch going on adds nothing; a gap before a new epoch
    // puts its start at its first batch.
    let mut second = concat(&[
        at(simple_batch(1, 1, 10), 7, 2),
        at(simple_batch(4, 1, 10), 12, 5),
        at(simple_batch(1, 1, 10), 16, 5),
    ]);
    log.append_replicated(&mut second).unwrap();
    let expected = vec![entry(0, 0), entry(2, 5), entry(5, 12)];
    assert_eq!(log.epoch_entries(), expected);
    assert_eq!(log.latest_epoch(), Some(5));
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 5)));
    assert_eq!(log.end_offset_for_epoch(1), Some((0, 5)));
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 12)));
    assert_eq!(log.end_offset_for_epoch(4), Some((2, 12)));
    assert_eq!(log.end_offset_for_epoch(5), Some((5, 17)));
    assert_eq!(log.end_offset_for_epoch(6), None);
    let text = std::fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(text, "0\n3\n0 0\n2 5\n5 12\n");
    assert_eq!(all_bytes(&log), [first, second].concat());
    // Stored epochs are the leader's, batch by batch.
    let epochs: Vec<i32> = read_all(&log)
        .iter()
        .map(|b| i32::from_be_bytes(b.bytes[12..16].try_into().unwrap()))
        .collect();
    assert_eq!(epochs, [0, 0, 2, 2, 5, 5]);
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(log.epoch_entries(), expected);
}

#[test]
fn gaps_are_kept_through_close_and_unclean_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config();
    let log = open(dir.path(), config.clone());
    // A fresh log at 0 whose leader compacted offsets 0..2 away.
    let mut input = Vec::new();
    let mut next = 3;
    for call in 0..12i64 {
        let mut batches = Vec::new();
        for i in 0..3 {
            let count = 1 + ((call + i) % 3) as usize;
            batches.push(at(simple_batch(count, 10 * call, 120), next, 1));
            next += count as i64 + (call + i) % 4;
        }
        let mut bytes = concat(&batches);
        log.append_replicated(&mut bytes).unwrap();
        input.extend(bytes);
    }
    let end = log.log_end_offset();
    assert!(log.segment_count() > 2, "rolled while replicating");
    assert_eq!(all_bytes(&log), input);
    // A fetch inside a gap returns the batch after it.
    let gap_read = read_batches(&log, 1, 1 << 20, i64::MAX, true);
    assert_eq!(gap_read[0].base_offset, 3);
    let listed = std::fs::read_to_string(dir.path().join("gap-segments-checkpoint")).unwrap();
    assert_eq!(
        listed.lines().nth(1).unwrap(),
        log.segment_count().to_string()
    );

    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), config.clone());
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(all_bytes(&log), input);

    // Unclean: the active segment (past the recovery point) is recovered
    // batch by batch, with its gaps.
    let mut more = at(simple_batch(2, 500, 120), end + 7, 2);
    log.append_replicated(&mut more).unwrap();
    input.extend(&more);
    drop(log);
    let log = open(dir.path(), config.clone());
    assert_eq!(log.log_end_offset(), end + 9);
    assert_eq!(all_bytes(&log), input);
    assert_eq!(log.epoch_entries(), vec![entry(1, 3), entry(2, end + 7)]);
    drop(log);

    // Missing indexes are rebuilt with the gaps too, and the offline
    // check sees no damage.
    for (name, path) in std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().into_string().unwrap(), e.path()))
    {
        if name.ends_with(".index") || name.ends_with(".timeindex") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), config);
    assert_eq!(all_bytes(&log), input);
    drop(log);
    let report = check_dir(dir.path()).unwrap();
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert!(report.batches > 30);
}

#[test]
fn segments_roll_at_the_first_batch_of_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 2048,
        ..small_config()
    };
    let log = open(dir.path(), config.clone());
    let mut input = Vec::new();
    let mut starts = Vec::new();
    let mut next = 0;
    for call in 0..20i64 {
        // Every other append starts after a gap.
        next += call % 2 * 5;
        starts.push(next);
        // A gap inside the append too, so that segments hold gaps.
        let mut bytes = concat(&[
            at(simple_batch(2, call, 60), next, 0),
            at(simple_batch(3, call, 60), next + 4, 0),
        ]);
        log.append_replicated(&mut bytes).unwrap();
        input.extend(bytes);
        next += 7;
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 3 && bases.len() < 15, "{bases:?}");
    // A segment starts at a batch, never in a gap.
    assert!(bases.iter().all(|b| starts.contains(b)), "{bases:?}");
    assert_eq!(all_bytes(&log), input);
    // The rolled segments were fsynced: the recovery point passed them.
    assert_eq!(log.recovery_point(), *bases.last().unwrap());
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!(log.segment_base_offsets(), bases);
    assert_eq!(all_bytes(&log), input);
    drop(log);
    assert!(check_dir(dir.path()).unwrap().damage.is_empty());
}

#[test]
fn an_offset_jump_too_large_for_one_segment_rolls_even_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let far = 3_000_000_000;
    let mut bytes = at(simple_batch(2, 1, 10), far, 0);
    log.append_replicated(&mut bytes).unwrap();
    let mut later = at(simple_batch(2, 1, 10), far + 2, 0);
    log.append_replicated(&mut later).unwrap();
    let mut farther = at(simple_batch(1, 1, 10), 2 * far, 0);
    log.append_replicated(&mut farther).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, far, 2 * far]);
    let input = [bytes, later, farther].concat();
    assert_eq!(all_bytes(&log), input);
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 2 * far + 1);
    assert_eq!(all_bytes(&log), input);
    drop(log);
    assert!(check_dir(dir.path()).unwrap().damage.is_empty());
}

#[test]
fn overlaps_and_bad_batches_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let mut start = concat(&[
        at(idempotent_batch(5, producer(3, 0, 0)), 0, 1),
        at(simple_batch(5, 1, 10), 5, 1),
    ]);
    log.append_replicated(&mut start).unwrap();
    let before = (
        all_bytes(&log),
        log.epoch_entries(),
        log.producer_state(3),
        log.size_bytes(),
        log.segment_count(),
    );

    let mut corrupt_crc = at(simple_batch(2, 1, 10), 10, 1);
    let last = corrupt_crc.len() - 1;
    corrupt_crc[last] ^= 1;
    let mut bad_magic = at(simple_batch(2, 1, 10), 10, 1);
    bad_magic[16] = 1;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("below the log end", at(simple_batch(2, 1, 10), 3, 1)),
        ("overlapping the log end", at(simple_batch(3, 1, 10), 8, 1)),
        (
            "going back inside the append",
            concat(&[
                at(simple_batch(2, 1, 10), 20, 2),
                at(simple_batch(2, 1, 10), 15, 2),
            ]),
        ),
        (
            "overlapping inside the append",
            concat(&[
                at(simple_batch(2, 1, 10), 10, 2),
                at(simple_batch(2, 1, 10), 11, 2),
            ]),
        ),
        (
            "a corrupt batch after a good one",
            concat(&[at(simple_batch(2, 1, 10), 10, 2), corrupt_crc.clone()]),
        ),
        ("a corrupt CRC", corrupt_crc),
        ("magic 1", bad_magic),
        ("a torn batch", {
            let mut b = at(simple_batch(2, 1, 10), 10, 1);
            b.pop();
            b
        }),
        ("nothing", Vec::new()),
    ];
    for (what, mut bytes) in cases {
        let err = log.append_replicated(&mut bytes).unwrap_err();
        let expected_kind = match what {
            w if w.contains("log end") || w.contains("inside") => {
                matches!(err, StorageError::OffsetOutOfOrder { .. })
            }
            "nothing" => matches!(err, StorageError::InvalidAppend { .. }),
            _ => matches!(err, StorageError::CorruptBatch { .. }),
        };
        assert!(expected_kind, "{what}: {err}");
        let after = (
            all_bytes(&log),
            log.epoch_entries(),
            log.producer_state(3),
            log.size_bytes(),
            log.segment_count(),
        );
        assert_eq!(after, before, "{what} changed the log");
        assert_eq!(log.log_end_offset(), 10);
    }
    let message = log
        .append_replicated(&mut at(simple_batch(2, 1, 10), 3, 1))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("3..=4") && message.contains("10"),
        "{message}"
    );
}

#[test]
fn producer_state_mirrors_the_leader_without_checks() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    let pid = 42;
    let mut batches = concat(&[
        at(idempotent_batch(5, producer(pid, 0, 0)), 0, 0),
        at(idempotent_batch(5, producer(pid, 0, 5)), 5, 0),
        // A leader's log can hold what a leader append here would refuse
        // (it was written before this replica's state existed, or the
        // state was expired): the follower copies it.
        at(idempotent_batch(3, producer(pid, 0, 20)), 10, 0),
    ]);
    log.append_replicated(&mut batches).unwrap();
    let state = log.producer_state(pid).unwrap();
    assert_eq!(state.producer_epoch, 0);
    assert_eq!(state.last_sequence(), Some(22));
    assert_eq!(state.batches.len(), 3);
    assert_eq!(
        (state.batches[2].first_offset, state.batches[2].last_offset),
        (10, 12)
    );

    // Now leader: the next sequence is accepted...
    let next = log
        .append(&mut idempotent_batch(2, producer(pid, 0, 23)), OPTIONS)
        .unwrap();
    assert_eq!((next.base_offset, next.duplicate), (13, false));
    // ...and a retry of a replicated batch is answered with its offsets.
    let dup = log
        .append(&mut idempotent_batch(3, producer(pid, 0, 20)), OPTIONS)
        .unwrap();
    assert!(dup.duplicate);
    assert_eq!((dup.base_offset, dup.last_offset), (10, 12));
    assert!(matches!(
        log.append(&mut idempotent_batch(1, producer(pid, 0, 40)), OPTIONS),
        Err(StorageError::OutOfOrderSequence { expected: 25, .. })
    ));

    // A new producer epoch need not start at 0 on a follower, and a
    // control batch (transaction marker) leaves sequences alone, as on
    // the leader's append path.
    let mut marker = at(idempotent_batch(1, producer(pid, 1, -1)), 17, 0);
    set_control(&mut marker);
    let mut newer = concat(&[at(idempotent_batch(2, producer(pid, 1, 7)), 15, 0), marker]);
    log.append_replicated(&mut newer).unwrap();
    let state = log.producer_state(pid).unwrap();
    assert_eq!(state.producer_epoch, 1);
    assert_eq!(state.last_sequence(), Some(8));
    assert_eq!(state.batches.len(), 1);
    assert!(state.batches.len() <= RETAINED_BATCHES);

    // Replay on open rebuilds the same state.
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(log.producer_state(pid), Some(state));
    let retry = log
        .append(&mut idempotent_batch(2, producer(pid, 1, 7)), OPTIONS)
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.base_offset, 15);
}

/// Sets the control bit of a batch and recomputes its CRC.
fn set_control(batch: &mut [u8]) {
    let attributes = i16::from_be_bytes([batch[21], batch[22]]) | 0x20;
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn truncate_then_append_replicated() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 1024,
        ..small_config()
    };
    let log = open(dir.path(), config.clone());
    let mut kept = Vec::new();
    for i in 0..12i64 {
        let mut b = at(simple_batch(3, i, 60), 3 * i, 1);
        log.append_replicated(&mut b).unwrap();
        if 3 * i < 15 {
            kept.extend(b);
        }
    }
    assert!(log.segment_count() > 2);
    // The leader's epoch 2 began at 15: this replica's epoch-1 tail goes.
    log.truncate_to(15).unwrap();
    assert_eq!(log.log_end_offset(), 15);
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 15)));
    assert!(matches!(
        log.append_replicated(&mut at(simple_batch(1, 1, 60), 14, 2)),
        Err(StorageError::OffsetOutOfOrder { .. })
    ));
    let mut tail = concat(&[
        at(simple_batch(2, 50, 60), 15, 2),
        at(simple_batch(2, 51, 60), 19, 2),
    ]);
    log.append_replicated(&mut tail).unwrap();
    kept.extend(&tail);
    assert_eq!(log.log_end_offset(), 21);
    assert_eq!(all_bytes(&log), kept);
    assert_eq!(log.epoch_entries(), vec![entry(1, 0), entry(2, 15)]);
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 15)));
    drop(log);
    let log = open(dir.path(), config.clone());
    assert_eq!(all_bytes(&log), kept);

    // Everything: replication starts over, here after a gap. The removed
    // gap segments leave the list; the one that gets the new gap joins it.
    let gap_list = || std::fs::read_to_string(dir.path().join("gap-segments-checkpoint")).unwrap();
    assert_ne!(gap_list(), "0\n0\n");
    log.truncate_to(0).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(gap_list(), "0\n0\n");
    let mut restart = at(simple_batch(2, 1, 60), 4, 3);
    log.append_replicated(&mut restart).unwrap();
    assert_eq!(gap_list(), "0\n1\n0\n");
    assert_eq!(all_bytes(&log), restart);
    assert_eq!(log.epoch_entries(), vec![entry(3, 4)]);
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!(all_bytes(&log), restart);
    assert_eq!(log.log_end_offset(), 6);
}

#[test]
fn a_leader_epoch_begun_at_the_log_end_goes_at_a_truncation_to_the_end() {
    // This replica led in epoch 8 and was replaced before it wrote in it;
    // the new leader's log goes on in epoch 7 from here. Seen in a
    // cluster: with epoch 8 kept, each OffsetForLeaderEpoch answer (epoch
    // 7 ends at 20, which this log does not have) cut the log to its end
    // (no change), the follower asked again with epoch 8, and never
    // fetched again.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append_replicated(&mut at(simple_batch(5, 1, 10), 0, 6))
        .unwrap();
    log.begin_leader_epoch(8).unwrap();
    assert_eq!(log.latest_epoch(), Some(8));

    log.truncate_to(log.log_end_offset()).unwrap();
    assert_eq!(log.log_end_offset(), 5, "no record goes");
    assert_eq!(log.epoch_entries(), vec![entry(6, 0)]);
    // The new leader's records follow and start their epoch in the cache.
    log.append_replicated(&mut at(simple_batch(2, 2, 10), 5, 7))
        .unwrap();
    assert_eq!(log.epoch_entries(), vec![entry(6, 0), entry(7, 5)]);
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(log.epoch_entries(), vec![entry(6, 0), entry(7, 5)]);

    // An epoch holding records is not touched by a cut past the end.
    log.truncate_to(100).unwrap();
    assert_eq!(log.epoch_entries(), vec![entry(6, 0), entry(7, 5)]);
    assert_eq!(log.log_end_offset(), 7);
}

#[test]
fn a_newer_epoch_than_the_leaders_records_goes_when_they_arrive() {
    // This replica began epoch 8 as leader (no record in it), and the
    // leader's records in epoch 7 arrive without the truncation that
    // drops epoch 8 first (the replica fetcher truncates; this is the
    // log's own guard). Kept, epoch 8 would hide every later batch of
    // epoch 7 from the cache, and this replica, once leader, would answer
    // OffsetForLeaderEpoch(7) with the start of 8 instead of the end of 7.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config());
    log.append_replicated(&mut at(simple_batch(5, 1, 10), 0, 6))
        .unwrap();
    log.append_replicated(&mut at(simple_batch(2, 1, 10), 5, 7))
        .unwrap();
    log.begin_leader_epoch(8).unwrap();
    assert_eq!(log.latest_epoch(), Some(8));

    log.append_replicated(&mut at(simple_batch(3, 1, 10), 7, 7))
        .unwrap();
    assert_eq!(log.epoch_entries(), vec![entry(6, 0), entry(7, 5)]);
    assert_eq!(log.end_offset_for_epoch(7), Some((7, 10)));
    assert_eq!(log.end_offset_for_epoch(8), None);
    log.append_replicated(&mut at(simple_batch(1, 1, 10), 10, 9))
        .unwrap();
    let expected = vec![entry(6, 0), entry(7, 5), entry(9, 10)];
    assert_eq!(log.epoch_entries(), expected);
    assert_eq!(log.end_offset_for_epoch(8), Some((7, 10)));
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(
        log.epoch_entries(),
        expected,
        "the checkpoint says the same"
    );
}
