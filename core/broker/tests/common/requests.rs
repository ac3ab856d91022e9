//! Helpers that build the requests most tests send, at the versions current
//! Java clients use, and record batches to put in them.

use bytes::Bytes;
use strom_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use strom_protocol::messages::create_topics_response::CreatableTopicResult;
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::fetch_response::PartitionData;
use strom_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use strom_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use strom_protocol::messages::metadata_request::MetadataRequestTopic;
use strom_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use strom_protocol::messages::produce_response::PartitionProduceResponse;
use strom_protocol::messages::*;
use strom_protocol::records::{batches, CompressionType, RecordBatch, RecordBatchBuilder};

use super::client::Client;

pub const PRODUCE_VERSION: i16 = 9;
pub const FETCH_VERSION: i16 = 12;
pub const METADATA_VERSION: i16 = 12;
pub const CREATE_TOPICS_VERSION: i16 = 7;
pub const LIST_OFFSETS_VERSION: i16 = 7;

/// A batch of `values` with timestamps `first_timestamp`, +1, +2, ...
pub fn batch(codec: CompressionType, first_timestamp: i64, values: &[&str]) -> Bytes {
    builder_with(RecordBatchBuilder::new(codec), first_timestamp, values)
}

/// An idempotent producer's batch.
pub fn idempotent_batch(producer_id: i64, epoch: i16, sequence: i32, values: &[&str]) -> Bytes {
    let builder =
        RecordBatchBuilder::new(CompressionType::None).with_producer(producer_id, epoch, sequence);
    builder_with(builder, now_ms(), values)
}

fn builder_with(mut builder: RecordBatchBuilder, first_timestamp: i64, values: &[&str]) -> Bytes {
    for (i, value) in values.iter().enumerate() {
        builder
            .append(
                first_timestamp + i as i64,
                Some(format!("key-{i}").as_bytes()),
                Some(value.as_bytes()),
                &[],
            )
            .expect("record appends");
    }
    builder.build().expect("batch builds")
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The batches of a fetch response's records field.
pub fn split_batches(records: &Bytes) -> Vec<RecordBatch> {
    batches(records.clone())
        .collect::<Result<Vec<_>, _>>()
        .expect("fetched bytes are whole v2 batches")
}

/// The values of every record in `records`, in offset order, with offsets.
pub fn fetched_values(records: &Bytes) -> Vec<(i64, String)> {
    let mut values = Vec::new();
    for batch in split_batches(records) {
        for record in batch.records(1 << 20).expect("records readable") {
            let record = record.expect("record decodes");
            let value = record.value.as_ref().expect("record has a value");
            values.push((record.offset, String::from_utf8_lossy(value).into_owned()));
        }
    }
    values
}

pub fn metadata_request(topics: Option<&[&str]>, auto_create: bool) -> MetadataRequest {
    MetadataRequest {
        topics: topics.map(|names| {
            names
                .iter()
                .map(|name| MetadataRequestTopic {
                    name: Some(name.to_string()),
                    ..Default::default()
                })
                .collect()
        }),
        allow_auto_topic_creation: auto_create,
        ..Default::default()
    }
}

pub fn creatable_topic(name: &str, partitions: i32, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic {
        name: name.to_string(),
        num_partitions: partitions,
        replication_factor: -1,
        configs: configs
            .iter()
            .map(|(k, v)| CreatableTopicConfig {
                name: k.to_string(),
                value: Some(v.to_string()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Creates a topic and asserts it worked.
pub async fn create_topic(
    client: &mut Client,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> CreatableTopicResult {
    let result = create_topics(
        client,
        vec![creatable_topic(name, partitions, configs)],
        false,
    )
    .await
    .remove(0);
    assert_eq!(
        result.error_code, 0,
        "creating {name}: {:?}",
        result.error_message
    );
    result
}

pub async fn create_topics(
    client: &mut Client,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> Vec<CreatableTopicResult> {
    let response: CreateTopicsResponse = client
        .call(
            CREATE_TOPICS_VERSION,
            CreateTopicsRequest {
                topics,
                timeout_ms: 10_000,
                validate_only,
                ..Default::default()
            },
        )
        .await;
    response.topics
}

pub fn produce_request(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest {
        acks,
        timeout_ms: 10_000,
        topic_data: vec![TopicProduceData {
            name: topic.to_string(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(records),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Produces one batch with acks=all and returns the partition's answer.
pub async fn produce(
    client: &mut Client,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let mut response: ProduceResponse = client
        .call(
            PRODUCE_VERSION,
            produce_request(topic, partition, records, -1),
        )
        .await;
    assert_eq!(response.responses.len(), 1);
    assert_eq!(response.responses[0].name, topic);
    let mut partitions = response.responses.remove(0).partition_responses;
    assert_eq!(partitions.len(), 1);
    partitions.remove(0)
}

/// Produces and asserts success; returns the base offset.
pub async fn produce_ok(client: &mut Client, topic: &str, partition: i32, records: Bytes) -> i64 {
    let response = produce(client, topic, partition, records).await;
    assert_eq!(
        response.error_code, 0,
        "produce to {topic}-{partition}: {:?}",
        response.error_message
    );
    response.base_offset
}

pub fn fetch_partition(partition: i32, offset: i64, partition_max_bytes: i32) -> FetchPartition {
    FetchPartition {
        partition,
        fetch_offset: offset,
        partition_max_bytes,
        ..Default::default()
    }
}

pub fn fetch_request(topic: &str, partitions: Vec<FetchPartition>) -> FetchRequest {
    FetchRequest {
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: i32::MAX,
        topics: vec![FetchTopic {
            topic: topic.to_string(),
            partitions,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Fetches one partition without waiting.
pub async fn fetch(client: &mut Client, topic: &str, partition: i32, offset: i64) -> PartitionData {
    let request = fetch_request(topic, vec![fetch_partition(partition, offset, 1 << 20)]);
    let mut response: FetchResponse = client.call(FETCH_VERSION, request).await;
    assert_eq!(response.error_code, 0);
    assert_eq!(response.responses.len(), 1);
    response.responses.remove(0).partitions.remove(0)
}

pub fn records_of(data: &PartitionData) -> Bytes {
    data.records.clone().unwrap_or_default()
}

/// ListOffsets for one partition at `timestamp` (-1 latest, -2 earliest,
/// -3 max timestamp).
pub async fn list_offset(
    client: &mut Client,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> ListOffsetsPartitionResponse {
    let request = ListOffsetsRequest {
        replica_id: -1,
        topics: vec![ListOffsetsTopic {
            name: topic.to_string(),
            partitions: vec![ListOffsetsPartition {
                partition_index: partition,
                timestamp,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut response: ListOffsetsResponse = client.call(LIST_OFFSETS_VERSION, request).await;
    response.topics.remove(0).partitions.remove(0)
}

/// A new idempotent producer id and epoch.
pub async fn init_producer_id(client: &mut Client) -> (i64, i16) {
    let response: InitProducerIdResponse = client
        .call(
            4,
            InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: 60_000,
                producer_id: -1,
                producer_epoch: -1,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(response.error_code, 0);
    (response.producer_id, response.producer_epoch)
}
