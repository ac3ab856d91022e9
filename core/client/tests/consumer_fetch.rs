//! The consumer's fetch path against a real Strom broker: lazy decoding
//! with a small max.poll.records, seeks over data already fetched, pause
//! and resume, dropped polls, positions, async commits and fetches that
//! run in the background between polls.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{create_topic, TestBroker, SAFETY_TIMEOUT};
use strom_client::{
    Consumer, ConsumerRecord, OffsetReset, Producer, ProducerRecord, TopicPartition,
};
use tokio::time::Instant;

/// Offsets read per partition, in the order `poll` returned them.
type ReadLog = BTreeMap<i32, Vec<i64>>;

/// Produces `per_partition` records to each partition, value
/// `"{partition}-{index}"`, and waits until all are acknowledged.
async fn produce(
    broker: &TestBroker,
    topic: &str,
    partitions: i32,
    per_partition: usize,
    codec: &str,
) {
    let producer = Producer::new(broker.client_config(&[
        ("compression.type", codec),
        ("linger.ms", "5"),
        ("batch.size", "4096"),
    ]))
    .await
    .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..per_partition {
        for partition in 0..partitions {
            let record = ProducerRecord::new(topic, format!("{partition}-{i}"));
            deliveries.push(producer.send(record.with_partition(partition)));
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}

async fn consumer(broker: &TestBroker, extra: &[(&str, &str)]) -> Consumer {
    let mut settings = vec![("auto.offset.reset", "earliest")];
    settings.extend_from_slice(extra);
    Consumer::new(broker.client_config(&settings))
        .await
        .unwrap()
}

fn partitions(topic: &str, count: i32) -> Vec<TopicPartition> {
    (0..count).map(|p| tp(topic, p)).collect()
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Polls until `done` holds, recording every record; each poll returns at
/// most `max_poll` records.
async fn read_until(
    consumer: &Consumer,
    log: &mut ReadLog,
    max_poll: usize,
    done: impl Fn(&ReadLog) -> bool,
) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut records = Vec::new();
    while !done(log) {
        assert!(Instant::now() < deadline, "read so far: {log:?}");
        let polled = consumer.poll(Duration::from_millis(100)).await.unwrap();
        assert!(polled.len() <= max_poll, "poll returned {}", polled.len());
        for record in polled {
            log.entry(record.partition).or_default().push(record.offset);
            records.push(record);
        }
    }
    records
}

fn count(log: &ReadLog) -> usize {
    log.values().map(Vec::len).sum()
}

fn range(from: i64, to: i64) -> Vec<i64> {
    (from..to).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_polls_return_every_record_in_order_per_partition_in_every_codec() {
    let broker = TestBroker::start();
    for codec in ["gzip", "lz4", "zstd", "snappy"] {
        let topic = format!("lazy-{codec}");
        create_topic(&broker, &topic, 4).await;
        produce(&broker, &topic, 4, 250, codec).await;
        let consumer = consumer(&broker, &[("max.poll.records", "7")]).await;
        consumer.assign(&partitions(&topic, 4)).await;
        let mut log = ReadLog::new();
        let records = read_until(&consumer, &mut log, 7, |log| count(log) >= 1000).await;
        assert_eq!(count(&log), 1000, "{codec}: nothing extra");
        for partition in 0..4 {
            assert_eq!(
                log[&partition],
                range(0, 250),
                "{codec} partition {partition}"
            );
        }
        for record in &records {
            let expected = format!("{}-{}", record.partition, record.offset);
            assert_eq!(
                record.value.as_deref(),
                Some(expected.as_bytes()),
                "{codec}"
            );
            assert_eq!(&*record.topic, topic);
        }
        for partition in 0..4 {
            assert_eq!(
                consumer.position(tp(&topic, partition)).await,
                Some(250),
                "{codec}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_over_fetched_data_reads_from_the_new_position_without_gaps() {
    let broker = TestBroker::start();
    let topic = "seeks";
    create_topic(&broker, topic, 1).await;
    produce(&broker, topic, 1, 100, "lz4").await;
    let consumer = consumer(&broker, &[("max.poll.records", "5")]).await;
    consumer.assign(&[tp(topic, 0)]).await;

    // The first fetch brings far more than the 5 records returned.
    let mut log = ReadLog::new();
    read_until(&consumer, &mut log, 5, |log| count(log) >= 10).await;
    assert_eq!(log[&0], range(0, 10));

    // Backwards into records already returned.
    consumer.seek(tp(topic, 0), 3).await.unwrap();
    assert_eq!(consumer.position(tp(topic, 0)).await, Some(3));
    let mut back = ReadLog::new();
    read_until(&consumer, &mut back, 5, |log| count(log) >= 20).await;
    assert_eq!(back[&0], range(3, 23));

    // Forwards past records fetched but not returned.
    consumer.seek(tp(topic, 0), 60).await.unwrap();
    let mut forward = ReadLog::new();
    read_until(&consumer, &mut forward, 5, |log| count(log) >= 40).await;
    assert_eq!(forward[&0], range(60, 100));
    assert_eq!(consumer.position(tp(topic, 0)).await, Some(100));

    assert!(
        consumer.seek(tp(topic, 1), 0).await.is_err(),
        "unassigned partition"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_to_beginning_and_end_are_resolved_by_the_next_poll() {
    let broker = TestBroker::start();
    let topic = "seek-to";
    create_topic(&broker, topic, 2).await;
    produce(&broker, topic, 2, 30, "none").await;
    let consumer = Consumer::new(
        broker.client_config(&[("auto.offset.reset", "latest"), ("max.poll.records", "4")]),
    )
    .await
    .unwrap();
    consumer.assign(&partitions(topic, 2)).await;

    consumer.seek_to_beginning(&[tp(topic, 0)]).await.unwrap();
    assert_eq!(
        consumer.position(tp(topic, 0)).await,
        None,
        "lazy until the next poll"
    );
    let mut log = ReadLog::new();
    read_until(&consumer, &mut log, 4, |log| count(log) >= 30).await;
    assert_eq!(log[&0], range(0, 30));
    // Partition 1 started at the end (auto.offset.reset=latest).
    assert!(!log.contains_key(&1), "{log:?}");
    assert_eq!(consumer.position(tp(topic, 1)).await, Some(30));

    // Back to the beginning of everything (an empty list means all).
    consumer.seek_to_beginning(&[]).await.unwrap();
    let mut again = ReadLog::new();
    read_until(&consumer, &mut again, 4, |log| count(log) >= 60).await;
    assert_eq!(
        again,
        BTreeMap::from([(0, range(0, 30)), (1, range(0, 30))])
    );

    // To the end: only records produced after the lookup come back.
    consumer.seek(tp(topic, 0), 5).await.unwrap();
    consumer.seek_to_end(&[tp(topic, 0)]).await.unwrap();
    assert_eq!(consumer.position(tp(topic, 0)).await, None);
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while consumer.position(tp(topic, 0)).await.is_none() {
        assert!(Instant::now() < deadline);
        let polled = consumer.poll(Duration::from_millis(50)).await.unwrap();
        assert!(polled.is_empty(), "{polled:?}");
    }
    assert_eq!(consumer.position(tp(topic, 0)).await, Some(30));
    produce(&broker, topic, 1, 3, "none").await;
    let mut after_end = ReadLog::new();
    read_until(&consumer, &mut after_end, 4, |log| count(log) >= 3).await;
    assert_eq!(after_end, BTreeMap::from([(0, range(30, 33))]));

    assert!(consumer.seek_to_end(&[tp(topic, 7)]).await.is_err());
    assert_eq!(
        consumer.position(tp(topic, 0)).await,
        Some(33),
        "a refused seek changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_after_each_poll_is_the_last_returned_offset_plus_one() {
    let broker = TestBroker::start();
    let topic = "positions";
    create_topic(&broker, topic, 3).await;
    produce(&broker, topic, 3, 40, "zstd").await;
    let consumer = consumer(&broker, &[("max.poll.records", "3")]).await;
    consumer.assign(&partitions(topic, 3)).await;
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut read = 0;
    while read < 120 {
        assert!(Instant::now() < deadline);
        let polled = consumer.poll(Duration::from_millis(100)).await.unwrap();
        read += polled.len();
        let mut last: BTreeMap<i32, i64> = BTreeMap::new();
        for record in &polled {
            last.insert(record.partition, record.offset);
        }
        for (partition, offset) in last {
            assert_eq!(
                consumer.position(tp(topic, partition)).await,
                Some(offset + 1)
            );
        }
    }
    assert_eq!(read, 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_watermarks_are_the_log_start_and_end_the_fetches_told() {
    let broker = TestBroker::start();
    let topic = "watermarks";
    create_topic(&broker, topic, 2).await;
    produce(&broker, topic, 1, 30, "none").await;
    let consumer = consumer(&broker, &[("max.poll.records", "5")]).await;
    let both = partitions(topic, 2);
    assert_eq!(consumer.fetched_watermarks(&both).await, vec![None, None]);
    consumer.assign(&both).await;
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let first = loop {
        assert!(Instant::now() < deadline);
        let polled = consumer.poll(Duration::from_millis(100)).await.unwrap();
        if let Some(record) = polled.last() {
            break record.offset;
        }
    };
    // Only five of the thirty records are out; the watermark is the log's end.
    assert!(first < 29);
    let watermarks = consumer.fetched_watermarks(&both).await;
    assert_eq!(watermarks[0], Some((0, 30)));
    // Partition 1 is empty: (0, 0) once a fetch of it came back.
    assert!(
        matches!(watermarks[1], None | Some((0, 0))),
        "{watermarks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_topic_offset_reset_wins_over_the_consumer_wide_one() {
    let broker = TestBroker::start();
    for topic in ["early-a", "early-b", "late"] {
        create_topic(&broker, topic, 1).await;
        produce(&broker, topic, 1, 10, "none").await;
    }
    let consumer = consumer(&broker, &[("auto.offset.reset", "latest")]).await;
    consumer
        .set_offset_reset(&["early-a", "^early-.*"], OffsetReset::Earliest)
        .await
        .unwrap();
    let all: Vec<TopicPartition> = ["early-a", "early-b", "late"]
        .iter()
        .map(|topic| tp(topic, 0))
        .collect();
    consumer.assign(&all).await;
    let mut read: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while read.values().sum::<usize>() < 20 {
        assert!(Instant::now() < deadline, "{read:?}");
        for record in consumer.poll(Duration::from_millis(100)).await.unwrap() {
            *read.entry(record.topic.to_string()).or_default() += 1;
        }
    }
    // The two `early` topics from their first record; `late` from its end.
    assert_eq!(consumer.position(tp("late", 0)).await, Some(10));
    assert_eq!(read.get("late"), None);
    assert!(consumer
        .set_offset_reset(&["^(unclosed"], OffsetReset::Earliest)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_partition_with_fetched_data_loses_nothing() {
    let broker = TestBroker::start();
    let topic = "pauses";
    create_topic(&broker, topic, 2).await;
    produce(&broker, topic, 2, 50, "snappy").await;
    let consumer = consumer(&broker, &[("max.poll.records", "3")]).await;
    consumer.assign(&partitions(topic, 2)).await;

    // The first fetch brought both partitions; partition 1's records wait
    // behind partition 0's when it is paused.
    let mut log = ReadLog::new();
    read_until(&consumer, &mut log, 3, |log| count(log) >= 1).await;
    consumer.pause(&[tp(topic, 1)]).await;
    assert_eq!(consumer.paused().await, vec![tp(topic, 1)]);
    let paused_at = consumer.position(tp(topic, 1)).await;
    let read_from_1 = log.get(&1).map_or(0, Vec::len);
    read_until(&consumer, &mut log, 3, |log| {
        log.get(&0).map_or(0, Vec::len) >= 50
    })
    .await;
    let read_while_paused = log.get(&1).map_or(0, Vec::len);
    assert_eq!(
        read_while_paused, read_from_1,
        "nothing returned while paused"
    );
    assert_eq!(consumer.position(tp(topic, 1)).await, paused_at);

    consumer.resume(&[tp(topic, 1)]).await;
    assert!(consumer.paused().await.is_empty());
    read_until(&consumer, &mut log, 3, |log| count(log) >= 100).await;
    assert_eq!(log, BTreeMap::from([(0, range(0, 50)), (1, range(0, 50))]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_dropped_midway_lose_and_duplicate_nothing() {
    let broker = TestBroker::start();
    let topic = "dropped-polls";
    create_topic(&broker, topic, 3).await;
    produce(&broker, topic, 3, 200, "gzip").await;
    let consumer = consumer(&broker, &[("max.poll.records", "5")]).await;
    consumer.assign(&partitions(topic, 3)).await;

    // Timeouts from "dropped at the first await" to "usually completes",
    // so polls are cut off at every stage: lookups, fetches, decoding.
    let cutoffs = [0u64, 10, 50, 200, 1_000, 5_000, 50_000];
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut log = ReadLog::new();
    let mut dropped = 0;
    let mut round = 0;
    while count(&log) < 600 {
        assert!(Instant::now() < deadline, "read so far: {log:?}");
        let cutoff = Duration::from_micros(cutoffs[round % cutoffs.len()]);
        round += 1;
        match tokio::time::timeout(cutoff, consumer.poll(Duration::from_millis(100))).await {
            Ok(polled) => {
                for record in polled.unwrap() {
                    log.entry(record.partition).or_default().push(record.offset);
                }
            }
            Err(_) => dropped += 1,
        }
    }
    assert!(dropped > 0, "some polls were dropped");
    let expected: ReadLog = (0..3).map(|p| (p, range(0, 200))).collect();
    assert_eq!(log, expected);
    for partition in 0..3 {
        assert_eq!(consumer.position(tp(topic, partition)).await, Some(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_commits_land_in_the_order_they_were_made() {
    let broker = TestBroker::start();
    let topic = "async-commits";
    create_topic(&broker, topic, 2).await;
    produce(&broker, topic, 2, 20, "none").await;
    let consumer = consumer(
        &broker,
        &[
            ("group.id", "async-committers"),
            ("enable.auto.commit", "false"),
            ("max.poll.records", "6"),
        ],
    )
    .await;
    consumer.assign(&partitions(topic, 2)).await;
    let mut log = ReadLog::new();
    read_until(&consumer, &mut log, 6, |log| count(log) >= 12).await;

    // The positions, without waiting; poll goes on meanwhile.
    let at_commit = (
        consumer.position(tp(topic, 0)).await,
        consumer.position(tp(topic, 1)).await,
    );
    let expected = |p: i32| log.get(&p).and_then(|o| o.last()).map_or(0, |o| o + 1);
    assert_eq!(at_commit, (Some(expected(0)), Some(expected(1))));
    let commit = consumer.commit_async().await;
    consumer.poll(Duration::ZERO).await.unwrap();
    commit.await.unwrap();
    let committed = (
        consumer.committed(tp(topic, 0)).await.unwrap(),
        consumer.committed(tp(topic, 1)).await.unwrap(),
    );
    assert_eq!(committed, at_commit);

    // Many commits of one partition queued at once: the last one made wins.
    let mut commits = Vec::new();
    for offset in 1..=20 {
        commits.push(
            consumer
                .commit_offsets_async(&[(tp(topic, 0), offset)])
                .await,
        );
    }
    // Await them newest first: the order of awaiting must not matter.
    for commit in commits.into_iter().rev() {
        commit.await.unwrap();
    }
    assert_eq!(consumer.committed(tp(topic, 0)).await.unwrap(), Some(20));

    // A commit_sync after async ones is not overtaken by them.
    let early = consumer.commit_offsets_async(&[(tp(topic, 1), 3)]).await;
    consumer.commit_offsets(&[(tp(topic, 1), 4)]).await.unwrap();
    early.await.unwrap();
    assert_eq!(consumer.committed(tp(topic, 1)).await.unwrap(), Some(4));

    // The callback form.
    let (reply, outcome) = tokio::sync::oneshot::channel();
    consumer
        .commit_async_with(move |result| {
            let _ = reply.send(result.is_ok());
        })
        .await;
    assert!(outcome.await.unwrap());
    let positions = (
        consumer.position(tp(topic, 0)).await,
        consumer.position(tp(topic, 1)).await,
    );
    let committed = (
        consumer.committed(tp(topic, 0)).await.unwrap(),
        consumer.committed(tp(topic, 1)).await.unwrap(),
    );
    assert_eq!(committed, positions);

    // Without group.id the future says so.
    let groupless = Consumer::new(broker.client_config(&[])).await.unwrap();
    assert!(groupless.commit_async().await.await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_produced_after_a_poll_arrive_through_the_fetch_already_in_flight() {
    let broker = TestBroker::start();
    let topic = "prefetch";
    create_topic(&broker, topic, 2).await;
    produce(&broker, topic, 2, 5, "none").await;
    // A long broker-side wait: the fetch sent when poll returns is still
    // parked at the broker when the new records arrive, and no second fetch
    // can be sent to that leader meanwhile.
    let consumer = consumer(&broker, &[("fetch.max.wait.ms", "20000")]).await;
    consumer.assign(&partitions(topic, 2)).await;
    let mut log = ReadLog::new();
    read_until(&consumer, &mut log, 500, |log| count(log) >= 10).await;

    produce(&broker, topic, 2, 5, "none").await;
    // Zero-timeout polls never wait for a fetch; they only return what
    // the background fetch has already brought.
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while count(&log) < 20 {
        assert!(Instant::now() < deadline, "read so far: {log:?}");
        for record in consumer.poll(Duration::ZERO).await.unwrap() {
            log.entry(record.partition).or_default().push(record.offset);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(log, BTreeMap::from([(0, range(0, 10)), (1, range(0, 10))]));
}

/// One partition full, the others empty: while the full partition's
/// fetched records are read, the fetch for the empty ones must not be held
/// by the broker for fetch.max.wait.ms, or the full partition could not be
/// fetched again until it returns. With fetch.max.wait.ms at ten minutes,
/// everything is read within the safety timeout only if no fetch that
/// blocks the full partition is ever held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_partition_is_not_held_up_by_fetches_of_empty_ones() {
    let broker = TestBroker::start();
    create_topic(&broker, "skewed", 4).await;
    let producer = Producer::new(broker.client_config(&[("linger.ms", "5")]))
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..3000 {
        let record = ProducerRecord::new("skewed", format!("{i:0>100}"));
        deliveries.push(producer.send(record.with_partition(0)));
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();

    // About 40 records per fetch: dozens of refetches of partition 0.
    let consumer = consumer(
        &broker,
        &[
            ("fetch.max.wait.ms", "600000"),
            ("max.partition.fetch.bytes", "4096"),
            ("max.poll.records", "10"),
        ],
    )
    .await;
    consumer.assign(&partitions("skewed", 4)).await;
    let mut log = ReadLog::new();
    read_until(&consumer, &mut log, 10, |log| count(log) >= 3000).await;
    assert_eq!(log.get(&0), Some(&range(0, 3000)));
    assert_eq!(log.len(), 1, "only partition 0 has records");
}

/// enable.partition.eof: each arrival at a partition's end is reported
/// once, after its last record, with the end offset; an empty partition
/// is at its end at once; more records and a new end, a new report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_arrival_at_a_partition_end_is_reported_once() {
    let broker = TestBroker::start();
    create_topic(&broker, "ends", 2).await;
    produce_to(&broker, "ends", 0, 3).await;
    let consumer = Consumer::new(broker.client_config(&[
        ("enable.partition.eof", "true"),
        ("auto.offset.reset", "earliest"),
    ]))
    .await
    .unwrap();
    let tps = [
        TopicPartition::new("ends", 0),
        TopicPartition::new("ends", 1),
    ];
    consumer.assign(&tps).await;

    let (read, ends) = poll_until_ends(&consumer, 2).await;
    assert_eq!(read, 3);
    let mut ends = ends;
    ends.sort();
    assert_eq!(ends, [(tps[0].clone(), 3), (tps[1].clone(), 0)]);
    // Nothing new: no second report.
    consumer.poll(Duration::from_millis(300)).await.unwrap();
    assert!(consumer.take_partition_eofs().await.is_empty());

    produce_to(&broker, "ends", 0, 2).await;
    // The two records may be fetched apart, each time up to the end the
    // broker had then: every end reported is a new one, the last is 5.
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let (mut read, mut ends) = (0, Vec::new());
    while ends.last().map(|(_, end)| *end) != Some(5) {
        assert!(Instant::now() < deadline, "ends so far: {ends:?}");
        read += consumer
            .poll(Duration::from_millis(100))
            .await
            .unwrap()
            .len();
        ends.extend(consumer.take_partition_eofs().await);
    }
    assert_eq!(read, 2);
    assert!(ends.iter().all(|(tp, _)| *tp == tps[0]), "{ends:?}");
    assert!(
        ends.windows(2).all(|pair| pair[0].1 < pair[1].1),
        "{ends:?}"
    );

    // Off by default.
    let plain = Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    plain.assign(&tps).await;
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let mut read = 0;
    while read < 5 {
        assert!(Instant::now() < deadline);
        read += plain.poll(Duration::from_millis(100)).await.unwrap().len();
    }
    plain.poll(Duration::from_millis(300)).await.unwrap();
    assert!(plain.take_partition_eofs().await.is_empty());
}

async fn produce_to(broker: &TestBroker, topic: &str, partition: i32, count: usize) {
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    for i in 0..count {
        let record = ProducerRecord::new(topic, format!("{i}")).with_partition(partition);
        producer.send(record).await.unwrap();
    }
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}

/// Polls until `ends` partition ends are reported; returns the records
/// read meanwhile and the ends.
async fn poll_until_ends(consumer: &Consumer, ends: usize) -> (usize, Vec<(TopicPartition, i64)>) {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    let (mut read, mut reported) = (0, Vec::new());
    while reported.len() < ends {
        assert!(Instant::now() < deadline, "ends so far: {reported:?}");
        read += consumer
            .poll(Duration::from_millis(100))
            .await
            .unwrap()
            .len();
        reported.extend(consumer.take_partition_eofs().await);
    }
    (read, reported)
}
