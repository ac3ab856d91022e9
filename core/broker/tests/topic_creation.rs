//! Topic creation completes or leaves nothing, and is bounded per request.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use strom_protocol::messages::CreatePartitionsResponse;
use strom_protocol::messages::{CreatePartitionsRequest, MetadataResponse};

const CREATE_PARTITIONS_VERSION: i16 = 3;

fn partition_dirs(broker: &TestBroker, topic: &str) -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(broker.data_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| name.rsplit_once('-').is_some_and(|(t, _)| t == topic))
        .collect();
    dirs.sort();
    dirs
}

#[tokio::test]
async fn a_creation_that_fails_halfway_leaves_nothing_and_the_broker_restarts() {
    let mut broker = TestBroker::start();
    // Partition 5 cannot be made: a file stands where its dir must go.
    std::fs::write(broker.data_dir().join("halfway-5"), b"in the way").unwrap();
    let mut client = broker.connect().await;
    let result = create_topics(
        &mut client,
        vec![creatable_topic("halfway", 10, &[])],
        false,
    )
    .await
    .remove(0);
    assert_eq!(
        result.error_code,
        error_codes::KAFKA_STORAGE_ERROR,
        "{:?}",
        result.error_message
    );
    assert_eq!(
        partition_dirs(&broker, "halfway"),
        Vec::<String>::new(),
        "partitions 0-4 removed"
    );
    let metadata: MetadataResponse = client
        .call(
            METADATA_VERSION,
            metadata_request(Some(&["halfway"]), false),
        )
        .await;
    assert_eq!(
        metadata.topics[0].error_code,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );

    broker.restart_cleanly().await;
    std::fs::remove_file(broker.data_dir().join("halfway-5")).unwrap();
    let mut client = broker.connect().await;
    create_topic(&mut client, "halfway", 10, &[]).await;
    assert_eq!(partition_dirs(&broker, "halfway").len(), 10);
}

#[tokio::test]
async fn empty_partition_dirs_no_topic_claims_are_removed_and_full_ones_kept_aside() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "kept", 2, &[]).await;
    produce_ok(&mut client, "kept", 1, one_record("v")).await;
    create_topic(&mut client, "orphan", 1, &[]).await;
    produce_ok(&mut client, "orphan", 0, one_record("precious")).await;
    broker.stop().await;
    // What a crash in the middle of a creation or deletion leaves.
    for leftover in ["ghost-0", "ghost-1", "kept-2"] {
        let dir = broker.data_dir().join(leftover);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("00000000000000000000.log"), b"").unwrap();
    }
    std::fs::create_dir(broker.data_dir().join("not-a-partition")).unwrap();
    // A topic file lost some other way: its partition's records are kept.
    std::fs::remove_file(broker.data_dir().join("topics").join("orphan.topic")).unwrap();
    broker.reopen();

    assert_eq!(partition_dirs(&broker, "ghost"), Vec::<String>::new());
    assert_eq!(partition_dirs(&broker, "kept"), ["kept-0", "kept-1"]);
    assert_eq!(partition_dirs(&broker, "orphan"), Vec::<String>::new());
    let aside: Vec<_> = std::fs::read_dir(broker.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("orphan-0.") && name.ends_with("-stray"))
        .collect();
    assert_eq!(aside.len(), 1, "the orphan's records are moved aside");
    assert!(
        broker.data_dir().join("not-a-partition").is_dir(),
        "only partition dirs are touched"
    );
    let mut client = broker.connect().await;
    let data = fetch(&mut client, "kept", 1, 0).await;
    assert_eq!(fetched_values(&records_of(&data)), [(0, "v".to_string())]);
    // A new topic of that name starts empty, and the stray dir stays.
    create_topic(&mut client, "orphan", 1, &[]).await;
    let data = fetch(&mut client, "orphan", 0, 0).await;
    assert!(records_of(&data).is_empty());
    broker.restart_cleanly().await;
    assert!(broker.data_dir().join(&aside[0]).is_dir());
}

/// CreatePartitions of `topic` to `count` partitions, placed by the broker.
fn grow_request(topic: &str, count: i32) -> CreatePartitionsRequest {
    CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: topic.into(),
            count,
            assignments: None,
            ..Default::default()
        }],
        timeout_ms: 10_000,
        ..Default::default()
    }
}

fn one_record(value: &str) -> bytes::Bytes {
    batch(
        strom_protocol::records::CompressionType::None,
        now_ms(),
        &[value],
    )
}

#[tokio::test]
async fn a_request_for_more_partitions_than_the_limit_is_refused_before_anything_is_made() {
    let broker = TestBroker::start_with(&[("strom.max.partitions.per.request", "100")]);
    let mut client = broker.connect().await;
    let results = create_topics(
        &mut client,
        vec![
            creatable_topic("first", 60, &[]),
            creatable_topic("second", 60, &[]),
            creatable_topic("third", 40, &[]),
        ],
        false,
    )
    .await;
    let codes: Vec<i16> = results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [0, error_codes::POLICY_VIOLATION, 0], "{results:?}");
    let message = results[1].error_message.as_deref().unwrap();
    assert!(
        message.contains("strom.max.partitions.per.request"),
        "{message}"
    );
    assert_eq!(partition_dirs(&broker, "second"), Vec::<String>::new());

    let grow = |count| grow_request("first", count);
    let response: CreatePartitionsResponse =
        client.call(CREATE_PARTITIONS_VERSION, grow(200)).await;
    assert_eq!(
        response.results[0].error_code,
        error_codes::POLICY_VIOLATION
    );
    let response: CreatePartitionsResponse =
        client.call(CREATE_PARTITIONS_VERSION, grow(160)).await;
    assert_eq!(
        response.results[0].error_code, 0,
        "{:?}",
        response.results[0].error_message
    );
}

/// Topics of many partitions are made durable with one `syncfs` of the
/// data dir instead of a fsync per partition (`PartitionManager::stage`):
/// every partition of such a topic, and of a growth by many partitions,
/// takes records at once and keeps them through a crash.
#[tokio::test]
async fn every_partition_of_a_large_creation_or_growth_takes_records_and_survives_a_crash() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "wide", 12, &[]).await;
    let response: CreatePartitionsResponse = client
        .call(CREATE_PARTITIONS_VERSION, grow_request("wide", 40))
        .await;
    assert_eq!(response.results[0].error_code, 0, "{response:?}");
    for partition in 0..40 {
        let offset = produce_ok(
            &mut client,
            "wide",
            partition,
            one_record(&format!("p{partition}")),
        )
        .await;
        assert_eq!(offset, 0);
    }
    assert_eq!(partition_dirs(&broker, "wide").len(), 40);

    broker.crash_and_reopen();
    let mut client = broker.connect().await;
    for partition in 0..40 {
        let data = fetch(&mut client, "wide", partition, 0).await;
        assert_eq!(
            fetched_values(&records_of(&data)),
            [(0, format!("p{partition}"))],
            "partition {partition}"
        );
    }
}
