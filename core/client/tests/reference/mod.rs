//! Scenarios the client must pass against any Kafka broker: each takes a
//! bootstrap address and runs against Strom (`reference_on_strom.rs`) and
//! against Apache Kafka itself (`apache_kafka.rs`), so a client that only
//! works with Strom fails here. Topic and group names carry the scenario's
//! name, so scenarios can share one broker.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use strom_client::admin::{AlterConfigOp, ConfigResource, NewTopic, OffsetSpec};
use strom_client::{
    tps, AdminClient, ClientConfig, Consumer, ConsumerRecord, Producer, ProducerRecord,
    TopicPartition,
};
use strom_protocol::murmur2::partition_for_key;
use tokio::time::Instant;

/// Safety net for waits; never a pass/fail timing.
const SAFETY: Duration = Duration::from_secs(60);

pub fn config(bootstrap: &str, extra: &[(&str, &str)]) -> ClientConfig {
    let mut pairs = vec![("bootstrap.servers", bootstrap)];
    pairs.extend_from_slice(extra);
    ClientConfig::from_pairs(pairs).expect("valid client config")
}

/// Polls until `count` records arrived (or the safety net runs out).
pub async fn poll_records(consumer: &Consumer, count: usize) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + SAFETY;
    let mut records = Vec::new();
    while records.len() < count && Instant::now() < deadline {
        records.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    records
}

/// Topics: create (with a config), refuse a duplicate, list, describe,
/// grow, describe and alter configs; the cluster; offsets (earliest,
/// latest, by timestamp, max timestamp); delete records; delete topics.
pub async fn admin_topics_configs_and_offsets(bootstrap: &str) {
    let admin = AdminClient::new(config(bootstrap, &[])).await.unwrap();
    let topic = "ref-admin";
    admin
        .create_topic(NewTopic::new(topic, 2, 1).with_config("retention.ms", "3600000"))
        .await
        .unwrap();
    let again = admin
        .create_topic(NewTopic::new(topic, 2, 1))
        .await
        .unwrap_err();
    assert_eq!(again.kafka_name(), Some("TOPIC_ALREADY_EXISTS"), "{again}");
    assert!(!again.is_retriable());
    let checked = admin
        .create_topics(&[NewTopic::new("ref-dry-run", 1, 1)], true)
        .await
        .unwrap();
    assert!(checked[0].1.is_ok(), "{:?}", checked[0].1);
    assert!(admin
        .list_topics(false)
        .await
        .unwrap()
        .contains(&topic.to_string()));
    let grown = admin.create_partitions(&[(topic, 3)], false).await.unwrap();
    assert!(grown[0].1.is_ok(), "{:?}", grown[0].1);
    let described = wait_for_partitions(&admin, topic, 3).await;
    assert!(described.iter().all(|leader| *leader >= 0));

    let resource = ConfigResource::Topic(topic.into());
    let entries = admin.describe_configs(&resource, None).await.unwrap();
    assert_eq!(retention(entries).as_deref(), Some("3600000"));
    admin
        .incremental_alter_configs(
            &resource,
            &[AlterConfigOp::Set("retention.ms".into(), "60000".into())],
            false,
        )
        .await
        .unwrap();
    wait_for_retention(&admin, &resource, "60000").await;
    admin
        .incremental_alter_configs(
            &resource,
            &[AlterConfigOp::Delete("retention.ms".into())],
            false,
        )
        .await
        .unwrap();
    // Back to the default.
    wait_for_retention(&admin, &resource, "604800000").await;

    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);

    // Ten records in partition 0 with timestamps 1000, 2000, ... 10000.
    let producer = Producer::new(config(bootstrap, &[])).await.unwrap();
    let deliveries: Vec<_> = (1..=10)
        .map(|i| {
            producer.send(
                ProducerRecord::new(topic, format!("v{i}"))
                    .with_partition(0)
                    .with_timestamp(i * 1000),
            )
        })
        .collect();
    for (i, delivery) in deliveries.into_iter().enumerate() {
        let metadata = delivery.await.unwrap();
        assert_eq!((metadata.partition, metadata.offset), (0, i as i64));
    }
    producer.close(SAFETY).await.unwrap();
    let listed = admin
        .list_offsets(&[
            (TopicPartition::new(topic, 0), OffsetSpec::Earliest),
            (TopicPartition::new(topic, 1), OffsetSpec::Latest),
        ])
        .await
        .unwrap();
    assert_eq!((listed[0].offset, listed[1].offset), (0, 0));
    let at = |spec| async move { admin_offset(bootstrap, topic, spec).await };
    assert_eq!(at(OffsetSpec::Latest).await, 10);
    assert_eq!(
        at(OffsetSpec::Timestamp(4500)).await,
        4,
        "first record at or after 4500 ms"
    );
    assert_eq!(
        at(OffsetSpec::Timestamp(99_000)).await,
        -1,
        "no record that late"
    );
    assert_eq!(at(OffsetSpec::MaxTimestamp).await, 9);

    let low = admin
        .delete_records(&[(TopicPartition::new(topic, 0), 6)])
        .await
        .unwrap();
    assert_eq!(low, vec![(TopicPartition::new(topic, 0), 6)]);
    assert_eq!(at(OffsetSpec::Earliest).await, 6);

    let deleted = admin.delete_topics(&[topic]).await.unwrap();
    assert!(deleted[0].1.is_ok(), "{:?}", deleted[0].1);
    // Kafka applies a deletion to its metadata asynchronously: a listing
    // right after it may still show the topic for a moment.
    let mut left = Vec::new();
    for _ in 0..100 {
        left = admin.list_topics(false).await.unwrap();
        if !left.iter().any(|t| t == topic) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !left.iter().any(|t| t == topic || t == "ref-dry-run"),
        "{left:?}"
    );
}

async fn admin_offset(bootstrap: &str, topic: &str, spec: OffsetSpec) -> i64 {
    let admin = AdminClient::new(config(bootstrap, &[])).await.unwrap();
    admin
        .list_offsets(&[(TopicPartition::new(topic, 0), spec)])
        .await
        .unwrap()[0]
        .offset
}

/// The leaders of a topic once it has `count` partitions (a grown topic's
/// new partitions reach the metadata a moment after the answer).
async fn wait_for_partitions(admin: &AdminClient, topic: &str, count: usize) -> Vec<i32> {
    let deadline = Instant::now() + SAFETY;
    loop {
        let described = admin.describe_topics(&[topic]).await.unwrap().remove(0);
        if described.partitions.len() == count || Instant::now() > deadline {
            assert_eq!(described.partitions.len(), count);
            return described.partitions.iter().map(|p| p.leader).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keyed records in every codec and acks setting land on the Java
/// client's murmur2 partition, and come back with key, value, headers and
/// timestamp intact.
/// `partitions_for` on a topic nobody created: the broker (auto-creation
/// on, the default) creates it with num.partitions, and it takes records.
pub async fn producer_partitions_for_creates_a_missing_topic(bootstrap: &str) {
    let producer = Producer::new(config(bootstrap, &[])).await.unwrap();
    let topic = "ref-auto-created";
    let partitions = producer.partitions_for(topic).await.unwrap();
    let indexes: Vec<i32> = partitions.iter().map(|p| p.partition).collect();
    assert_eq!(indexes, [0], "one partition: num.partitions defaults to 1");
    let written = producer
        .send(ProducerRecord::new(topic, "first"))
        .await
        .unwrap();
    assert_eq!((written.partition, written.offset), (0, 0));
    producer.close(SAFETY).await.unwrap();
}

pub async fn producer_codecs_acks_and_partitioning(bootstrap: &str) {
    let admin = AdminClient::new(config(bootstrap, &[])).await.unwrap();
    let topic = "ref-produce";
    admin
        .create_topic(NewTopic::new(topic, 3, 1))
        .await
        .unwrap();
    let mut sent = Vec::new();
    for (codec, acks) in [
        ("none", "1"),
        ("gzip", "all"),
        ("snappy", "all"),
        ("lz4", "1"),
        ("zstd", "all"),
        ("none", "0"),
    ] {
        let mut settings = vec![("compression.type", codec), ("acks", acks)];
        if acks != "all" {
            settings.push(("enable.idempotence", "false"));
        }
        let producer = Producer::new(config(bootstrap, &settings)).await.unwrap();
        let deliveries: Vec<_> = (0..20)
            .map(|i| {
                let record = ProducerRecord::new(topic, format!("{codec}-acks{acks}-{i}"))
                    .with_key(format!("k{i}"))
                    .with_header("codec", codec.to_string())
                    .with_timestamp(1_700_000_000_000 + i);
                sent.push(record.clone());
                producer.send(record)
            })
            .collect();
        for (i, delivery) in deliveries.into_iter().enumerate() {
            let metadata = delivery.await.unwrap();
            assert_eq!(
                Some(metadata.partition),
                partition_for_key(format!("k{i}").as_bytes(), 3)
            );
        }
        producer.close(SAFETY).await.unwrap();
    }

    let consumer = Consumer::new(config(bootstrap, &[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    consumer
        .assign(&tps([(topic, 0), (topic, 1), (topic, 2)]))
        .await;
    let records = poll_records(&consumer, sent.len()).await;
    assert_eq!(records.len(), sent.len());
    let by_value: BTreeMap<_, _> = records.iter().map(|r| (r.value.clone(), r)).collect();
    for record in &sent {
        let read = by_value[&record.value];
        assert_eq!(read.key, record.key);
        assert_eq!(read.headers, record.headers);
        assert_eq!(Some(read.timestamp), record.timestamp);
        assert_eq!(
            Some(read.partition),
            partition_for_key(record.key.as_ref().unwrap(), 3)
        );
    }
}

/// Two members of one group share the partitions (range), commit what
/// they read, and a third consumer of the group resumes after the commits.
pub async fn group_members_share_partitions_and_commit(bootstrap: &str, strategy: &str) {
    let admin = AdminClient::new(config(bootstrap, &[])).await.unwrap();
    let topic = format!("ref-group-{strategy}");
    let group = format!("ref-group-{strategy}");
    admin
        .create_topic(NewTopic::new(&topic, 4, 1))
        .await
        .unwrap();
    let producer = Producer::new(config(bootstrap, &[])).await.unwrap();
    let deliveries: Vec<_> = (0..40)
        .map(|i| {
            producer.send(ProducerRecord::new(&topic, format!("r{i}")).with_key(format!("k{i}")))
        })
        .collect();
    // Each partition's end: where a member that owns it must stand before
    // it commits (with cooperative-sticky, a partition can move to the
    // other member after its records were read, at position 0 there).
    let mut ends = BTreeMap::new();
    for delivery in deliveries {
        let metadata = delivery.await.unwrap();
        let end = ends.entry(metadata.partition).or_insert(0);
        *end = (*end).max(metadata.offset + 1);
    }

    let member = || {
        config(
            bootstrap,
            &[
                ("group.id", group.as_str()),
                ("auto.offset.reset", "earliest"),
                ("enable.auto.commit", "false"),
                ("partition.assignment.strategy", strategy),
            ],
        )
    };
    let a = Consumer::new(member()).await.unwrap();
    let b = Consumer::new(member()).await.unwrap();
    a.subscribe(&[&topic]).await.unwrap();
    b.subscribe(&[&topic]).await.unwrap();
    // Both poll until the group is stable with both of them in it.
    let deadline = Instant::now() + SAFETY;
    let mut read = BTreeSet::new();
    loop {
        // Side by side: a member's poll may wait for the other to rejoin.
        let (from_a, from_b) = tokio::join!(
            a.poll(Duration::from_millis(100)),
            b.poll(Duration::from_millis(100))
        );
        for record in from_a.unwrap().into_iter().chain(from_b.unwrap()) {
            read.insert((record.partition, record.offset));
        }
        let (mine, theirs) = (a.assignment().await, b.assignment().await);
        let both = mine.len() == 2 && theirs.len() == 2;
        let caught_up = at_ends(&a, &mine, &ends).await && at_ends(&b, &theirs, &ends).await;
        if both && read.len() == 40 && caught_up {
            let all: BTreeSet<_> = mine.iter().chain(theirs.iter()).cloned().collect();
            assert_eq!(all.len(), 4, "{mine:?} {theirs:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "group never settled: {mine:?} {theirs:?}, {} read",
            read.len()
        );
    }
    a.commit_sync().await.unwrap();
    b.commit_sync().await.unwrap();
    a.close(SAFETY).await.unwrap();
    b.close(SAFETY).await.unwrap();

    let lag = admin.group_lag(&group).await.unwrap();
    assert_eq!(lag.len(), 4, "{lag:?}");
    assert!(lag.iter().all(|o| o.lag == Some(0)), "{lag:?}");
    let listed = admin.list_groups().await.unwrap();
    assert!(listed.iter().any(|g| g.group_id == group), "{listed:?}");

    // A new record, then a fresh member resumes from the commits.
    producer
        .send(ProducerRecord::new(&topic, "after"))
        .await
        .unwrap();
    producer.close(SAFETY).await.unwrap();
    let c = Consumer::new(member()).await.unwrap();
    c.subscribe(&[&topic]).await.unwrap();
    let records = poll_records(&c, 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].value.as_deref(), Some(&b"after"[..]));
    let described = admin.describe_group(&group).await.unwrap();
    assert_eq!(described.members.len(), 1, "{described:?}");
    assert_eq!(described.protocol, strategy);
    c.close(SAFETY).await.unwrap();

    admin
        .alter_group_offsets(&group, &[(TopicPartition::new(topic.as_str(), 0), 0)])
        .await
        .unwrap();
    let offsets = admin.list_group_offsets(&group).await.unwrap();
    assert!(
        offsets
            .iter()
            .any(|o| o.tp.partition == 0 && o.committed_offset == 0),
        "{offsets:?}"
    );
    let deleted = admin.delete_groups(&[&group]).await.unwrap();
    assert!(deleted[0].1.is_ok(), "{:?}", deleted[0].1);
    assert!(admin.list_group_offsets(&group).await.unwrap().is_empty());
}

/// Whether the consumer's position in each of `owned` is that partition's
/// end (a partition no record went to ends at 0).
async fn at_ends(consumer: &Consumer, owned: &[TopicPartition], ends: &BTreeMap<i32, i64>) -> bool {
    for tp in owned {
        let end = ends.get(&tp.partition).copied().unwrap_or(0);
        if consumer.position(tp.clone()).await != Some(end) {
            return false;
        }
    }
    true
}

/// A topic's retention.ms among described config entries.
fn retention(entries: Vec<strom_client::admin::ConfigEntry>) -> Option<String> {
    entries
        .into_iter()
        .find(|e| e.name == "retention.ms")
        .and_then(|e| e.value)
}

/// Describes the topic until its retention.ms reads `expected`: Apache
/// Kafka applies an altered config through its metadata log, so a describe
/// right after the alter may still see the old value for a moment.
async fn wait_for_retention(admin: &AdminClient, resource: &ConfigResource, expected: &str) {
    let deadline = Instant::now() + SAFETY;
    loop {
        let entries = admin
            .describe_configs(resource, Some(&["retention.ms"]))
            .await
            .unwrap();
        let found = retention(entries);
        if found.as_deref() == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "retention.ms is {found:?}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
