//! `subscribe_pattern`: a group member consumes every topic matching a
//! pattern, including topics created after it joined.

mod common;

use std::time::Duration;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Consumer, ConsumerRecord, Producer, ProducerRecord};
use tokio::time::Instant;

/// Polls until a record of `topic` arrives; returns everything polled.
async fn poll_until_topic(consumer: &Consumer, topic: &str) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut polled = Vec::new();
    while !polled.iter().any(|r: &ConsumerRecord| &*r.topic == topic) {
        assert!(Instant::now() < deadline, "no record of `{topic}` arrived");
        polled.extend(consumer.poll(Duration::from_millis(100)).await.unwrap());
    }
    polled
}

#[tokio::test]
async fn pattern_subscription_picks_up_matching_topics_created_later() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    for topic in ["orders-a", "payments"] {
        admin
            .create_topic(NewTopic::new(topic, 2, 1))
            .await
            .unwrap();
    }
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    for topic in ["orders-a", "payments"] {
        producer
            .send(ProducerRecord::new(topic, format!("first of {topic}")))
            .await
            .unwrap();
    }

    let consumer = Consumer::new(broker.client_config(&[
        ("group.id", "order-watchers"),
        ("auto.offset.reset", "earliest"),
        ("heartbeat.interval.ms", "100"),
        ("metadata.max.age.ms", "300"),
    ]))
    .await
    .unwrap();
    let invalid = consumer.subscribe_pattern("orders-(").await.unwrap_err();
    assert!(invalid.to_string().contains("orders-("), "{invalid}");
    consumer.subscribe_pattern("^orders-.*").await.unwrap();
    assert_eq!(
        consumer.subscription_pattern().await.as_deref(),
        Some("^orders-.*")
    );

    let mut polled = poll_until_topic(&consumer, "orders-a").await;
    assert_eq!(consumer.subscription().await, vec!["orders-a".to_string()]);

    admin
        .create_topic(NewTopic::new("orders-b", 3, 1))
        .await
        .unwrap();
    producer
        .send(ProducerRecord::new("orders-b", "first of orders-b"))
        .await
        .unwrap();
    polled.extend(poll_until_topic(&consumer, "orders-b").await);

    assert_eq!(
        consumer.subscription().await,
        vec!["orders-a".to_string(), "orders-b".to_string()]
    );
    let mut assigned_topics: Vec<String> = consumer
        .assignment()
        .await
        .into_iter()
        .map(|tp| tp.topic.to_string())
        .collect();
    assigned_topics.dedup();
    assert_eq!(assigned_topics, ["orders-a", "orders-b"]);
    assert!(
        polled.iter().all(|r| r.topic.starts_with("orders-")),
        "a topic outside the pattern was consumed: {polled:?}"
    );
    let values: Vec<&[u8]> = polled.iter().filter_map(|r| r.value.as_deref()).collect();
    assert!(values.contains(&b"first of orders-a".as_slice()));
    assert!(values.contains(&b"first of orders-b".as_slice()));
    consumer.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn pattern_subscription_needs_a_group() {
    let broker = TestBroker::start();
    let consumer = Consumer::new(broker.client_config(&[])).await.unwrap();
    let error = consumer.subscribe_pattern("orders-.*").await.unwrap_err();
    assert!(error.to_string().contains("group.id"), "{error}");
}

#[tokio::test]
async fn pattern_subscription_leaves_out_internal_topics() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("events", 1, 1))
        .await
        .unwrap();
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    producer
        .send(ProducerRecord::new("events", "one"))
        .await
        .unwrap();
    let consumer = Consumer::new(broker.client_config(&[
        ("group.id", "everything"),
        ("auto.offset.reset", "earliest"),
        ("metadata.max.age.ms", "300"),
    ]))
    .await
    .unwrap();
    consumer.subscribe_pattern(".*").await.unwrap();
    poll_until_topic(&consumer, "events").await;
    consumer.commit_sync().await.unwrap();

    // The group's commits live in an internal topic the pattern matches by
    // name; wait until the cluster lists it, then for one more refresh.
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    loop {
        let all = admin.list_topics(true).await.unwrap();
        let external = admin.list_topics(false).await.unwrap();
        if all.iter().any(|topic| !external.contains(topic)) {
            break;
        }
        assert!(Instant::now() < deadline, "no internal topic was listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let member = consumer.member_id().await;
    for _ in 0..5 {
        consumer.poll(Duration::from_millis(100)).await.unwrap();
    }
    assert_eq!(consumer.subscription().await, vec!["events".to_string()]);
    assert_eq!(consumer.member_id().await, member);
    consumer.close(SAFETY_TIMEOUT).await.unwrap();
}

/// librdkafka's subscription list: `^` entries are patterns, the others
/// names matched literally (a `.` in a name is not "any character").
#[tokio::test]
async fn a_list_of_names_and_patterns_subscribes_to_exactly_what_it_names() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    for topic in ["logs.web", "logsxweb", "metrics-1", "metrics-x"] {
        admin
            .create_topic(NewTopic::new(topic, 1, 1))
            .await
            .unwrap();
        producer
            .send(ProducerRecord::new(topic, format!("first of {topic}")))
            .await
            .unwrap();
    }
    let config = |group| {
        broker.client_config(&[
            ("group.id", group),
            ("auto.offset.reset", "earliest"),
            ("heartbeat.interval.ms", "100"),
        ])
    };

    let consumer = Consumer::new(config("mixed")).await.unwrap();
    consumer
        .subscribe_names_or_patterns(&["logs.web", "^metrics-[0-9]+$"])
        .await
        .unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut polled: Vec<ConsumerRecord> = Vec::new();
    while polled.len() < 2 {
        assert!(Instant::now() < deadline, "only {polled:?} arrived");
        polled.extend(consumer.poll(Duration::from_millis(100)).await.unwrap());
    }
    // Nothing of the topics it does not name arrives later either.
    polled.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
    assert_eq!(polled.len(), 2, "{polled:?}");
    assert_eq!(
        consumer.subscription().await,
        vec!["logs.web".to_string(), "metrics-1".to_string()]
    );
    assert!(polled
        .iter()
        .all(|record| &*record.topic == "logs.web" || &*record.topic == "metrics-1"));
    consumer.close(SAFETY_TIMEOUT).await.unwrap();

    // Names only: a plain subscription, no pattern.
    let plain = Consumer::new(config("plain")).await.unwrap();
    plain
        .subscribe_names_or_patterns(&["logs.web"])
        .await
        .unwrap();
    assert_eq!(plain.subscription_pattern().await, None);
    assert_eq!(plain.subscription().await, vec!["logs.web".to_string()]);
    plain.close(SAFETY_TIMEOUT).await.unwrap();
}
