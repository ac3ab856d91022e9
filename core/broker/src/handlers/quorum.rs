//! DescribeQuorum (KIP-595/KIP-853): the metadata quorum as its leader sees
//! it, for `kafka-metadata-quorum.sh` and `strom cluster status`. A broker
//! that does not lead asks the one that does, as Kafka brokers forward
//! the request to the active controller.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use strom_protocol::messages::{DescribeQuorumRequest, DescribeQuorumResponse};

use super::{by_topic, first_of_each};
use crate::cluster::requests::{
    ControllerRequest, ControllerResponse, QuorumReport, ReplicaReport,
};
use crate::state::Broker;

/// Kafka's name for the metadata log, the only partition a quorum has.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

pub async fn describe_quorum(
    broker: &Arc<Broker>,
    request: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    let report = match broker.cluster() {
        Some(node) => match node.ask(ControllerRequest::DescribeQuorum).await {
            Ok(ControllerResponse::Quorum(report)) => report,
            Ok(_) => return refused(error_codes::UNKNOWN_SERVER_ERROR, "unexpected answer"),
            Err(e) => return refused(e.code, &e.message),
        },
        // One node is its own quorum of one.
        None => QuorumReport {
            leader: broker.node_id,
            epoch: 0,
            high_watermark: 0,
            voters: vec![ReplicaReport {
                id: broker.node_id,
                address: None,
                log_end: 0,
                last_contact_ms: -1,
            }],
            learners: Vec::new(),
        },
    };
    // Each partition named is answered once, however often it is named.
    let named = first_of_each(request.topics.into_iter().flat_map(|t| {
        let name = t.topic_name;
        t.partitions
            .into_iter()
            .map(move |p| (name.clone(), p.partition_index, ()))
    }));
    let topics = by_topic(
        named,
        |topic, partition_index, ()| {
            if topic != METADATA_TOPIC || partition_index != 0 {
                return PartitionData {
                    partition_index,
                    error_code: error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                    ..Default::default()
                };
            }
            PartitionData {
                partition_index: 0,
                error_code: error_codes::NONE,
                leader_id: report.leader,
                leader_epoch: report.epoch,
                high_watermark: report.high_watermark,
                current_voters: report.voters.iter().map(replica_state).collect(),
                observers: report.learners.iter().map(replica_state).collect(),
                ..Default::default()
            }
        },
        |topic_name, partitions| TopicData {
            topic_name,
            partitions,
            ..Default::default()
        },
    );
    let nodes = report
        .voters
        .iter()
        .chain(&report.learners)
        .filter_map(|r| {
            let (host, port) = r.address.as_deref()?.rsplit_once(':')?;
            Some(Node {
                node_id: r.id,
                listeners: vec![Listener {
                    name: "CONTROLLER".into(),
                    host: host.to_string(),
                    port: port.parse().ok()?,
                    ..Default::default()
                }],
                ..Default::default()
            })
        })
        .collect();
    DescribeQuorumResponse {
        error_code: error_codes::NONE,
        topics,
        nodes,
        ..Default::default()
    }
}

fn replica_state(r: &ReplicaReport) -> ReplicaState {
    ReplicaState {
        replica_id: r.id,
        log_end_offset: r.log_end,
        last_fetch_timestamp: r.last_contact_ms,
        last_caught_up_timestamp: r.last_contact_ms,
        ..Default::default()
    }
}

fn refused(code: i16, message: &str) -> DescribeQuorumResponse {
    DescribeQuorumResponse {
        error_code: code,
        error_message: Some(message.to_string()),
        ..Default::default()
    }
}
