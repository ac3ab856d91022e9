//! [`TopicPartition`]: the one way the client's public API names a
//! partition of a topic (assignments, seeks, pauses, commits, offsets,
//! rebalance callbacks), so every binding converts one shape.

use std::fmt;
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
}
