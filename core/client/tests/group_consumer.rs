//! Consumer groups against a real Strom broker: several `Consumer`s
//! subscribe to one topic, share its partitions, commit, hand partitions
//! over when one leaves, and a later member resumes at the commits.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::consumer::TopicPartition;
use strom_client::{AdminClient, Consumer, ConsumerRecord, Producer, ProducerRecord};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const TOPIC: &str = "orders";
const PARTITIONS: i32 = 6;

/// One group member polling in its own task, as an application would.
struct Member {
    assignment: Arc<Mutex<Vec<TopicPartition>>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Member {
    /// Subscribes to `TOPIC` and forwards every polled record to `sink`.
    /// With `commit_each_batch`, commits after handing each batch over.
    async fn start(
        broker: &TestBroker,
        settings: &[(&str, &str)],
        commit_each_batch: bool,
        sink: mpsc::UnboundedSender<ConsumerRecord>,
    ) -> Member {
        let mut config = vec![
            ("group.id", "billing"),
            ("auto.offset.reset", "earliest"),
            ("heartbeat.interval.ms", "100"),
        ];
        config.extend_from_slice(settings);
        let consumer = Consumer::new(broker.client_config(&config)).await.unwrap();
        consumer.subscribe(&[TOPIC]).await.unwrap();
        let assignment = Arc::new(Mutex::new(Vec::new()));
        let assigned = assignment.clone();
        consumer
            .on_assigned(move |partitions| *assigned.lock().unwrap() = partitions.to_vec())
            .await;
        let revoked = assignment.clone();
        consumer
            .on_revoked(move |_| revoked.lock().unwrap().clear())
            .await;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                let records = consumer.poll(Duration::from_millis(100)).await.unwrap();
                if records.is_empty() {
                    continue;
                }
                for record in records {
                    sink.send(record).unwrap();
                }
                if commit_each_batch {
                    consumer.commit_sync().await.unwrap();
                }
            }
            consumer.close(SAFETY_TIMEOUT).await.unwrap();
        });
        Member {
            assignment,
            stop,
            task,
        }
    }

    fn partitions(&self) -> BTreeSet<i32> {
        let assignment = self.assignment.lock().unwrap();
        assignment.iter().map(|tp| tp.partition).collect()
    }

    async fn close(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(SAFETY_TIMEOUT, self.task)
            .await
            .expect("member closes in time")
            .expect("member task did not panic");
    }
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each member owns `per_member` distinct partitions and together all.
async fn wait_for_balanced(members: &[&Member], per_member: usize) {
    wait_until("the group is balanced", || {
        let owned: Vec<BTreeSet<i32>> = members.iter().map(|m| m.partitions()).collect();
        let union: BTreeSet<i32> = owned.iter().flatten().copied().collect();
        owned.iter().all(|p| p.len() == per_member) && union == (0..PARTITIONS).collect()
    })
    .await;
}

async fn create_topic(broker: &TestBroker) {
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new(TOPIC, PARTITIONS, 1))
        .await
        .unwrap();
}

/// Produces `per_partition` records to every partition and waits for them.
async fn produce(broker: &TestBroker, per_partition: usize, label: &str) {
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    let mut deliveries = Vec::new();
    for partition in 0..PARTITIONS {
        for i in 0..per_partition {
            let record = ProducerRecord::new(TOPIC, format!("{label}-{partition}-{i}"));
            deliveries.push(producer.send(record.with_partition(partition)));
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}

/// Receives until `count` records arrived in total.
async fn receive(
    records: &mut mpsc::UnboundedReceiver<ConsumerRecord>,
    seen: &mut Vec<ConsumerRecord>,
    count: usize,
) {
    while seen.len() < count {
        let record = tokio::time::timeout(SAFETY_TIMEOUT, records.recv())
            .await
            .unwrap_or_else(|_| panic!("received {} of {count} records", seen.len()))
            .expect("members still running");
        seen.push(record);
    }
}

/// Every partition's offsets `0..per_partition`, each exactly once.
fn assert_each_offset_once(seen: &[ConsumerRecord], per_partition: i64) {
    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for record in seen {
        offsets
            .entry(record.partition)
            .or_default()
            .push(record.offset);
    }
    for partition in 0..PARTITIONS {
        let mut got = offsets.remove(&partition).unwrap_or_default();
        got.sort();
        let expected: Vec<i64> = (0..per_partition).collect();
        assert_eq!(got, expected, "offsets read from partition {partition}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_split_six_partitions_and_read_every_record_once() {
    let broker = TestBroker::start();
    create_topic(&broker).await;
    let (sink, mut records) = mpsc::unbounded_channel();
    let settings = [("enable.auto.commit", "false")];
    let a = Member::start(&broker, &settings, true, sink.clone()).await;
    let b = Member::start(&broker, &settings, true, sink.clone()).await;
    let c = Member::start(&broker, &settings, true, sink.clone()).await;
    wait_for_balanced(&[&a, &b, &c], 2).await;

    produce(&broker, 100, "first").await;
    let mut seen = Vec::new();
    receive(&mut records, &mut seen, 600).await;
    assert_each_offset_once(&seen, 100);
    // Range over members sorted by id gives each a contiguous pair.
    for member in [&a, &b, &c] {
        let owned: Vec<i32> = member.partitions().into_iter().collect();
        assert_eq!(owned[1], owned[0] + 1, "range assignment {owned:?}");
    }

    for member in [a, b, c] {
        member.close().await;
    }
    let checker = Consumer::new(broker.client_config(&[("group.id", "billing")]))
        .await
        .unwrap();
    for partition in 0..PARTITIONS {
        assert_eq!(
            checker
                .committed(TopicPartition::new(TOPIC, partition))
                .await
                .unwrap(),
            Some(100)
        );
    }
    assert!(records.try_recv().is_err(), "no record read twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closing_member_hands_its_partitions_over_at_its_committed_offsets() {
    let broker = TestBroker::start();
    create_topic(&broker).await;
    let (sink, mut records) = mpsc::unbounded_channel();
    // Auto commit with a long interval: offsets are committed only on
    // revoke (survivors) and on close (the leaver), which is what is tested.
    let settings = [("auto.commit.interval.ms", "600000")];
    let a = Member::start(&broker, &settings, false, sink.clone()).await;
    let b = Member::start(&broker, &settings, false, sink.clone()).await;
    let c = Member::start(&broker, &settings, false, sink.clone()).await;
    wait_for_balanced(&[&a, &b, &c], 2).await;

    produce(&broker, 50, "before").await;
    let mut seen = Vec::new();
    receive(&mut records, &mut seen, 300).await;
    c.close().await;
    wait_for_balanced(&[&a, &b], 3).await;

    produce(&broker, 50, "after").await;
    receive(&mut records, &mut seen, 600).await;
    // No gap and no duplicate: the takeover started exactly at the commits.
    assert_each_offset_once(&seen, 100);
    a.close().await;
    b.close().await;
    assert!(records.try_recv().is_err(), "no record read twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_member_resumes_at_the_committed_offsets_after_everyone_left() {
    let broker = TestBroker::start();
    create_topic(&broker).await;
    let (sink, mut records) = mpsc::unbounded_channel();
    let first = Member::start(&broker, &[], false, sink.clone()).await;
    wait_for_balanced(&[&first], 6).await;
    produce(&broker, 10, "old").await;
    let mut seen = Vec::new();
    receive(&mut records, &mut seen, 60).await;
    first.close().await;

    produce(&broker, 10, "new").await;
    let later = Member::start(&broker, &[], false, sink.clone()).await;
    let mut resumed = Vec::new();
    receive(&mut records, &mut resumed, 60).await;
    later.close().await;
    let values: BTreeSet<String> = resumed
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    assert!(
        values.iter().all(|v| v.starts_with("new-")),
        "only new records are read again: {values:?}"
    );
    assert!(resumed.iter().all(|r| (10..20).contains(&r.offset)));
    assert!(records.try_recv().is_err(), "nothing read twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auto_offset_store_off_commits_take_only_the_stored_offsets() {
    let broker = TestBroker::start();
    create_topic(&broker).await;
    produce(&broker, 5, "stored").await;
    let settings = [
        ("group.id", "stored-offsets"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
    ];
    let consumer = Consumer::new(broker.client_config(&settings))
        .await
        .unwrap();
    let tp = TopicPartition::new(TOPIC, 0);
    consumer.assign(std::slice::from_ref(&tp)).await;
    // One record per poll: the position moves only past what is returned.
    let first = consumer.poll_max(SAFETY_TIMEOUT, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(consumer.position(tp.clone()).await.unwrap(), 1);
    let rest = consumer.poll_max(SAFETY_TIMEOUT, 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );

    // Nothing stored yet: a commit without offsets commits nothing.
    assert_eq!(consumer.commit_sync_offsets().await.unwrap(), []);
    assert_eq!(consumer.committed(tp.clone()).await.unwrap(), None);

    consumer.store_offsets(&[(tp.clone(), 3)]).await.unwrap();
    assert_eq!(
        consumer.commit_sync_offsets().await.unwrap(),
        [(tp.clone(), 3)]
    );
    assert_eq!(consumer.committed(tp.clone()).await.unwrap(), Some(3));

    let elsewhere = TopicPartition::new(TOPIC, 1);
    let refused = consumer.store_offsets(&[(elsewhere, 1)]).await;
    assert!(refused.is_err(), "only assigned partitions can be stored");
    consumer.close(SAFETY_TIMEOUT).await.unwrap();

    let positions = Consumer::new(broker.client_config(&[("group.id", "positions")]))
        .await
        .unwrap();
    positions.assign(std::slice::from_ref(&tp)).await;
    let error = positions.store_offsets(&[(tp, 1)]).await.unwrap_err();
    assert!(
        error.to_string().contains("enable.auto.offset.store"),
        "{error}"
    );
}
