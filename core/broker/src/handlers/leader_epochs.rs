//! OffsetForLeaderEpoch (KIP-101, KIP-320): where a leader epoch ended in
//! this partition's log. Consumers ask it after a leader change to learn
//! whether their position was truncated away; followers ask it to find
//! where their log diverges from the leader's before fetching.

use strom_protocol::error_codes;
use strom_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition;
use strom_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use strom_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::partition_manager::PartitionManager;

/// Kafka's `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET`: an epoch this log
/// never had, or a partition that could not be asked.
const UNDEFINED: (i32, i64) = (-1, -1);

pub fn handle(
    partitions: &PartitionManager,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| OffsetForLeaderTopicResult {
            partitions: topic
                .partitions
                .iter()
                .map(|wanted| end_offset(partitions, &topic.topic, wanted))
                .collect(),
            topic: topic.topic,
            ..Default::default()
        })
        .collect();
    OffsetForLeaderEpochResponse {
        topics,
        ..Default::default()
    }
}

fn end_offset(
    partitions: &PartitionManager,
    topic: &str,
    wanted: &OffsetForLeaderPartition,
) -> EpochEndOffset {
    let answer = |error_code, (leader_epoch, end_offset)| EpochEndOffset {
        error_code,
        partition: wanted.partition,
        leader_epoch,
        end_offset,
        ..Default::default()
    };
    let partition = match partitions.find(topic, wanted.partition) {
        Ok(partition) => partition,
        Err(code) => return answer(code, UNDEFINED),
    };
    // Only the leader answers, for consumers and followers alike, and only
    // a requester whose view of the leader epoch is current.
    if let Err(e) = partition.check_leader(wanted.current_leader_epoch) {
        return answer(e.kafka_error_code(), UNDEFINED);
    }
    let found = partition.log.end_offset_for_epoch(wanted.leader_epoch);
    answer(error_codes::NONE, found.unwrap_or(UNDEFINED))
}
