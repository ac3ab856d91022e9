//! Produce then Fetch: offsets, byte-exact batches, size limits (KIP-74),
//! out-of-range offsets and long polling.

mod common;

use bytes::Bytes;
use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::FetchResponse;
use strom_protocol::records::CompressionType;

const CODECS: [CompressionType; 5] = [
    CompressionType::None,
    CompressionType::Gzip,
    CompressionType::Snappy,
    CompressionType::Lz4,
    CompressionType::Zstd,
];

/// The batch as stored differs from the one sent only in the base offset
/// (bytes 0..8) and the partition leader epoch (12..16), both outside the CRC.
fn assert_same_batch_except_offset_and_epoch(sent: &Bytes, fetched: &Bytes, base_offset: i64) {
    assert_eq!(sent.len(), fetched.len());
    assert_eq!(&fetched[0..8], &base_offset.to_be_bytes());
    assert_eq!(&sent[8..12], &fetched[8..12], "length");
    assert_eq!(
        &sent[16..],
        &fetched[16..],
        "magic, CRC and everything it covers"
    );
}

#[tokio::test]
async fn batches_of_every_codec_get_consecutive_offsets_and_come_back_unchanged() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "codecs", 1, &[]).await;

    let t0 = now_ms();
    let mut sent = Vec::new();
    let mut expected_offset = 0;
    for (i, codec) in CODECS.iter().enumerate() {
        let values: Vec<String> = (0..=i).map(|n| format!("{codec:?}-{n}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let bytes = batch(*codec, t0, &refs);
        let base = produce_ok(&mut client, "codecs", 0, bytes.clone()).await;
        assert_eq!(base, expected_offset, "{codec:?}");
        sent.push((bytes, base, values));
        expected_offset += i as i64 + 1;
    }

    let data = fetch(&mut client, "codecs", 0, 0).await;
    assert_eq!(data.error_code, 0);
    assert_eq!(data.high_watermark, expected_offset);
    let records = records_of(&data);
    let fetched = split_batches(&records);
    assert_eq!(fetched.len(), sent.len());
    let leader_epoch = data.current_leader.leader_epoch;
    for (batch, (bytes, base, _)) in fetched.iter().zip(&sent) {
        assert_same_batch_except_offset_and_epoch(bytes, batch.as_bytes(), *base);
        assert_eq!(batch.header().partition_leader_epoch(), leader_epoch);
        batch.verify_crc().expect("CRC still valid");
    }
    let values: Vec<(i64, String)> = fetched_values(&records);
    let expected: Vec<(i64, String)> = sent
        .iter()
        .flat_map(|(_, base, values)| {
            values
                .iter()
                .enumerate()
                .map(move |(i, v)| (base + i as i64, v.clone()))
        })
        .collect();
    assert_eq!(values, expected);
}

#[tokio::test]
async fn fetching_from_the_middle_of_a_batch_returns_the_whole_batch() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "middle", 1, &[]).await;
    produce_ok(
        &mut client,
        "middle",
        0,
        batch(CompressionType::None, now_ms(), &["a", "b"]),
    )
    .await;
    let second = batch(CompressionType::Lz4, now_ms(), &["c", "d", "e"]);
    assert_eq!(
        produce_ok(&mut client, "middle", 0, second.clone()).await,
        2
    );

    let data = fetch(&mut client, "middle", 0, 3).await;
    let records = records_of(&data);
    let fetched = split_batches(&records);
    assert_eq!(fetched.len(), 1, "only the batch holding offset 3");
    assert_same_batch_except_offset_and_epoch(&second, fetched[0].as_bytes(), 2);
}

#[tokio::test]
async fn size_limits_cut_at_batch_boundaries_but_never_below_one_batch() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "limits", 2, &[]).await;
    let value = "v".repeat(1000);
    let one = batch(CompressionType::None, now_ms(), &[&value]);
    let size = one.len() as i32;
    for _ in 0..3 {
        produce_ok(&mut client, "limits", 0, one.clone()).await;
        produce_ok(&mut client, "limits", 1, one.clone()).await;
    }

    // partition_max_bytes of two and a half batches: two whole batches.
    let request = fetch_request("limits", vec![fetch_partition(0, 0, size * 5 / 2)]);
    let response: FetchResponse = client.call(FETCH_VERSION, request).await;
    let records = records_of(&response.responses[0].partitions[0]);
    assert_eq!(split_batches(&records).len(), 2);
    assert_eq!(records.len(), 2 * size as usize, "no partial batch");

    // KIP-74: limits smaller than the first batch still return that batch
    // whole (for the first partition with data) ...
    let mut request = fetch_request(
        "limits",
        vec![fetch_partition(0, 0, 10), fetch_partition(1, 0, 10)],
    );
    request.max_bytes = 10;
    let response: FetchResponse = client.call(FETCH_VERSION, request).await;
    let partitions = &response.responses[0].partitions;
    assert_eq!(split_batches(&records_of(&partitions[0])).len(), 1);
    assert_eq!(records_of(&partitions[0]).len(), size as usize);
    // ... and nothing more once the response holds data.
    assert_eq!(partitions[1].error_code, 0);
    assert!(records_of(&partitions[1]).is_empty());

    // The response-wide max_bytes is shared across partitions.
    let mut request = fetch_request(
        "limits",
        vec![
            fetch_partition(0, 0, 1 << 20),
            fetch_partition(1, 0, 1 << 20),
        ],
    );
    request.max_bytes = size * 4;
    let response: FetchResponse = client.call(FETCH_VERSION, request).await;
    let partitions = &response.responses[0].partitions;
    assert_eq!(split_batches(&records_of(&partitions[0])).len(), 3);
    assert_eq!(split_batches(&records_of(&partitions[1])).len(), 1);
}

#[tokio::test]
async fn an_offset_past_the_log_end_is_out_of_range() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "range", 1, &[]).await;
    produce_ok(
        &mut client,
        "range",
        0,
        batch(CompressionType::None, now_ms(), &["a"]),
    )
    .await;
    assert_eq!(
        fetch(&mut client, "range", 0, 2).await.error_code,
        error_codes::OFFSET_OUT_OF_RANGE
    );
    assert_eq!(
        fetch(&mut client, "range", 0, -5).await.error_code,
        error_codes::OFFSET_OUT_OF_RANGE
    );
    // At the log end: nothing yet, not an error.
    let at_end = fetch(&mut client, "range", 0, 1).await;
    assert_eq!(at_end.error_code, 0);
    assert!(records_of(&at_end).is_empty());
    assert_eq!(
        fetch(&mut client, "range", 9, 0).await.error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION,
        "unknown partition"
    );
}

#[tokio::test]
async fn a_long_poll_returns_with_the_record_another_connection_produces() {
    let broker = TestBroker::start();
    let mut consumer = broker.connect().await;
    let mut producer = broker.connect().await;
    create_topic(&mut consumer, "poll", 1, &[]).await;

    let mut request = fetch_request("poll", vec![fetch_partition(0, 0, 1 << 20)]);
    request.min_bytes = 1;
    request.max_wait_ms = 5000;
    let correlation_id = consumer.send(FETCH_VERSION, request).await;
    // The fetch is parked in the broker; produce once it is (any order is
    // correct, and the assertion does not depend on it).
    produce_ok(
        &mut producer,
        "poll",
        0,
        batch(CompressionType::None, now_ms(), &["wake"]),
    )
    .await;

    let (received, response) = consumer.receive::<FetchResponse>(FETCH_VERSION).await;
    assert_eq!(received, correlation_id);
    let records = records_of(&response.responses[0].partitions[0]);
    assert_eq!(fetched_values(&records), vec![(0, "wake".to_string())]);
}

#[tokio::test]
async fn max_wait_zero_answers_at_once_with_nothing() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "empty", 1, &[]).await;
    let mut request = fetch_request("empty", vec![fetch_partition(0, 0, 1 << 20)]);
    request.min_bytes = 1;
    request.max_wait_ms = 0;
    let response: FetchResponse = client.call(FETCH_VERSION, request).await;
    let data = &response.responses[0].partitions[0];
    assert_eq!(data.error_code, 0);
    assert_eq!(data.high_watermark, 0);
    assert!(records_of(data).is_empty());
}

#[tokio::test]
async fn concurrent_producers_get_distinct_offsets_and_all_become_visible() {
    const PRODUCERS: usize = 6;
    const BATCHES: usize = 25;
    let broker = TestBroker::start();
    create_topic(&mut broker.connect().await, "shared", 1, &[]).await;

    let mut tasks = tokio::task::JoinSet::new();
    for producer in 0..PRODUCERS {
        let mut client = broker.connect().await;
        tasks.spawn(async move {
            let mut offsets = Vec::new();
            for n in 0..BATCHES {
                let value = format!("p{producer}-{n}");
                offsets.push(
                    produce_ok(
                        &mut client,
                        "shared",
                        0,
                        batch(CompressionType::None, now_ms(), &[&value]),
                    )
                    .await,
                );
            }
            offsets
        });
    }
    let mut offsets: Vec<i64> = tasks.join_all().await.into_iter().flatten().collect();
    offsets.sort();
    let total = (PRODUCERS * BATCHES) as i64;
    assert_eq!(offsets, (0..total).collect::<Vec<_>>());

    // Every acknowledged write is visible: the high watermark never lags
    // behind an acknowledgement.
    let mut client = broker.connect().await;
    assert_eq!(
        list_offset(&mut client, "shared", 0, -1).await.offset,
        total
    );
    assert_eq!(
        fetch(&mut client, "shared", 0, 0).await.high_watermark,
        total
    );
}

/// Fetch v13+ names topics by id: a recreated topic's old id reads
/// nothing of the new topic (UNKNOWN_TOPIC_ID, so the client refreshes
/// its metadata), and the new id reads the new topic's records.
#[tokio::test]
async fn fetch_by_topic_id_refuses_the_id_of_a_deleted_topic() {
    use strom_protocol::messages::delete_topics_request::DeleteTopicState;
    use strom_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};

    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let old = create_topic(&mut client, "reborn", 1, &[]).await;
    let deleted: DeleteTopicsResponse = client
        .call(
            6,
            DeleteTopicsRequest {
                topics: vec![DeleteTopicState {
                    name: Some("reborn".into()),
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(deleted.responses[0].error_code, 0);
    let new = create_topic(&mut client, "reborn", 1, &[]).await;
    produce_ok(
        &mut client,
        "reborn",
        0,
        batch(CompressionType::None, now_ms(), &["new"]),
    )
    .await;

    for version in [13, 17] {
        for (id, expected) in [
            (old.topic_id, error_codes::UNKNOWN_TOPIC_ID),
            (new.topic_id, error_codes::NONE),
        ] {
            let mut request = fetch_request("", vec![fetch_partition(0, 0, 1 << 20)]);
            request.topics[0].topic_id = id;
            let response: FetchResponse = client.call(version, request).await;
            let topic = &response.responses[0];
            assert_eq!(topic.topic_id, id, "v{version}: answered under its id");
            assert_eq!(topic.partitions[0].error_code, expected, "v{version}");
            if expected == error_codes::NONE {
                let values = fetched_values(&records_of(&topic.partitions[0]));
                assert_eq!(values, vec![(0, "new".to_string())]);
            }
        }
    }
}
