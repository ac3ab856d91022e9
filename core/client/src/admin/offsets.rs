//! Partition offsets: ListOffsets (earliest, latest, by timestamp,
//! max timestamp) and DeleteRecords.

use std::future::Future;
use strom_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use strom_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use strom_protocol::messages::{ApiKey, DeleteRecordsRequest, ListOffsetsRequest, Response};

use super::AdminClient;
use crate::cluster::{group_by_topic, unexpected};
use crate::error::{check_code, Result};
use crate::TopicPartition;

/// Which offset ListOffsets should find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    Earliest,
    /// The log end offset (next offset to be written).
    Latest,
    /// The first offset whose timestamp is at or after this (ms).
    Timestamp(i64),
    /// The offset of the record with the highest timestamp (KIP-734).
    MaxTimestamp,
}

impl OffsetSpec {
    pub(crate) fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(ms) => ms,
            OffsetSpec::MaxTimestamp => -3,
        }
    }
}

/// One partition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOffset {
    pub tp: TopicPartition,
    /// -1 when no record matches a timestamp query.
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: i32,
}

impl AdminClient {
    /// Looks up offsets, asking each partition's leader.
    pub fn list_offsets(
        &self,
        queries: &[(TopicPartition, OffsetSpec)],
    ) -> impl Future<Output = Result<Vec<ListedOffset>>> + Send + 'static {
        let admin = self.clone();
        let queries = queries.to_vec();
        async move {
            let queries = &queries[..];
            let mut results = Vec::new();
            for (leader, items) in admin.by_leader(queries).await? {
                let build = |_| {
                    let entries = items.iter().map(|(tp, spec)| {
                        let partition = ListOffsetsPartition {
                            partition_index: tp.partition,
                            current_leader_epoch: -1,
                            timestamp: spec.wire(),
                            max_num_offsets: 1,
                            ..Default::default()
                        };
                        (tp.topic.to_string(), partition)
                    });
                    let topics = group_by_topic(entries)
                        .into_iter()
                        .map(|(name, partitions)| ListOffsetsTopic {
                            name,
                            partitions,
                            ..Default::default()
                        })
                        .collect();
                    ListOffsetsRequest {
                        replica_id: -1,
                        topics,
                        timeout_ms: admin.timeout_ms(),
                        ..Default::default()
                    }
                    .into()
                };
                let response = admin
                    .cluster
                    .send(leader, ApiKey::ListOffsets, build)
                    .await?;
                let Response::ListOffsets(response) = response else {
                    return Err(unexpected(ApiKey::ListOffsets, &response));
                };
                for topic in response.topics {
                    let name: std::sync::Arc<str> = topic.name.into();
                    for p in topic.partitions {
                        let tp = TopicPartition::new(name.clone(), p.partition_index);
                        check_code(p.error_code, || format!("listing offsets of {tp}"), None)?;
                        // v0 answers in `old_style_offsets`.
                        let offset = if p.old_style_offsets.is_empty() {
                            p.offset
                        } else {
                            p.old_style_offsets[0]
                        };
                        results.push(ListedOffset {
                            tp,
                            offset,
                            timestamp: p.timestamp,
                            leader_epoch: p.leader_epoch,
                        });
                    }
                }
            }
            results.sort_by(|a, b| a.tp.cmp(&b.tp));
            Ok(results)
        }
    }

    /// Deletes records below `before_offset` (-1: the high watermark);
    /// returns each partition's new low watermark.
    pub fn delete_records(
        &self,
        requests: &[(TopicPartition, i64)],
    ) -> impl Future<Output = Result<Vec<(TopicPartition, i64)>>> + Send + 'static {
        let admin = self.clone();
        let requests = requests.to_vec();
        async move {
            let requests = &requests[..];
            let mut results = Vec::new();
            for (leader, items) in admin.by_leader(requests).await? {
                let build = |_| {
                    let entries = items.iter().map(|(tp, offset)| {
                        let partition = DeleteRecordsPartition {
                            partition_index: tp.partition,
                            offset: *offset,
                            ..Default::default()
                        };
                        (tp.topic.to_string(), partition)
                    });
                    let topics = group_by_topic(entries)
                        .into_iter()
                        .map(|(name, partitions)| DeleteRecordsTopic {
                            name,
                            partitions,
                            ..Default::default()
                        })
                        .collect();
                    DeleteRecordsRequest {
                        topics,
                        timeout_ms: admin.timeout_ms(),
                        ..Default::default()
                    }
                    .into()
                };
                let response = admin
                    .cluster
                    .send(leader, ApiKey::DeleteRecords, build)
                    .await?;
                let Response::DeleteRecords(response) = response else {
                    return Err(unexpected(ApiKey::DeleteRecords, &response));
                };
                for topic in response.topics {
                    let name: std::sync::Arc<str> = topic.name.into();
                    for p in topic.partitions {
                        let tp = TopicPartition::new(name.clone(), p.partition_index);
                        check_code(p.error_code, || format!("deleting records of {tp}"), None)?;
                        results.push((tp, p.low_watermark));
                    }
                }
            }
            results.sort();
            Ok(results)
        }
    }
}
