//! Connection behaviour clients rely on: pipelined requests answered in
//! order, frames split across many TCP writes, large batches, and a clean
//! shutdown that does not wait on parked fetches.

mod common;

use common::*;
use strom_protocol::frame::encode_request;
use strom_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, FetchResponse, MetadataResponse, ProduceResponse,
    Request, RequestHeader,
};
use strom_protocol::records::CompressionType;

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "piped", 1, &[]).await;
    // A long poll first: the requests behind it wait for it, as in Kafka.
    let mut parked = fetch_request("piped", vec![fetch_partition(0, 0, 1 << 20)]);
    parked.min_bytes = 1;
    parked.max_wait_ms = 100;
    let fetch_id = client.send(FETCH_VERSION, parked).await;
    let mut produce_ids = Vec::new();
    for n in 0..3 {
        let records = batch(CompressionType::None, now_ms(), &[&format!("m{n}")]);
        produce_ids.push(
            client
                .send(PRODUCE_VERSION, produce_request("piped", 0, records, 1))
                .await,
        );
    }
    let versions_id = client.send(3, ApiVersionsRequest::default()).await;

    let (id, fetched) = client.receive::<FetchResponse>(FETCH_VERSION).await;
    assert_eq!(id, fetch_id);
    assert!(
        records_of(&fetched.responses[0].partitions[0]).is_empty(),
        "its produces came later"
    );
    for (n, expected_id) in produce_ids.into_iter().enumerate() {
        let (id, response) = client.receive::<ProduceResponse>(PRODUCE_VERSION).await;
        assert_eq!(id, expected_id);
        assert_eq!(
            response.responses[0].partition_responses[0].base_offset,
            n as i64
        );
    }
    let (id, versions) = client.receive::<ApiVersionsResponse>(3).await;
    assert_eq!((id, versions.error_code), (versions_id, 0));
}

#[tokio::test]
async fn a_frame_arriving_byte_by_byte_is_assembled() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let header = RequestHeader {
        request_api_key: 3,
        request_api_version: METADATA_VERSION,
        correlation_id: 42,
        client_id: Some("slow".into()),
        ..Default::default()
    };
    let mut frame = bytes::BytesMut::new();
    let request: Request = metadata_request(Some(&["trickled"]), true).into();
    encode_request(&header, &request, &mut frame).expect("encodes");
    for byte in frame.iter() {
        client.write_raw(&[*byte]).await;
    }
    let (id, response) = client.receive::<MetadataResponse>(METADATA_VERSION).await;
    assert_eq!(id, 42);
    assert_eq!(response.topics[0].error_code, 0);
}

#[tokio::test]
async fn a_batch_near_the_default_size_limit_round_trips() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "large", 1, &[]).await;
    let values: Vec<String> = (0..100)
        .map(|n| format!("{n:04}{}", "z".repeat(10_000)))
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let big = batch(CompressionType::None, now_ms(), &refs);
    assert!(
        big.len() > 1_000_000 && big.len() <= 1_048_588,
        "{}",
        big.len()
    );
    assert_eq!(produce_ok(&mut client, "large", 0, big.clone()).await, 0);
    let data = fetch(&mut client, "large", 0, 0).await;
    let fetched = split_batches(&records_of(&data));
    assert_eq!(fetched.len(), 1);
    assert_eq!(&fetched[0].as_bytes()[16..], &big[16..]);
}

#[tokio::test]
async fn a_clean_stop_does_not_wait_for_parked_fetches() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "parked", 1, &[]).await;
    produce_ok(
        &mut client,
        "parked",
        0,
        batch(CompressionType::None, now_ms(), &["kept"]),
    )
    .await;
    let mut request = fetch_request("parked", vec![fetch_partition(0, 1, 1 << 20)]);
    request.min_bytes = 1;
    request.max_wait_ms = 600_000; // far beyond the safety timeout of stop()
    let _ = client.send(FETCH_VERSION, request).await;

    broker.stop().await;
    assert!(client.is_closed_by_broker().await);
    broker.reopen();
    let mut client = broker.connect().await;
    assert_eq!(
        fetched_values(&records_of(&fetch(&mut client, "parked", 0, 0).await)),
        [(0, "kept".to_string())]
    );
}

#[tokio::test]
async fn pipelined_idempotent_produces_keep_their_order_and_later_requests_see_them() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "flow", 1, &[]).await;
    let (producer, epoch) = init_producer_id(&mut client).await;
    // Forty batches sent without waiting, acks=all, with their sequence
    // numbers: each must append after the one before it (else the broker
    // would see a sequence gap), while their commits overlap.
    let mut sent = Vec::new();
    for n in 0..40 {
        let records = idempotent_batch(producer, epoch, n, &[&format!("v{n}")]);
        sent.push(
            client
                .send(PRODUCE_VERSION, produce_request("flow", 0, records, -1))
                .await,
        );
    }
    // Sent behind them: it runs once they are all answered, so it sees all.
    let list_id = client
        .send(
            LIST_OFFSETS_VERSION,
            strom_protocol::messages::ListOffsetsRequest {
                replica_id: -1,
                topics: vec![
                    strom_protocol::messages::list_offsets_request::ListOffsetsTopic {
                        name: "flow".into(),
                        partitions: vec![
                            strom_protocol::messages::list_offsets_request::ListOffsetsPartition {
                                partition_index: 0,
                                timestamp: -1,
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
        )
        .await;
    for (n, expected_id) in sent.into_iter().enumerate() {
        let (id, response) = client.receive::<ProduceResponse>(PRODUCE_VERSION).await;
        assert_eq!(id, expected_id, "answers in request order");
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!((partition.error_code, partition.base_offset), (0, n as i64));
    }
    let (id, listed) = client
        .receive::<strom_protocol::messages::ListOffsetsResponse>(LIST_OFFSETS_VERSION)
        .await;
    assert_eq!(id, list_id);
    assert_eq!(listed.topics[0].partitions[0].offset, 40);
    let data = fetch(&mut client, "flow", 0, 0).await;
    let values: Vec<String> = fetched_values(&records_of(&data))
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values, (0..40).map(|n| format!("v{n}")).collect::<Vec<_>>());
}
