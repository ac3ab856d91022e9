//! DescribeCluster and DescribeLogDirs.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use strom_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use strom_protocol::messages::{
    DescribeClusterRequest, DescribeClusterResponse, DescribeLogDirsRequest,
    DescribeLogDirsResponse,
};

use crate::security::acl::{ResourceType, OPERATIONS_NOT_REQUESTED};
use crate::state::Broker;

/// DescribeCluster endpoint type 1 is "brokers" (KIP-919); 2 asks for
/// controllers, which a combined single node also is.
pub fn describe_cluster(
    broker: &Arc<Broker>,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    DescribeClusterResponse {
        endpoint_type: 1,
        cluster_id: broker.cluster_id(),
        controller_id: broker.controller_id(),
        brokers: broker
            .live_brokers()
            .into_iter()
            .map(|b| DescribeClusterBroker {
                broker_id: b.id,
                host: b.host,
                port: b.port,
                rack: None,
                ..Default::default()
            })
            .collect(),
        cluster_authorized_operations: match request.include_cluster_authorized_operations {
            true => ResourceType::Cluster.all_operations_bits(),
            false => OPERATIONS_NOT_REQUESTED,
        },
        ..Default::default()
    }
}

pub fn describe_log_dirs(
    broker: &Arc<Broker>,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let wanted = |topic: &str, partition: i32| match &request.topics {
        None => true,
        Some(list) => list
            .iter()
            .any(|t| t.topic == topic && t.partitions.contains(&partition)),
    };
    let mut topics = Vec::new();
    for topic in broker.topics() {
        let partitions: Vec<_> = broker
            .partitions
            .partitions_of(&topic.name)
            .iter()
            .filter(|p| wanted(&topic.name, p.index))
            .map(|p| DescribeLogDirsPartition {
                partition_index: p.index,
                partition_size: p.log.size_bytes() as i64,
                offset_lag: 0,
                is_future_key: false,
                ..Default::default()
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(DescribeLogDirsTopic {
                name: topic.name.clone(),
                partitions,
                ..Default::default()
            });
        }
    }
    let (total_bytes, usable_bytes) = disk_space(&broker.data_dir);
    let log_dir = std::fs::canonicalize(&broker.data_dir)
        .unwrap_or_else(|_| broker.data_dir.clone())
        .display()
        .to_string();
    DescribeLogDirsResponse {
        error_code: error_codes::NONE,
        results: vec![DescribeLogDirsResult {
            error_code: error_codes::NONE,
            log_dir,
            topics,
            total_bytes,
            usable_bytes,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Total and free bytes of the file system holding `dir`, or -1 each when
/// they cannot be read (Kafka's "unknown").
fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    let total = fs4::total_space(dir).map_or(-1, |b| b as i64);
    let free = fs4::available_space(dir).map_or(-1, |b| b as i64);
    (total, free)
}
