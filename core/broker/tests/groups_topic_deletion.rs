//! Deleting a topic deletes its committed offsets in every group (Kafka's
//! `onPartitionsDeleted`), for good: not back after a restart, not there
//! when the topic is recreated. Internal topics cannot be deleted or grown.

mod common;
mod groups_support;

use common::*;
use groups_support::*;
use strom_protocol::error_codes;
use strom_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use strom_protocol::messages::delete_topics_request::DeleteTopicState;
use strom_protocol::messages::*;

const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Deletes `topic` by name; its error code.
async fn delete_topic(client: &mut Client, topic: &str) -> i16 {
    let response: DeleteTopicsResponse = client
        .call(
            6,
            DeleteTopicsRequest {
                topics: vec![DeleteTopicState {
                    name: Some(topic.into()),
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    response.responses[0].error_code
}

/// Every committed (topic, partition, offset) of `group`, sorted.
async fn all_offsets(client: &mut Client, group: &str) -> Vec<(String, i32, i64)> {
    let response: OffsetFetchResponse = client
        .call(
            FETCH_OFFSETS_VERSION,
            OffsetFetchRequest {
                group_id: group.into(),
                topics: None,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(response.error_code, 0, "fetch offsets of {group}");
    let mut offsets: Vec<(String, i32, i64)> = response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.clone(), p.partition_index, p.committed_offset))
        })
        .collect();
    offsets.sort();
    offsets
}

/// Waits until the replay of `__consumer_offsets` has ended.
async fn wait_loaded(client: &mut Client) {
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    while list_groups(client, &[]).await.error_code == error_codes::COORDINATOR_LOAD_IN_PROGRESS {
        assert!(tokio::time::Instant::now() < deadline, "offsets loaded");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Groups "both" (offsets of a and b) and "only-a"; then a is deleted.
async fn commit_then_delete_a(broker: &TestBroker) {
    let mut client = broker.connect().await;
    create_topic(&mut client, "a", 2, &[]).await;
    create_topic(&mut client, "b", 1, &[]).await;
    commit_simple(
        &mut client,
        "both",
        &[("a", 0, 10, None), ("a", 1, 11, None), ("b", 0, 20, None)],
    )
    .await;
    commit_simple(&mut client, "only-a", &[("a", 0, 5, None)]).await;
    assert_eq!(
        listed(&mut client, &[]).await,
        [
            ("both".into(), "Empty".into()),
            ("only-a".into(), "Empty".into())
        ]
    );
    assert_eq!(delete_topic(&mut client, "a").await, 0);
}

/// What a user must see once "a" is deleted, before and after restarts.
async fn assert_a_forgotten(client: &mut Client) {
    assert_eq!(all_offsets(client, "both").await, [("b".into(), 0, 20)]);
    assert!(all_offsets(client, "only-a").await.is_empty());
    assert_eq!(
        listed(client, &[]).await,
        [("both".into(), "Empty".into())],
        "an empty group left without offsets is removed"
    );
}

#[tokio::test]
async fn deleting_a_topic_deletes_its_committed_offsets() {
    let broker = group_broker(&[]);
    commit_then_delete_a(&broker).await;
    let mut client = broker.connect().await;
    assert_a_forgotten(&mut client).await;

    // A new topic of the same name starts without committed offsets.
    create_topic(&mut client, "a", 2, &[]).await;
    assert_eq!(fetch_offset(&mut client, "both", "a", 0).await.0, -1);
    assert_eq!(fetch_offset(&mut client, "only-a", "a", 0).await.0, -1);
    assert_eq!(fetch_offset(&mut client, "both", "b", 0).await.0, 20);

    // The group can commit to it again.
    commit_simple(&mut client, "only-a", &[("a", 1, 3, None)]).await;
    assert_eq!(fetch_offset(&mut client, "only-a", "a", 1).await.0, 3);
}

#[tokio::test]
async fn deleted_offsets_stay_deleted_after_a_clean_restart() {
    let mut broker = group_broker(&[]);
    commit_then_delete_a(&broker).await;
    // Recreated before the restart, so only the tombstones (not the
    // topic's absence) can keep the old offsets away.
    let mut client = broker.connect().await;
    create_topic(&mut client, "a", 2, &[]).await;
    drop(client);

    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    wait_loaded(&mut client).await;
    assert_a_forgotten(&mut client).await;
    assert_eq!(fetch_offset(&mut client, "both", "a", 1).await.0, -1);
}

#[tokio::test]
async fn deleted_offsets_stay_deleted_after_a_crash() {
    let mut broker = group_broker(&[]);
    commit_then_delete_a(&broker).await;
    let mut client = broker.connect().await;
    create_topic(&mut client, "a", 2, &[]).await;
    drop(client);

    broker.crash_and_reopen();
    let mut client = broker.connect().await;
    wait_loaded(&mut client).await;
    assert_a_forgotten(&mut client).await;
    assert_eq!(fetch_offset(&mut client, "both", "a", 0).await.0, -1);
}

#[tokio::test]
async fn a_stable_group_keeps_its_other_offsets_and_stays() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "a", 1, &[]).await;
    create_topic(&mut client, "b", 1, &[]).await;
    let mut members = form_group(&broker, "live", &["a", "b"], 1).await;
    assert_eq!(members[0].commit("a", 0, 7).await, 0);
    assert_eq!(members[0].commit("b", 0, 8).await, 0);

    assert_eq!(delete_topic(&mut client, "a").await, 0);
    assert_eq!(all_offsets(&mut client, "live").await, [("b".into(), 0, 8)]);
    assert_eq!(
        listed(&mut client, &[]).await,
        [("live".into(), "Stable".into())]
    );
    assert_eq!(members[0].heartbeat().await, 0);
}

#[tokio::test]
async fn internal_topics_cannot_be_deleted_or_grown() {
    let broker = group_broker(&[]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "t", 1, &[]).await;
    // The first commit creates __consumer_offsets (3 partitions here).
    commit_simple(&mut client, "g", &[("t", 0, 4, None)]).await;

    let deleted: DeleteTopicsResponse = client
        .call(
            5,
            DeleteTopicsRequest {
                topic_names: vec![OFFSETS_TOPIC.into()],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    let result = &deleted.responses[0];
    assert_eq!(result.error_code, error_codes::INVALID_REQUEST);
    assert!(result
        .error_message
        .as_deref()
        .is_some_and(|m| m.contains("internal topic")));
    assert_eq!(
        delete_topic(&mut client, OFFSETS_TOPIC).await,
        error_codes::INVALID_REQUEST
    );

    let grown: CreatePartitionsResponse = client
        .call(
            3,
            CreatePartitionsRequest {
                topics: vec![CreatePartitionsTopic {
                    name: OFFSETS_TOPIC.into(),
                    count: 10,
                    assignments: None,
                    ..Default::default()
                }],
                timeout_ms: 10_000,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(grown.results[0].error_code, error_codes::INVALID_PARTITIONS);
    assert!(grown.results[0]
        .error_message
        .as_deref()
        .is_some_and(|m| m.contains(OFFSETS_TOPIC)));

    // The topic and the group's offsets are untouched.
    let metadata: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&[OFFSETS_TOPIC]), false),
        )
        .await;
    assert_eq!(metadata.topics[0].error_code, 0);
    assert_eq!(metadata.topics[0].partitions.len(), 3);
    assert!(broker
        .data_dir()
        .join(format!("{OFFSETS_TOPIC}-0"))
        .is_dir());
    assert_eq!(fetch_offset(&mut client, "g", "t", 0).await.0, 4);
}
