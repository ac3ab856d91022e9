//! `Producer::send_with_callback` on the async producer against a real
//! Strom broker: each callback is called exactly once, with where its
//! record was written or why it failed, and never on the caller's stack.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{create_topic, read_all, TestBroker, SAFETY_TIMEOUT};
use strom_client::{
    ClientError, DeliveryError, DeliveryResult, Producer, ProducerRecord, RecordMetadata, RecordRef,
};
use tokio::sync::mpsc;

type Report = (usize, DeliveryResult);

/// A callback for record `index` that counts its calls in `calls` and
/// reports its outcome on `reports`.
fn reporting(
    index: usize,
    calls: &Arc<Vec<AtomicUsize>>,
    reports: &mpsc::UnboundedSender<Report>,
) -> impl FnOnce(DeliveryResult) + Send + 'static {
    let calls = calls.clone();
    let reports = reports.clone();
    move |outcome| {
        calls[index].fetch_add(1, Ordering::SeqCst);
        let _ = reports.send((index, outcome));
    }
}

fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_callback_reports_where_its_record_was_written_once() {
    const RECORDS: usize = 50;
    let broker = TestBroker::start();
    create_topic(&broker, "called-back", 3).await;
    let producer = Producer::new(broker.client_config(&[("linger.ms", "5")]))
        .await
        .unwrap();
    let calls = counters(RECORDS);
    let (reports, mut reported) = mpsc::unbounded_channel();
    for i in 0..RECORDS {
        let record =
            ProducerRecord::new("called-back", format!("value-{i}")).with_key(i.to_string());
        producer.send_with_callback(record, reporting(i, &calls, &reports));
    }
    drop(reports);
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    let mut written: HashMap<String, RecordMetadata> = HashMap::new();
    for _ in 0..RECORDS {
        let (i, outcome) = tokio::time::timeout(SAFETY_TIMEOUT, reported.recv())
            .await
            .unwrap()
            .unwrap();
        written.insert(format!("value-{i}"), outcome.unwrap());
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();
    drop(producer);
    // No callback is left to call (the channel is closed): none twice.
    let rest = tokio::time::timeout(SAFETY_TIMEOUT, reported.recv())
        .await
        .unwrap();
    assert!(rest.is_none(), "{rest:?}");
    assert!(calls.iter().all(|count| count.load(Ordering::SeqCst) == 1));

    let records = read_all(&broker, "called-back", 3, RECORDS).await;
    for record in records {
        let value =
            String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned();
        let metadata = written[&value];
        assert_eq!(
            (record.partition, record.offset),
            (metadata.partition, metadata.offset),
            "{value}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_record_refused_at_once_fails_its_callback_once_after_send_returns() {
    let broker = TestBroker::start();
    create_topic(&broker, "refused", 1).await;
    let producer = Producer::new(broker.client_config(&[("max.request.size", "2000")]))
        .await
        .unwrap();
    let calls = counters(1);
    let (reports, mut reported) = mpsc::unbounded_channel();
    producer.send_with_callback(
        ProducerRecord::new("refused", vec![b'x'; 5000]),
        reporting(0, &calls, &reports),
    );
    // On this single-threaded runtime nothing else ran yet: the callback
    // was not called inside send_with_callback.
    assert_eq!(calls[0].load(Ordering::SeqCst), 0);
    drop(reports);
    let (_, outcome) = tokio::time::timeout(SAFETY_TIMEOUT, reported.recv())
        .await
        .unwrap()
        .unwrap();
    let failure = outcome.expect_err("bigger than max.request.size");
    assert_eq!(failure.error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
    // The refused record is handed back.
    let record = failure.record.expect("the refused record");
    assert_eq!(record.value.as_deref(), Some(&[b'x'; 5000][..]));
    assert!(reported.recv().await.is_none());
    assert_eq!(calls[0].load(Ordering::SeqCst), 1);
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_broker_rejects_fails_its_callback_once() {
    let broker = TestBroker::start_with(&[("message.max.bytes", "2000")]);
    create_topic(&broker, "rejected", 1).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    let calls = counters(2);
    let (reports, mut reported) = mpsc::unbounded_channel();
    // Under max.request.size, over the broker's limit, alone in its batch:
    // the broker answers MESSAGE_TOO_LARGE and it cannot be split.
    producer.send_with_callback(
        ProducerRecord::new("rejected", vec![b'y'; 3000]),
        reporting(0, &calls, &reports),
    );
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    producer.send_with_callback(
        ProducerRecord::new("rejected", "small"),
        reporting(1, &calls, &reports),
    );
    producer.close(SAFETY_TIMEOUT).await.unwrap();
    drop(reports);
    let mut outcomes = HashMap::new();
    while let Some((i, outcome)) = tokio::time::timeout(SAFETY_TIMEOUT, reported.recv())
        .await
        .unwrap()
    {
        assert!(
            outcomes.insert(i, outcome).is_none(),
            "record {i} reported twice"
        );
    }
    let failure = outcomes
        .remove(&0)
        .unwrap()
        .expect_err("over message.max.bytes");
    assert_eq!(failure.error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
    // The rejected record is handed back.
    let record = failure.record.expect("the rejected record");
    assert_eq!(record.value.as_deref(), Some(&[b'y'; 3000][..]));
    assert_eq!(outcomes.remove(&1).unwrap().unwrap().offset, 0);
    assert!(calls.iter().all(|count| count.load(Ordering::SeqCst) == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_callback_does_not_stop_the_producer() {
    let broker = TestBroker::start();
    create_topic(&broker, "panicky", 1).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    producer.send_with_callback(ProducerRecord::new("panicky", "first"), |_| {
        panic!("a callback that panics (on purpose, in a test)")
    });
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    let calls = counters(1);
    let (reports, mut reported) = mpsc::unbounded_channel();
    producer.send_with_callback(
        ProducerRecord::new("panicky", "second"),
        reporting(0, &calls, &reports),
    );
    let (_, outcome) = tokio::time::timeout(SAFETY_TIMEOUT, reported.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.unwrap().offset, 1);
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_delivery_future_does_not_cancel_the_record() {
    let broker = TestBroker::start();
    create_topic(&broker, "unawaited", 1).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    drop(producer.send(ProducerRecord::new("unawaited", "nobody waits")));
    let waited = producer
        .send(ProducerRecord::new("unawaited", "awaited"))
        .await
        .unwrap();
    assert_eq!(waited.offset, 1);
    producer.close(SAFETY_TIMEOUT).await.unwrap();
    let records = read_all(&broker, "unawaited", 1, 2).await;
    assert_eq!(records[0].value.as_deref(), Some(&b"nobody waits"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_wait_with_callback_waits_for_room_and_calls_back_once_whatever_happens() {
    let mut broker = TestBroker::start();
    create_topic(&broker, "waited", 1).await;
    // Room for about three 1000-byte records.
    let producer = Producer::new(broker.client_config(&[
        ("buffer.memory", "3500"),
        ("max.block.ms", "60000"),
        ("max.request.size", "3000"),
    ]))
    .await
    .unwrap();
    let calls = counters(8);
    let (reports, mut reported) = mpsc::unbounded_channel();

    // Bigger than max.request.size: refused, reported to the callback.
    producer
        .send_wait_with_callback(
            ProducerRecord::new("waited", vec![b'x'; 5000]),
            reporting(0, &calls, &reports),
        )
        .await;
    let (index, refused) = reported.recv().await.unwrap();
    assert_eq!(index, 0);
    assert!(
        matches!(
            refused,
            Err(DeliveryError {
                error: ClientError::RecordTooLarge { .. },
                ..
            })
        ),
        "{refused:?}"
    );

    // With the broker down, three records fill the buffer; the fourth
    // waits for room, and dropping that wait calls its callback (Closed).
    broker.stop().await;
    for i in 1..=3 {
        let record = ProducerRecord::new("waited", vec![b'a' + i as u8; 1000]);
        producer
            .send_wait_with_callback(record, reporting(i, &calls, &reports))
            .await;
    }
    let waiting = producer.send_wait_with_callback(
        ProducerRecord::new("waited", vec![b'w'; 1000]),
        reporting(4, &calls, &reports),
    );
    let gave_up = tokio::time::timeout(std::time::Duration::from_millis(300), waiting).await;
    assert!(gave_up.is_err(), "the buffer should have been full");
    let (index, dropped) = reported.recv().await.unwrap();
    assert_eq!(index, 4);
    assert!(
        matches!(
            dropped,
            Err(DeliveryError {
                error: ClientError::Closed { .. },
                ..
            })
        ),
        "{dropped:?}"
    );

    // The broker returns: the queued records are delivered, and the next
    // waits get room.
    broker.reopen().await;
    for i in 5..8 {
        let record = ProducerRecord::new("waited", vec![b'a' + i as u8; 1000]);
        producer
            .send_wait_with_callback(record, reporting(i, &calls, &reports))
            .await;
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();
    drop(reports);
    let mut offsets = Vec::new();
    while let Some((i, outcome)) = reported.recv().await {
        offsets.push((outcome.unwrap().offset, i));
    }
    offsets.sort();
    let order: Vec<usize> = offsets.iter().map(|(_, i)| *i).collect();
    assert_eq!(
        order,
        vec![1, 2, 3, 5, 6, 7],
        "delivered once each, in send order"
    );
    assert!(calls.iter().all(|count| count.load(Ordering::SeqCst) == 1));
}

/// `try_send_ref`, the bindings' path: a borrowed record is written as
/// given, both before its topic's metadata is known (it waits, copied)
/// and after (encoded straight from the borrowed bytes); a refused one
/// comes back owned, bytes intact, its callback uncalled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowed_record_is_written_as_given_and_a_refused_one_comes_back_owned() {
    const RECORDS: usize = 20;
    let broker = TestBroker::start();
    create_topic(&broker, "borrowed", 2).await;
    let producer = Producer::new(broker.client_config(&[("max.request.size", "4000")]))
        .await
        .unwrap();
    let calls = counters(RECORDS + 1);
    let (reports, mut reported) = mpsc::unbounded_channel();
    for i in 0..RECORDS {
        // Each record's bytes live only for this iteration.
        let key = format!("key-{i}");
        let value = format!("value-{i}").into_bytes();
        let headers = [("trace", Some(&b"t"[..])), ("empty", None)];
        let record = RecordRef {
            topic: "borrowed",
            partition: Some((i % 2) as i32),
            key: Some(key.as_bytes()),
            value: Some(&value),
            headers: &headers,
            timestamp: Some(1_700_000_000_000 + i as i64),
        };
        producer
            .try_send_ref_with_callback(record, reporting(i, &calls, &reports))
            .unwrap();
    }
    let too_large = vec![b'x'; 5000];
    let refused = producer
        .try_send_ref_with_callback(
            RecordRef {
                topic: "borrowed",
                value: Some(&too_large),
                ..RecordRef::default()
            },
            reporting(RECORDS, &calls, &reports),
        )
        .expect_err("bigger than max.request.size");
    assert_eq!(refused.error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
    let record = refused.record.expect("the refused record, owned");
    assert_eq!(record.value.as_deref(), Some(&too_large[..]));
    drop(reports);
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
    for _ in 0..RECORDS {
        let (_, outcome) = tokio::time::timeout(SAFETY_TIMEOUT, reported.recv())
            .await
            .unwrap()
            .unwrap();
        outcome.unwrap();
    }
    assert!(reported.recv().await.is_none());
    assert_eq!(calls[RECORDS].load(Ordering::SeqCst), 0);
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    let mut records = read_all(&broker, "borrowed", 2, RECORDS).await;
    records.sort_by_key(|record| record.timestamp);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.partition, (i % 2) as i32);
        assert_eq!(record.key.as_deref(), Some(format!("key-{i}").as_bytes()));
        assert_eq!(
            record.value.as_deref(),
            Some(format!("value-{i}").as_bytes())
        );
        assert_eq!(record.timestamp, 1_700_000_000_000 + i as i64);
        let headers: Vec<(&str, Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect();
        assert_eq!(headers, [("trace", Some(&b"t"[..])), ("empty", None)]);
    }
}
