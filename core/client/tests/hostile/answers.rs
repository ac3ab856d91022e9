//! Answers for the hostile broker: the well-behaved ones (so a script only
//! spells out the one answer it makes hostile), valid-but-hostile message
//! builders, and hand-written invalid bytes.

use bytes::Bytes;
use strom_protocol::compression::compress;
use strom_protocol::messages::api_versions_response::ApiVersion;
use strom_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use strom_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use strom_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use strom_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use strom_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use strom_protocol::messages::{
    ApiKey, ApiVersionsResponse, DescribeClusterResponse, FetchResponse, FindCoordinatorResponse,
    InitProducerIdResponse, ListOffsetsResponse, MetadataResponse, ProduceResponse, Request,
    Response,
};
use strom_protocol::records::{rewrite, BatchHeader, CompressionType, RecordBatchBuilder};

use super::{Incoming, Reply};

pub const NODE: i32 = 0;

/// Answers as a healthy one-broker cluster would, where every topic asked
/// for exists with one partition led by this broker.
pub fn well_behaved(incoming: &Incoming) -> Reply {
    Reply::Respond(healthy_response(incoming))
}

pub fn healthy_response(incoming: &Incoming) -> Response {
    match &incoming.request {
        Request::ApiVersions(_) => api_versions(ApiKey::ALL).into(),
        Request::Metadata(request) => {
            let topics = request
                .topics
                .iter()
                .flatten()
                .filter_map(|t| t.name.clone())
                .map(|name| topic(&name, vec![partition(0, NODE)]))
                .collect();
            metadata(
                vec![broker(NODE, "127.0.0.1", incoming.port.into())],
                topics,
            )
            .into()
        }
        Request::InitProducerId(_) => InitProducerIdResponse {
            producer_id: 1,
            producer_epoch: 0,
            ..Default::default()
        }
        .into(),
        Request::Produce(_) => produce_answer(incoming, |_, _| (0, 0)).into(),
        Request::Fetch(_) => fetch_answer(incoming, |_, _| (None, 0)).into(),
        Request::ListOffsets(request) => ListOffsetsResponse {
            topics: request
                .topics
                .iter()
                .map(|t| ListOffsetsTopicResponse {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| ListOffsetsPartitionResponse {
                            partition_index: p.partition_index,
                            offset: 0,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into(),
        Request::FindCoordinator(_) => coordinator(NODE, "127.0.0.1", incoming.port.into()).into(),
        Request::DescribeCluster(_) => DescribeClusterResponse {
            cluster_id: "hostile".to_string(),
            controller_id: NODE,
            brokers: vec![DescribeClusterBroker {
                broker_id: NODE,
                host: "127.0.0.1".to_string(),
                port: incoming.port.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
        .into(),
        other => panic!("the hostile broker has no healthy answer for {other:?}"),
    }
}

/// ApiVersions listing the codec's whole range for each of `apis`.
pub fn api_versions(apis: &[ApiKey]) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: apis
            .iter()
            .map(|api| {
                let (min_version, max_version) = api.codec_versions();
                ApiVersion {
                    api_key: *api as i16,
                    min_version,
                    max_version,
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

pub fn metadata(
    brokers: Vec<MetadataResponseBroker>,
    topics: Vec<MetadataResponseTopic>,
) -> MetadataResponse {
    MetadataResponse {
        brokers,
        cluster_id: Some("hostile".to_string()),
        controller_id: NODE,
        topics,
        ..Default::default()
    }
}

pub fn broker(node_id: i32, host: &str, port: i32) -> MetadataResponseBroker {
    MetadataResponseBroker {
        node_id,
        host: host.to_string(),
        port,
        ..Default::default()
    }
}

pub fn topic(name: &str, partitions: Vec<MetadataResponsePartition>) -> MetadataResponseTopic {
    MetadataResponseTopic {
        name: Some(name.to_string()),
        partitions,
        ..Default::default()
    }
}

pub fn partition(index: i32, leader: i32) -> MetadataResponsePartition {
    MetadataResponsePartition {
        partition_index: index,
        leader_id: leader,
        replica_nodes: vec![leader],
        isr_nodes: vec![leader],
        ..Default::default()
    }
}

pub fn coordinator(node_id: i32, host: &str, port: i32) -> FindCoordinatorResponse {
    use strom_protocol::messages::find_coordinator_response::Coordinator;
    FindCoordinatorResponse {
        node_id,
        host: host.to_string(),
        port,
        coordinators: vec![Coordinator {
            key: "group".to_string(),
            node_id,
            host: host.to_string(),
            port,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A Produce answer with one result per partition sent: `result(topic,
/// partition)` gives its (error code, base offset).
pub fn produce_answer(
    incoming: &Incoming,
    result: impl Fn(&str, i32) -> (i16, i64),
) -> ProduceResponse {
    let Request::Produce(request) = &incoming.request else {
        panic!("not a Produce request");
    };
    ProduceResponse {
        responses: request
            .topic_data
            .iter()
            .map(|t| TopicProduceResponse {
                name: t.name.clone(),
                partition_responses: t
                    .partition_data
                    .iter()
                    .map(|p| {
                        let (error_code, base_offset) = result(&t.name, p.index);
                        PartitionProduceResponse {
                            index: p.index,
                            error_code,
                            base_offset,
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// A Fetch answer with one entry per partition asked for:
/// `data(topic, fetch_offset)` gives its (records, high watermark).
pub fn fetch_answer(
    incoming: &Incoming,
    data: impl Fn(&str, i64) -> (Option<Bytes>, i64),
) -> FetchResponse {
    let Request::Fetch(request) = &incoming.request else {
        panic!("not a Fetch request");
    };
    FetchResponse {
        responses: request
            .topics
            .iter()
            .map(|t| FetchableTopicResponse {
                topic: t.topic.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        let (records, high_watermark) = data(&t.topic, p.fetch_offset);
                        fetch_partition(p.partition, records, high_watermark)
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub fn fetch_partition(index: i32, records: Option<Bytes>, high_watermark: i64) -> PartitionData {
    PartitionData {
        partition_index: index,
        high_watermark,
        last_stable_offset: high_watermark,
        records,
        ..Default::default()
    }
}

// ---- record batches ----

/// A valid uncompressed batch of `values` starting at `base_offset`.
pub fn batch(base_offset: i64, values: &[&[u8]]) -> Bytes {
    let mut builder = RecordBatchBuilder::new(CompressionType::None).with_base_offset(base_offset);
    for value in values {
        builder
            .append(0, None, Some(value), &[])
            .expect("append to a test batch");
    }
    builder.build().expect("build a test batch")
}

/// Byte offsets inside a v2 batch header (KIP-98).
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LENGTH_AT: usize = 8;
const HEADER_LEN: usize = 61;

/// A batch that still parses but whose CRC no longer matches: one bit of
/// the last record's value flipped (for a batch ending in a one-byte value
/// and no headers, that byte is second to last).
pub fn with_bad_crc(batch: Bytes) -> Bytes {
    let mut bytes = batch.to_vec();
    let value_byte = bytes.len() - 2;
    bytes[value_byte] ^= 0x01;
    bytes.into()
}

/// A batch whose length field claims far more bytes than follow.
pub fn with_length_beyond_buffer(batch: Bytes) -> Bytes {
    let mut bytes = batch.to_vec();
    bytes[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&(1i32 << 30).to_be_bytes());
    bytes.into()
}

/// A one-record batch whose records section is `section`, marked with
/// `codec`, and a CRC that matches (so only decompression can refuse it).
pub fn compressed_batch(codec: CompressionType, section: &[u8]) -> Bytes {
    let mut bytes = batch(0, &[b"x"]).to_vec();
    bytes.truncate(HEADER_LEN);
    bytes.extend_from_slice(section);
    let length = i32::try_from(bytes.len() - 12).expect("test batch under 2 GiB");
    bytes[LENGTH_AT..LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
    let attributes = i16::from_be_bytes([bytes[ATTRIBUTES_AT], bytes[ATTRIBUTES_AT + 1]]);
    let attributes = (attributes & !0x07) | codec.id();
    bytes[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    // Rewriting the max timestamp recomputes the CRC over the new bytes.
    let max_timestamp = BatchHeader::parse(&bytes)
        .expect("test batch header")
        .max_timestamp();
    rewrite::set_max_timestamp(&mut bytes, max_timestamp);
    bytes.into()
}

/// A small zstd payload that inflates past the client's decompression
/// limit (`limit` + 1 MiB of zeros).
pub fn decompression_bomb(limit: usize) -> Bytes {
    let zeros = vec![0u8; limit + (1 << 20)];
    let packed = compress(CompressionType::Zstd, &zeros).expect("zstd compresses zeros");
    compressed_batch(CompressionType::Zstd, &packed)
}

// ---- hand-written invalid frames ----

/// A Metadata response body (correlation id included) whose broker array
/// (`huge_topics` false) or topic array (true) claims i32::MAX entries in
/// a frame that ends right after the count.
pub fn metadata_with_huge_count(incoming: &Incoming, huge_topics: bool) -> Vec<u8> {
    let version = incoming.version;
    let flexible = ApiKey::Metadata.is_flexible(version);
    let mut body = incoming.correlation_id.to_be_bytes().to_vec();
    if flexible {
        body.push(0); // response header tagged fields
    }
    if version >= 3 {
        body.extend_from_slice(&0i32.to_be_bytes()); // throttle_time_ms
    }
    let put_count = |body: &mut Vec<u8>, count: i32| {
        if flexible {
            put_uvarint(body, count as u32 + 1);
        } else {
            body.extend_from_slice(&count.to_be_bytes());
        }
    };
    if !huge_topics {
        put_count(&mut body, i32::MAX);
        return body;
    }
    put_count(&mut body, 0); // brokers
    if version >= 2 {
        body.push(if flexible { 0 } else { 0xff }); // cluster_id: null
        if !flexible {
            body.push(0xff);
        }
    }
    if version >= 1 {
        body.extend_from_slice(&NODE.to_be_bytes()); // controller_id
    }
    put_count(&mut body, i32::MAX);
    body
}

fn put_uvarint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
