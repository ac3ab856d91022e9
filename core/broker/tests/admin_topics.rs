//! CreateTopics, DeleteTopics and CreatePartitions.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use strom_protocol::messages::delete_topics_request::DeleteTopicState;
use strom_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    MetadataResponse,
};
use strom_protocol::records::CompressionType;

async fn topic_names(client: &mut Client) -> Vec<String> {
    let metadata: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    let mut names: Vec<String> = metadata.topics.into_iter().filter_map(|t| t.name).collect();
    names.sort();
    names
}

async fn partition_count(client: &mut Client, topic: &str) -> usize {
    let metadata: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(Some(&[topic]), false))
        .await;
    metadata.topics[0].partitions.len()
}

#[tokio::test]
async fn validate_only_creates_nothing() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let results = create_topics(&mut client, vec![creatable_topic("dry", 4, &[])], true).await;
    assert_eq!(results[0].error_code, 0);
    assert_eq!(results[0].num_partitions, 4);
    assert!(topic_names(&mut client).await.is_empty());
    assert!(!broker.data_dir().join("dry-0").exists());
}

#[tokio::test]
async fn creation_errors_have_their_own_codes() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "exists", 1, &[]).await;
    let mut replicated = creatable_topic("replicated", 1, &[]);
    replicated.replication_factor = 3;
    let results = create_topics(
        &mut client,
        vec![
            creatable_topic("exists", 1, &[]),
            replicated,
            creatable_topic("bad-config", 1, &[("retention.ms", "soon")]),
            creatable_topic("unknown-config", 1, &[("no.such.setting", "1")]),
            creatable_topic("zero", 0, &[]),
            creatable_topic("bad name", 1, &[]),
        ],
        false,
    )
    .await;
    let codes: Vec<(String, i16)> = results
        .iter()
        .map(|r| (r.name.clone(), r.error_code))
        .collect();
    assert_eq!(
        codes,
        [
            ("exists".to_string(), error_codes::TOPIC_ALREADY_EXISTS),
            (
                "replicated".to_string(),
                error_codes::INVALID_REPLICATION_FACTOR
            ),
            ("bad-config".to_string(), error_codes::INVALID_CONFIG),
            ("unknown-config".to_string(), error_codes::INVALID_CONFIG),
            ("zero".to_string(), error_codes::INVALID_PARTITIONS),
            ("bad name".to_string(), error_codes::INVALID_TOPIC_EXCEPTION),
        ]
    );
    assert!(results.iter().all(|r| r.error_message.is_some()));
    assert_eq!(topic_names(&mut client).await, ["exists"]);
}

#[tokio::test]
async fn configs_are_echoed_from_v5() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let result = create_topic(&mut client, "echo", 2, &[("retention.ms", "1000")]).await;
    assert_eq!(result.num_partitions, 2);
    assert_eq!(result.replication_factor, 1);
    let configs = result.configs.expect("configs at v5+");
    let retention = configs
        .iter()
        .find(|c| c.name == "retention.ms")
        .expect("retention.ms");
    assert_eq!(retention.value.as_deref(), Some("1000"));
    assert_eq!(retention.config_source, 1, "TOPIC_CONFIG");
    let segment = configs
        .iter()
        .find(|c| c.name == "segment.bytes")
        .expect("segment.bytes");
    assert_eq!(segment.config_source, 5, "DEFAULT_CONFIG");
}

#[tokio::test]
async fn deleted_topics_disappear_with_their_data_and_can_be_recreated() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let first = create_topic(&mut client, "doomed", 2, &[]).await;
    produce_ok(
        &mut client,
        "doomed",
        0,
        batch(CompressionType::None, now_ms(), &["old"]),
    )
    .await;
    assert!(broker.data_dir().join("doomed-0").is_dir());

    let response: DeleteTopicsResponse = client
        .call(
            6,
            DeleteTopicsRequest {
                topics: vec![DeleteTopicState {
                    name: Some("doomed".into()),
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(response.responses[0].error_code, 0);
    assert_eq!(response.responses[0].topic_id, first.topic_id);
    assert!(topic_names(&mut client).await.is_empty());
    assert!(!broker.data_dir().join("doomed-0").exists());
    assert!(!broker.data_dir().join("doomed-1").exists());

    let again: DeleteTopicsResponse = client
        .call(
            4,
            DeleteTopicsRequest {
                topic_names: vec!["doomed".into()],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        again.responses[0].error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );

    let second = create_topic(&mut client, "doomed", 1, &[]).await;
    assert_ne!(second.topic_id, first.topic_id);
    let data = fetch(&mut client, "doomed", 0, 0).await;
    assert_eq!(data.high_watermark, 0, "the new topic starts empty");
    assert_eq!(
        produce_ok(
            &mut client,
            "doomed",
            0,
            batch(CompressionType::None, now_ms(), &["new"])
        )
        .await,
        0
    );
}

#[tokio::test]
async fn deleting_by_topic_id() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let created = create_topic(&mut client, "by-id", 1, &[]).await;
    let response: DeleteTopicsResponse = client
        .call(
            6,
            DeleteTopicsRequest {
                topics: vec![DeleteTopicState {
                    name: None,
                    topic_id: created.topic_id,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(response.responses[0].error_code, 0);
    assert_eq!(response.responses[0].name.as_deref(), Some("by-id"));
    assert!(topic_names(&mut client).await.is_empty());
}

#[tokio::test]
async fn partitions_grow_but_never_shrink() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "grow", 3, &[]).await;
    let request = |count, validate_only| CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: "grow".into(),
            count,
            assignments: None,
            ..Default::default()
        }],
        timeout_ms: 10_000,
        validate_only,
        ..Default::default()
    };
    let dry: CreatePartitionsResponse = client.call(3, request(6, true)).await;
    assert_eq!(dry.results[0].error_code, 0);
    assert_eq!(partition_count(&mut client, "grow").await, 3);

    let grown: CreatePartitionsResponse = client.call(3, request(6, false)).await;
    assert_eq!(grown.results[0].error_code, 0);
    assert_eq!(partition_count(&mut client, "grow").await, 6);
    assert_eq!(
        produce_ok(
            &mut client,
            "grow",
            5,
            batch(CompressionType::None, now_ms(), &["x"])
        )
        .await,
        0
    );

    for count in [2, 6] {
        let refused: CreatePartitionsResponse = client.call(3, request(count, false)).await;
        assert_eq!(
            refused.results[0].error_code,
            error_codes::INVALID_PARTITIONS,
            "to {count}"
        );
    }
    assert_eq!(partition_count(&mut client, "grow").await, 6);
}

#[tokio::test]
async fn topic_changes_survive_a_restart() {
    let mut broker = TestBroker::start_with(&[("num.partitions", "3")]);
    let mut client = broker.connect().await;
    let defaulted = create_topic(&mut client, "defaulted", -1, &[]).await;
    assert_eq!(defaulted.num_partitions, 3, "-1 takes num.partitions");
    let grow: CreatePartitionsResponse = client
        .call(
            3,
            CreatePartitionsRequest {
                topics: vec![CreatePartitionsTopic {
                    name: "defaulted".into(),
                    count: 5,
                    assignments: None,
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(grow.results[0].error_code, 0);
    produce_ok(
        &mut client,
        "defaulted",
        4,
        batch(CompressionType::None, now_ms(), &["in-new-partition"]),
    )
    .await;
    create_topic(&mut client, "removed", 1, &[]).await;
    let deleted: DeleteTopicsResponse = client
        .call(
            4,
            DeleteTopicsRequest {
                topic_names: vec!["removed".into()],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(deleted.responses[0].error_code, 0);
    drop(client);

    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    assert_eq!(topic_names(&mut client).await, ["defaulted"]);
    assert_eq!(partition_count(&mut client, "defaulted").await, 5);
    let data = fetch(&mut client, "defaulted", 4, 0).await;
    assert_eq!(
        fetched_values(&records_of(&data)),
        [(0, "in-new-partition".to_string())]
    );
    assert!(!broker.data_dir().join("removed-0").exists());
}

#[tokio::test]
async fn names_differing_only_in_dot_and_underscore_collide() {
    // Kafka refuses the second: '.' and '_' map to the same metric name.
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "orders.eu", 1, &[]).await;
    let results = create_topics(
        &mut client,
        vec![creatable_topic("orders_eu", 1, &[])],
        false,
    )
    .await;
    assert_eq!(results[0].error_code, error_codes::INVALID_TOPIC_EXCEPTION);
    let auto: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["orders_eu"]), true),
        )
        .await;
    assert_ne!(auto.topics[0].error_code, 0, "auto-creation refuses it too");
    assert_eq!(topic_names(&mut client).await, ["orders.eu"]);
}

#[tokio::test]
async fn explicit_assignments_and_disabled_deletion() {
    use strom_protocol::messages::create_topics_request::CreatableReplicaAssignment;
    let broker = TestBroker::start_with(&[("delete.topic.enable", "false")]);
    let mut client = broker.connect().await;
    let assigned = |partitions: &[i32], broker_id: i32| {
        let mut topic = creatable_topic("assigned", -1, &[]);
        topic.replication_factor = -1;
        topic.assignments = partitions
            .iter()
            .map(|p| CreatableReplicaAssignment {
                partition_index: *p,
                broker_ids: vec![broker_id],
                ..Default::default()
            })
            .collect();
        topic
    };
    let elsewhere = create_topics(&mut client, vec![assigned(&[0], 7)], false).await;
    assert_eq!(
        elsewhere[0].error_code,
        error_codes::INVALID_REPLICA_ASSIGNMENT
    );
    let here = create_topics(&mut client, vec![assigned(&[0, 1], 0)], false).await;
    assert_eq!((here[0].error_code, here[0].num_partitions), (0, 2));
    assert_eq!(partition_count(&mut client, "assigned").await, 2);

    let refused: DeleteTopicsResponse = client
        .call(
            4,
            DeleteTopicsRequest {
                topic_names: vec!["assigned".into()],
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        refused.responses[0].error_code,
        error_codes::TOPIC_DELETION_DISABLED
    );
    assert_eq!(topic_names(&mut client).await, ["assigned"]);
}
