//! DescribeQuorum: the cluster's metadata quorum (Raft leader, epoch,
//! committed index and each voter's progress), as Kafka's
//! `Admin.describeMetadataQuorum` reports it.

use std::future::Future;

use strom_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use strom_protocol::messages::{ApiKey, DescribeQuorumRequest, Response};

use super::AdminClient;
use crate::cluster::unexpected;
use crate::error::{check_code, Result};

/// Kafka's name for the metadata log.
const METADATA_TOPIC: &str = "__cluster_metadata";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumInfo {
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub high_watermark: i64,
    pub voters: Vec<QuorumReplica>,
    /// Members that receive the log without voting (Kafka's observers).
    pub observers: Vec<QuorumReplica>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumReplica {
    pub replica_id: i32,
    /// -1 when the leader does not know it.
    pub log_end_offset: i64,
    /// Unix ms; -1 when unknown.
    pub last_fetch_timestamp: i64,
}

impl AdminClient {
    pub fn describe_quorum(&self) -> impl Future<Output = Result<QuorumInfo>> + Send + 'static {
        let admin = self.clone();
        async move {
            let response = admin
                .cluster
                .send_to_any(ApiKey::DescribeQuorum, |_| {
                    DescribeQuorumRequest {
                        topics: vec![TopicData {
                            topic_name: METADATA_TOPIC.into(),
                            partitions: vec![PartitionData {
                                partition_index: 0,
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        ..Default::default()
                    }
                    .into()
                })
                .await?;
            let Response::DescribeQuorum(response) = response else {
                return Err(unexpected(ApiKey::DescribeQuorum, &response));
            };
            check_code(
                response.error_code,
                || "describing the metadata quorum".into(),
                response.error_message.as_deref(),
            )?;
            let partition = response
                .topics
                .into_iter()
                .flat_map(|t| t.partitions)
                .next()
                .unwrap_or_default();
            check_code(
                partition.error_code,
                || "describing the metadata quorum".into(),
                partition.error_message.as_deref(),
            )?;
            let replica = |r: strom_protocol::messages::describe_quorum_response::ReplicaState| {
                QuorumReplica {
                    replica_id: r.replica_id,
                    log_end_offset: r.log_end_offset,
                    last_fetch_timestamp: r.last_fetch_timestamp,
                }
            };
            Ok(QuorumInfo {
                leader_id: partition.leader_id,
                leader_epoch: partition.leader_epoch,
                high_watermark: partition.high_watermark,
                voters: partition.current_voters.into_iter().map(replica).collect(),
                observers: partition.observers.into_iter().map(replica).collect(),
            })
        }
    }
}
