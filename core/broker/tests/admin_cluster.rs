//! DeleteRecords, DescribeLogDirs and DescribeCluster.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use strom_protocol::messages::delete_records_response::DeleteRecordsPartitionResult;
use strom_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use strom_protocol::messages::{
    DeleteRecordsRequest, DeleteRecordsResponse, DescribeClusterRequest, DescribeClusterResponse,
    DescribeLogDirsRequest, DescribeLogDirsResponse, MetadataResponse,
};
use strom_protocol::records::CompressionType;

async fn delete_records(
    client: &mut Client,
    topic: &str,
    partition: i32,
    offset: i64,
) -> DeleteRecordsPartitionResult {
    let mut response: DeleteRecordsResponse = client
        .call(
            2,
            DeleteRecordsRequest {
                topics: vec![DeleteRecordsTopic {
                    name: topic.into(),
                    partitions: vec![DeleteRecordsPartition {
                        partition_index: partition,
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
    response.topics.remove(0).partitions.remove(0)
}

#[tokio::test]
async fn delete_records_moves_the_log_start() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "trim", 1, &[]).await;
    for value in ["a", "b", "c", "d"] {
        produce_ok(
            &mut client,
            "trim",
            0,
            batch(CompressionType::None, now_ms(), &[value]),
        )
        .await;
    }
    let result = delete_records(&mut client, "trim", 0, 2).await;
    assert_eq!((result.error_code, result.low_watermark), (0, 2));

    assert_eq!(
        fetch(&mut client, "trim", 0, 1).await.error_code,
        error_codes::OFFSET_OUT_OF_RANGE,
        "below the log start"
    );
    let data = fetch(&mut client, "trim", 0, 2).await;
    assert_eq!(data.log_start_offset, 2);
    assert_eq!(
        fetched_values(&records_of(&data)),
        [(2, "c".to_string()), (3, "d".to_string())]
    );
    assert_eq!(list_offset(&mut client, "trim", 0, -2).await.offset, 2);

    assert_eq!(
        delete_records(&mut client, "trim", 0, 9).await.error_code,
        error_codes::OFFSET_OUT_OF_RANGE,
        "past the high watermark"
    );
    assert_eq!(
        delete_records(&mut client, "trim", 3, 0).await.error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
    let all = delete_records(&mut client, "trim", 0, -1).await;
    assert_eq!(
        (all.error_code, all.low_watermark),
        (0, 4),
        "-1: up to the high watermark"
    );

    drop(client);
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    assert_eq!(
        list_offset(&mut client, "trim", 0, -2).await.offset,
        4,
        "the log start survives a restart"
    );
    assert_eq!(
        produce_ok(
            &mut client,
            "trim",
            0,
            batch(CompressionType::None, now_ms(), &["e"])
        )
        .await,
        4
    );
}

async fn log_dirs(
    client: &mut Client,
    topics: Option<Vec<DescribableLogDirTopic>>,
) -> DescribeLogDirsResponse {
    client
        .call(
            4,
            DescribeLogDirsRequest {
                topics,
                ..Default::default()
            },
        )
        .await
}

fn partition_size(response: &DescribeLogDirsResponse, topic: &str, partition: i32) -> i64 {
    response.results[0]
        .topics
        .iter()
        .find(|t| t.name == topic)
        .and_then(|t| t.partitions.iter().find(|p| p.partition_index == partition))
        .map(|p| p.partition_size)
        .expect("partition listed")
}

#[tokio::test]
async fn log_dir_sizes_follow_the_data() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "sized", 2, &[]).await;
    let empty = log_dirs(&mut client, None).await;
    assert_eq!(empty.error_code, 0);
    assert_eq!(empty.results.len(), 1);
    assert_eq!(partition_size(&empty, "sized", 0), 0);
    assert!(empty.results[0].total_bytes > 0);
    assert!(empty.results[0].usable_bytes >= 0);

    let first = batch(CompressionType::None, now_ms(), &["one"]);
    let second = batch(CompressionType::Gzip, now_ms(), &["two", "three"]);
    produce_ok(&mut client, "sized", 0, first.clone()).await;
    let after_one = log_dirs(&mut client, None).await;
    assert_eq!(partition_size(&after_one, "sized", 0), first.len() as i64);
    produce_ok(&mut client, "sized", 0, second.clone()).await;
    let after_two = log_dirs(&mut client, None).await;
    assert_eq!(
        partition_size(&after_two, "sized", 0),
        (first.len() + second.len()) as i64
    );
    assert_eq!(partition_size(&after_two, "sized", 1), 0);

    // Asking for one partition returns only it.
    let one = log_dirs(
        &mut client,
        Some(vec![DescribableLogDirTopic {
            topic: "sized".into(),
            partitions: vec![1],
            ..Default::default()
        }]),
    )
    .await;
    let topics = &one.results[0].topics;
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].partitions.len(), 1);
    assert_eq!(topics[0].partitions[0].partition_index, 1);
}

#[tokio::test]
async fn describe_cluster_names_this_broker_as_in_metadata() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let metadata: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    for version in 0..=1 {
        let response: DescribeClusterResponse = client
            .call(
                version,
                DescribeClusterRequest {
                    endpoint_type: 1,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(response.error_code, 0, "v{version}");
        assert_eq!(Some(response.cluster_id.clone()), metadata.cluster_id);
        assert_eq!(response.controller_id, metadata.controller_id);
        assert_eq!(response.brokers.len(), 1);
        let listed = &response.brokers[0];
        assert_eq!(listed.broker_id, metadata.brokers[0].node_id);
        assert_eq!(
            (listed.host.as_str(), listed.port),
            ("127.0.0.1", i32::from(broker.addr.port()))
        );
    }
}
