//! AlterPartitionReassignments and ListPartitionReassignments (KIP-455):
//! move a partition's replicas to other brokers while it serves
//! (`kafka-reassign-partitions.sh`). The controller adds the new replicas,
//! which fetch until they are in sync, then drops the old ones; the leader
//! moves if it was one of them. One node has nowhere to move anything.

use std::collections::HashSet;
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

use super::{by_topic, first_of_each};
use crate::cluster::requests::{ControllerRequest, ControllerResponse};
use crate::state::Broker;

pub async fn alter(
    broker: &Arc<Broker>,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let partitions = first_of_each(request.topics.into_iter().flat_map(|t| {
        t.partitions
            .into_iter()
            .map(move |p| (t.name.clone(), p.partition_index, p.replicas))
    }));
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
    let responses = by_topic(
        results
            .into_iter()
            .map(|(t, p, code, message)| (t, p, (code, message))),
        |_, partition_index, (error_code, error_message)| ReassignablePartitionResponse {
            partition_index,
            error_code,
            error_message,
            ..Default::default()
        },
        |name, partitions| ReassignableTopicResponse {
            name,
            partitions,
            ..Default::default()
        },
    );
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
    // A set, so a request naming many partitions costs one lookup each.
    let named: Option<HashSet<(String, i32)>> = request.topics.map(|topics| {
        topics
            .into_iter()
            .flat_map(|t| {
                let name = t.name;
                t.partition_indexes
                    .into_iter()
                    .map(move |index| (name.clone(), index))
            })
            .collect()
    });
    let wanted = |topic: &str, index: i32| {
        named
            .as_ref()
            .is_none_or(|set| set.contains(&(topic.to_string(), index)))
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
