//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3, KIP-734) and
//! the first offset whose timestamp is at or after a given time.

use std::collections::HashMap;

use strom_protocol::error_codes;
use strom_protocol::messages::list_offsets_request::ListOffsetsPartition;
use strom_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use strom_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use crate::partition_manager::PartitionManager;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub async fn handle(
    partitions: &PartitionManager,
    request: ListOffsetsRequest,
    _version: i16,
) -> ListOffsetsResponse {
    // As Kafka does, a partition named more than once is refused with
    // INVALID_REQUEST wherever it appears: a lookup may decompress a batch,
    // and one request must not ask for the same work thousands of times.
    let mut named: HashMap<(&str, i32), usize> = HashMap::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            *named
                .entry((topic.name.as_str(), p.partition_index))
                .or_default() += 1;
        }
    }
    let topics = request
        .topics
        .iter()
        .map(|topic| ListOffsetsTopicResponse {
            name: topic.name.clone(),
            partitions: topic
                .partitions
                .iter()
                .map(|p| {
                    if named[&(topic.name.as_str(), p.partition_index)] > 1 {
                        return duplicate(p.partition_index);
                    }
                    lookup(partitions, &topic.name, p)
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    ListOffsetsResponse {
        topics,
        ..Default::default()
    }
}

/// The answer for a partition before anything is found: no offset.
fn unanswered(index: i32) -> ListOffsetsPartitionResponse {
    ListOffsetsPartitionResponse {
        partition_index: index,
        timestamp: -1,
        offset: -1,
        leader_epoch: -1,
        ..Default::default()
    }
}

fn duplicate(index: i32) -> ListOffsetsPartitionResponse {
    ListOffsetsPartitionResponse {
        error_code: error_codes::INVALID_REQUEST,
        ..unanswered(index)
    }
}

fn lookup(
    partitions: &PartitionManager,
    topic: &str,
    wanted: &ListOffsetsPartition,
) -> ListOffsetsPartitionResponse {
    let mut response = unanswered(wanted.partition_index);
    let partition = match partitions.find(topic, wanted.partition_index) {
        Ok(p) => p,
        Err(code) => {
            response.error_code = code;
            return response;
        }
    };
    // Only the leader answers, and only a client whose metadata is current.
    let leader_epoch = match partition.check_leader(wanted.current_leader_epoch) {
        Ok(epoch) => epoch,
        Err(e) => {
            response.error_code = e.kafka_error_code();
            return response;
        }
    };
    let log = &partition.log;
    let found = match wanted.timestamp {
        EARLIEST => Ok(Some((log.log_start_offset(), -1))),
        LATEST => Ok(Some((log.high_watermark(), -1))),
        MAX_TIMESTAMP => log.max_timestamp_offset(),
        t if t < 0 => {
            response.error_code = error_codes::INVALID_REQUEST;
            return response;
        }
        t => log.offset_for_timestamp(t),
    };
    match found {
        Ok(Some((offset, ts))) => {
            response.offset = offset;
            response.timestamp = ts;
            response.leader_epoch = leader_epoch;
        }
        Ok(None) => {}
        Err(e) => response.error_code = e.kafka_error_code(),
    }
    response
}
