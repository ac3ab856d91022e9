//! ElectLeaders, AlterPartitionReassignments and DescribeQuorum on one
//! broker: every partition's only replica already leads, nothing can move,
//! and the node is its own quorum. A request that names one partition
//! many times is answered once for it.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use strom_protocol::messages::elect_leaders_request::TopicPartitions;
use strom_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ElectLeadersRequest,
    ElectLeadersResponse,
};

#[tokio::test]
async fn elect_leaders_answers_each_named_partition_once() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "one", 2, &[]).await;
    // 100,000 mentions of partition 0, in 50,000 topic entries, and one of
    // a missing partition.
    let mut topics: Vec<TopicPartitions> = (0..50_000)
        .map(|_| TopicPartitions {
            topic: "one".into(),
            partitions: vec![0, 0],
            ..Default::default()
        })
        .collect();
    topics.push(TopicPartitions {
        topic: "one".into(),
        partitions: vec![7],
        ..Default::default()
    });
    let request = ElectLeadersRequest {
        election_type: 0,
        topic_partitions: Some(topics),
        timeout_ms: 5_000,
        ..Default::default()
    };
    let response: ElectLeadersResponse = client.call(2, request).await;
    assert_eq!(response.error_code, error_codes::NONE);
    assert_eq!(response.replica_election_results.len(), 1);
    let results = &response.replica_election_results[0].partition_result;
    let answered: Vec<(i32, i16)> = results
        .iter()
        .map(|r| (r.partition_id, r.error_code))
        .collect();
    assert_eq!(
        answered,
        vec![
            (0, error_codes::ELECTION_NOT_NEEDED),
            (7, error_codes::UNKNOWN_TOPIC_OR_PARTITION)
        ]
    );
}

#[tokio::test]
async fn a_reassignment_on_one_broker_can_only_name_that_broker() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "stay", 1, &[]).await;
    let node = broker.broker().node_id;
    let move_to = |replicas: Option<Vec<i32>>| ReassignablePartition {
        partition_index: 0,
        replicas,
        ..Default::default()
    };
    let request = AlterPartitionReassignmentsRequest {
        timeout_ms: 5_000,
        topics: vec![ReassignableTopic {
            name: "stay".into(),
            partitions: vec![move_to(Some(vec![node + 1])), move_to(Some(vec![node]))],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response: AlterPartitionReassignmentsResponse = client.call(0, request).await;
    let answered: Vec<(i32, i16)> = response.responses[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.error_code))
        .collect();
    assert_eq!(
        answered,
        vec![(0, error_codes::INVALID_REPLICA_ASSIGNMENT)],
        "the partition is answered once, for its first mention"
    );
}

#[tokio::test]
async fn describe_quorum_answers_the_metadata_partition_once() {
    use strom_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
    use strom_protocol::messages::{DescribeQuorumRequest, DescribeQuorumResponse};

    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let named = |name: &str, partitions: Vec<i32>| TopicData {
        topic_name: name.into(),
        partitions: partitions
            .into_iter()
            .map(|partition_index| PartitionData {
                partition_index,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut topics: Vec<TopicData> = (0..50_000)
        .map(|_| named("__cluster_metadata", vec![0, 0]))
        .collect();
    topics.push(named("other", vec![3]));
    let response: DescribeQuorumResponse = client
        .call(
            1,
            DescribeQuorumRequest {
                topics,
                ..Default::default()
            },
        )
        .await;
    let answered: Vec<(String, i32, i16)> = response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.topic_name.clone(), p.partition_index, p.error_code))
        })
        .collect();
    assert_eq!(
        answered,
        vec![
            ("__cluster_metadata".to_string(), 0, error_codes::NONE),
            (
                "other".to_string(),
                3,
                error_codes::UNKNOWN_TOPIC_OR_PARTITION
            )
        ]
    );
    let node = broker.broker().node_id;
    let metadata = &response.topics[0].partitions[0];
    assert_eq!(metadata.leader_id, node, "one node is its own quorum");
    assert_eq!(metadata.current_voters.len(), 1);
}
