//! Metadata: brokers, topics and partition leaders. Requests for unknown
//! topics create them when both the request (v4+) and
//! `auto.create.topics.enable` allow it.

use std::collections::HashSet;
use std::sync::Arc;

use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use strom_protocol::messages::{MetadataRequest, MetadataResponse};

use crate::internal_topics::is_internal_topic;
use crate::security::acl::{ResourceType, OPERATIONS_NOT_REQUESTED};
use crate::state::Broker;
use crate::topic_store::validate_topic_name;
use crate::topic_table::Topic;

pub async fn handle(
    broker: &Arc<Broker>,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    // KIP-430: with no authorizer every client may do every operation
    // (the access layer narrows these when one is on).
    let topic_operations = match request.include_topic_authorized_operations {
        true => ResourceType::Topic.all_operations_bits(),
        false => OPERATIONS_NOT_REQUESTED,
    };
    let cluster_operations = match request.include_cluster_authorized_operations {
        true => ResourceType::Cluster.all_operations_bits(),
        false => OPERATIONS_NOT_REQUESTED,
    };
    // v0: an empty list means all topics; v1+: null means all. From v10 a
    // topic may be named by id instead (its name is then null).
    let requested: Option<Vec<Wanted>> = match request.topics {
        None => None,
        Some(list) if list.is_empty() && version == 0 => None,
        Some(list) => {
            // A topic named twice is answered once, as Kafka does: otherwise
            // a request naming one large topic many times is answered with
            // a response hundreds of times its size.
            let mut seen = HashSet::with_capacity(list.len());
            Some(
                list.into_iter()
                    .map(|t| match t.name {
                        Some(name) => Wanted::Name(name),
                        None => Wanted::Id(t.topic_id),
                    })
                    .filter(|wanted| seen.insert(wanted.clone()))
                    .collect(),
            )
        }
    };
    let allow_auto_create = (version < 4 || request.allow_auto_topic_creation)
        && broker.config.settings().auto_create_topics_enable;

    // Read once: every topic is described against the same brokers.
    let brokers = broker.live_brokers();
    let live: Vec<i32> = brokers.iter().map(|b| b.id).collect();
    let mut topics: Vec<MetadataResponseTopic> = match requested {
        None => broker
            .topics()
            .iter()
            .map(|t| describe_topic(t, &live))
            .collect(),
        Some(wanted) => {
            let mut topics = Vec::with_capacity(wanted.len());
            for topic in wanted {
                topics.push(match topic {
                    Wanted::Name(name) => {
                        lookup_topic(broker, name, allow_auto_create, &live).await
                    }
                    Wanted::Id(id) => lookup_topic_id(broker, id, version, &live),
                });
            }
            topics
        }
    };
    for topic in topics
        .iter_mut()
        .filter(|t| t.error_code == error_codes::NONE)
    {
        topic.topic_authorized_operations = topic_operations;
    }
    MetadataResponse {
        brokers: brokers
            .into_iter()
            .map(|b| MetadataResponseBroker {
                node_id: b.id,
                host: b.host,
                port: b.port,
                rack: None,
                ..Default::default()
            })
            .collect(),
        cluster_id: Some(broker.cluster_id()),
        controller_id: broker.controller_id(),
        topics,
        cluster_authorized_operations: cluster_operations,
        ..Default::default()
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Wanted {
    Name(String),
    Id(Uuid),
}

/// A topic named by id is never auto-created; an unknown id is
/// UNKNOWN_TOPIC_ID.
fn lookup_topic_id(broker: &Broker, id: Uuid, version: i16, live: &[i32]) -> MetadataResponseTopic {
    match broker.topic_by_id(id) {
        Some(topic) => describe_topic(&topic, live),
        None => MetadataResponseTopic {
            error_code: error_codes::UNKNOWN_TOPIC_ID,
            // The name is nullable only from v12.
            name: (version < 12).then(String::new),
            topic_id: id,
            ..Default::default()
        },
    }
}

async fn lookup_topic(
    broker: &Arc<Broker>,
    name: String,
    allow_auto_create: bool,
    live: &[i32],
) -> MetadataResponseTopic {
    if let Some(topic) = broker.topic(&name) {
        return describe_topic(&topic, live);
    }
    let error = |code| MetadataResponseTopic {
        error_code: code,
        name: Some(name.clone()),
        ..Default::default()
    };
    if validate_topic_name(&name).is_err() {
        return error(error_codes::INVALID_TOPIC_EXCEPTION);
    }
    if !allow_auto_create {
        return error(error_codes::UNKNOWN_TOPIC_OR_PARTITION);
    }
    match broker.auto_create_topic(&name).await {
        Ok(Some(topic)) => describe_topic(&topic, live),
        Ok(None) => error(error_codes::LEADER_NOT_AVAILABLE),
        Err(e) => {
            tracing::warn!(topic = %name, "auto-creation failed: {}", e.message);
            error(e.code)
        }
    }
}

/// A topic as the metadata says, as Kafka answers from its metadata
/// cache: replicas on brokers not in `live` are offline, and a partition
/// without a leader is LEADER_NOT_AVAILABLE.
pub fn describe_topic(topic: &Topic, live: &[i32]) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .zip(0..)
        .map(|(assignment, index)| MetadataResponsePartition {
            error_code: if assignment.leader < 0 {
                error_codes::LEADER_NOT_AVAILABLE
            } else {
                error_codes::NONE
            },
            partition_index: index,
            leader_id: assignment.leader,
            leader_epoch: assignment.leader_epoch,
            replica_nodes: assignment.replicas.clone(),
            isr_nodes: assignment.isr.clone(),
            offline_replicas: assignment
                .replicas
                .iter()
                .copied()
                .filter(|id| !live.contains(id))
                .collect(),
            ..Default::default()
        })
        .collect();
    MetadataResponseTopic {
        error_code: error_codes::NONE,
        name: Some(topic.name.clone()),
        topic_id: topic.id,
        is_internal: is_internal_topic(&topic.name),
        partitions,
        topic_authorized_operations: OPERATIONS_NOT_REQUESTED,
        ..Default::default()
    }
}
