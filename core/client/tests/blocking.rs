//! The blocking clients (`strom_client::blocking`) against a real Strom
//! broker, from plain threads: no test here runs inside a tokio runtime
//! except where that is the point.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::blocking;
use strom_client::{
    tps, ClientError, ConsumerRecord, DeliveryError, DeliveryResult, ProducerRecord,
    RecordMetadata, TopicPartition,
};

const PARTITIONS: i32 = 3;
const WITH_HANDLES: usize = 30;
const WITH_CALLBACKS: usize = 30;

fn value_of(record: &ConsumerRecord) -> String {
    String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned()
}

/// Polls until `expected` records came or the safety net ran out.
fn poll_until(consumer: &blocking::Consumer, expected: usize) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut records = Vec::new();
    while records.len() < expected {
        assert!(
            Instant::now() < deadline,
            "read {} of {expected} records",
            records.len()
        );
        records.extend(consumer.poll(Duration::from_millis(200)).unwrap());
    }
    records
}

#[test]
fn blocking_clients_produce_and_consume_through_a_group() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin
        .create_topic(NewTopic::new("plain", PARTITIONS, 1))
        .unwrap();
    assert!(admin.list_topics(false).unwrap().contains(&"plain".into()));

    let producer = blocking::Producer::new(broker.client_config(&[("linger.ms", "5")])).unwrap();
    let mut handles: Vec<_> = (0..WITH_HANDLES)
        .map(|i| {
            producer
                .send(ProducerRecord::new("plain", format!("value-{i}")).with_key(i.to_string()))
        })
        .collect();
    // Each callback counts its calls and reports where its record went.
    let calls: Arc<Vec<AtomicUsize>> =
        Arc::new((0..WITH_CALLBACKS).map(|_| AtomicUsize::new(0)).collect());
    let (reports, reported) = mpsc::channel::<(usize, DeliveryResult)>();
    for i in WITH_HANDLES..WITH_HANDLES + WITH_CALLBACKS {
        let calls = calls.clone();
        let reports = reports.clone();
        let record = ProducerRecord::new("plain", format!("value-{i}")).with_key(i.to_string());
        let callback = move |outcome| {
            calls[i - WITH_HANDLES].fetch_add(1, Ordering::SeqCst);
            let _ = reports.send((i, outcome));
        };
        // Half never block, half may wait for room (Java's send).
        if i % 2 == 0 {
            producer.send_with_callback(record, callback).unwrap();
        } else {
            producer.send_wait_with_callback(record, callback).unwrap();
        }
    }
    drop(reports);
    producer.flush(SAFETY_TIMEOUT).unwrap();

    let mut written: HashMap<usize, RecordMetadata> = HashMap::new();
    for (i, handle) in handles.iter_mut().enumerate() {
        let metadata = handle.wait(SAFETY_TIMEOUT).unwrap();
        // A handle answers again with the same outcome.
        assert_eq!(handle.wait(Duration::ZERO).unwrap(), metadata);
        written.insert(i, metadata);
    }
    for _ in 0..WITH_CALLBACKS {
        let (i, outcome) = reported.recv_timeout(SAFETY_TIMEOUT).unwrap();
        assert!(
            written.insert(i, outcome.unwrap()).is_none(),
            "record {i} reported twice"
        );
    }
    producer.close(SAFETY_TIMEOUT).unwrap();
    drop(producer);
    // Every callback is gone (the channel is closed), each called once.
    assert!(reported.recv_timeout(SAFETY_TIMEOUT).is_err());
    assert!(calls.iter().all(|count| count.load(Ordering::SeqCst) == 1));

    let total = WITH_HANDLES + WITH_CALLBACKS;
    let consumer = blocking::Consumer::new(broker.client_config(&[
        ("group.id", "blocking-group"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
    ]))
    .unwrap();
    consumer.subscribe(&["plain"]).unwrap();
    let records = poll_until(&consumer, total);
    assert_eq!(records.len(), total);
    // Each record is where its handle or callback said it was written.
    for record in &records {
        let value = value_of(record);
        let index: usize = value
            .strip_prefix("value-")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("unexpected record {value}"));
        let metadata = written[&index];
        assert_eq!(
            (record.partition, record.offset),
            (metadata.partition, metadata.offset),
            "{value}"
        );
    }
    consumer.commit_sync().unwrap();
    let mut per_partition: BTreeMap<i32, i64> = BTreeMap::new();
    for record in &records {
        let next = per_partition.entry(record.partition).or_default();
        *next = (*next).max(record.offset + 1);
    }
    for (&partition, &next) in &per_partition {
        let tp = TopicPartition::new("plain", partition);
        assert_eq!(consumer.committed(tp.clone()).unwrap(), Some(next));
        assert_eq!(consumer.position(tp).unwrap(), Some(next));
    }
    // An async commit through a handle lands too.
    let mut commit = consumer.commit_async().unwrap();
    commit.wait(SAFETY_TIMEOUT).unwrap();
    commit.wait(Duration::ZERO).unwrap();
    consumer.close(SAFETY_TIMEOUT).unwrap();
    assert!(matches!(
        consumer.poll(Duration::ZERO),
        Err(ClientError::Closed { .. })
    ));

    let lag = admin.group_lag("blocking-group").unwrap();
    let committed: BTreeMap<i32, i64> = lag
        .iter()
        .filter(|offset| &*offset.tp.topic == "plain")
        .map(|offset| (offset.tp.partition, offset.committed_offset))
        .collect();
    assert_eq!(committed, per_partition);
    assert!(lag.iter().all(|offset| offset.lag == Some(0)), "{lag:?}");
}

#[test]
fn a_blocking_call_inside_a_tokio_runtime_is_refused_not_a_panic() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("inside", 1, 1)).unwrap();
    let producer = blocking::Producer::new(broker.client_config(&[])).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut handle = runtime.block_on(async {
        let refused = blocking::AdminClient::new(broker.client_config(&[]));
        assert!(matches!(refused, Err(ClientError::InvalidArgument(_))));
        let refused = admin.list_topics(false);
        match refused {
            Err(ClientError::InvalidArgument(message)) => {
                assert!(message.contains("async client"), "{message}")
            }
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
        assert!(matches!(
            producer.flush(Duration::ZERO),
            Err(ClientError::InvalidArgument(_))
        ));
        // `send` never blocks, so it works here; waiting on it does not.
        let mut handle = producer.send(ProducerRecord::new("inside", "from a task"));
        assert!(matches!(
            handle.wait(Duration::ZERO),
            Err(DeliveryError {
                error: ClientError::InvalidArgument(_),
                ..
            })
        ));
        handle
    });
    // Outside the runtime the same handle gives the delivery.
    let metadata = handle.wait(SAFETY_TIMEOUT).unwrap();
    assert_eq!((metadata.partition, metadata.offset), (0, 0));
    // Dropping a blocking client inside an async context does not panic
    // either (the shared client runtime's threads keep running).
    runtime.block_on(async move {
        producer.close(Duration::ZERO).unwrap_err();
        drop(producer);
        drop(admin);
    });
}

#[test]
fn a_delivery_callback_may_send_but_not_wait() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("chained", 1, 1)).unwrap();
    let producer = Arc::new(blocking::Producer::new(broker.client_config(&[])).unwrap());
    let (outcomes, outcome) = mpsc::channel();
    let inner = producer.clone();
    producer
        .send_with_callback(ProducerRecord::new("chained", "first"), move |first| {
            // Runs on a client thread: a blocking wait is refused there...
            let mut second = inner.send(ProducerRecord::new("chained", "second"));
            let waited = second.wait(Duration::ZERO);
            let _ = outcomes.send((first, waited.err(), second));
        })
        .unwrap();
    let (first, refused, mut second) = outcome.recv_timeout(SAFETY_TIMEOUT).unwrap();
    assert_eq!(first.unwrap().offset, 0);
    assert!(matches!(
        refused,
        Some(DeliveryError {
            error: ClientError::InvalidArgument(_),
            ..
        })
    ));
    // ...and the record sent from it is delivered.
    assert_eq!(second.wait(SAFETY_TIMEOUT).unwrap().offset, 1);
    producer.close(SAFETY_TIMEOUT).unwrap();
}

#[test]
fn closed_clients_fail_later_calls_and_owed_callbacks() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("closing", 1, 1)).unwrap();
    let producer = blocking::Producer::new(broker.client_config(&[])).unwrap();
    let mut before = producer.send(ProducerRecord::new("closing", "before close"));
    producer.close(SAFETY_TIMEOUT).unwrap();
    // close flushed: the record queued before it was delivered.
    assert_eq!(before.wait(Duration::ZERO).unwrap().offset, 0);

    let mut after = producer.send(ProducerRecord::new("closing", "after close"));
    let failure = after.wait(SAFETY_TIMEOUT).unwrap_err();
    assert!(
        matches!(failure.error, ClientError::Closed { .. }),
        "{failure:?}"
    );
    // The refused record is handed back.
    assert_eq!(
        failure.record.as_deref().unwrap().value.as_deref(),
        Some(&b"after close"[..])
    );
    // The failure is kept: a second wait says the same.
    assert!(matches!(
        after.wait(Duration::ZERO),
        Err(DeliveryError {
            error: ClientError::Closed { .. },
            ..
        })
    ));
    let calls = Arc::new(AtomicUsize::new(0));
    let (outcomes, outcome) = mpsc::channel();
    let counted = calls.clone();
    producer
        .send_with_callback(
            ProducerRecord::new("closing", "after close"),
            move |result| {
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = outcomes.send(result);
            },
        )
        .unwrap();
    let result = outcome.recv_timeout(SAFETY_TIMEOUT).unwrap();
    assert!(matches!(
        result,
        Err(DeliveryError {
            error: ClientError::Closed { .. },
            ..
        })
    ));
    drop(producer);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let consumer =
        blocking::Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
            .unwrap();
    consumer.assign(&tps([("closing", 0)])).unwrap();
    let records = poll_until(&consumer, 1);
    assert_eq!(value_of(&records[0]), "before close");
    consumer.close(SAFETY_TIMEOUT).unwrap();
    assert!(matches!(
        consumer.poll(Duration::ZERO),
        Err(ClientError::Closed { .. })
    ));
}

#[test]
fn dropping_an_unclosed_producer_still_calls_each_callback_once() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin
        .create_topic(NewTopic::new("lingering", 1, 1))
        .unwrap();
    // A linger far longer than the test: the records stay queued until
    // the drop fails them.
    let producer = blocking::Producer::new(
        broker.client_config(&[("linger.ms", "600000"), ("batch.size", "1000000")]),
    )
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let (outcomes, outcome) = mpsc::channel();
    for i in 0..3 {
        let calls = calls.clone();
        let outcomes = outcomes.clone();
        producer
            .send_with_callback(
                ProducerRecord::new("lingering", format!("queued-{i}")),
                move |result| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let _ = outcomes.send(result);
                },
            )
            .unwrap();
    }
    drop(outcomes);
    let mut queued = producer.send(ProducerRecord::new("lingering", "queued-handle"));
    drop(producer);
    for _ in 0..3 {
        let result = outcome.recv_timeout(SAFETY_TIMEOUT).unwrap();
        assert!(
            matches!(
                result,
                Err(DeliveryError {
                    error: ClientError::Closed { .. },
                    ..
                })
            ),
            "{result:?}"
        );
    }
    // Every callback is gone (the channel is closed), each called once.
    assert!(outcome.recv_timeout(SAFETY_TIMEOUT).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(matches!(
        queued.wait(SAFETY_TIMEOUT),
        Err(DeliveryError {
            error: ClientError::Closed { .. },
            ..
        })
    ));
}

#[test]
fn blocking_admin_mirrors_the_async_calls() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    let created = admin
        .create_topics(
            &[
                NewTopic::new("admin-a", 1, 1),
                NewTopic::new("admin-b", 2, 1),
            ],
            false,
        )
        .unwrap();
    assert!(
        created.iter().all(|(_, result)| result.is_ok()),
        "{created:?}"
    );
    let grown = admin.create_partitions(&[("admin-a", 3)], false).unwrap();
    assert!(grown.iter().all(|(_, result)| result.is_ok()), "{grown:?}");
    let described = admin.describe_topics(&["admin-a"]).unwrap();
    assert_eq!(described[0].partitions.len(), 3);
    let deleted = admin.delete_topics(&["admin-b"]).unwrap();
    assert!(
        deleted.iter().all(|(_, result)| result.is_ok()),
        "{deleted:?}"
    );
    let topics = admin.list_topics(false).unwrap();
    assert!(topics.contains(&"admin-a".into()) && !topics.contains(&"admin-b".into()));
}

/// The handles a binding holds are owned, thread-safe and free of
/// lifetimes: checked at compile time.
#[test]
fn handles_are_send_and_static() {
    fn send_static<T: Send + 'static>() {}
    fn shared<T: Send + Sync + 'static>() {}
    send_static::<strom_client::DeliveryFuture>();
    send_static::<strom_client::CommitFuture>();
    send_static::<strom_client::Producer>();
    send_static::<strom_client::Consumer>();
    send_static::<strom_client::AdminClient>();
    send_static::<blocking::DeliveryHandle>();
    send_static::<blocking::CommitHandle>();
    shared::<blocking::Consumer>();
    shared::<blocking::Producer>();
    shared::<blocking::AdminClient>();
    shared::<strom_client::Producer>();
    shared::<strom_client::AdminClient>();
    shared::<strom_client::Consumer>();
}

/// The async calls' futures can be spawned (bindings move them onto a
/// runtime): checked at compile time, never run.
#[allow(dead_code)]
fn async_calls_are_send(
    producer: &strom_client::Producer,
    consumer: &strom_client::Consumer,
    admin: &strom_client::AdminClient,
) {
    fn send<T: Send + 'static>(_: &T) {}
    send(&producer.flush(Duration::ZERO));
    send(&producer.close(Duration::ZERO));
    send(&producer.send_wait(ProducerRecord::default()));
    send(&admin.list_topics(false));
    send(&consumer.poll(Duration::ZERO));
    send(&consumer.commit_sync());
    send(&consumer.close(Duration::ZERO));
    send(&consumer.assign(&tps([("t", 0)])));
    send(&consumer.commit_async());
    send(&consumer.position(TopicPartition::new("t", 0)));
}
