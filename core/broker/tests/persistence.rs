//! What survives a restart: topics, their configs, offsets and data, and a
//! high watermark that lets consumers read everything acknowledged.

mod common;

use common::*;
use strom_broker::config::BrokerConfig;
use strom_broker::state::Broker;
use strom_protocol::messages::describe_configs_request::DescribeConfigsResource;
use strom_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, MetadataResponse};
use strom_protocol::records::CompressionType;

async fn produce_sample(client: &mut Client) {
    create_topic(client, "kept", 2, &[("retention.ms", "123456789")]).await;
    create_topic(client, "other", 1, &[]).await;
    for (partition, values) in [(0, ["a", "b"]), (1, ["c", "d"])] {
        for value in values {
            produce_ok(
                client,
                "kept",
                partition,
                batch(CompressionType::Zstd, now_ms(), &[value]),
            )
            .await;
        }
    }
    produce_ok(
        client,
        "other",
        0,
        batch(CompressionType::None, now_ms(), &["o"]),
    )
    .await;
}

async fn assert_sample_intact(client: &mut Client) {
    let metadata: MetadataResponse = client
        .call(METADATA_VERSION, metadata_request(None, false))
        .await;
    let mut topics: Vec<(String, usize)> = metadata
        .topics
        .iter()
        .map(|t| (t.name.clone().unwrap_or_default(), t.partitions.len()))
        .collect();
    topics.sort();
    assert_eq!(topics, [("kept".to_string(), 2), ("other".to_string(), 1)]);

    let configs: DescribeConfigsResponse = client
        .call(
            4,
            DescribeConfigsRequest {
                resources: vec![DescribeConfigsResource {
                    resource_type: 2,
                    resource_name: "kept".into(),
                    configuration_keys: Some(vec!["retention.ms".into()]),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await;
    let entry = &configs.results[0].configs[0];
    assert_eq!(entry.value.as_deref(), Some("123456789"));
    assert_eq!(entry.config_source, 1, "still a topic override");

    for (partition, expected) in [(0, ["a", "b"]), (1, ["c", "d"])] {
        // A consumer reads everything that was acknowledged...
        let data = fetch(client, "kept", partition, 0).await;
        assert_eq!(data.error_code, 0);
        assert_eq!(data.high_watermark, 2, "partition {partition}");
        let values = fetched_values(&records_of(&data));
        assert_eq!(
            values,
            [(0, expected[0].to_string()), (1, expected[1].to_string())]
        );
        assert_eq!(list_offset(client, "kept", partition, -1).await.offset, 2);
    }
    // ... and new writes continue the offsets.
    let next = produce_ok(
        client,
        "other",
        0,
        batch(CompressionType::None, now_ms(), &["p"]),
    )
    .await;
    assert_eq!(next, 1);
}

#[tokio::test]
async fn a_clean_restart_keeps_topics_configs_offsets_and_data() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    produce_sample(&mut client).await;
    drop(client);
    broker.restart_cleanly().await;
    assert_sample_intact(&mut broker.connect().await).await;
}

#[tokio::test]
async fn a_crash_keeps_every_acknowledged_write_readable() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    produce_sample(&mut client).await;
    drop(client);
    broker.crash_and_reopen();
    assert_sample_intact(&mut broker.connect().await).await;
}

#[tokio::test]
async fn a_crash_after_a_clean_restart_keeps_later_writes_readable() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "later", 1, &[]).await;
    produce_ok(
        &mut client,
        "later",
        0,
        batch(CompressionType::None, now_ms(), &["before"]),
    )
    .await;
    drop(client);
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    produce_ok(
        &mut client,
        "later",
        0,
        batch(CompressionType::None, now_ms(), &["after"]),
    )
    .await;
    drop(client);
    broker.crash_and_reopen();
    let mut client = broker.connect().await;
    let data = fetch(&mut client, "later", 0, 0).await;
    assert_eq!(data.high_watermark, 2);
    assert_eq!(
        fetched_values(&records_of(&data)),
        [(0, "before".to_string()), (1, "after".to_string())]
    );
}

/// A broker, stopped cleanly, that holds `topic` with one record in each
/// of its `partitions`.
async fn stopped_with_a_record_in_each(topic: &str, partitions: i32, value: &str) -> TestBroker {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, topic, partitions, &[]).await;
    for partition in 0..partitions {
        let records = batch(CompressionType::None, now_ms(), &[value]);
        produce_ok(&mut client, topic, partition, records).await;
    }
    drop(client);
    broker.stop().await;
    broker
}

/// Every partition of `topic` holds exactly `values`, from offset 0.
async fn assert_each_partition_holds(
    broker: &TestBroker,
    topic: &str,
    partitions: i32,
    values: &[&str],
) {
    let mut client = broker.connect().await;
    let expected: Vec<(i64, String)> = (0..).zip(values.iter().map(|v| v.to_string())).collect();
    for partition in 0..partitions {
        let data = fetch(&mut client, topic, partition, 0).await;
        assert_eq!(
            fetched_values(&records_of(&data)),
            expected,
            "partition {partition}"
        );
    }
}

/// Whether each partition dir of `topic` holds `file`.
fn in_every_partition(broker: &TestBroker, topic: &str, partitions: i32, file: &str) -> Vec<bool> {
    (0..partitions)
        .map(|index| {
            broker
                .data_dir()
                .join(format!("{topic}-{index}"))
                .join(file)
                .exists()
        })
        .collect()
}

/// A stop closes many logs at once and a start opens a topic's logs under
/// one `syncfs`: every log is still marked clean at the stop, with its
/// index files written, and unmarked once the broker runs again, so a
/// crash then is recovered as one.
#[tokio::test]
async fn a_clean_stop_marks_every_log_clean_and_the_next_start_unmarks_them() {
    const PARTITIONS: i32 = 30;
    let mut broker = stopped_with_a_record_in_each("many", PARTITIONS, "before").await;
    let every = vec![true; PARTITIONS as usize];
    assert_eq!(
        in_every_partition(&broker, "many", PARTITIONS, ".clean-shutdown"),
        every
    );
    let index = "00000000000000000000.index";
    assert_eq!(
        in_every_partition(&broker, "many", PARTITIONS, index),
        every
    );

    broker.reopen();
    let none = vec![false; PARTITIONS as usize];
    assert_eq!(
        in_every_partition(&broker, "many", PARTITIONS, ".clean-shutdown"),
        none
    );
    let mut client = broker.connect().await;
    for partition in 0..PARTITIONS {
        let records = batch(CompressionType::None, now_ms(), &["after"]);
        produce_ok(&mut client, "many", partition, records).await;
    }
    drop(client);
    broker.crash_and_reopen();
    assert_each_partition_holds(&broker, "many", PARTITIONS, &["before", "after"]).await;
}

/// A log that cannot be opened at start-up (here a checkpoint that reads
/// as an I/O error) stops the start with an error, and every partition's
/// records stay where they are: a start once removed the dirs of the
/// partitions opened before the failing one, as if they were new.
#[tokio::test]
async fn a_start_that_cannot_open_a_log_keeps_every_partition() {
    const PARTITIONS: i32 = 10;
    let mut broker = stopped_with_a_record_in_each("kept", PARTITIONS, "record").await;
    let unreadable = broker
        .data_dir()
        .join("kept-6")
        .join("log-start-offset-checkpoint");
    std::fs::remove_file(&unreadable).ok();
    std::fs::create_dir(&unreadable).unwrap();

    let data_dir = broker.data_dir().to_str().unwrap().to_string();
    let config = BrokerConfig::from_pairs(&[("log.dirs", data_dir.as_str())]).unwrap();
    let opened = Broker::open(config, "127.0.0.1".into(), 9092);
    assert!(opened.is_err(), "the start fails");
    drop(opened);
    for partition in 0..PARTITIONS {
        let log = broker
            .data_dir()
            .join(format!("kept-{partition}"))
            .join("00000000000000000000.log");
        assert!(
            log.metadata().is_ok_and(|m| m.len() > 0),
            "{} kept",
            log.display()
        );
    }

    std::fs::remove_dir(&unreadable).unwrap();
    broker.reopen();
    assert_each_partition_holds(&broker, "kept", PARTITIONS, &["record"]).await;
}

#[tokio::test]
async fn a_torn_write_at_the_log_end_is_dropped_on_recovery() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "torn", 1, &[]).await;
    produce_ok(
        &mut client,
        "torn",
        0,
        batch(CompressionType::None, now_ms(), &["a", "b"]),
    )
    .await;
    drop(client);
    broker.crash();

    // The process died in the middle of writing the next batch: the
    // segment ends with the first bytes of it.
    let segment = broker
        .data_dir()
        .join("torn-0")
        .join("00000000000000000000.log");
    let next = batch(CompressionType::None, now_ms(), &["never acknowledged"]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .expect("segment file");
    std::io::Write::write_all(&mut file, &next[..next.len() / 2]).expect("partial write");
    drop(file);

    broker.reopen();
    let mut client = broker.connect().await;
    let data = fetch(&mut client, "torn", 0, 0).await;
    assert_eq!(data.high_watermark, 2);
    assert_eq!(
        fetched_values(&records_of(&data)),
        [(0, "a".to_string()), (1, "b".to_string())]
    );
    let after = produce_ok(
        &mut client,
        "torn",
        0,
        batch(CompressionType::None, now_ms(), &["c"]),
    )
    .await;
    assert_eq!(after, 2);
    let values = fetched_values(&records_of(&fetch(&mut client, "torn", 0, 0).await));
    assert_eq!(values.len(), 3, "{values:?}");
}
