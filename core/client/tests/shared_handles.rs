//! The client as the bindings use it: cloned handles driven from several
//! threads at once, futures spawned as `'static` tasks, delivery callbacks
//! served on a thread of the caller's choosing, and failed records handed
//! back.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{create_topic, TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{
    blocking, tps, AdminClient, CallbackQueue, ClientError, Consumer, DeliveryResult, Producer,
    ProducerRecord, TopicPartition,
};

const THREADS: usize = 4;
const PER_THREAD: usize = 250;

fn value(record: &strom_client::ConsumerRecord) -> String {
    String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned()
}

#[test]
fn cloned_blocking_handles_work_from_many_threads_at_once() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("shared", 4, 1)).unwrap();
    let consumer =
        blocking::Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
            .unwrap();
    let partitions = tps((0..4).map(|p| ("shared", p)));
    consumer.assign(&partitions).unwrap();

    // One thread polls with long timeouts until every record came.
    let (polling_tx, polling) = std::sync::mpsc::channel();
    let poller = {
        let consumer = consumer.clone();
        thread::spawn(move || {
            polling_tx.send(()).unwrap();
            let deadline = Instant::now() + SAFETY_TIMEOUT;
            let mut records = Vec::new();
            while records.len() < THREADS * PER_THREAD && Instant::now() < deadline {
                records.extend(consumer.poll(Duration::from_secs(20)).unwrap());
            }
            records
        })
    };

    // While it waits in a long poll on an empty topic, calls from another
    // thread go through: the poll steps aside for them (each is bounded by
    // an api timeout far below the poll's). The pause only lets the poll
    // begin; were it not begun, the calls would pass all the same.
    polling.recv().unwrap();
    thread::sleep(Duration::from_millis(300));
    let mut other = consumer.clone();
    other.set_api_timeout(Duration::from_secs(5));
    let first = TopicPartition::new("shared", 0);
    for _ in 0..10 {
        other.pause(std::slice::from_ref(&first)).unwrap();
        assert_eq!(other.paused().unwrap(), vec![first.clone()]);
        other.resume(std::slice::from_ref(&first)).unwrap();
        assert_eq!(other.assignment().unwrap(), partitions);
    }

    // Producer clones send from several threads at once.
    let producer = blocking::Producer::new(broker.client_config(&[("linger.ms", "2")])).unwrap();
    let senders: Vec<_> = (0..THREADS)
        .map(|t| {
            let producer = producer.clone();
            thread::spawn(move || {
                let mut handles: Vec<_> = (0..PER_THREAD)
                    .map(|i| producer.send(ProducerRecord::new("shared", format!("{t}-{i}"))))
                    .collect();
                for handle in &mut handles {
                    handle.wait(SAFETY_TIMEOUT).unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    producer.flush(SAFETY_TIMEOUT).unwrap();

    let records = poller.join().unwrap();
    let values: BTreeSet<String> = records.iter().map(value).collect();
    assert_eq!(records.len(), THREADS * PER_THREAD, "no record twice");
    let expected: BTreeSet<String> = (0..THREADS)
        .flat_map(|t| (0..PER_THREAD).map(move |i| format!("{t}-{i}")))
        .collect();
    assert_eq!(values, expected);
    // Records of one partition share one topic name.
    let zero: Vec<_> = records.iter().filter(|r| r.partition == 0).collect();
    assert!(zero
        .windows(2)
        .all(|w| Arc::ptr_eq(&w[0].topic, &w[1].topic)));
    for p in 0..4 {
        let position = consumer.position(TopicPartition::new("shared", p)).unwrap();
        let count = records.iter().filter(|r| r.partition == p).count() as i64;
        assert_eq!(position, Some(count));
    }
    producer.close(Duration::from_secs(5)).unwrap();
    consumer.close(Duration::from_secs(5)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_handles_hand_out_static_futures() {
    let broker = TestBroker::start();
    create_topic(&broker, "spawned", 2).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    let consumer = Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    consumer
        .assign(&tps([("spawned", 0), ("spawned", 1)]))
        .await;

    // Futures that own what they need: spawned, like a binding's
    // `future_into_py` or napi `async fn`, with no handle borrowed.
    let polling = tokio::spawn(consumer.poll(Duration::from_secs(20)));
    let pausing = tokio::spawn(consumer.pause(&[TopicPartition::new("spawned", 1)]));
    pausing.await.unwrap();
    let sends: Vec<_> = (0..10)
        .map(|i| {
            tokio::spawn(
                producer
                    .send(ProducerRecord::new("spawned", format!("v{i}")).with_partition(i % 2)),
            )
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    tokio::spawn(producer.flush(SAFETY_TIMEOUT))
        .await
        .unwrap()
        .unwrap();
    let first = polling.await.unwrap().unwrap();
    assert!(
        first.iter().all(|r| r.partition == 0),
        "partition 1 is paused"
    );
    let mut records = first;
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while records.len() < 5 && Instant::now() < deadline {
        records.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(records.len(), 5);
    consumer.resume(&[TopicPartition::new("spawned", 1)]).await;
    while records.len() < 10 && Instant::now() < deadline {
        records.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(records.len(), 10);
    tokio::spawn(producer.close(Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap();
    tokio::spawn(consumer.close(Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn delivery_callbacks_run_on_the_thread_that_serves_the_queue() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("queued", 1, 1)).unwrap();
    let wakes = Arc::new(AtomicUsize::new(0));
    let queue = {
        let wakes = wakes.clone();
        CallbackQueue::with_wake(move || {
            wakes.fetch_add(1, Ordering::Relaxed);
        })
    };
    let producer = blocking::Producer::with_callback_queue(
        broker.client_config(&[("linger.ms", "5")]),
        queue.clone(),
    )
    .unwrap();
    let seen: Arc<Mutex<Vec<(thread::ThreadId, DeliveryResult)>>> = Arc::default();
    const RECORDS: usize = 200;
    for i in 0..RECORDS {
        let seen = seen.clone();
        producer
            .send_with_callback(
                ProducerRecord::new("queued", format!("v{i}")),
                move |outcome| {
                    seen.lock().unwrap().push((thread::current().id(), outcome));
                },
            )
            .unwrap();
    }
    // A record that cannot be sent at all: its error comes through the
    // queue too, with the record.
    let seen_refused = seen.clone();
    producer
        .send_with_callback(
            ProducerRecord::new("queued", "nowhere")
                .with_partition(7)
                .with_header("h", "x"),
            move |outcome| {
                seen_refused
                    .lock()
                    .unwrap()
                    .push((thread::current().id(), outcome))
            },
        )
        .unwrap();
    // Nothing runs until someone serves the queue: flush waits for every
    // delivery, then serves what is due on this thread.
    producer.flush(SAFETY_TIMEOUT).unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while seen.lock().unwrap().len() < RECORDS + 1 && Instant::now() < deadline {
        producer.poll(Duration::from_millis(100));
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), RECORDS + 1, "each callback exactly once");
    assert!(
        seen.iter().all(|(id, _)| *id == thread::current().id()),
        "all on this thread"
    );
    let delivered = seen.iter().filter(|(_, outcome)| outcome.is_ok()).count();
    assert_eq!(delivered, RECORDS);
    let refused = seen
        .iter()
        .find_map(|(_, outcome)| outcome.as_ref().err())
        .expect("the refused record");
    let record = refused.record.as_ref().expect("handed back");
    assert_eq!(record.value.as_deref(), Some(&b"nowhere"[..]));
    assert_eq!(record.headers, vec![("h".to_string(), Some("x".into()))]);
    assert_eq!(refused.error.name(), "_UNKNOWN_PARTITION");
    // Woken when work arrived, not once per record.
    let wakes = wakes.load(Ordering::Relaxed);
    assert!(
        (1..RECORDS).contains(&wakes),
        "{wakes} wakes for {RECORDS} records"
    );
    assert!(queue.is_empty());
    producer.close(Duration::from_secs(5)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_the_broker_refuses_comes_back_with_its_error() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("small", 1, 1).with_config("max.message.bytes", "200"))
        .await
        .unwrap();
    let producer = Producer::new(broker.client_config(&[("retries", "0")]))
        .await
        .unwrap();
    let sent = ProducerRecord::new("small", vec![7u8; 1000])
        .with_key("k")
        .with_header("trace", "abc")
        .with_timestamp(1_700_000_000_000);
    let outcome = producer.send(sent.clone()).await;
    // `?` turns a delivery failure into the ClientError inside it.
    fn delivered(outcome: DeliveryResult) -> Result<i64, ClientError> {
        Ok(outcome?.offset)
    }
    let error = delivered(outcome.clone()).unwrap_err();
    assert_eq!(error.kafka_name(), Some("MESSAGE_TOO_LARGE"), "{error}");
    assert!(!error.is_retriable());
    let back = outcome.unwrap_err().record.expect("the record comes back");
    assert_eq!(
        *back,
        ProducerRecord {
            partition: Some(0),
            ..sent
        }
    );
    producer.close(Duration::from_secs(5)).await.unwrap();
}

#[test]
fn callbacks_nobody_serves_keep_their_room_so_the_queue_stays_bounded() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("unserved", 1, 1)).unwrap();
    let queue = CallbackQueue::new();
    let producer = blocking::Producer::with_callback_queue(
        broker.client_config(&[("buffer.memory", "65536"), ("linger.ms", "0")]),
        queue.clone(),
    )
    .unwrap();
    // 100 KB of records against 64 KiB of buffer.memory, and nobody
    // serving their callbacks.
    const RECORDS: usize = 100;
    let delivered = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    for i in 0..RECORDS {
        let (delivered, refused) = (delivered.clone(), refused.clone());
        let record = ProducerRecord::new("unserved", vec![b'x'; 1000]).with_key(i.to_string());
        producer
            .send_with_callback(record, move |outcome| {
                let counter = if outcome.is_ok() {
                    &delivered
                } else {
                    &refused
                };
                counter.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while queue.len() < RECORDS && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(queue.len(), RECORDS, "every outcome is queued");
    // The delivered records still hold their room: more is refused
    // (librdkafka's QUEUE_FULL) until the application serves the queue.
    let mut probe = producer.send(ProducerRecord::new("unserved", vec![b'y'; 1000]));
    let full = probe.wait(SAFETY_TIMEOUT).unwrap_err();
    assert_eq!(full.error.name(), "_QUEUE_FULL", "{}", full.error);

    assert_eq!(producer.poll(Duration::ZERO), RECORDS);
    let (delivered, refused) = (
        delivered.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    assert_eq!(delivered + refused, RECORDS);
    assert!(
        delivered * 1000 <= 65_536,
        "{delivered} records of 1000 B held at once"
    );
    assert!(refused > 0);
    // Served, their room is free again.
    let mut probe = producer.send(ProducerRecord::new("unserved", vec![b'z'; 1000]));
    probe.wait(SAFETY_TIMEOUT).unwrap();
    producer.close(Duration::from_secs(5)).unwrap();
}

#[test]
fn unserved_delivery_reports_count_against_the_record_limit() {
    // As in librdkafka: a record counts against
    // queue.buffering.max.messages until its delivery report is served, so
    // a loop that never serves them gets QUEUE_FULL, not a queue of
    // reports that grows without bound.
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("reports", 1, 1)).unwrap();
    let producer = blocking::Producer::with_callback_queue(
        broker.client_config(&[("queue.buffering.max.messages", "20"), ("linger.ms", "0")]),
        CallbackQueue::new(),
    )
    .unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let send = |value: &str| {
        let served = served.clone();
        producer.try_send_with_callback(
            ProducerRecord::new("reports", value.to_string()),
            move |outcome| {
                assert!(outcome.is_ok());
                served.fetch_add(1, Ordering::Relaxed);
            },
        )
    };
    for i in 0..20 {
        send(&format!("r{i}")).unwrap();
    }
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while producer.as_async().in_flight() > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(producer.outq_len(), 20, "delivered, reports not served");
    let full = send("one too many").unwrap_err();
    assert_eq!(full.error.name(), "_QUEUE_FULL", "{}", full.error);
    let record = full.record.expect("the refused record is handed back");
    assert_eq!(record.value.as_deref(), Some(&b"one too many"[..]));
    assert_eq!(producer.poll(Duration::ZERO), 20);
    assert_eq!(served.load(Ordering::Relaxed), 20);
    send("room again").unwrap();
    producer.flush(SAFETY_TIMEOUT).unwrap();
    assert_eq!(served.load(Ordering::Relaxed), 21);
    producer.close(Duration::from_secs(5)).unwrap();
}

#[test]
fn a_stream_of_calls_from_another_thread_does_not_starve_poll() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("busy", 1, 1)).unwrap();
    let consumer =
        blocking::Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
            .unwrap();
    let tp = TopicPartition::new("busy", 0);
    consumer.assign(std::slice::from_ref(&tp)).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    // Several threads, so that some call is nearly always waiting.
    let hammers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (consumer, tp, stop, calls) =
                (consumer.clone(), tp.clone(), stop.clone(), calls.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    consumer.position(tp.clone()).unwrap();
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let producer = blocking::Producer::new(broker.client_config(&[])).unwrap();
    for i in 0..100 {
        producer.send(ProducerRecord::new("busy", format!("v{i}")));
    }
    producer.flush(SAFETY_TIMEOUT).unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut records = Vec::new();
    while records.len() < 100 && Instant::now() < deadline {
        records.extend(consumer.poll(Duration::from_millis(500)).unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    for hammer in hammers {
        hammer.join().unwrap();
    }
    assert_eq!(records.len(), 100);
    assert!(calls.load(Ordering::Relaxed) > 0);
    producer.close(Duration::from_secs(5)).unwrap();
}

/// Polls `consumer` in a task until told to stop, sending what it reads.
fn keep_polling(
    consumer: Consumer,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<strom_client::ConsumerRecord>> {
    tokio::spawn(async move {
        let mut records = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            records.extend(consumer.poll(Duration::from_millis(100)).await.unwrap());
        }
        consumer.close(SAFETY_TIMEOUT).await.unwrap();
        records
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_callback_commits_through_its_context_before_the_partitions_move() {
    let broker = TestBroker::start();
    create_topic(&broker, "handover", 2).await;
    let producer = Producer::new(broker.client_config(&[("linger.ms", "20")]))
        .await
        .unwrap();
    let send_all = |from: usize| {
        let producer = producer.clone();
        async move {
            let deliveries: Vec<_> = (from..from + 100)
                .map(|i| {
                    let record = ProducerRecord::new("handover", format!("v{i}"));
                    producer.send(record.with_partition((i % 2) as i32))
                })
                .collect();
            for delivery in deliveries {
                delivery.await.unwrap();
            }
        }
    };
    send_all(0).await;
    let settings = [
        ("group.id", "handover"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("partition.assignment.strategy", "range"),
        ("heartbeat.interval.ms", "100"),
    ];

    // The first member reads everything and commits nothing until its
    // partitions are revoked: then it commits its positions from the
    // callback, through the context (the handle is held by the poll).
    let first = Consumer::new(broker.client_config(&settings))
        .await
        .unwrap();
    let revocations = Arc::new(AtomicUsize::new(0));
    let seen = revocations.clone();
    first
        .on_rebalance(move |event, context, partitions| {
            if event == strom_client::RebalanceEvent::Revoked && !partitions.is_empty() {
                let positions: Vec<_> = partitions.iter().map(|tp| context.position(tp)).collect();
                assert!(positions.iter().all(Option::is_some), "{positions:?}");
                drop(context.commit());
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
    first.subscribe(&["handover"]).await.unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut read = 0;
    while read < 100 && Instant::now() < deadline {
        read += first.poll(Duration::from_millis(200)).await.unwrap().len();
    }
    assert_eq!(read, 100);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let first_polls = keep_polling(first, stop.clone());

    // A second member joins: the group rebalances (eager), the first
    // member's callback commits, and the second starts from there.
    let second = Consumer::new(broker.client_config(&settings))
        .await
        .unwrap();
    second.subscribe(&["handover"]).await.unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while second.assignment().await.is_empty() && Instant::now() < deadline {
        second.poll(Duration::from_millis(100)).await.unwrap();
    }
    let taken = second.assignment().await;
    assert_eq!(taken.len(), 1, "range gives each member one partition");
    send_all(100).await;
    let mut records = Vec::new();
    while records.len() < 50 && Instant::now() < deadline {
        records.extend(second.poll(Duration::from_millis(200)).await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    first_polls.await.unwrap();
    assert!(revocations.load(Ordering::Relaxed) > 0);
    // Nothing the first member read comes again: the second member starts
    // at the offsets committed from the callback.
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert!(offsets.iter().all(|offset| *offset >= 50), "{offsets:?}");
    assert_eq!(records.len(), 50);
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    let committed = admin.list_group_offsets("handover").await.unwrap();
    assert!(
        committed.iter().any(|o| o.committed_offset >= 50),
        "{committed:?}"
    );
    second.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_rebalance_callback_does_not_break_the_consumer() {
    let broker = TestBroker::start();
    create_topic(&broker, "panicky", 1).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    producer
        .send(ProducerRecord::new("panicky", "v"))
        .await
        .unwrap();
    let consumer = Consumer::new(
        broker.client_config(&[("group.id", "panicky"), ("auto.offset.reset", "earliest")]),
    )
    .await
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    consumer
        .on_assigned(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
            panic!("a bug in the application's callback");
        })
        .await;
    consumer.subscribe(&["panicky"]).await.unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut records = Vec::new();
    while records.is_empty() && Instant::now() < deadline {
        records = consumer.poll(Duration::from_millis(200)).await.unwrap();
    }
    assert_eq!(records.len(), 1);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(
        consumer.assignment().await,
        vec![TopicPartition::new("panicky", 0)]
    );
    consumer.close(SAFETY_TIMEOUT).await.unwrap();
    producer.close(Duration::from_secs(5)).await.unwrap();
}

#[test]
fn commit_callbacks_run_in_the_blocking_poll_when_the_consumer_has_a_queue() {
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin
        .create_topic(NewTopic::new("committed", 1, 1))
        .unwrap();
    let producer = blocking::Producer::new(broker.client_config(&[])).unwrap();
    producer
        .send(ProducerRecord::new("committed", "v"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();
    let queue = CallbackQueue::new();
    let consumer = blocking::Consumer::with_callback_queue(
        broker.client_config(&[
            ("group.id", "committed"),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
        ]),
        queue.clone(),
    )
    .unwrap();
    consumer
        .assign(&[TopicPartition::new("committed", 0)])
        .unwrap();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while consumer
        .poll(Duration::from_millis(200))
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no record");
    }
    let seen: Arc<Mutex<Vec<(thread::ThreadId, bool)>>> = Arc::default();
    let sink = seen.clone();
    consumer
        .commit_async_with(move |outcome| {
            sink.lock()
                .unwrap()
                .push((thread::current().id(), outcome.is_ok()));
        })
        .unwrap();
    // Answered, the callback waits in the queue, not on a client thread.
    while queue.is_empty() {
        assert!(Instant::now() < deadline, "the commit is never answered");
        thread::sleep(Duration::from_millis(10));
    }
    assert!(seen.lock().unwrap().is_empty());
    consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![(thread::current().id(), true)]);
    assert_eq!(
        consumer
            .committed(TopicPartition::new("committed", 0))
            .unwrap(),
        Some(1)
    );
    consumer.close(Duration::from_secs(5)).unwrap();
    producer.close(Duration::from_secs(5)).unwrap();
}
