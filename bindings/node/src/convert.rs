//! Records, messages and partitions between JS objects and the core's
//! types. Keys, values and header values are Buffers (or null) here; the
//! JS layer accepts strings too and turns them into Buffers first.

use bytes::Bytes;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use strom_client::{ConsumerRecord, ProducerRecord, RecordMetadata, TopicPartition};

#[napi(object)]
pub struct Header {
    pub key: String,
    pub value: Option<Buffer>,
}

#[napi(object)]
pub struct OutRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Buffer>,
    pub value: Option<Buffer>,
    pub headers: Option<Vec<Header>>,
    /// Milliseconds since the epoch; none for now.
    pub timestamp: Option<f64>,
}

fn bytes(buffer: Option<Buffer>) -> Option<Bytes> {
    buffer.map(|b| Bytes::from(Vec::<u8>::from(b)))
}

impl From<OutRecord> for ProducerRecord {
    fn from(record: OutRecord) -> ProducerRecord {
        ProducerRecord {
            topic: record.topic,
            partition: record.partition,
            key: bytes(record.key),
            value: bytes(record.value),
            headers: record
                .headers
                .unwrap_or_default()
                .into_iter()
                .map(|h| (h.key, bytes(h.value)))
                .collect(),
            timestamp: record.timestamp.map(|t| t as i64),
        }
    }
}

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

/// A consumed record.
#[napi(object)]
pub struct Message {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Buffer>,
    pub value: Option<Buffer>,
    pub headers: Vec<Header>,
    pub leader_epoch: Option<i32>,
}

fn buffer(bytes: Option<Bytes>) -> Option<Buffer> {
    bytes.map(|b| Buffer::from(b.to_vec()))
}

impl From<ConsumerRecord> for Message {
    fn from(record: ConsumerRecord) -> Message {
        Message {
            topic: record.topic.to_string(),
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: buffer(record.key),
            value: buffer(record.value),
            headers: record
                .headers
                .into_iter()
                .map(|(key, value)| Header {
                    key,
                    value: buffer(value),
                })
                .collect(),
            leader_epoch: record.leader_epoch,
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
