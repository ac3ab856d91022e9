//! DescribeTopicPartitions (KIP-966): topics in name order with their
//! partitions, paged by a partition limit and a cursor, as Kafka's admin
//! client (3.8+) reads them.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use strom_protocol::messages::{DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse};

async fn describe(
    client: &mut Client,
    topics: &[&str],
    limit: i32,
    cursor: Option<(&str, i32)>,
) -> DescribeTopicPartitionsResponse {
    let request = DescribeTopicPartitionsRequest {
        topics: topics
            .iter()
            .map(|name| TopicRequest {
                name: name.to_string(),
                ..Default::default()
            })
            .collect(),
        response_partition_limit: limit,
        cursor: cursor.map(|(topic, partition)| Cursor {
            topic_name: topic.to_string(),
            partition_index: partition,
            ..Default::default()
        }),
        ..Default::default()
    };
    client.call(0, request).await
}

/// (topic, partition) of every partition described, in order.
fn described(response: &DescribeTopicPartitionsResponse) -> Vec<(String, i32)> {
    response
        .topics
        .iter()
        .flat_map(|t| {
            let name = t.name.clone().unwrap_or_default();
            t.partitions
                .iter()
                .map(move |p| (name.clone(), p.partition_index))
        })
        .collect()
}

fn next(response: &DescribeTopicPartitionsResponse) -> Option<(String, i32)> {
    response
        .next_cursor
        .as_ref()
        .map(|c| (c.topic_name.clone(), c.partition_index))
}

#[tokio::test]
async fn every_topic_is_described_a_page_at_a_time() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    // Created out of order: answers come in name order.
    create_topic(&mut client, "b-two", 2, &[]).await;
    create_topic(&mut client, "a-three", 3, &[]).await;
    create_topic(&mut client, "c-one", 1, &[]).await;

    let first = describe(&mut client, &[], 4, None).await;
    let pairs = |list: &[(&str, i32)]| -> Vec<(String, i32)> {
        list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    };
    assert_eq!(
        described(&first),
        pairs(&[("a-three", 0), ("a-three", 1), ("a-three", 2), ("b-two", 0)])
    );
    assert_eq!(next(&first), Some(("b-two".to_string(), 1)));
    let node = first.topics[0].partitions[0].leader_id;
    for topic in &first.topics {
        assert_eq!(topic.error_code, 0);
        assert_ne!(topic.topic_id, Default::default());
        for partition in &topic.partitions {
            assert_eq!(partition.replica_nodes, vec![node]);
            assert_eq!(partition.isr_nodes, vec![node]);
        }
    }

    let second = describe(&mut client, &[], 4, Some(("b-two", 1))).await;
    assert_eq!(described(&second), pairs(&[("b-two", 1), ("c-one", 0)]));
    assert_eq!(next(&second), None, "the last page");

    // A page that ends exactly at a topic's end points at the next topic.
    let exact = describe(&mut client, &[], 3, None).await;
    assert_eq!(next(&exact), Some(("b-two".to_string(), 0)));
}

#[tokio::test]
async fn named_topics_come_sorted_with_errors_for_the_missing_and_the_invalid() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "kept", 2, &[]).await;
    let response = describe(
        &mut client,
        &["zz-missing", "kept", "bad/name", "kept"],
        2000,
        None,
    )
    .await;
    let answers: Vec<(Option<&str>, i16, usize)> = response
        .topics
        .iter()
        .map(|t| (t.name.as_deref(), t.error_code, t.partitions.len()))
        .collect();
    assert_eq!(
        answers,
        vec![
            (Some("bad/name"), error_codes::INVALID_TOPIC_EXCEPTION, 0),
            (Some("kept"), 0, 2),
            (
                Some("zz-missing"),
                error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                0
            ),
        ],
        "each named once, in name order"
    );

    // Nothing is created on the side.
    let again = describe(&mut client, &["zz-missing"], 2000, None).await;
    assert_eq!(
        again.topics[0].error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );

    // A cursor must point into the topics asked for.
    let refused = describe(&mut client, &["kept"], 2000, Some(("other", 0))).await;
    assert_eq!(refused.topics.len(), 1);
    assert_eq!(refused.topics[0].error_code, error_codes::INVALID_REQUEST);
}

#[tokio::test]
async fn the_broker_caps_the_page_at_max_request_partition_size_limit() {
    let broker = TestBroker::start_with(&[("max.request.partition.size.limit", "2")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "wide", 5, &[]).await;
    let response = describe(&mut client, &["wide"], 2000, None).await;
    assert_eq!(response.topics[0].partitions.len(), 2);
    assert_eq!(next(&response), Some(("wide".to_string(), 2)));
}
