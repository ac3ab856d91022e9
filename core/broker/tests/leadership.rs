//! What a partition's leadership means to clients: only the leader serves
//! consumers and offset lookups, a client with another leader epoch is
//! told to refresh its metadata (KIP-320), replica fetches come only from
//! followers, and a parked fetch is woken by its own partitions.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use strom_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use strom_protocol::messages::offset_for_leader_epoch_response::EpochEndOffset;
use strom_protocol::messages::{
    FetchResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceResponse,
};
use strom_protocol::records::CompressionType;

/// The leader epoch Metadata reports for partition 0 of `topic`.
async fn metadata_epoch(client: &mut Client, topic: &str) -> i32 {
    let response: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(Some(&[topic]), false))
        .await;
    let partition = &response.topics[0].partitions[0];
    let node = response.brokers[0].node_id;
    assert_eq!(partition.leader_id, node);
    assert_eq!(partition.replica_nodes, vec![node]);
    assert_eq!(partition.isr_nodes, vec![node]);
    partition.leader_epoch
}

async fn fetch_with_epoch(client: &mut Client, topic: &str, epoch: i32) -> i16 {
    let mut wanted = fetch_partition(0, 0, 1 << 20);
    wanted.current_leader_epoch = epoch;
    let response: FetchResponse = client
        .call(FETCH_VERSION, fetch_request(topic, vec![wanted]))
        .await;
    response.responses[0].partitions[0].error_code
}

async fn list_offsets_with_epoch(client: &mut Client, topic: &str, epoch: i32) -> i16 {
    let request = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: topic.to_string(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                current_leader_epoch: epoch,
                timestamp: -1,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response: ListOffsetsResponse = client.call(LIST_OFFSETS_VERSION, request).await;
    response.topics[0].partitions[0].error_code
}

#[tokio::test]
async fn a_client_with_another_leader_epoch_is_told_to_refresh_its_metadata() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "epochs", 1, &[]).await;
    produce_ok(
        &mut client,
        "epochs",
        0,
        batch(CompressionType::None, now_ms(), &["a"]),
    )
    .await;
    let epoch = metadata_epoch(&mut client, "epochs").await;
    assert!(epoch >= 0);

    // The epoch Metadata gave, or none at all, is served.
    for sent in [epoch, -1] {
        assert_eq!(fetch_with_epoch(&mut client, "epochs", sent).await, 0);
        assert_eq!(
            list_offsets_with_epoch(&mut client, "epochs", sent).await,
            0
        );
    }
    // An epoch this broker has not reached: its metadata is ahead of ours.
    assert_eq!(
        fetch_with_epoch(&mut client, "epochs", epoch + 1).await,
        error_codes::UNKNOWN_LEADER_EPOCH
    );
    assert_eq!(
        list_offsets_with_epoch(&mut client, "epochs", epoch + 1).await,
        error_codes::UNKNOWN_LEADER_EPOCH
    );
    // An older one (any epoch but "none" below the current): fenced.
    assert_eq!(
        fetch_with_epoch(&mut client, "epochs", -2).await,
        error_codes::FENCED_LEADER_EPOCH
    );

    // The epoch survives a restart with the records written in it.
    let mut broker = broker;
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    assert_eq!(metadata_epoch(&mut client, "epochs").await, epoch);
}

/// OffsetForLeaderEpoch for partition 0 of `topic`, as a consumer asks it.
async fn epoch_end(
    client: &mut Client,
    topic: &str,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> EpochEndOffset {
    let request = OffsetForLeaderEpochRequest {
        replica_id: -1,
        topics: vec![OffsetForLeaderTopic {
            topic: topic.to_string(),
            partitions: vec![OffsetForLeaderPartition {
                partition: 0,
                current_leader_epoch,
                leader_epoch,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut response: OffsetForLeaderEpochResponse = client.call(4, request).await;
    response.topics.remove(0).partitions.remove(0)
}

#[tokio::test]
async fn offset_for_leader_epoch_tells_where_an_epoch_ends() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "ends", 1, &[]).await;
    // The leader's epoch starts at its log end as it takes the lead, as
    // in Kafka: a follower asking about it learns where it ends even
    // before the first write.
    let empty = epoch_end(&mut client, "ends", -1, 0).await;
    assert_eq!(
        (empty.error_code, empty.leader_epoch, empty.end_offset),
        (0, 0, 0),
        "an empty log is in its leader's epoch already"
    );
    produce_ok(
        &mut client,
        "ends",
        0,
        batch(CompressionType::None, now_ms(), &["a", "b", "c"]),
    )
    .await;
    let epoch = metadata_epoch(&mut client, "ends").await;

    // The current epoch ends at the log end.
    let current = epoch_end(&mut client, "ends", epoch, epoch).await;
    assert_eq!(
        (current.error_code, current.leader_epoch, current.end_offset),
        (0, epoch, 3)
    );
    // An epoch the log never had: undefined, not an error.
    let future = epoch_end(&mut client, "ends", -1, epoch + 1).await;
    assert_eq!(
        (future.error_code, future.leader_epoch, future.end_offset),
        (0, -1, -1)
    );
    // A requester ahead of this broker's epoch is told so.
    let ahead = epoch_end(&mut client, "ends", epoch + 1, epoch).await;
    assert_eq!(ahead.error_code, error_codes::UNKNOWN_LEADER_EPOCH);
    assert_eq!((ahead.leader_epoch, ahead.end_offset), (-1, -1));
    let missing = epoch_end(&mut client, "no-such-topic", -1, 0).await;
    assert_eq!(missing.error_code, error_codes::UNKNOWN_TOPIC_OR_PARTITION);
}

#[tokio::test]
async fn a_replica_fetch_from_a_broker_that_is_not_a_follower_is_refused() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "replicas", 1, &[]).await;
    produce_ok(
        &mut client,
        "replicas",
        0,
        batch(CompressionType::None, now_ms(), &["a"]),
    )
    .await;
    for replica in [1, 7] {
        let mut request = fetch_request("replicas", vec![fetch_partition(0, 0, 1 << 20)]);
        request.replica_id = replica;
        let response: FetchResponse = client.call(FETCH_VERSION, request).await;
        let data = &response.responses[0].partitions[0];
        assert_eq!(data.error_code, error_codes::NOT_LEADER_OR_FOLLOWER);
        assert!(records_of(data).is_empty(), "no records leak to it");
    }
}

#[tokio::test]
async fn a_long_poll_over_several_partitions_wakes_for_the_one_that_gets_data() {
    let broker = TestBroker::start();
    let mut consumer = broker.connect().await;
    let mut producer = broker.connect().await;
    create_topic(&mut consumer, "several", 3, &[]).await;

    let mut request = fetch_request(
        "several",
        (0..3).map(|p| fetch_partition(p, 0, 1 << 20)).collect(),
    );
    request.min_bytes = 1;
    request.max_wait_ms = 30_000;
    let correlation_id = consumer.send(FETCH_VERSION, request).await;
    produce_ok(
        &mut producer,
        "several",
        2,
        batch(CompressionType::None, now_ms(), &["late"]),
    )
    .await;

    // Woken well before its 30 s deadline (else the test would hang there
    // and time out): the record is in the answer.
    let (received, response) = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        consumer.receive::<FetchResponse>(FETCH_VERSION),
    )
    .await
    .expect("the parked fetch is woken by partition 2");
    assert_eq!(received, correlation_id);
    let partitions = &response.responses[0].partitions;
    assert_eq!(
        fetched_values(&records_of(&partitions[2])),
        vec![(0, "late".to_string())]
    );
    assert!(records_of(&partitions[0]).is_empty());
}

#[tokio::test]
async fn acks_all_is_refused_while_fewer_replicas_are_in_sync_than_min_insync_replicas() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    // One broker is one in-sync replica: a topic asking for two cannot
    // take an acks=all write as durably as it promises (Kafka refuses it
    // the same way).
    create_topic(&mut client, "strict", 1, &[("min.insync.replicas", "2")]).await;
    let refused = produce(
        &mut client,
        "strict",
        0,
        batch(CompressionType::None, now_ms(), &["all"]),
    )
    .await;
    assert_eq!(refused.error_code, error_codes::NOT_ENOUGH_REPLICAS);
    assert!(refused
        .error_message
        .as_deref()
        .is_some_and(|m| m.contains("min.insync.replicas=2")));
    assert_eq!(
        list_offset(&mut client, "strict", 0, -1).await.offset,
        0,
        "nothing appended"
    );

    // acks=1 asks only for the leader's write.
    let response: ProduceResponse = client
        .call(
            PRODUCE_VERSION,
            produce_request(
                "strict",
                0,
                batch(CompressionType::None, now_ms(), &["one"]),
                1,
            ),
        )
        .await;
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);

    // The broker default (1) lets acks=all through.
    create_topic(&mut client, "default-isr", 1, &[]).await;
    produce_ok(
        &mut client,
        "default-isr",
        0,
        batch(CompressionType::None, now_ms(), &["all"]),
    )
    .await;
}
