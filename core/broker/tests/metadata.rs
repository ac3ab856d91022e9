//! Metadata: auto-creation, errors for unknown and invalid topics, and the
//! fields newer versions add (leader epoch, topic id).

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::metadata_request::MetadataRequestTopic;
use strom_protocol::messages::{MetadataRequest, MetadataResponse};
use strom_protocol::records::CompressionType;

#[tokio::test]
async fn auto_creation_creates_the_topic_with_num_partitions() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]);
    let mut client = broker.connect().await;
    let response: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["auto-made"]), true),
        )
        .await;
    assert_eq!(response.brokers.len(), 1);
    assert_eq!(response.brokers[0].port, i32::from(broker.addr.port()));
    assert_eq!(response.brokers[0].host, "127.0.0.1");
    let topic = &response.topics[0];
    assert_eq!(topic.error_code, 0);
    assert_eq!(topic.name.as_deref(), Some("auto-made"));
    assert_eq!(topic.partitions.len(), 3);
    for partition in &topic.partitions {
        assert_eq!(partition.leader_id, response.brokers[0].node_id);
        assert_eq!(partition.isr_nodes, vec![response.brokers[0].node_id]);
    }

    // The topic really exists: a produce to its last partition works.
    let offset = produce_ok(
        &mut client,
        "auto-made",
        2,
        batch(CompressionType::None, now_ms(), &["x"]),
    )
    .await;
    assert_eq!(offset, 0);
}

#[tokio::test]
async fn no_auto_creation_when_the_request_forbids_it() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let response: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["not-there"]), false),
        )
        .await;
    assert_eq!(
        response.topics[0].error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
    // Still unknown: nothing was created on the side.
    let all: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    assert!(all.topics.is_empty(), "{:?}", all.topics);
}

#[tokio::test]
async fn no_auto_creation_when_the_broker_forbids_it() {
    let broker = TestBroker::start_with(&[("auto.create.topics.enable", "false")]);
    let mut client = broker.connect().await;
    for version in [1, 4, METADATA_VERSION] {
        let response: MetadataResponse = client
            .call(version, metadata_request(Some(&["not-there"]), true))
            .await;
        assert_eq!(
            response.topics[0].error_code,
            error_codes::UNKNOWN_TOPIC_OR_PARTITION,
            "v{version}"
        );
    }
}

#[tokio::test]
async fn invalid_topic_names_get_invalid_topic_exception() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let long = "x".repeat(250);
    for name in ["bad name", "..", "a/b", long.as_str()] {
        let response: MetadataResponse = client
            .call(METADATA_VERSION, metadata_request(Some(&[name]), true))
            .await;
        assert_eq!(
            response.topics[0].error_code,
            error_codes::INVALID_TOPIC_EXCEPTION,
            "{name}"
        );
    }
}

#[tokio::test]
async fn newer_versions_carry_leader_epoch_and_topic_id() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let created = create_topic(&mut client, "ids", 2, &[]).await;
    assert_ne!(
        created.topic_id.0, [0; 16],
        "CreateTopics v7 returns the id"
    );
    for version in 10..=12 {
        let response: MetadataResponse = client
            .call(version, metadata_request(Some(&["ids"]), false))
            .await;
        let topic = &response.topics[0];
        assert_eq!(topic.error_code, 0);
        assert_eq!(topic.topic_id, created.topic_id, "v{version}");
        for partition in &topic.partitions {
            assert!(partition.leader_epoch >= 0, "v{version}: {partition:?}");
        }
        assert!(response.cluster_id.is_some());
    }
}

#[tokio::test]
async fn null_topics_lists_every_topic_and_v0_empty_list_too() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "b-topic", 1, &[]).await;
    create_topic(&mut client, "a-topic", 2, &[]).await;

    let all: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    let mut names: Vec<_> = all.topics.iter().filter_map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["a-topic", "b-topic"]);

    let v0: MetadataResponse = client
        .call(
            0,
            MetadataRequest {
                topics: Some(Vec::new()),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(v0.topics.len(), 2);

    // v1+: an empty list means no topics.
    let none: MetadataResponse = client
        .call(
            1,
            MetadataRequest {
                topics: Some(Vec::new()),
                ..Default::default()
            },
        )
        .await;
    assert!(none.topics.is_empty());
}

#[tokio::test]
async fn only_kafkas_internal_topics_are_flagged_internal() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "__audit", 1, &[]).await;
    create_topic(&mut client, "__consumer_offsets", 1, &[]).await;
    let all: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    let flags: Vec<(String, bool)> = all
        .topics
        .iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t.is_internal))
        .collect();
    assert_eq!(
        flags,
        [
            ("__audit".to_string(), false),
            ("__consumer_offsets".to_string(), true)
        ]
    );
}

#[tokio::test]
async fn topics_can_be_looked_up_by_id_from_v10() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    let created = create_topic(&mut client, "found-by-id", 2, &[]).await;
    let unknown = strom_protocol::codec::Uuid([7; 16]);
    let request = MetadataRequest {
        topics: Some(
            [created.topic_id, unknown]
                .into_iter()
                .map(|topic_id| MetadataRequestTopic {
                    topic_id,
                    name: None,
                    ..Default::default()
                })
                .collect(),
        ),
        allow_auto_topic_creation: false,
        ..Default::default()
    };
    for version in 10..=12 {
        let response: MetadataResponse = client.call(version, request.clone()).await;
        assert_eq!(response.topics.len(), 2);
        let found = &response.topics[0];
        assert_eq!(
            (found.error_code, found.name.as_deref()),
            (0, Some("found-by-id"))
        );
        assert_eq!(found.partitions.len(), 2);
        let missing = &response.topics[1];
        assert_eq!(
            (missing.error_code, missing.topic_id),
            (error_codes::UNKNOWN_TOPIC_ID, unknown),
            "v{version}"
        );
    }
}
