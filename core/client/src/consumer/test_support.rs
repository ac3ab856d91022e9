//! Shorthands the consumer's unit tests share.

use std::collections::BTreeMap;

use super::TopicPartition;

pub(crate) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Partition counts per topic, as the assignors take them.
pub(crate) fn counts(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}
