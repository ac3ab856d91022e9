//! Records the producer can never deliver fail with a clear error, and
//! `flush` still returns.

mod common;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord};

#[tokio::test]
async fn records_to_a_topic_that_never_appears_fail_after_the_delivery_timeout() {
    let broker = TestBroker::start_with(&[("auto.create.topics.enable", "false")]);
    let producer = Producer::new(broker.client_config(&[("delivery.timeout.ms", "1000")]))
        .await
        .unwrap();
    let delivery = producer.send(ProducerRecord::new("no-such-topic", "lost"));
    let failure = tokio::time::timeout(SAFETY_TIMEOUT, delivery)
        .await
        .expect("the record resolves instead of waiting forever")
        .expect_err("the topic does not exist");
    assert_eq!(
        failure.record.as_deref().map(|r| r.value.as_deref()),
        Some(Some(&b"lost"[..])),
        "the failed record is handed back"
    );
    let error = failure.error;
    assert_eq!(error.kafka_name(), Some("UNKNOWN_TOPIC_OR_PARTITION"));
    let message = error.to_string();
    assert!(message.contains("`no-such-topic`"), "{message}");
    assert!(message.contains("delivery.timeout.ms"), "{message}");
    producer
        .flush(SAFETY_TIMEOUT)
        .await
        .expect("flush returns once the record failed");
}

#[tokio::test]
async fn records_to_a_topic_the_broker_refuses_fail_at_once() {
    // An invalid name will never appear: the record fails with the
    // broker's reason long before the (default, two-minute) delivery
    // timeout, and flush returns.
    let broker = TestBroker::start();
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    let delivery = producer.send(ProducerRecord::new("bad topic!", "refused"));
    let failure = tokio::time::timeout(SAFETY_TIMEOUT, delivery)
        .await
        .expect("the record resolves well before delivery.timeout.ms")
        .expect_err("the name is invalid");
    assert_eq!(failure.error.kafka_name(), Some("INVALID_TOPIC_EXCEPTION"));
    let message = failure.error.to_string();
    assert!(message.contains("refused the topic"), "{message}");
    assert!(!message.contains("auto.create.topics.enable"), "{message}");
    producer
        .flush(SAFETY_TIMEOUT)
        .await
        .expect("flush returns once the record failed");
}

#[tokio::test]
async fn allow_auto_create_topics_false_leaves_a_missing_topic_missing() {
    // The broker would create it; the producer asked it not to.
    let broker = TestBroker::start();
    let producer = Producer::new(broker.client_config(&[
        ("delivery.timeout.ms", "1000"),
        ("allow.auto.create.topics", "false"),
    ]))
    .await
    .unwrap();
    let delivery = producer.send(ProducerRecord::new("not-to-be-created", "lost"));
    let failure = tokio::time::timeout(SAFETY_TIMEOUT, delivery)
        .await
        .expect("the record resolves")
        .expect_err("the topic was not created");
    assert_eq!(
        failure.error.kafka_name(),
        Some("UNKNOWN_TOPIC_OR_PARTITION")
    );
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    let topics = admin.list_topics(false).await.unwrap();
    assert!(
        !topics.iter().any(|t| t == "not-to-be-created"),
        "{topics:?}"
    );

    // By default the producer lets the broker create it, as Java's does.
    let creating = Producer::new(broker.client_config(&[])).await.unwrap();
    creating
        .send(ProducerRecord::new("created-on-write", "kept"))
        .await
        .expect("auto-created");
}

#[tokio::test]
async fn records_to_a_missing_partition_fail_at_once_and_flush_returns() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("two-partitions", 2, 1))
        .await
        .unwrap();
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    // The first record waits for the topic's metadata, the second finds it
    // cached: both paths must fail the record and settle it for flush.
    let before_metadata =
        producer.send(ProducerRecord::new("two-partitions", "a").with_partition(5));
    let first = tokio::time::timeout(SAFETY_TIMEOUT, before_metadata)
        .await
        .expect("resolves")
        .expect_err("partition 5 does not exist");
    producer
        .flush(SAFETY_TIMEOUT)
        .await
        .expect("flush returns after the rejected record");
    let cached = producer.send(ProducerRecord::new("two-partitions", "b").with_partition(2));
    let second = tokio::time::timeout(SAFETY_TIMEOUT, cached)
        .await
        .expect("resolves")
        .expect_err("partition 2 does not exist");
    for (failure, partition, value) in [(first, 5, "a"), (second, 2, "b")] {
        let record = failure
            .record
            .as_deref()
            .expect("the failed record is handed back");
        assert_eq!(record.value.as_deref(), Some(value.as_bytes()));
        assert_eq!(record.partition, Some(partition));
        assert_eq!(
            failure.error.code(),
            strom_client::error::local::UNKNOWN_PARTITION,
            "librdkafka's _UNKNOWN_PARTITION"
        );
        let message = failure.error.to_string();
        assert!(message.contains("`two-partitions`"), "{message}");
        assert!(
            message.contains(&format!("partition {partition} does not exist")),
            "{message}"
        );
    }
    producer.flush(SAFETY_TIMEOUT).await.expect("flush returns");
    let delivered = producer
        .send(ProducerRecord::new("two-partitions", "c").with_partition(1))
        .await
        .expect("a real partition still works");
    assert_eq!(delivered.partition, 1);
}
