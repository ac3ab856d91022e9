//! Partition offsets: ListOffsets (earliest, latest, by timestamp,
//! max timestamp) and DeleteRecords.

use strom_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use strom_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use strom_protocol::messages::{ApiKey, DeleteRecordsRequest, ListOffsetsRequest, Response};

use super::AdminClient;
use crate::cluster::{group_by_topic, unexpected};
use crate::error::{check_code, Result};

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
    pub topic: String,
    pub partition: i32,
    /// -1 when no record matches a timestamp query.
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: i32,
}

impl AdminClient {
    /// Looks up offsets, asking each partition's leader.
    pub async fn list_offsets(
        &self,
        queries: &[(&str, i32, OffsetSpec)],
    ) -> Result<Vec<ListedOffset>> {
        let items: Vec<(String, i32, OffsetSpec)> = queries
            .iter()
            .map(|(t, p, s)| (t.to_string(), *p, *s))
            .collect();
        let mut results = Vec::new();
        for (leader, items) in self.by_leader(&items).await? {
            let build = |_| {
                let entries = items.iter().map(|(topic, partition, spec)| {
                    let partition = ListOffsetsPartition {
                        partition_index: *partition,
                        current_leader_epoch: -1,
                        timestamp: spec.wire(),
                        max_num_offsets: 1,
                        ..Default::default()
                    };
                    (topic.clone(), partition)
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
                    timeout_ms: self.timeout_ms(),
                    ..Default::default()
                }
                .into()
            };
            let response = self
                .cluster
                .send(leader, ApiKey::ListOffsets, build)
                .await?;
            let Response::ListOffsets(response) = response else {
                return Err(unexpected(ApiKey::ListOffsets, &response));
            };
            for topic in response.topics {
                for p in topic.partitions {
                    check_code(
                        p.error_code,
                        || {
                            format!(
                                "listing offsets of `{}` partition {}",
                                topic.name, p.partition_index
                            )
                        },
                        None,
                    )?;
                    // v0 answers in `old_style_offsets`.
                    let offset = if p.old_style_offsets.is_empty() {
                        p.offset
                    } else {
                        p.old_style_offsets[0]
                    };
                    results.push(ListedOffset {
                        topic: topic.name.clone(),
                        partition: p.partition_index,
                        offset,
                        timestamp: p.timestamp,
                        leader_epoch: p.leader_epoch,
                    });
                }
            }
        }
        results.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(results)
    }

    /// Deletes records below `before_offset` (-1: the high watermark);
    /// returns each partition's new low watermark.
    pub async fn delete_records(
        &self,
        requests: &[(&str, i32, i64)],
    ) -> Result<Vec<(String, i32, i64)>> {
        let items: Vec<(String, i32, i64)> = requests
            .iter()
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect();
        let mut results = Vec::new();
        for (leader, items) in self.by_leader(&items).await? {
            let build = |_| {
                let entries = items.iter().map(|(topic, partition, offset)| {
                    let partition = DeleteRecordsPartition {
                        partition_index: *partition,
                        offset: *offset,
                        ..Default::default()
                    };
                    (topic.clone(), partition)
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
                    timeout_ms: self.timeout_ms(),
                    ..Default::default()
                }
                .into()
            };
            let response = self
                .cluster
                .send(leader, ApiKey::DeleteRecords, build)
                .await?;
            let Response::DeleteRecords(response) = response else {
                return Err(unexpected(ApiKey::DeleteRecords, &response));
            };
            for topic in response.topics {
                for p in topic.partitions {
                    check_code(
                        p.error_code,
                        || {
                            format!(
                                "deleting records of `{}` partition {}",
                                topic.name, p.partition_index
                            )
                        },
                        None,
                    )?;
                    results.push((topic.name.clone(), p.partition_index, p.low_watermark));
                }
            }
        }
        results.sort();
        Ok(results)
    }
}
