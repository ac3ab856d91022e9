//! Produce refusals a client must be able to tell apart, and acks=0.

mod common;

use bytes::BytesMut;
use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::{MetadataResponse, ProduceResponse};
use strom_protocol::records::CompressionType;

#[tokio::test]
async fn a_batch_with_a_bad_crc_is_a_corrupt_message() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "crc", 1, &[]).await;
    let mut bytes = BytesMut::from(&batch(CompressionType::None, now_ms(), &["payload"])[..]);
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // flip bits of the value, covered by the CRC
    let response = produce(&mut client, "crc", 0, bytes.freeze()).await;
    assert_eq!(response.error_code, error_codes::CORRUPT_MESSAGE);
    // Nothing was appended.
    assert_eq!(list_offset(&mut client, "crc", 0, -1).await.offset, 0);
}

#[tokio::test]
async fn a_batch_over_the_topics_max_message_bytes_is_too_large() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "small", 1, &[("max.message.bytes", "200")]).await;
    let big = "x".repeat(300);
    let response = produce(
        &mut client,
        "small",
        0,
        batch(CompressionType::None, now_ms(), &[&big]),
    )
    .await;
    assert_eq!(response.error_code, error_codes::MESSAGE_TOO_LARGE);
    let fits = batch(CompressionType::None, now_ms(), &["tiny"]);
    assert!(fits.len() <= 200);
    assert_eq!(produce_ok(&mut client, "small", 0, fits).await, 0);
}

#[tokio::test]
async fn an_unknown_partition_or_topic_is_unknown_topic_or_partition() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "two", 2, &[]).await;
    let records = batch(CompressionType::None, now_ms(), &["a"]);
    assert_eq!(
        produce(&mut client, "two", 2, records.clone())
            .await
            .error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        produce(&mut client, "two", -1, records.clone())
            .await
            .error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        produce(&mut client, "nowhere", 0, records).await.error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
    // Produce never auto-creates.
    let metadata: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["nowhere"]), false),
        )
        .await;
    assert_eq!(
        metadata.topics[0].error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[tokio::test]
async fn acks_other_than_minus_one_zero_or_one_is_invalid_required_acks() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "acks", 1, &[]).await;
    let records = batch(CompressionType::None, now_ms(), &["a"]);
    let response: ProduceResponse = client
        .call(PRODUCE_VERSION, produce_request("acks", 0, records, 2))
        .await;
    assert_eq!(
        response.responses[0].partition_responses[0].error_code,
        error_codes::INVALID_REQUIRED_ACKS
    );
    assert_eq!(
        list_offset(&mut client, "acks", 0, -1).await.offset,
        0,
        "nothing appended"
    );
}

#[tokio::test]
async fn acks_zero_sends_no_response_but_appends() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "fire", 1, &[]).await;
    for value in ["one", "two"] {
        let records = batch(CompressionType::None, now_ms(), &[value]);
        client
            .send(PRODUCE_VERSION, produce_request("fire", 0, records, 0))
            .await;
    }
    // The next response on the connection is the fetch's own (call checks
    // the correlation id), and it sees both records: responses are in
    // request order, so the produces were handled first.
    let data = fetch(&mut client, "fire", 0, 0).await;
    assert_eq!(
        fetched_values(&records_of(&data)),
        vec![(0, "one".to_string()), (1, "two".to_string())]
    );
}

#[tokio::test]
async fn a_failed_acks_zero_produce_closes_the_connection() {
    // Kafka's only way to tell a fire-and-forget producer something went
    // wrong (e.g. the partition moved): it reconnects and refreshes metadata.
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "present", 1, &[]).await;
    let records = batch(CompressionType::None, now_ms(), &["lost"]);
    client
        .send(
            PRODUCE_VERSION,
            produce_request("missing", 0, records.clone(), 0),
        )
        .await;
    assert!(client.is_closed_by_broker().await);

    let mut client = broker.connect().await;
    let metadata: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["missing"]), false),
        )
        .await;
    assert_eq!(
        metadata.topics[0].error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION,
        "nothing was created"
    );
    client
        .send(PRODUCE_VERSION, produce_request("present", 0, records, 0))
        .await;
    assert_eq!(
        list_offset(&mut client, "present", 0, -1).await.offset,
        1,
        "success keeps the connection"
    );
}

#[tokio::test]
async fn one_bad_partition_does_not_fail_the_others_in_the_request() {
    use strom_protocol::messages::produce_request::PartitionProduceData;
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "mixed", 2, &[]).await;
    let good = batch(CompressionType::None, now_ms(), &["good"]);
    let mut bad = BytesMut::from(&batch(CompressionType::None, now_ms(), &["bad"])[..]);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let mut request = produce_request("mixed", 0, good, -1);
    request.topic_data[0]
        .partition_data
        .push(PartitionProduceData {
            index: 1,
            records: Some(bad.freeze()),
            ..Default::default()
        });
    let response: ProduceResponse = client.call(PRODUCE_VERSION, request).await;
    let codes: Vec<(i32, i16)> = response.responses[0]
        .partition_responses
        .iter()
        .map(|p| (p.index, p.error_code))
        .collect();
    assert_eq!(codes, [(0, 0), (1, error_codes::CORRUPT_MESSAGE)]);
    assert_eq!(list_offset(&mut client, "mixed", 0, -1).await.offset, 1);
    assert_eq!(list_offset(&mut client, "mixed", 1, -1).await.offset, 0);
}

#[tokio::test]
async fn a_partition_named_many_times_in_a_produce_is_appended_in_request_order() {
    use strom_protocol::messages::produce_request::PartitionProduceData;
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "repeated", 1, &[]).await;
    let first = batch(CompressionType::None, now_ms(), &["a", "b"]);
    let mut request = produce_request("repeated", 0, first, -1);
    for _ in 0..999 {
        request.topic_data[0]
            .partition_data
            .push(PartitionProduceData {
                index: 0,
                records: Some(batch(CompressionType::None, now_ms(), &["c"])),
                ..Default::default()
            });
    }
    let response: ProduceResponse = client.call(PRODUCE_VERSION, request).await;
    let answers = &response.responses[0].partition_responses;
    assert_eq!(answers.len(), 1000, "one answer per entry");
    let base_offsets: Vec<i64> = answers.iter().map(|p| p.base_offset).collect();
    let expected: Vec<i64> = std::iter::once(0).chain(2..1001).collect();
    assert_eq!(
        base_offsets, expected,
        "appended one after another, as sent"
    );
    assert!(answers.iter().all(|p| p.error_code == error_codes::NONE));
    assert_eq!(
        list_offset(&mut client, "repeated", 0, -1).await.offset,
        1001
    );
}
