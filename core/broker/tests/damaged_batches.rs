//! A batch damaged on disk after it was written (its CRC no longer
//! matches) is not served: consumers get the batches around it, and one
//! asking for it is moved past it, instead of refusing it forever.
//!
//! Each test restarts the broker after writing: the newest batches a
//! broker wrote since it started are served from memory as they arrived
//! (the tail cache), so damage on disk shows in data read from the files.

mod common;

use common::*;
use strom_protocol::records::CompressionType;

/// Flips one byte inside the records of the batch at `position` of the
/// partition's first segment.
fn damage_batch_at(broker: &TestBroker, topic: &str, position: usize) {
    damage_byte(broker, topic, position + 70);
}

/// Flips the lowest bit of the byte `at` of the partition's first segment.
fn damage_byte(broker: &TestBroker, topic: &str, at: usize) {
    flip_bits(broker, topic, at, 0x01);
}

/// Flips the bits `mask` of the byte `at` of the partition's first segment.
fn flip_bits(broker: &TestBroker, topic: &str, at: usize, mask: u8) {
    let path = broker
        .data_dir()
        .join(format!("{topic}-0"))
        .join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at] ^= mask;
    std::fs::write(&path, bytes).unwrap();
}

/// Byte positions of the batches in a fetched run of batches.
fn positions(records: &bytes::Bytes) -> Vec<usize> {
    let mut at = 0;
    split_batches(records)
        .iter()
        .map(|batch| {
            let position = at;
            at += batch.as_bytes().len();
            position
        })
        .collect()
}

#[tokio::test]
async fn a_damaged_batch_is_skipped_not_served() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "events", 1, &[]).await;
    for pair in [["a", "b"], ["c", "d"], ["e", "f"]] {
        let records = batch(CompressionType::None, now_ms(), &pair);
        produce_ok(&mut client, "events", 0, records).await;
    }
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    let before = records_of(&fetch(&mut client, "events", 0, 0).await);
    damage_batch_at(&broker, "events", positions(&before)[1]);

    let values = |records| {
        fetched_values(&records)
            .into_iter()
            .map(|(offset, value)| format!("{offset}:{value}"))
            .collect::<Vec<_>>()
    };
    let all = records_of(&fetch(&mut client, "events", 0, 0).await);
    assert_eq!(values(all), ["0:a", "1:b", "4:e", "5:f"]);
    let at_damage = records_of(&fetch(&mut client, "events", 0, 2).await);
    assert_eq!(values(at_damage), ["4:e", "5:f"]);

    // The last batch damaged: nothing to serve, and no error.
    damage_batch_at(&broker, "events", positions(&before)[2]);
    let at_end = fetch(&mut client, "events", 0, 4).await;
    assert_eq!(at_end.error_code, 0);
    assert!(records_of(&at_end).is_empty());
    // New data after it (in memory now) is served to the consumer stuck there.
    let records = batch(CompressionType::None, now_ms(), &["g"]);
    produce_ok(&mut client, "events", 0, records).await;
    let after = records_of(&fetch(&mut client, "events", 0, 4).await);
    assert_eq!(values(after), ["6:g"]);
}

/// Reads of 16 KiB and more are sent from the segment files, checked a
/// window at a time; a batch larger than the window is checked whole, so
/// damage anywhere in it is found.
#[tokio::test]
async fn large_reads_sent_from_the_files_are_checked_too() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "big", 1, &[]).await;
    let sizes = [40_000, 300_000, 40_000, 40_000];
    for (i, size) in sizes.iter().enumerate() {
        let value = char::from(b'a' + i as u8).to_string().repeat(*size);
        let records = batch(CompressionType::None, now_ms(), &[value.as_str()]);
        produce_ok(&mut client, "big", 0, records).await;
    }
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    let summary = |records| {
        fetched_values(&records)
            .into_iter()
            .map(|(offset, value)| format!("{offset}:{}x{}", &value[..1], value.len()))
            .collect::<Vec<_>>()
    };
    let before = records_of(&fetch(&mut client, "big", 0, 0).await);
    assert_eq!(
        summary(before.clone()),
        ["0:ax40000", "1:bx300000", "2:cx40000", "3:dx40000"]
    );
    let at = positions(&before);

    // Near the end of the batch larger than the window.
    damage_byte(&broker, "big", at[1] + 290_000);
    let all = records_of(&fetch(&mut client, "big", 0, 0).await);
    assert_eq!(summary(all), ["0:ax40000", "2:cx40000", "3:dx40000"]);

    // And the last byte of a batch that a window boundary does not cut.
    damage_byte(&broker, "big", at[3] - 1);
    let from_second = records_of(&fetch(&mut client, "big", 0, 1).await);
    assert_eq!(summary(from_second), ["3:dx40000"]);
}

/// Batches written while a consumer reads at the end of the log are
/// served as they arrived, whatever the disk did to them since; with `strom.fetch.cache.bytes=0` they are
/// read back from the file and checked, like any other.
#[tokio::test]
async fn fresh_batches_are_served_as_they_arrived_unless_the_cache_is_off() {
    for (settings, expected) in [
        (&[][..], &["0:a", "1:b", "2:c", "3:d", "4:e", "5:f"][..]),
        (
            &[("strom.fetch.cache.bytes", "0")][..],
            &["0:a", "1:b", "4:e", "5:f"][..],
        ),
    ] {
        let broker = TestBroker::start_with(settings);
        let mut client = broker.connect().await;
        create_topic(&mut client, "fresh", 1, &[]).await;
        // A consumer waiting at the end, as one that keeps up does.
        assert!(records_of(&fetch(&mut client, "fresh", 0, 0).await).is_empty());
        for pair in [["a", "b"], ["c", "d"], ["e", "f"]] {
            let records = batch(CompressionType::None, now_ms(), &pair);
            produce_ok(&mut client, "fresh", 0, records).await;
        }
        let before = records_of(&fetch(&mut client, "fresh", 0, 0).await);
        damage_batch_at(&broker, "fresh", positions(&before)[1]);
        let all = records_of(&fetch(&mut client, "fresh", 0, 0).await);
        let values: Vec<String> = fetched_values(&all)
            .into_iter()
            .map(|(offset, value)| format!("{offset}:{value}"))
            .collect();
        assert_eq!(values, expected, "{settings:?}");
    }
}

/// A batch whose length field was damaged on disk claims more bytes than
/// it has, up to the rest of the segment. Past a fetch's limit it is
/// KIP-74's one batch over the limit, failing its CRC check: the reader
/// steps past it (the broker reads its header only, not the bytes it
/// claims) and gets the batches after it.
#[tokio::test]
async fn a_batch_whose_length_was_damaged_is_stepped_over() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "lengths", 1, &[]).await;
    let filler = "f".repeat(100_000);
    let mut values = vec!["a".to_string(), "b".to_string()];
    values.extend((0..30).map(|_| filler.clone()));
    for value in &values {
        let records = batch(CompressionType::None, now_ms(), &[value.as_str()]);
        produce_ok(&mut client, "lengths", 0, records).await;
    }
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    let at = positions(&records_of(&fetch(&mut client, "lengths", 0, 0).await));
    // The batch length is bytes 8..12 (big-endian): +2 MiB, more than the
    // fetch's 1 MiB and less than the 3 MB after it.
    flip_bits(&broker, "lengths", at[1] + 9, 0x20);
    let reader = records_of(&fetch(&mut client, "lengths", 0, 1).await);
    let got = fetched_values(&reader);
    assert!(!got.is_empty(), "nothing served after the damaged batch");
    assert_eq!(got[0].0, 2, "served from offset {}", got[0].0);
    assert!(got.iter().all(|(_, value)| *value == filler));
}
