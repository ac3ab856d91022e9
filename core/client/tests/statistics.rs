//! Statistics (`statistics.interval.ms` with a `StatsCallback`) against a
//! real Strom broker: librdkafka's JSON object arrives every interval, and
//! its counters follow what the client did.

mod common;

use std::time::{Duration, Instant};

use common::{create_topic, TestBroker, SAFETY_TIMEOUT};
use serde_json::Value;
use strom_client::admin::NewTopic;
use strom_client::{
    blocking, CallbackQueue, ClientConfig, Consumer, Producer, ProducerRecord, StatsCallback,
};
use tokio::sync::mpsc;

const RECORDS: usize = 60;
const PARTITIONS: i32 = 2;

/// A config for `broker` with statistics every 100 ms going to the
/// returned channel.
fn with_statistics(
    broker: &TestBroker,
    extra: &[(&str, &str)],
) -> (ClientConfig, mpsc::UnboundedReceiver<String>) {
    let mut pairs = vec![("statistics.interval.ms", "100")];
    pairs.extend_from_slice(extra);
    let mut config = broker.client_config(&pairs);
    let (sender, received) = mpsc::unbounded_channel();
    config.stats_callback = Some(StatsCallback::new(move |json| {
        let _ = sender.send(json);
    }));
    (config, received)
}

/// Parses statistics as they arrive until one satisfies `done`.
async fn wait_for_statistics(
    received: &mut mpsc::UnboundedReceiver<String>,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    let mut last = Value::Null;
    loop {
        let json = tokio::time::timeout_at(deadline, received.recv())
            .await
            .unwrap_or_else(|_| panic!("no statistics with {what}; the last: {last}"))
            .expect("the statistics callback lives as long as the client");
        let stats: Value = serde_json::from_str(&json).expect("statistics are JSON");
        if done(&stats) {
            return stats;
        }
        last = stats;
    }
}

fn payload(i: usize) -> (String, String) {
    (format!("key-{i}"), format!("value-{i:04}"))
}

fn payload_bytes() -> u64 {
    (0..RECORDS)
        .map(|i| {
            let (key, value) = payload(i);
            (key.len() + value.len()) as u64
        })
        .sum()
}

async fn produce(producer: &Producer, topic: &str) {
    for i in 0..RECORDS {
        let (key, value) = payload(i);
        let record = ProducerRecord::new(topic, value).with_key(key);
        producer.try_send(record).unwrap();
    }
    producer.flush(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_statistics_count_the_records_acknowledged() {
    let broker = TestBroker::start();
    create_topic(&broker, "stats-produced", PARTITIONS).await;
    let (config, mut received) =
        with_statistics(&broker, &[("client.id", "stats-app"), ("linger.ms", "5")]);
    let producer = Producer::new(config).await.unwrap();
    let first = wait_for_statistics(&mut received, "any", |_| true).await;
    assert_eq!(first["type"], "producer");
    assert_eq!(first["client_id"], "stats-app");
    let name = first["name"].as_str().unwrap();
    assert!(name.starts_with("stats-app#producer-"), "{name}");
    assert_eq!(first["txmsgs"], 0);
    for field in [
        "ts",
        "time",
        "age",
        "replyq",
        "msg_cnt",
        "msg_size",
        "msg_max",
        "msg_size_max",
        "tx",
        "tx_bytes",
        "rx",
        "rx_bytes",
        "rxmsgs",
        "rxmsg_bytes",
    ] {
        assert!(
            first[field].is_i64() || first[field].is_u64(),
            "{field}: {first}"
        );
    }

    produce(&producer, "stats-produced").await;
    let stats = wait_for_statistics(&mut received, "txmsgs = RECORDS", |stats| {
        stats["txmsgs"] == RECORDS as u64
    })
    .await;
    assert_eq!(stats["txmsg_bytes"], payload_bytes());
    assert_eq!(stats["msg_cnt"], 0, "everything is acknowledged: {stats}");
    assert!(stats["age"].as_u64() > first["age"].as_u64());
    assert!(stats["ts"].as_u64() > first["ts"].as_u64());
    let partitions = stats["topics"]["stats-produced"]["partitions"]
        .as_object()
        .unwrap();
    let per_partition: u64 = partitions
        .values()
        .map(|p| p["txmsgs"].as_u64().unwrap())
        .sum();
    assert_eq!(per_partition, RECORDS as u64, "{stats}");
    for partition in partitions.values() {
        assert_eq!(partition["leader"], 0, "{partition}");
        assert_eq!(partition["msgq_cnt"], 0, "{partition}");
        assert_eq!(
            partition["consumer_lag"], -1,
            "a producer has no lag: {partition}"
        );
    }
    // The broker is node 0 (and was the bootstrap server before that).
    let broker_key = format!("{}/0", broker.bootstrap());
    let node = &stats["brokers"][&broker_key];
    assert_eq!(node["state"], "UP", "{stats}");
    assert_eq!(node["nodeid"], 0);
    assert!(node["req"]["Produce"].as_u64().unwrap() >= 1, "{node}");
    assert!(node["rtt"]["cnt"].is_u64(), "{node}");
    assert!(
        node["toppars"].as_object().unwrap().len() == PARTITIONS as usize,
        "{node}"
    );
    let brokers = stats["brokers"].as_object().unwrap();
    let tx: u64 = brokers.values().map(|b| b["tx"].as_u64().unwrap()).sum();
    let rx_bytes: u64 = brokers
        .values()
        .map(|b| b["rxbytes"].as_u64().unwrap())
        .sum();
    assert_eq!(stats["tx"], tx);
    assert_eq!(stats["rx_bytes"], rx_bytes);
    assert!(tx >= 3, "ApiVersions, Metadata, Produce at least: {stats}");
    assert_eq!(stats["eos"]["idemp_state"], "Assigned");

    producer.close(SAFETY_TIMEOUT).await.unwrap();
    // A closed producer stops reporting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while received.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received.try_recv().is_err(), "statistics after close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_statistics_count_the_records_read_and_the_lag() {
    let broker = TestBroker::start();
    create_topic(&broker, "stats-consumed", PARTITIONS).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    produce(&producer, "stats-consumed").await;
    let (config, mut received) = with_statistics(
        &broker,
        &[
            ("group.id", "stats-group"),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
        ],
    );
    let consumer = Consumer::new(config).await.unwrap();
    consumer.subscribe(&["stats-consumed"]).await.unwrap();
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    let mut read = 0;
    while read < RECORDS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read {read} of {RECORDS}"
        );
        read += consumer
            .poll(Duration::from_millis(200))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(read, RECORDS);
    let read_all = wait_for_statistics(&mut received, "rxmsgs = RECORDS", |stats| {
        stats["rxmsgs"] == RECORDS as u64
    })
    .await;
    assert_eq!(read_all["type"], "consumer");
    assert_eq!(read_all["rxmsg_bytes"], payload_bytes());
    let partitions = &read_all["topics"]["stats-consumed"]["partitions"];
    for p in 0..PARTITIONS {
        let partition = &partitions[p.to_string()];
        assert_eq!(partition["fetch_state"], "active", "{partition}");
        assert_eq!(
            partition["committed_offset"], -1001,
            "nothing committed yet"
        );
        assert_eq!(partition["consumer_lag"], -1, "{partition}");
        assert_eq!(
            partition["app_offset"], partition["hi_offset"],
            "{partition}"
        );
    }
    let cgrp = &read_all["cgrp"];
    assert_eq!(cgrp["assignment_size"], PARTITIONS, "{cgrp}");
    assert_eq!(cgrp["join_state"], "steady", "{cgrp}");
    assert_eq!(cgrp["state"], "up", "{cgrp}");
    assert!(cgrp["rebalance_cnt"].as_u64().unwrap() >= 1, "{cgrp}");

    consumer.commit_sync().await.unwrap();
    let committed = wait_for_statistics(&mut received, "consumer_lag 0", |stats| {
        let partitions = &stats["topics"]["stats-consumed"]["partitions"];
        (0..PARTITIONS).all(|p| partitions[p.to_string()]["consumer_lag"] == 0)
    })
    .await;
    let partitions = &committed["topics"]["stats-consumed"]["partitions"];
    let rxmsgs: u64 = (0..PARTITIONS)
        .map(|p| partitions[p.to_string()]["rxmsgs"].as_u64().unwrap())
        .sum();
    assert_eq!(rxmsgs, RECORDS as u64);
    for p in 0..PARTITIONS {
        let partition = &partitions[p.to_string()];
        assert_eq!(
            partition["committed_offset"], partition["hi_offset"],
            "{partition}"
        );
    }
    assert!(committed["brokers"]
        .as_object()
        .unwrap()
        .values()
        .any(|b| b["req"]["OffsetCommit"] == 1));
    consumer.close(SAFETY_TIMEOUT).await.unwrap();
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}

/// With a callback queue (librdkafka's model, the blocking producer of C
/// and Python), statistics wait for the thread that polls.
#[test]
fn queued_statistics_run_on_the_polling_thread() {
    let broker = TestBroker::start();
    let (config, mut received) = with_statistics(&broker, &[]);
    let on_thread = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut config = config;
    let inner = config.stats_callback.take().unwrap();
    config.stats_callback = Some(StatsCallback::new({
        let on_thread = on_thread.clone();
        move |json| {
            on_thread.lock().unwrap().push(std::thread::current().id());
            inner.call(json);
        }
    }));
    blocking::AdminClient::new(broker.client_config(&[]))
        .unwrap()
        .create_topic(NewTopic::new("stats-queued", 1, 1))
        .unwrap();
    let queue = CallbackQueue::new();
    let producer = blocking::Producer::with_callback_queue(config, queue.clone()).unwrap();
    producer
        .send(ProducerRecord::new("stats-queued", "v"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();
    std::thread::sleep(Duration::from_millis(350));
    assert!(on_thread.lock().unwrap().is_empty(), "served before poll");
    assert_eq!(producer.outq_len(), 1, "one statistics object waits");
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while on_thread.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "no statistics served by poll");
        producer.poll(Duration::from_millis(100));
    }
    let me = std::thread::current().id();
    assert!(on_thread.lock().unwrap().iter().all(|id| *id == me));
    let json = received.try_recv().unwrap();
    let stats: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(stats["txmsgs"], 1);
    producer.close(SAFETY_TIMEOUT).unwrap();
}
