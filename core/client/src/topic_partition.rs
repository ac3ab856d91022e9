//! [`TopicPartition`]: the one way the client's public API names a
//! partition of a topic (assignments, seeks, pauses, commits, offsets,
//! rebalance callbacks), so every binding converts one shape.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A partition of a topic. The name is an `Arc<str>`: cloning one (the
/// consumer does for every record it returns) copies a pointer, not the
/// name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl<T: Into<Arc<str>>> From<(T, i32)> for TopicPartition {
    fn from((topic, partition): (T, i32)) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }
}

/// `topic[partition]`, as librdkafka prints them.
impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.topic, self.partition)
    }
}

/// A topic and partition by reference, to look a [`TopicPartition`] key up
/// in a map without building one (the producer does, once per record).
pub(crate) trait PartitionKey {
    fn topic(&self) -> &str;
    fn partition(&self) -> i32;
}

impl PartitionKey for TopicPartition {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }
}

impl PartitionKey for (&str, i32) {
    fn topic(&self) -> &str {
        self.0
    }

    fn partition(&self) -> i32 {
        self.1
    }
}

impl<'a> Borrow<dyn PartitionKey + 'a> for TopicPartition {
    fn borrow(&self) -> &(dyn PartitionKey + 'a) {
        self
    }
}

impl PartialEq for dyn PartitionKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.partition() == other.partition() && self.topic() == other.topic()
    }
}

impl Eq for dyn PartitionKey + '_ {}

/// The same hash as the derived one of [`TopicPartition`] (topic, then
/// partition), as `Borrow` requires.
impl Hash for dyn PartitionKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.topic().hash(state);
        self.partition().hash(state);
    }
}

/// `partitions` as [`TopicPartition`]s: `tps([("orders", 0), ("orders", 1)])`.
pub fn tps<T: Into<Arc<str>>>(
    partitions: impl IntoIterator<Item = (T, i32)>,
) -> Vec<TopicPartition> {
    partitions.into_iter().map(TopicPartition::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_topic_name_and_order_by_topic_then_partition() {
        let a = TopicPartition::new("orders", 1);
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.topic, &b.topic));
        let mut list = tps([("orders", 1), ("audit", 7), ("orders", 0)]);
        list.sort();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["audit[7]", "orders[0]", "orders[1]"]);
    }

    #[test]
    fn a_map_keyed_by_topic_partition_is_found_by_borrowed_parts() {
        let mut map = std::collections::HashMap::new();
        map.insert(TopicPartition::new("orders", 3), "three");
        map.insert(TopicPartition::new("orders", 4), "four");
        let key = ("orders", 3);
        assert_eq!(map.get(&key as &dyn PartitionKey), Some(&"three"));
        let other = ("audit", 3);
        assert_eq!(map.get(&other as &dyn PartitionKey), None);
    }
}
