//! Deliveries, partitions, offsets and configs between JS objects and the
//! core's types (records themselves travel packed: `packed.rs`).

use napi_derive::napi;
use strom_client::{RecordMetadata, TopicPartition};

/// Where a record was written.
#[napi(object)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    /// -1 with acks=0.
    pub offset: i64,
    pub timestamp: i64,
}

impl Delivery {
    pub fn new(topic: String, metadata: RecordMetadata) -> Delivery {
        Delivery {
            topic,
            partition: metadata.partition,
            offset: metadata.offset,
            timestamp: metadata.timestamp,
        }
    }
}

#[napi(object)]
pub struct Partition {
    pub topic: String,
    pub partition: i32,
}

impl From<&Partition> for TopicPartition {
    fn from(p: &Partition) -> TopicPartition {
        TopicPartition::new(p.topic.as_str(), p.partition)
    }
}

impl From<TopicPartition> for Partition {
    fn from(tp: TopicPartition) -> Partition {
        Partition {
            topic: tp.topic.to_string(),
            partition: tp.partition,
        }
    }
}

/// A partition and an offset (a commit, a seek, a group offset).
#[napi(object)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl PartitionOffset {
    pub fn tp(&self) -> TopicPartition {
        TopicPartition::new(self.topic.as_str(), self.partition)
    }
}

pub fn partitions(list: &[Partition]) -> Vec<TopicPartition> {
    list.iter().map(TopicPartition::from).collect()
}

/// Config pairs by librdkafka's or Java's names.
pub fn config(pairs: Vec<Vec<String>>) -> napi::Result<strom_client::ClientConfig> {
    let pairs = pairs
        .into_iter()
        .map(|pair| match <[String; 2]>::try_from(pair) {
            Ok([key, value]) => Ok((key, value)),
            Err(_) => Err(crate::errors::invalid(
                "config entries are [name, value] pairs",
            )),
        })
        .collect::<napi::Result<Vec<_>>>()?;
    strom_client::ClientConfig::from_pairs(pairs).map_err(|e| crate::to_js_error(&e))
}
