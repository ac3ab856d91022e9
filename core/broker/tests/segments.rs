//! Logs that span many segments: consumers read everything by following
//! offsets, timestamp lookups and DeleteRecords cross segment boundaries,
//! and all of it survives restarts. Also LogAppendTime topics.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::records::{CompressionType, TimestampType};

const BASE: i64 = 1_700_000_000_000;

/// Consumes from `from` to the high watermark the way a client does: the
/// next fetch starts after the last record received.
async fn consume_all(client: &mut Client, topic: &str, from: i64) -> Vec<(i64, String)> {
    let mut values = Vec::new();
    let mut next = from;
    loop {
        let data = fetch(client, topic, 0, next).await;
        assert_eq!(data.error_code, 0, "fetch at {next}");
        let got = fetched_values(&records_of(&data));
        // Records before `next` (start of a batch) are skipped by clients.
        let new: Vec<_> = got
            .into_iter()
            .filter(|(offset, _)| *offset >= next)
            .collect();
        let Some(last) = new.last() else {
            assert_eq!(
                next, data.high_watermark,
                "stalled below the high watermark"
            );
            return values;
        };
        next = last.0 + 1;
        values.extend(new);
    }
}

async fn segmented_topic(client: &mut Client, topic: &str) -> Vec<(i64, String)> {
    create_topic(client, topic, 1, &[("segment.bytes", "300")]).await;
    let mut expected = Vec::new();
    for n in 0..12i64 {
        let values = [format!("r{}", 2 * n), format!("r{}", 2 * n + 1)];
        let codec = if n % 3 == 0 {
            CompressionType::Snappy
        } else {
            CompressionType::None
        };
        let records = batch(codec, BASE + 100 * n, &[&values[0], &values[1]]);
        assert_eq!(produce_ok(client, topic, 0, records).await, 2 * n);
        expected.push((2 * n, values[0].clone()));
        expected.push((2 * n + 1, values[1].clone()));
    }
    expected
}

#[tokio::test]
async fn a_consumer_reads_across_segments_before_and_after_restarts() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    let expected = segmented_topic(&mut client, "rolled").await;
    let partition = broker.broker().partition("rolled", 0).expect("partition");
    assert!(
        partition.log.segment_count() > 3,
        "the test needs several segments"
    );
    drop(partition);
    assert_eq!(consume_all(&mut client, "rolled", 0).await, expected);
    assert_eq!(consume_all(&mut client, "rolled", 13).await, expected[13..]);

    drop(client);
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    assert_eq!(consume_all(&mut client, "rolled", 0).await, expected);

    drop(client);
    broker.crash_and_reopen();
    let mut client = broker.connect().await;
    assert_eq!(consume_all(&mut client, "rolled", 0).await, expected);
    assert_eq!(
        produce_ok(
            &mut client,
            "rolled",
            0,
            batch(CompressionType::None, BASE + 5000, &["more"])
        )
        .await,
        24
    );
}

#[tokio::test]
async fn timestamps_and_delete_records_across_segments() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let expected = segmented_topic(&mut client, "spread").await;
    // Batch n holds offsets 2n, 2n+1 at BASE + 100n, +1.
    let found = list_offset(&mut client, "spread", 0, BASE + 701).await;
    assert_eq!((found.offset, found.timestamp), (15, BASE + 701));
    let found = list_offset(&mut client, "spread", 0, BASE + 702).await;
    assert_eq!(found.offset, 16, "first record of the next batch");
    let max = list_offset(&mut client, "spread", 0, -3).await;
    assert_eq!((max.offset, max.timestamp), (23, BASE + 1101));

    let result = delete_records_to(&mut client, "spread", 11).await;
    assert_eq!(result, (0, 11));
    assert_eq!(list_offset(&mut client, "spread", 0, -2).await.offset, 11);
    assert_eq!(
        fetch(&mut client, "spread", 0, 10).await.error_code,
        error_codes::OFFSET_OUT_OF_RANGE
    );
    assert_eq!(consume_all(&mut client, "spread", 11).await, expected[11..]);
    let early = list_offset(&mut client, "spread", 0, BASE).await;
    assert_eq!(early.offset, 11, "timestamp lookups start at the log start");
}

async fn delete_records_to(client: &mut Client, topic: &str, offset: i64) -> (i16, i64) {
    use strom_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsTopic,
    };
    use strom_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
    let response: DeleteRecordsResponse = client
        .call(
            2,
            DeleteRecordsRequest {
                topics: vec![DeleteRecordsTopic {
                    name: topic.into(),
                    partitions: vec![DeleteRecordsPartition {
                        partition_index: 0,
                        offset,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    let result = &response.topics[0].partitions[0];
    (result.error_code, result.low_watermark)
}

#[tokio::test]
async fn log_append_time_topics_stamp_the_broker_clock() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(
        &mut client,
        "stamped",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    let before = now_ms();
    let response = produce(
        &mut client,
        "stamped",
        0,
        batch(CompressionType::Lz4, BASE, &["a", "b"]),
    )
    .await;
    let after = now_ms();
    assert_eq!(response.error_code, 0);
    let stamped = response.log_append_time_ms;
    assert!(
        (before..=after).contains(&stamped),
        "{stamped} not in [{before}, {after}]"
    );

    let data = fetch(&mut client, "stamped", 0, 0).await;
    let batches = split_batches(&records_of(&data));
    let header = batches[0].header();
    assert_eq!(header.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(header.max_timestamp(), stamped);
    batches[0]
        .verify_crc()
        .expect("CRC recomputed after stamping");
    for record in batches[0].records(1 << 20).expect("records") {
        assert_eq!(record.expect("record").timestamp, stamped);
    }
    let found = list_offset(&mut client, "stamped", 0, stamped).await;
    assert_eq!(found.offset, 0);
}
