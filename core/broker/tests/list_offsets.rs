//! ListOffsets: earliest, latest, by timestamp and max timestamp (KIP-734).

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use strom_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use strom_protocol::records::CompressionType;

const BASE: i64 = 1_700_000_000_000;

/// Offsets 0..=5 with timestamps BASE, +10, ..., +50, in three batches
/// (one compressed).
async fn timed_topic(client: &mut Client, topic: &str) {
    create_topic(client, topic, 1, &[]).await;
    let batches = [
        (0, CompressionType::None),
        (2, CompressionType::None),
        (4, CompressionType::Lz4),
    ];
    for (first, codec) in batches {
        let mut builder = strom_protocol::records::RecordBatchBuilder::new(codec);
        for offset in first..first + 2 {
            builder
                .append(
                    BASE + 10 * offset,
                    None,
                    Some(format!("v{offset}").as_bytes()),
                    &[],
                )
                .expect("append");
        }
        produce_ok(client, topic, 0, builder.build().expect("build")).await;
    }
}

#[tokio::test]
async fn earliest_and_latest() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    timed_topic(&mut client, "ends").await;
    let earliest = list_offset(&mut client, "ends", 0, -2).await;
    assert_eq!((earliest.error_code, earliest.offset), (0, 0));
    let latest = list_offset(&mut client, "ends", 0, -1).await;
    assert_eq!((latest.error_code, latest.offset), (0, 6));
    assert!(latest.leader_epoch >= 0);
    assert_eq!(
        list_offset(&mut client, "ends", 7, -1).await.error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[tokio::test]
async fn by_timestamp_finds_the_first_offset_at_or_after_it() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    timed_topic(&mut client, "times").await;
    let cases = [
        (BASE - 1000, 0, BASE),
        (BASE, 0, BASE),
        (BASE + 15, 2, BASE + 20), // between records, inside a batch boundary
        (BASE + 11, 2, BASE + 20), // just after offset 1
        (BASE + 30, 3, BASE + 30), // exact, in the middle of a batch
    ];
    for (timestamp, offset, found) in cases {
        let response = list_offset(&mut client, "times", 0, timestamp).await;
        assert_eq!(response.error_code, 0);
        assert_eq!(
            (response.offset, response.timestamp),
            (offset, found),
            "at {timestamp}"
        );
    }
    // Inside the compressed batch: the exact record, as Kafka answers.
    let response = list_offset(&mut client, "times", 0, BASE + 45).await;
    assert_eq!((response.offset, response.timestamp), (5, BASE + 50));
    // Past the newest record: no offset.
    let past = list_offset(&mut client, "times", 0, BASE + 51).await;
    assert_eq!((past.error_code, past.offset, past.timestamp), (0, -1, -1));
}

/// Record timestamps out of order inside one batch of each codec, after a
/// plain batch: lookups name the exact record, never the batch.
#[tokio::test]
async fn by_timestamp_and_max_timestamp_inside_batches_of_every_codec() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let codecs = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];
    for codec in codecs {
        let topic = format!("codec-{codec:?}").to_lowercase();
        create_topic(&mut client, &topic, 1, &[]).await;
        produce_ok(
            &mut client,
            &topic,
            0,
            timed_batch(CompressionType::None, &[0, 5]),
        )
        .await;
        // Offsets 2..=7.
        let inside = timed_batch(codec, &[10, 30, 20, 50, 40, 50]);
        produce_ok(&mut client, &topic, 0, inside).await;
        let cases = [
            (10, 2, 10),
            (15, 3, 30),
            (25, 3, 30),
            (35, 5, 50),
            (50, 5, 50),
        ];
        for (target, offset, timestamp) in cases {
            let found = list_offset(&mut client, &topic, 0, BASE + target).await;
            assert_eq!(
                (found.error_code, found.offset, found.timestamp),
                (0, offset, BASE + timestamp),
                "{codec:?}: at +{target}"
            );
        }
        let max = list_offset(&mut client, &topic, 0, -3).await;
        assert_eq!(
            (max.offset, max.timestamp),
            (5, BASE + 50),
            "{codec:?}: the first record with the largest timestamp"
        );
    }
}

/// One batch whose records have timestamps BASE + each of `offsets_ms`.
fn timed_batch(codec: CompressionType, offsets_ms: &[i64]) -> bytes::Bytes {
    let mut builder = strom_protocol::records::RecordBatchBuilder::new(codec);
    for ms in offsets_ms {
        builder
            .append(BASE + ms, None, Some(b"v".as_slice()), &[])
            .expect("append");
    }
    builder.build().expect("build")
}

/// As in Kafka, a partition named twice is refused wherever it appears,
/// and the others are answered: a request repeating one lookup 100,000
/// times gets no lookup done at all for it.
#[tokio::test]
async fn a_partition_named_twice_is_refused_and_the_others_answered() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "dup", 2, &[]).await;
    let asked = |partition| ListOffsetsPartition {
        partition_index: partition,
        timestamp: -1,
        ..Default::default()
    };
    let mut partitions = vec![asked(1)];
    partitions.extend((0..100_000).map(|_| asked(0)));
    let request = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: "dup".into(),
            partitions,
            ..Default::default()
        }],
        ..Default::default()
    };
    let response: ListOffsetsResponse = client.call(LIST_OFFSETS_VERSION, request).await;
    let answers = &response.topics[0].partitions;
    assert_eq!(answers.len(), 100_001);
    assert_eq!((answers[0].partition_index, answers[0].error_code), (1, 0));
    assert!(answers[1..]
        .iter()
        .all(|a| a.partition_index == 0 && a.error_code == error_codes::INVALID_REQUEST));
}

#[tokio::test]
async fn max_timestamp_at_v7() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "max", 1, &[]).await;
    for timestamp in [BASE + 5, BASE + 90, BASE + 20] {
        produce_ok(
            &mut client,
            "max",
            0,
            batch(CompressionType::None, timestamp, &["x"]),
        )
        .await;
    }
    let response = list_offset(&mut client, "max", 0, -3).await;
    assert_eq!(response.error_code, 0);
    assert_eq!((response.offset, response.timestamp), (1, BASE + 90));

    // On an empty partition there is no answer.
    create_topic(&mut client, "max-empty", 1, &[]).await;
    let empty = list_offset(&mut client, "max-empty", 0, -3).await;
    assert_eq!((empty.error_code, empty.offset), (0, -1));
}

#[tokio::test]
async fn older_versions_answer_earliest_and_latest_too() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "old", 1, &[]).await;
    produce_ok(
        &mut client,
        "old",
        0,
        batch(CompressionType::None, now_ms(), &["a", "b"]),
    )
    .await;
    for version in 1..=6 {
        for (timestamp, expected) in [(-2, 0), (-1, 2)] {
            let request = ListOffsetsRequest {
                replica_id: -1,
                topics: vec![ListOffsetsTopic {
                    name: "old".into(),
                    partitions: vec![ListOffsetsPartition {
                        partition_index: 0,
                        timestamp,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let response: ListOffsetsResponse = client.call(version, request).await;
            let partition = &response.topics[0].partitions[0];
            assert_eq!(
                (partition.error_code, partition.offset),
                (0, expected),
                "v{version} at {timestamp}"
            );
        }
    }
}
