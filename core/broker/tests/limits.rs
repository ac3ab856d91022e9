//! What a hostile or careless client can take from the broker is bounded:
//! responses to requests that repeat an item, Fetch sizes, request memory,
//! connections and idle connections.

mod common;

use std::time::Duration;

use common::*;
use strom_protocol::messages::metadata_request::MetadataRequestTopic;
use strom_protocol::messages::{ApiKey, FetchResponse, MetadataResponse, ProduceResponse};
use strom_protocol::records::CompressionType;
use tokio::io::AsyncWriteExt;

/// A response frame's size, read raw so nothing is decoded.
async fn response_size(
    client: &mut Client,
    version: i16,
    request: impl Into<strom_protocol::messages::Request>,
) -> usize {
    client.send(version, request).await;
    client.read_frame().await.expect("a response").len()
}

#[tokio::test]
async fn a_topic_named_many_times_in_metadata_is_answered_once() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "wide", 200, &[]).await;

    let once = response_size(
        &mut client,
        METADATA_VERSION,
        metadata_request(Some(&["wide"]), false),
    )
    .await;
    let mut repeated = metadata_request(None, false);
    repeated.topics = Some(vec![
        MetadataRequestTopic {
            name: Some("wide".into()),
            ..Default::default()
        };
        20_000
    ]);
    let response: MetadataResponse = client.call(METADATA_VERSION, repeated.clone()).await;
    assert_eq!(response.topics.len(), 1, "one answer for one topic");
    assert_eq!(response.topics[0].partitions.len(), 200);
    let size = response_size(&mut client, METADATA_VERSION, repeated).await;
    assert_eq!(size, once, "repeating the name does not grow the answer");
}

/// `count` batches of `size`-byte values, one record each.
async fn fill(client: &mut Client, topic: &str, count: usize, size: usize) {
    let value = "x".repeat(size);
    for _ in 0..count {
        produce_ok(
            client,
            topic,
            0,
            batch(CompressionType::None, now_ms(), &[&value]),
        )
        .await;
    }
}

#[tokio::test]
async fn a_partition_named_many_times_in_a_fetch_is_read_once() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "fetched", 1, &[]).await;
    fill(&mut client, "fetched", 20, 100_000).await;

    let request = fetch_request("fetched", vec![fetch_partition(0, 0, i32::MAX); 25]);
    let response: FetchResponse = client.call(FETCH_VERSION, request).await;
    let partitions: Vec<_> = response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .collect();
    assert_eq!(partitions.len(), 1, "one answer for one partition");
    let records = records_of(partitions[0]).len();
    assert!(
        (2_000_000..2_100_000).contains(&records),
        "all 20 batches once: {records} bytes"
    );
}

#[tokio::test]
async fn a_fetch_asking_for_2_gib_gets_at_most_fetch_max_bytes() {
    let broker = TestBroker::start_with(&[("fetch.max.bytes", "1048576")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "capped", 1, &[]).await;
    fill(&mut client, "capped", 30, 100_000).await;

    let request = fetch_request("capped", vec![fetch_partition(0, 0, i32::MAX)]);
    let response: FetchResponse = client.call(FETCH_VERSION, request).await;
    let records = records_of(&response.responses[0].partitions[0]).len();
    assert!(records > 0, "the first batches come back");
    assert!(
        records <= 1_048_576,
        "capped by fetch.max.bytes: {records} bytes"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let broker = TestBroker::start_with(&[("connections.max.idle.ms", "400")]);
    let mut idle = broker.connect().await;
    answered(&mut idle).await;
    let mut busy = broker.connect().await;
    // Requests closer together than the idle limit keep a connection open
    // well past it.
    for _ in 0..8 {
        answered(&mut busy).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        idle.is_closed_by_broker().await,
        "the idle connection is closed"
    );
    answered(&mut busy).await;
}

#[tokio::test]
async fn a_frame_left_half_sent_is_cut_off_after_the_idle_limit() {
    let broker = TestBroker::start_with(&[("connections.max.idle.ms", "300")]);
    let mut stalled = broker.connect().await;
    stalled.write_raw(&1000i32.to_be_bytes()).await;
    stalled.write_raw(&[0u8; 10]).await;
    assert!(stalled.is_closed_by_broker().await);
}

#[tokio::test]
async fn connections_past_max_connections_per_ip_are_closed_at_once() {
    let broker = TestBroker::start_with(&[("max.connections.per.ip", "3")]);
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut client = broker.connect().await;
        answered(&mut client).await;
        open.push(client);
    }
    let mut refused = broker.connect().await;
    assert!(refused.is_closed_by_broker().await, "the fourth is closed");
    drop(open.pop());
    // The close reaches the broker asynchronously: retry until admitted.
    wait_until_admitted(&broker).await;
    for client in &mut open {
        answered(client).await;
    }
}

/// One Metadata request sent and answered: the connection is served.
async fn answered(client: &mut Client) {
    let _: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
}

async fn wait_until_admitted(broker: &TestBroker) {
    for _ in 0..200 {
        let mut client = broker.connect().await;
        client
            .send(METADATA_VERSION, metadata_request(None, false))
            .await;
        if client.read_frame().await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no connection admitted after one closed");
}

#[tokio::test]
async fn past_max_connections_the_broker_waits_to_accept_until_one_closes() {
    let broker = TestBroker::start_with(&[("max.connections", "2")]);
    let mut first = broker.connect().await;
    answered(&mut first).await;
    let mut second = broker.connect().await;
    answered(&mut second).await;

    // The third connects (the kernel queues it) but is not served yet.
    let mut third = broker.connect().await;
    third
        .send(METADATA_VERSION, metadata_request(None, false))
        .await;
    let early = tokio::time::timeout(Duration::from_millis(300), third.read_frame()).await;
    assert!(early.is_err(), "served while two connections were open");
    drop(first);
    let (_, _): (i32, MetadataResponse) = third.receive(METADATA_VERSION).await;
    answered(&mut second).await;
}

#[tokio::test]
async fn requests_being_read_share_queued_max_request_bytes() {
    let broker = TestBroker::start_with(&[
        ("queued.max.request.bytes", "100000"),
        ("connections.max.idle.ms", "2000"),
    ]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "queued", 1, &[]).await;

    // A frame announced at 200 kB takes the whole allowance while it
    // arrives; another connection's large request waits for it.
    let mut hog = broker.connect().await;
    hog.write_raw(&200_000i32.to_be_bytes()).await;
    hog.write_raw(&[0u8; 100]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = produce_in_background(client, "queued", large_value());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "served beyond queued.max.request.bytes"
    );
    // Small requests are not held up behind it: they have a lane of their
    // own (a heartbeat must not wait for a large Produce's memory).
    let mut small = broker.connect().await;
    answered(&mut small).await;
    let small_produce = produce_in_background(small, "queued", "small".to_string());
    assert_eq!(error_code_in_time(small_produce).await, 0);
    assert!(!waiting.is_finished(), "the large one still waits");
    drop(hog); // the allowance comes back when its connection goes
    assert_eq!(error_code_in_time(waiting).await, 0);
}

/// A 40 kB value: its Produce counts for more than
/// `limits::SMALL_REQUEST` (64 KiB), so it waits for the pool, not the lane.
fn large_value() -> String {
    "v".repeat(40_000)
}

/// A frame holds its share of request memory from its length on. While
/// other requests wait for that memory, a frame must send its first
/// 64 KiB within 1 s of taking its share and arrive whole within 5 s: one
/// announced and left stalled, or trickled, is cut off and the waiting
/// request answered. A slow frame nobody waits behind keeps its
/// connection.
#[tokio::test]
async fn a_stalled_frame_gives_back_the_request_memory_others_wait_for() {
    let broker = TestBroker::start_with(&[("queued.max.request.bytes", "100000")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "stalled", 1, &[]).await;

    // Alone: half a Metadata request, the rest 6 s later, is answered.
    let header = strom_protocol::messages::RequestHeader {
        request_api_key: ApiKey::Metadata as i16,
        request_api_version: METADATA_VERSION,
        correlation_id: 7,
        client_id: Some("slow".into()),
        ..Default::default()
    };
    let mut frame = bytes::BytesMut::new();
    strom_protocol::frame::encode_request(
        &header,
        &metadata_request(None, false).into(),
        &mut frame,
    )
    .unwrap();
    let mut slow = broker.connect().await;
    slow.write_raw(&frame[..frame.len() / 2]).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    slow.write_raw(&frame[frame.len() / 2..]).await;
    let (correlation_id, _): (i32, MetadataResponse) = slow.receive(METADATA_VERSION).await;
    assert_eq!(correlation_id, 7);

    // A Produce announced at 200 kB takes the whole allowance, and its
    // sender stalls; another connection's Produce waits for the memory.
    let mut hog = broker.connect().await;
    hog.write_raw(&200_000i32.to_be_bytes()).await;
    hog.write_raw(&(ApiKey::Produce as i16).to_be_bytes()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = produce_in_background(client, "stalled", large_value());
    assert!(
        hog.is_closed_by_broker().await,
        "the stalled frame is cut off"
    );
    assert_eq!(error_code_in_time(waiting).await, 0);

    // One that sends its first 64 KiB and then trickles is cut off once it
    // has held the memory for 5 s, and the one waiting is answered.
    let mut trickler = tokio::net::TcpStream::connect(broker.addr).await.unwrap();
    trickler.write_all(&200_000i32.to_be_bytes()).await.unwrap();
    trickler
        .write_all(&(ApiKey::Produce as i16).to_be_bytes())
        .await
        .unwrap();
    trickler.write_all(&[0u8; 70_000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = produce_in_background(broker.connect().await, "stalled", large_value());
    let mut sent = 70_000;
    let cut_off = tokio::time::timeout(SAFETY_TIMEOUT, async {
        // A kilobyte every 100 ms, up to 10 s: the broker closes first.
        while sent < 170_000 && trickler.write_all(&[0u8; 1000]).await.is_ok() {
            sent += 1000;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        cut_off.is_ok() && sent < 170_000,
        "cut off after {sent} bytes"
    );
    assert_eq!(error_code_in_time(waiting).await, 0);
}

/// A produce of one record on a task of its own, which may wait for
/// request memory: the answer's error code.
fn produce_in_background(
    mut client: Client,
    topic: &'static str,
    value: String,
) -> tokio::task::JoinHandle<i16> {
    tokio::spawn(async move {
        let records = batch(CompressionType::None, now_ms(), &[value.as_str()]);
        let response: ProduceResponse = client
            .call(PRODUCE_VERSION, produce_request(topic, 0, records, -1))
            .await;
        response.responses[0].partition_responses[0].error_code
    })
}

async fn error_code_in_time(answer: tokio::task::JoinHandle<i16>) -> i16 {
    tokio::time::timeout(SAFETY_TIMEOUT, answer)
        .await
        .expect("answered in time")
        .expect("the produce task")
}

#[tokio::test]
async fn a_request_that_would_decode_past_queued_max_request_bytes_is_refused_but_a_large_produce_passes(
) {
    let broker = TestBroker::start_with(&[("queued.max.request.bytes", "100000")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "roomy", 1, &[]).await;

    // 1,500 short names: about 36 kB on the wire (small enough to be sent
    // whole before the broker closes), over a MB once decoded and
    // answered. The connection is closed instead.
    let names: Vec<String> = (0..1_500).map(|i| format!("t{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut attacker = broker.connect().await;
    attacker
        .send(METADATA_VERSION, metadata_request(Some(&names), false))
        .await;
    assert!(attacker.is_closed_by_broker().await);

    // A produce over the whole allowance still passes, alone, and the
    // broker serves everyone else as before.
    let big = "x".repeat(300_000);
    let offset = produce_ok(
        &mut client,
        "roomy",
        0,
        batch(CompressionType::None, now_ms(), &[&big]),
    )
    .await;
    assert_eq!(offset, 0);
    let small: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(Some(&["roomy"]), false))
        .await;
    assert_eq!(small.topics[0].error_code, 0);
}

/// A Produce of `count` partition entries of `topic` with null records:
/// 8 wire bytes each, 64 in memory once decoded.
fn bare_entries(topic: &str, count: i32) -> strom_protocol::messages::ProduceRequest {
    let mut request = produce_request(topic, 0, Default::default(), -1);
    let entry = request.topic_data[0].partition_data[0].clone();
    request.topic_data[0].partition_data = (0..count)
        .map(|index| {
            let mut entry = entry.clone();
            entry.index = index;
            entry.records = None;
            entry
        })
        .collect();
    request
}

#[tokio::test]
async fn a_produce_that_would_decode_to_many_times_its_size_is_refused() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "bare", 3, &[]).await;

    // A few bare entries are answered, each with its error.
    let response: ProduceResponse = client.call(PRODUCE_VERSION, bare_entries("bare", 3)).await;
    let answers = &response.responses[0].partition_responses;
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|answer| answer.error_code != 0));

    // 100,000 of them (about 700 kB) would take 6.4 MB once decoded, and
    // an answer each: the connection is closed instead.
    let mut attacker = broker.connect().await;
    attacker
        .send(PRODUCE_VERSION, bare_entries("bare", 100_000))
        .await;
    assert!(attacker.is_closed_by_broker().await);

    let offset = produce_ok(
        &mut client,
        "bare",
        0,
        batch(CompressionType::None, now_ms(), &["served"]),
    )
    .await;
    assert_eq!(offset, 0);
}

#[tokio::test]
async fn produces_needing_more_than_they_counted_for_are_answered_under_a_small_limit() {
    let broker = TestBroker::start_with(&[("queued.max.request.bytes", "100000")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "dense", 1, &[]).await;

    // 3,000 entries of 40-byte junk records: 144 kB on the wire, over a MB
    // once decoded and answered. Two at once draw on the overdraft in turn.
    let mut request = bare_entries("dense", 3_000);
    for entry in &mut request.topic_data[0].partition_data {
        entry.records = Some(bytes::Bytes::from(vec![7u8; 40]));
    }
    let mut first = broker.connect().await;
    let mut second = broker.connect().await;
    first.send(PRODUCE_VERSION, request.clone()).await;
    second.send(PRODUCE_VERSION, request).await;
    for connection in [&mut first, &mut second] {
        let (_, response): (i32, ProduceResponse) = connection.receive(PRODUCE_VERSION).await;
        let answers = &response.responses[0].partition_responses;
        assert_eq!(answers.len(), 3_000);
        assert!(answers.iter().all(|answer| answer.error_code != 0));
    }
    let offset = produce_ok(
        &mut client,
        "dense",
        0,
        batch(CompressionType::None, now_ms(), &["served"]),
    )
    .await;
    assert_eq!(offset, 0);
}
