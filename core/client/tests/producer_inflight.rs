//! The producer with several batches in flight per partition, its size
//! limits (max.request.size, broker-side MESSAGE_TOO_LARGE) and its
//! buffer.memory back-pressure, against a real Strom broker. Every test
//! reads the records back and checks each partition holds exactly what was
//! acknowledged, once, in send order.

mod common;

use std::collections::HashMap;

use common::{create_topic, read_all, TestBroker, SAFETY_TIMEOUT};
use strom_client::{
    ClientError, ConsumerRecord, DeliveryFuture, Producer, ProducerRecord, RecordMetadata,
};

fn value_of(record: &ConsumerRecord) -> String {
    String::from_utf8(record.value.clone().unwrap().to_vec()).unwrap()
}

/// Each partition's values in log order.
fn by_partition(records: &[ConsumerRecord]) -> HashMap<i32, Vec<String>> {
    let mut partitions: HashMap<i32, Vec<String>> = HashMap::new();
    for record in records {
        partitions
            .entry(record.partition)
            .or_default()
            .push(value_of(record));
    }
    partitions
}

/// Awaits every delivery; all must succeed.
async fn delivered(deliveries: Vec<DeliveryFuture>) -> Vec<RecordMetadata> {
    let mut metadata = Vec::new();
    for delivery in deliveries {
        let outcome = tokio::time::timeout(SAFETY_TIMEOUT, delivery)
            .await
            .expect("the record resolves");
        metadata.push(outcome.expect("the record is delivered"));
    }
    metadata
}

/// `count` records spread round-robin over `partitions`, valued
/// `p{partition}-{index}` so each partition's expected log is known.
fn send_numbered(
    producer: &Producer,
    topic: &str,
    partitions: i32,
    range: std::ops::Range<usize>,
) -> Vec<DeliveryFuture> {
    range
        .map(|i| {
            let partition = (i % partitions as usize) as i32;
            producer.send(
                ProducerRecord::new(topic, format!("p{partition}-{i:06}"))
                    .with_partition(partition),
            )
        })
        .collect()
}

fn expected_logs(partitions: i32, count: usize) -> HashMap<i32, Vec<String>> {
    let mut logs: HashMap<i32, Vec<String>> = HashMap::new();
    for i in 0..count {
        let partition = (i % partitions as usize) as i32;
        logs.entry(partition)
            .or_default()
            .push(format!("p{partition}-{i:06}"));
    }
    logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_batches_with_five_in_flight_arrive_once_and_in_order() {
    let broker = TestBroker::start();
    create_topic(&broker, "pipelined", 4).await;
    let producer = Producer::new(broker.client_config(&[
        ("linger.ms", "0"),
        ("batch.size", "120"),
        ("max.in.flight.requests.per.connection", "5"),
    ]))
    .await
    .unwrap();
    let deliveries = send_numbered(&producer, "pipelined", 4, 0..2000);
    let metadata = delivered(deliveries).await;
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    // Offsets follow send order within each partition.
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    for m in &metadata {
        let previous = last_offset.insert(m.partition, m.offset);
        assert!(
            previous.is_none_or(|p| p < m.offset),
            "{m:?} after {previous:?}"
        );
    }
    let records = read_all(&broker, "pipelined", 4, 2000).await;
    assert_eq!(by_partition(&records), expected_logs(4, 2000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idempotence_max_in_flight_is_respected_and_nothing_is_lost() {
    let broker = TestBroker::start();
    create_topic(&broker, "plain", 2).await;
    let producer = Producer::new(broker.client_config(&[
        ("enable.idempotence", "false"),
        ("acks", "1"),
        ("linger.ms", "0"),
        ("batch.size", "120"),
        ("max.in.flight.requests.per.connection", "3"),
    ]))
    .await
    .unwrap();
    let metadata = delivered(send_numbered(&producer, "plain", 2, 0..600)).await;
    producer.close(SAFETY_TIMEOUT).await.unwrap();
    assert!(metadata.iter().all(|m| m.offset >= 0));
    let records = read_all(&broker, "plain", 2, 600).await;
    // Without a failure nothing is retried, so order holds here too.
    assert_eq!(by_partition(&records), expected_logs(2, 600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_with_five_in_flight_loses_duplicates_and_reorders_nothing() {
    let mut broker = TestBroker::start();
    create_topic(&broker, "restart", 3).await;
    let producer = Producer::new(broker.client_config(&[
        ("linger.ms", "0"),
        ("batch.size", "150"),
        ("retry.backoff.ms", "20"),
        ("max.in.flight.requests.per.connection", "5"),
    ]))
    .await
    .unwrap();
    let mut deliveries = send_numbered(&producer, "restart", 3, 0..1500);
    // Wait until records are flowing, then stop the broker under load.
    let first = deliveries.remove(0);
    tokio::time::timeout(SAFETY_TIMEOUT, first)
        .await
        .unwrap()
        .unwrap();
    broker.stop().await;
    deliveries.extend(send_numbered(&producer, "restart", 3, 1500..2000));
    broker.reopen().await;
    deliveries.extend(send_numbered(&producer, "restart", 3, 2000..2500));
    let metadata = delivered(deliveries).await;
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    let records = read_all(&broker, "restart", 3, 2500).await;
    assert_eq!(by_partition(&records), expected_logs(3, 2500));
    // Every acknowledged offset holds the record acknowledged there.
    let at: HashMap<(i32, i64), String> = records
        .iter()
        .map(|r| ((r.partition, r.offset), value_of(r)))
        .collect();
    for (index, m) in metadata.iter().enumerate() {
        if m.offset >= 0 {
            let index = index + 1; // the first delivery was removed above
            let expected = format!("p{}-{index:06}", m.partition);
            assert_eq!(at.get(&(m.partition, m.offset)), Some(&expected));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_max_request_size_fails_at_once_while_others_are_delivered() {
    let broker = TestBroker::start();
    create_topic(&broker, "sizes", 1).await;
    let producer = Producer::new(broker.client_config(&[("max.request.size", "2000")]))
        .await
        .unwrap();
    let before = producer.send(ProducerRecord::new("sizes", "small-1"));
    let oversized = producer.send(ProducerRecord::new("sizes", vec![b'x'; 5000]));
    let after = producer.send(ProducerRecord::new("sizes", "small-2"));
    let error = oversized
        .await
        .expect_err("bigger than max.request.size")
        .error;
    assert_eq!(error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
    assert!(!error.is_retriable());
    let message = error.to_string();
    assert!(
        message.contains("max.request.size (2000 bytes)"),
        "{message}"
    );
    let refused = ProducerRecord::new("sizes", vec![b'x'; 5000]);
    let waited = producer
        .send_wait(refused.clone())
        .await
        .err()
        .expect("send_wait refuses it too");
    assert_eq!(waited.error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
    assert_eq!(
        waited.record.as_deref(),
        Some(&refused),
        "the refused record is handed back"
    );
    let metadata = delivered(vec![before, after]).await;
    assert_eq!((metadata[0].offset, metadata[1].offset), (0, 1));
    // Records that fill more than one request still all arrive.
    let many: Vec<_> = (0..40)
        .map(|i| producer.send(ProducerRecord::new("sizes", format!("{i:0>300}"))))
        .collect();
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    delivered(many).await;
    producer.close(SAFETY_TIMEOUT).await.unwrap();
    let records = read_all(&broker, "sizes", 1, 42).await;
    let values: Vec<String> = records.iter().map(value_of).collect();
    let mut expected = vec!["small-1".to_string(), "small-2".to_string()];
    expected.extend((0..40).map(|i| format!("{i:0>300}")));
    assert_eq!(values, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_broker_finds_too_large_is_split_and_keeps_its_order() {
    let broker = TestBroker::start_with(&[("message.max.bytes", "2000")]);
    create_topic(&broker, "split", 2).await;
    // One big batch per partition: bigger than the broker accepts.
    let producer =
        Producer::new(broker.client_config(&[("linger.ms", "60000"), ("batch.size", "100000")]))
            .await
            .unwrap();
    let deliveries: Vec<_> = (0..120)
        .map(|i| {
            let partition = i % 2;
            producer.send(
                ProducerRecord::new("split", format!("p{partition}-{i:06}-{:0>150}", i))
                    .with_partition(partition),
            )
        })
        .collect();
    // Alone in its batch, over the broker's limit: cannot be split.
    let single = producer.send(ProducerRecord::new("split", vec![b'y'; 3000]).with_partition(1));
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    let metadata = delivered(deliveries).await;
    let error = single
        .await
        .expect_err("one record over message.max.bytes")
        .error;
    assert_eq!(error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
    // The split batches kept sequences and order: the partition still works.
    let later = producer.send(ProducerRecord::new("split", "later").with_partition(1));
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    delivered(vec![later]).await;
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    for m in &metadata {
        let previous = last_offset.insert(m.partition, m.offset);
        assert!(
            previous.is_none_or(|p| p < m.offset),
            "{m:?} after {previous:?}"
        );
    }
    let records = read_all(&broker, "split", 2, 121).await;
    let mut expected: HashMap<i32, Vec<String>> = HashMap::new();
    for i in 0..120 {
        let partition = i % 2;
        expected
            .entry(partition)
            .or_default()
            .push(format!("p{partition}-{i:06}-{:0>150}", i));
    }
    expected.entry(1).or_default().push("later".to_string());
    assert_eq!(by_partition(&records), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_refuses_or_blocks_new_records_until_the_broker_is_back() {
    let mut broker = TestBroker::start();
    create_topic(&broker, "buffered", 1).await;
    let producer = Producer::new(broker.client_config(&[
        ("buffer.memory", "4096"),
        ("max.block.ms", "200"),
        ("linger.ms", "0"),
        ("retry.backoff.ms", "20"),
    ]))
    .await
    .unwrap();
    // Metadata and producer id first, while the broker is up.
    delivered(vec![
        producer.send(ProducerRecord::new("buffered", "warm-up"))
    ])
    .await;
    broker.stop().await;

    let mut accepted = Vec::new();
    let full = loop {
        assert!(
            accepted.len() < 100,
            "4096 bytes of buffer.memory never fill up"
        );
        let value = format!("{:0>500}", accepted.len());
        let delivery = producer.send(ProducerRecord::new("buffered", value.clone()));
        // A refused record's future is ready at once; an accepted one waits
        // for the broker that is down.
        let mut delivery = Box::pin(delivery);
        match futures_ready(&mut delivery) {
            Some(outcome) => break outcome.expect_err("refused while the buffer is full").error,
            None => accepted.push((value, delivery)),
        }
    };
    assert!(!accepted.is_empty());
    let message = full.to_string();
    assert!(message.contains("buffer.memory = 4096 bytes"), "{message}");
    assert!(full.is_retriable());
    // As big as the refused one: no room for it while the broker is down.
    let waited = producer
        .send_wait(ProducerRecord::new("buffered", format!("{:0>500}", 0)))
        .await
        .err()
        .expect("no room comes while the broker is down")
        .error;
    assert!(matches!(waited, ClientError::Timeout { .. }), "{waited}");
    let message = waited.to_string();
    assert!(message.contains("max.block.ms"), "{message}");
    assert!(message.contains("buffer.memory = 4096 bytes"), "{message}");

    broker.reopen().await;
    let values: Vec<String> = accepted.iter().map(|(value, _)| value.clone()).collect();
    for (_, delivery) in accepted {
        tokio::time::timeout(SAFETY_TIMEOUT, delivery)
            .await
            .expect("resolves once the broker is back")
            .expect("an accepted record is delivered");
    }
    // Room is back: send_wait queues at once and the record goes through.
    let next = producer
        .send_wait(ProducerRecord::new("buffered", "after"))
        .await
        .expect("room again");
    delivered(vec![next]).await;
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    let records = read_all(&broker, "buffered", 1, values.len() + 2).await;
    let mut expected = vec!["warm-up".to_string()];
    expected.extend(values);
    expected.push("after".to_string());
    assert_eq!(records.iter().map(value_of).collect::<Vec<_>>(), expected);
}

/// Polls a future once: its output if it is ready now.
fn futures_ready<F: std::future::Future + Unpin>(future: &mut F) -> Option<F::Output> {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    match std::pin::Pin::new(future).poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}
