//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455):
//! move a partition's replicas to other brokers while it serves
//! (`kafka-reassign-partitions.sh`). The controller adds the new replicas,
//! which fetch until they are in sync, then drops the old ones; the leader
//! moves if it was one of them. One node has nowhere to move anything.

use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use strom_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use strom_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use crate::cluster::requests::{ControllerRequest, ControllerResponse};
use crate::state::Broker;

pub async fn alter(
    broker: &Arc<Broker>,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let partitions: Vec<(String, i32, Option<Vec<i32>>)> = request
        .topics
        .into_iter()
        .flat_map(|t| {
            t.partitions
                .into_iter()
                .map(move |p| (t.name.clone(), p.partition_index, p.replicas))
        })
        .collect();
    let results = match broker.cluster() {
        Some(node) => match node.ask(ControllerRequest::Reassign { partitions }).await {
            Ok(ControllerResponse::PartitionResults { results, .. }) => results,
            Ok(_) => return refused(error_codes::UNKNOWN_SERVER_ERROR, "unexpected answer"),
            Err(e) => return refused(e.code, &e.message),
        },
        None => partitions
            .into_iter()
            .map(|(topic, index, target)| {
                let (code, message) = match target {
                    Some(replicas) if replicas == [broker.node_id] => (error_codes::NONE, None),
                    Some(_) => (
                        error_codes::INVALID_REPLICA_ASSIGNMENT,
                        Some(format!("this cluster has only broker {}", broker.node_id)),
                    ),
                    None => (error_codes::NO_REASSIGNMENT_IN_PROGRESS, None),
                };
                (topic, index, code, message)
            })
            .collect(),
    };
    let mut responses: Vec<ReassignableTopicResponse> = Vec::new();
    for (name, partition_index, error_code, error_message) in results {
        let answer = ReassignablePartitionResponse {
            partition_index,
            error_code,
            error_message,
            ..Default::default()
        };
        match responses.iter_mut().find(|t| t.name == name) {
            Some(topic) => topic.partitions.push(answer),
            None => responses.push(ReassignableTopicResponse {
                name,
                partitions: vec![answer],
                ..Default::default()
            }),
        }
    }
    AlterPartitionReassignmentsResponse {
        responses,
        ..Default::default()
    }
}

/// Answered from this broker's metadata, as Kafka's brokers do.
pub fn list(
    broker: &Arc<Broker>,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let wanted = |topic: &str, index: i32| match &request.topics {
        None => true,
        Some(list) => list
            .iter()
            .any(|t| t.name == topic && t.partition_indexes.contains(&index)),
    };
    let topics = broker
        .topics()
        .iter()
        .filter_map(|topic| {
            let partitions: Vec<OngoingPartitionReassignment> = topic
                .partitions
                .iter()
                .zip(0..)
                .filter(|(a, index)| a.is_reassigning() && wanted(&topic.name, *index))
                .map(|(a, partition_index)| OngoingPartitionReassignment {
                    partition_index,
                    replicas: a.replicas.clone(),
                    adding_replicas: a.adding.clone(),
                    removing_replicas: a.removing.clone(),
                    ..Default::default()
                })
                .collect();
            (!partitions.is_empty()).then(|| OngoingTopicReassignment {
                name: topic.name.clone(),
                partitions,
                ..Default::default()
            })
        })
        .collect();
    ListPartitionReassignmentsResponse {
        topics,
        ..Default::default()
    }
}

fn refused(code: i16, message: &str) -> AlterPartitionReassignmentsResponse {
    AlterPartitionReassignmentsResponse {
        error_code: code,
        error_message: Some(message.to_string()),
        ..Default::default()
    }
}
