//! How a serving broker makes a new topic's logs durable: under the fsync
//! policy with one `syncfs` of the data directory; under page-cache with
//! none, since there a `syncfs` would first write back every log's
//! unsynced appends (gigabytes, if the kernel has not yet) and the topic
//! would wait for all of it, while the page-cache promise does not cover
//! an OS crash. The same holds for the logs a cluster's metadata log adds
//! (no creator staged them). The sync counter is process-wide, so this
//! file holds one test.

use strom_broker::config::{BrokerConfig, TopicConfigs};
use strom_broker::partition_manager::{PartitionManager, Staging};
use strom_broker::topic_table::{MetadataRecord, PartitionAssignment, TopicTable};
use strom_protocol::codec::Uuid;
use strom_storage::latency::FSYNC_LATENCY;

const NODE: i32 = 0;

fn broker_config(policy: &str) -> BrokerConfig {
    BrokerConfig::from_pairs(&[("strom.flush.policy", policy)]).expect("config")
}

/// Syncs counted (file syncs and `syncfs`; not the fsyncs of a new log's
/// own directory) while partitions `0..partitions` of a new topic are
/// staged.
fn syncs_staging(policy: &str, staging: Staging, partitions: i32) -> u64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = broker_config(policy);
    let manager = PartitionManager::new(dir.path().to_path_buf(), NODE, 1 << 20);
    let effective = TopicConfigs::default().effective(&config);
    let before = FSYNC_LATENCY.count();
    let staged = manager
        .stage("t", 0..partitions, &effective, &config, staging)
        .expect("logs open");
    let syncs = FSYNC_LATENCY.count() - before;
    assert_eq!(staged.indexes(), 0..partitions);
    manager.discard(staged);
    syncs
}

/// Syncs counted while a topic of `partitions`, all replicas on this
/// node, arrives as a cluster's metadata log delivers it: as committed
/// records, with nothing staged.
fn syncs_applying(policy: &str, partitions: i32) -> u64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = broker_config(policy);
    let manager = PartitionManager::new(dir.path().to_path_buf(), NODE, 1 << 20);
    let topic_id = Uuid([7; 16]);
    let mut records = vec![MetadataRecord::Topic {
        name: "t".to_string(),
        id: topic_id,
        configs: TopicConfigs::default(),
    }];
    records.extend((0..partitions).map(|_| MetadataRecord::Partition {
        topic_id,
        assignment: PartitionAssignment {
            replicas: vec![NODE],
            isr: vec![NODE],
            leader: NODE,
            ..Default::default()
        },
    }));
    let mut table = TopicTable::default();
    let (deltas, errors) = table.apply_all(records);
    assert!(errors.is_empty(), "{errors:?}");
    let before = FSYNC_LATENCY.count();
    let changes = manager.apply(&deltas, None, &config);
    let syncs = FSYNC_LATENCY.count() - before;
    assert_eq!(
        changes.len(),
        partitions as usize,
        "every partition led here"
    );
    assert_eq!(manager.partitions_of("t").len(), partitions as usize);
    syncs
}

#[test]
fn a_serving_page_cache_broker_never_syncs_the_whole_data_dir_for_new_logs() {
    assert_eq!(
        syncs_staging("fsync", Staging::Serving, 20),
        1,
        "under fsync, one syncfs makes 20 new logs durable"
    );
    assert_eq!(
        syncs_staging("page-cache", Staging::Serving, 20),
        0,
        "under page-cache, no syncfs while serving"
    );
    // At start-up little is unsynced, and one syncfs beats thousands of
    // directory fsyncs.
    assert_eq!(syncs_staging("page-cache", Staging::Start, 20), 1);

    // A cluster's replicas, opened as their records are applied.
    assert_eq!(
        syncs_applying("fsync", 20),
        1,
        "under fsync, one syncfs makes 20 new replicas durable"
    );
    assert_eq!(
        syncs_applying("page-cache", 20),
        0,
        "under page-cache, no syncfs for new replicas"
    );
}
