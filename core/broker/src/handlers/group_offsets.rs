//! OffsetCommit, OffsetFetch (v8: several groups per request) and
//! OffsetDelete: wire versions in, [`crate::group`] calls, wire out.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use strom_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use strom_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use strom_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};

use crate::group::{self, CommitParams, CommitPartition, FetchedOffset};
use crate::state::Broker;

pub async fn offset_commit(
    broker: &Arc<Broker>,
    request: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    let partitions: Vec<CommitPartition> = request
        .topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().map(|p| CommitPartition {
                topic: topic.name.clone(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if version >= 6 {
                    p.committed_leader_epoch
                } else {
                    -1
                },
                metadata: p.committed_metadata.clone(),
            })
        })
        .collect();
    let params = CommitParams {
        group_id: request.group_id,
        generation: request.generation_id_or_member_epoch,
        member_id: request.member_id,
        group_instance_id: request.group_instance_id,
        retention_ms: (version <= 4 && request.retention_time_ms != -1)
            .then_some(request.retention_time_ms),
        partitions,
    };
    let mut errors = group::commit(broker, &params).await.into_iter();
    let topics = request
        .topics
        .into_iter()
        .map(|topic| OffsetCommitResponseTopic {
            partitions: topic
                .partitions
                .iter()
                .map(|p| OffsetCommitResponsePartition {
                    partition_index: p.partition_index,
                    error_code: errors.next().unwrap_or(error_codes::UNKNOWN_SERVER_ERROR),
                    ..Default::default()
                })
                .collect(),
            name: topic.name,
            ..Default::default()
        })
        .collect();
    OffsetCommitResponse {
        topics,
        ..Default::default()
    }
}

pub async fn offset_fetch(
    broker: &Arc<Broker>,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    if version >= 8 {
        let mut groups = Vec::with_capacity(request.groups.len());
        for wanted in request.groups {
            let topics = wanted.topics.map(|topics| {
                topics
                    .into_iter()
                    .map(|t| (t.name, t.partition_indexes))
                    .collect()
            });
            let (error_code, topics) = match group::fetch(broker, &wanted.group_id, topics).await {
                Ok(topics) => (error_codes::NONE, topics),
                Err(code) => (code, Vec::new()),
            };
            groups.push(OffsetFetchResponseGroup {
                group_id: wanted.group_id,
                topics: topics
                    .into_iter()
                    .map(|(name, partitions)| OffsetFetchResponseTopics {
                        name,
                        partitions: partitions.into_iter().map(v8_partition).collect(),
                        ..Default::default()
                    })
                    .collect(),
                error_code,
                ..Default::default()
            });
        }
        return OffsetFetchResponse {
            groups,
            ..Default::default()
        };
    }
    let requested: Option<Vec<(String, Vec<i32>)>> = request.topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.name, t.partition_indexes))
            .collect()
    });
    let (error_code, topics) =
        match group::fetch(broker, &request.group_id, requested.clone()).await {
            Ok(topics) => (error_codes::NONE, topics),
            // v1 has no group-level error: every partition carries it.
            Err(code) if version < 2 => {
                let topics = requested
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let failed = partitions
                            .into_iter()
                            .map(|partition| FetchedOffset {
                                partition,
                                offset: -1,
                                leader_epoch: -1,
                                metadata: String::new(),
                                error: code,
                            })
                            .collect();
                        (topic, failed)
                    })
                    .collect();
                (code, topics)
            }
            Err(code) => (code, Vec::new()),
        };
    OffsetFetchResponse {
        topics: topics
            .into_iter()
            .map(|(name, partitions)| OffsetFetchResponseTopic {
                name,
                partitions: partitions.into_iter().map(partition).collect(),
                ..Default::default()
            })
            .collect(),
        error_code,
        ..Default::default()
    }
}

fn partition(p: FetchedOffset) -> OffsetFetchResponsePartition {
    OffsetFetchResponsePartition {
        partition_index: p.partition,
        committed_offset: p.offset,
        committed_leader_epoch: p.leader_epoch,
        metadata: Some(p.metadata),
        error_code: p.error,
        ..Default::default()
    }
}

fn v8_partition(p: FetchedOffset) -> OffsetFetchResponsePartitions {
    OffsetFetchResponsePartitions {
        partition_index: p.partition,
        committed_offset: p.offset,
        committed_leader_epoch: p.leader_epoch,
        metadata: Some(p.metadata),
        error_code: p.error,
        ..Default::default()
    }
}

pub async fn offset_delete(
    broker: &Arc<Broker>,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.clone(), p.partition_index))
        })
        .collect();
    let (error_code, errors) = group::offset_delete(broker, &request.group_id, &partitions).await;
    if error_code != error_codes::NONE {
        return OffsetDeleteResponse {
            error_code,
            ..Default::default()
        };
    }
    let mut errors = errors.into_iter();
    OffsetDeleteResponse {
        error_code,
        topics: request
            .topics
            .into_iter()
            .map(|t| OffsetDeleteResponseTopic {
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| OffsetDeleteResponsePartition {
                        partition_index: p.partition_index,
                        error_code: errors.next().unwrap_or(error_codes::UNKNOWN_SERVER_ERROR),
                        ..Default::default()
                    })
                    .collect(),
                name: t.name,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
