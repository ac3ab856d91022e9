//! How a serving broker makes a new topic's logs durable: under the fsync
//! policy with one `syncfs` of the data directory; under page-cache with
//! none, since there a `syncfs` would first write back every log's
//! unsynced appends (gigabytes, if the kernel has not yet) and the topic
//! would wait for all of it, while the page-cache promise does not cover
//! an OS crash. The sync counter is process-wide, so this file holds one
//! test.

use strom_broker::config::{BrokerConfig, TopicConfigs};
use strom_broker::partition_manager::{PartitionManager, Staging};
use strom_storage::latency::FSYNC_LATENCY;

/// Syncs counted (file syncs and `syncfs`; not the fsyncs of a new log's
/// own directory) while partitions `0..partitions` of a new topic are
/// staged.
fn syncs_staging(policy: &str, staging: Staging, partitions: i32) -> u64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = BrokerConfig::from_pairs(&[("strom.flush.policy", policy)]).expect("config");
    let manager = PartitionManager::new(dir.path().to_path_buf(), 0, 1 << 20);
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
}
