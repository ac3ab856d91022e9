//! DeleteRecords: moves a partition's log start offset forward (offset -1
//! means up to the high watermark).

use strom_protocol::error_codes;
use strom_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use strom_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use crate::partition::NO_LEADER_EPOCH;
use crate::partition_manager::PartitionManager;

pub async fn handle(
    partitions: &PartitionManager,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = request
        .topics
        .iter()
        .map(|topic| DeleteRecordsTopicResult {
            name: topic.name.clone(),
            partitions: topic
                .partitions
                .iter()
                .map(|p| delete_one(partitions, &topic.name, p.partition_index, p.offset))
                .collect(),
            ..Default::default()
        })
        .collect();
    DeleteRecordsResponse {
        topics,
        ..Default::default()
    }
}

fn delete_one(
    partitions: &PartitionManager,
    topic: &str,
    index: i32,
    offset: i64,
) -> DeleteRecordsPartitionResult {
    let mut result = DeleteRecordsPartitionResult {
        partition_index: index,
        low_watermark: -1,
        ..Default::default()
    };
    let partition = match partitions.find(topic, index) {
        Ok(p) => p,
        Err(code) => {
            result.error_code = code;
            return result;
        }
    };
    if let Err(e) = partition.check_leader(NO_LEADER_EPOCH) {
        result.error_code = e.kafka_error_code();
        return result;
    }
    let high_watermark = partition.log.high_watermark();
    let target = if offset == -1 { high_watermark } else { offset };
    if target < 0 || target > high_watermark {
        result.error_code = error_codes::OFFSET_OUT_OF_RANGE;
        return result;
    }
    match partition.log.delete_records_before(target) {
        Ok(low_watermark) => result.low_watermark = low_watermark,
        Err(e) => result.error_code = e.kafka_error_code(),
    }
    result
}
