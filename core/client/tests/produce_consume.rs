//! Producer and consumer against a real Strom broker.

mod common;

use common::{read_all, TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord};
use strom_protocol::murmur2::partition_for_key;

const PARTITIONS: i32 = 3;

#[tokio::test]
async fn keyed_records_with_headers_round_trip_in_every_codec() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        admin
            .create_topic(NewTopic::new(&topic, PARTITIONS, 1))
            .await
            .unwrap();
        let producer = Producer::new(
            broker.client_config(&[("compression.type", codec), ("linger.ms", "10")]),
        )
        .await
        .unwrap();
        let deliveries: Vec<_> = (0..60)
            .map(|i| {
                producer.send(
                    ProducerRecord::new(&topic, format!("value-{i}"))
                        .with_key(format!("key-{}", i % 7))
                        .with_header("index", i.to_string())
                        .with_timestamp(1_700_000_000_000 + i),
                )
            })
            .collect();
        let mut delivered = Vec::new();
        for delivery in deliveries {
            delivered.push(delivery.await.unwrap());
        }
        producer.close(SAFETY_TIMEOUT).await.unwrap();

        let records = read_all(&broker, &topic, PARTITIONS, 60).await;
        assert_eq!(records.len(), 60, "{codec}");
        for record in &records {
            let key = record.key.as_ref().unwrap();
            // Same partition as the Java client would pick.
            assert_eq!(
                Some(record.partition),
                partition_for_key(key, PARTITIONS),
                "{codec}"
            );
            let index: i64 = std::str::from_utf8(record.headers[0].1.as_ref().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(record.headers[0].0, "index");
            assert_eq!(
                record.value.as_deref(),
                Some(format!("value-{index}").as_bytes()),
                "{codec}"
            );
            assert_eq!(record.timestamp, 1_700_000_000_000 + index);
            let metadata = delivered[index as usize];
            assert_eq!(
                (metadata.partition, metadata.offset),
                (record.partition, record.offset),
                "{codec}"
            );
        }
        // Per key, offsets follow send order.
        for key in 0..7 {
            let indexes: Vec<i64> = records
                .iter()
                .filter(|r| r.key.as_deref() == Some(format!("key-{key}").as_bytes()))
                .map(|r| {
                    std::str::from_utf8(r.headers[0].1.as_ref().unwrap())
                        .unwrap()
                        .parse()
                        .unwrap()
                })
                .collect();
            let mut sorted = indexes.clone();
            sorted.sort();
            assert_eq!(indexes, sorted, "{codec} key-{key}");
        }
    }
}

#[tokio::test]
async fn idempotent_producer_survives_a_broker_restart_without_duplicates_or_reordering() {
    let mut broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("ledger", PARTITIONS, 1))
        .await
        .unwrap();
    drop(admin);
    let producer =
        Producer::new(broker.client_config(&[("linger.ms", "0"), ("retry.backoff.ms", "20")]))
            .await
            .unwrap();

    let send = |from: i64, to: i64| {
        (from..to)
            .map(|i| {
                producer.send(
                    ProducerRecord::new("ledger", i.to_string()).with_key(format!("k{}", i % 5)),
                )
            })
            .collect::<Vec<_>>()
    };
    let first = send(0, 100);
    broker.stop().await;
    let during = send(100, 200);
    broker.reopen().await;
    let after = send(200, 300);
    for delivery in first.into_iter().chain(during).chain(after) {
        delivery.await.unwrap();
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    let records = read_all(&broker, "ledger", PARTITIONS, 300).await;
    let mut values: Vec<i64> = records
        .iter()
        .map(|r| {
            std::str::from_utf8(r.value.as_ref().unwrap())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    for key in 0..5 {
        let per_key: Vec<i64> = values.iter().copied().filter(|v| v % 5 == key).collect();
        assert_eq!(
            per_key,
            (0..300).filter(|v| v % 5 == key).collect::<Vec<_>>(),
            "key k{key} in order, once each"
        );
    }
    values.sort();
    assert_eq!(values, (0..300).collect::<Vec<_>>());
}

#[tokio::test]
async fn unkeyed_records_stick_to_one_partition_per_batch_and_topics_are_auto_created() {
    let broker = TestBroker::start();
    let producer = Producer::new(broker.client_config(&[("linger.ms", "1000")]))
        .await
        .unwrap();
    let deliveries: Vec<_> = (0..10)
        .map(|i| producer.send(ProducerRecord::new("auto-created", i.to_string())))
        .collect();
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    let mut partitions = Vec::new();
    for delivery in deliveries {
        partitions.push(delivery.await.unwrap().partition);
    }
    partitions.dedup();
    assert_eq!(
        partitions.len(),
        1,
        "one batch, one partition: {partitions:?}"
    );
}
