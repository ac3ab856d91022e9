//! Every advertised version of every API is answered with a response that
//! decodes at that version (clients pick the highest version both sides
//! support, so each one is somebody's everyday version).

mod common;

use common::*;
use strom_broker::versions::supported_range;
use strom_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use strom_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use strom_protocol::messages::delete_topics_request::DeleteTopicState;
use strom_protocol::messages::describe_configs_request::DescribeConfigsResource;
use strom_protocol::messages::*;
use strom_protocol::records::CompressionType;

fn versions(api: ApiKey) -> std::ops::RangeInclusive<i16> {
    let (min, max) = supported_range(api).expect("supported");
    min..=max
}

#[tokio::test]
async fn data_plane_apis_at_every_version() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let created = create_topic(&mut client, "every", 1, &[]).await;

    let mut produced = 0;
    for version in versions(ApiKey::Produce) {
        let records = batch(CompressionType::None, now_ms(), &[&format!("v{version}")]);
        let response: ProduceResponse = client
            .call(version, produce_request("every", 0, records, -1))
            .await;
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!(
            (partition.error_code, partition.base_offset),
            (0, produced),
            "Produce v{version}"
        );
        produced += 1;
    }
    for version in versions(ApiKey::Fetch) {
        let mut request = fetch_request("every", vec![fetch_partition(0, 0, 1 << 20)]);
        // v13+ name the topic by id only; older versions by name only.
        request.topics[0].topic_id = created.topic_id;
        let response: FetchResponse = client.call(version, request).await;
        let data = &response.responses[0].partitions[0];
        assert_eq!(data.error_code, 0, "Fetch v{version}");
        assert_eq!(
            fetched_values(&records_of(data)).len() as i64,
            produced,
            "Fetch v{version}"
        );
    }
    for version in versions(ApiKey::Metadata) {
        let response: MetadataResponse = client
            .call(version, metadata_request(Some(&["every"]), true))
            .await;
        assert_eq!(response.topics[0].error_code, 0, "Metadata v{version}");
        assert_eq!(
            response.topics[0].partitions.len(),
            1,
            "Metadata v{version}"
        );
    }
    for version in versions(ApiKey::OffsetForLeaderEpoch) {
        use strom_protocol::messages::offset_for_leader_epoch_request::{
            OffsetForLeaderPartition, OffsetForLeaderTopic,
        };
        let request = OffsetForLeaderEpochRequest {
            replica_id: -1,
            topics: vec![OffsetForLeaderTopic {
                topic: "every".into(),
                partitions: vec![OffsetForLeaderPartition {
                    partition: 0,
                    current_leader_epoch: -1,
                    leader_epoch: 0,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let response: OffsetForLeaderEpochResponse = client.call(version, request).await;
        let partition = &response.topics[0].partitions[0];
        assert_eq!(
            (partition.error_code, partition.end_offset),
            (0, produced),
            "OffsetForLeaderEpoch v{version}"
        );
    }
    for version in versions(ApiKey::InitProducerId) {
        let response: InitProducerIdResponse = client
            .call(
                version,
                InitProducerIdRequest {
                    transactional_id: None,
                    transaction_timeout_ms: 60_000,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(response.error_code, 0, "InitProducerId v{version}");
        assert!(response.producer_id >= 0);
    }
}

#[tokio::test]
async fn admin_apis_at_every_version() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    for version in versions(ApiKey::CreateTopics) {
        let name = format!("created-v{version}");
        let response: CreateTopicsResponse = client
            .call(
                version,
                CreateTopicsRequest {
                    topics: vec![creatable_topic(&name, 1, &[("retention.ms", "100000")])],
                    timeout_ms: 5000,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(response.topics[0].error_code, 0, "CreateTopics v{version}");
    }
    for version in versions(ApiKey::CreatePartitions) {
        let response: CreatePartitionsResponse = client
            .call(
                version,
                CreatePartitionsRequest {
                    topics: vec![CreatePartitionsTopic {
                        name: "created-v2".into(),
                        count: 2 + i32::from(version),
                        assignments: None,
                        ..Default::default()
                    }],
                    timeout_ms: 5000,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(
            response.results[0].error_code, 0,
            "CreatePartitions v{version}"
        );
    }
    for version in versions(ApiKey::DescribeConfigs) {
        let response: DescribeConfigsResponse = client
            .call(
                version,
                DescribeConfigsRequest {
                    resources: vec![DescribeConfigsResource {
                        resource_type: 2,
                        resource_name: "created-v2".into(),
                        configuration_keys: None,
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )
            .await;
        let result = &response.results[0];
        assert_eq!(result.error_code, 0, "DescribeConfigs v{version}");
        let retention = result
            .configs
            .iter()
            .find(|c| c.name == "retention.ms")
            .expect("listed");
        assert_eq!(
            retention.value.as_deref(),
            Some("100000"),
            "DescribeConfigs v{version}"
        );
    }
    for version in versions(ApiKey::AlterConfigs) {
        let response: AlterConfigsResponse = client
            .call(
                version,
                AlterConfigsRequest {
                    resources: vec![alter_configs_request::AlterConfigsResource {
                        resource_type: 2,
                        resource_name: "created-v2".into(),
                        configs: vec![],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(
            response.responses[0].error_code, 0,
            "AlterConfigs v{version}"
        );
    }
    for version in versions(ApiKey::IncrementalAlterConfigs) {
        let response: IncrementalAlterConfigsResponse = client
            .call(
                version,
                IncrementalAlterConfigsRequest {
                    resources: vec![incremental_alter_configs_request::AlterConfigsResource {
                        resource_type: 2,
                        resource_name: "created-v2".into(),
                        configs: vec![],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(
            response.responses[0].error_code, 0,
            "IncrementalAlterConfigs v{version}"
        );
    }
    for version in versions(ApiKey::DeleteRecords) {
        let response: DeleteRecordsResponse = client
            .call(
                version,
                DeleteRecordsRequest {
                    topics: vec![DeleteRecordsTopic {
                        name: "created-v2".into(),
                        partitions: vec![DeleteRecordsPartition {
                            partition_index: 0,
                            offset: 0,
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    timeout_ms: 5000,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(
            response.topics[0].partitions[0].error_code, 0,
            "DeleteRecords v{version}"
        );
    }
    for version in versions(ApiKey::DescribeLogDirs) {
        let response: DescribeLogDirsResponse = client
            .call(
                version,
                DescribeLogDirsRequest {
                    topics: None,
                    ..Default::default()
                },
            )
            .await;
        assert_eq!(
            response.results[0].error_code, 0,
            "DescribeLogDirs v{version}"
        );
        assert!(
            !response.results[0].topics.is_empty(),
            "DescribeLogDirs v{version}"
        );
    }
    for version in versions(ApiKey::DescribeCluster) {
        let response: DescribeClusterResponse = client
            .call(version, DescribeClusterRequest::default())
            .await;
        assert_eq!(response.error_code, 0, "DescribeCluster v{version}");
    }
    for version in versions(ApiKey::DeleteTopics) {
        // DeleteTopics v1..=6 deletes the topics CreateTopics v2..=7 made.
        let name = format!("created-v{}", version + 1);
        let request = if version >= 6 {
            DeleteTopicsRequest {
                topics: vec![DeleteTopicState {
                    name: Some(name.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }
        } else {
            DeleteTopicsRequest {
                topic_names: vec![name.clone()],
                ..Default::default()
            }
        };
        let response: DeleteTopicsResponse = client.call(version, request).await;
        assert_eq!(
            response.responses[0].error_code, 0,
            "DeleteTopics v{version} ({name})"
        );
    }
}
