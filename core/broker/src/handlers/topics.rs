//! CreateTopics, DeleteTopics and CreatePartitions.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use strom_protocol::messages::create_topics_request::CreatableTopic;
use strom_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use strom_protocol::messages::delete_topics_response::DeletableTopicResult;
use strom_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse,
};

use crate::error::ApiError;
use crate::internal_topics::is_internal_topic;
use crate::state::Broker;

pub async fn create(
    broker: &Arc<Broker>,
    request: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let mut seen = HashSet::new();
    let duplicated: HashSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.clone()))
        .map(|t| t.name.clone())
        .collect();
    let mut results = Vec::with_capacity(request.topics.len());
    let mut budget = PartitionBudget::new(broker);
    for topic in request.topics {
        let name = topic.name.clone();
        let outcome = if duplicated.contains(&name) {
            Err(ApiError::new(
                error_codes::INVALID_REQUEST,
                format!("topic '{name}' appears more than once in the request"),
            ))
        } else {
            create_one(broker, topic, request.validate_only, &mut budget).await
        };
        results.push(match outcome {
            Ok(result) => result,
            Err(e) => CreatableTopicResult {
                name,
                error_code: e.code,
                error_message: Some(e.message),
                num_partitions: -1,
                replication_factor: -1,
                configs: None,
                ..Default::default()
            },
        });
    }
    if version < 5 {
        for r in &mut results {
            r.configs = None;
        }
    }
    CreateTopicsResponse {
        topics: results,
        ..Default::default()
    }
}

async fn create_one(
    broker: &Arc<Broker>,
    topic: CreatableTopic,
    validate_only: bool,
    budget: &mut PartitionBudget,
) -> Result<CreatableTopicResult, ApiError> {
    let settings = broker.config.settings();
    let mut assignments = None;
    let (partitions, replication) = if topic.assignments.is_empty() {
        let partitions = if topic.num_partitions == -1 {
            settings.num_partitions
        } else {
            topic.num_partitions
        };
        let replication = if topic.replication_factor == -1 {
            settings.default_replication_factor
        } else {
            topic.replication_factor
        };
        (partitions, replication)
    } else {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            return Err(ApiError::new(
                error_codes::INVALID_REQUEST,
                "give either a replica assignment or partition count and replication factor, not both",
            ));
        }
        let chosen = topic
            .assignments
            .iter()
            .map(|a| a.broker_ids.clone())
            .collect::<Vec<_>>();
        let replication = chosen.first().map_or(1, |r| r.len() as i16);
        assignments = Some(chosen);
        (topic.assignments.len() as i32, replication)
    };
    let mut overrides = BTreeMap::new();
    for config in topic.configs {
        if let Some(value) = config.value {
            overrides.insert(config.name, value);
        }
    }
    budget.take(partitions)?;
    let created = broker
        .create_topic(
            &topic.name,
            partitions,
            replication,
            assignments,
            overrides.clone(),
            validate_only,
        )
        .await?;
    let topic_id = created.as_ref().map(|t| t.id).unwrap_or_default();
    let configs = super::configs::describe_topic_overrides(broker, &overrides)
        .into_iter()
        .map(|entry| CreatableTopicConfigs {
            name: entry.name,
            value: entry.value,
            read_only: entry.read_only,
            config_source: entry.source.code(),
            is_sensitive: entry.is_sensitive,
            ..Default::default()
        })
        .collect();
    Ok(CreatableTopicResult {
        name: topic.name,
        topic_id,
        error_code: error_codes::NONE,
        num_partitions: partitions,
        replication_factor: replication,
        configs: Some(configs),
        ..Default::default()
    })
}

pub async fn delete(
    broker: &Arc<Broker>,
    request: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    // v6 names topics by name or id; earlier versions by name only.
    let targets: Vec<(Option<String>, strom_protocol::codec::Uuid)> = if version >= 6 {
        request
            .topics
            .into_iter()
            .map(|t| (t.name, t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|n| (Some(n), Default::default()))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    for (name, id) in targets {
        let topic = match &name {
            Some(name) => broker.topic(name),
            None => broker.topic_by_id(id),
        };
        let mut result = DeletableTopicResult {
            name: name.clone(),
            topic_id: id,
            ..Default::default()
        };
        let outcome = match topic {
            None if name.is_none() => Err(ApiError::new(
                error_codes::UNKNOWN_TOPIC_ID,
                "no topic has this id",
            )),
            None => Err(ApiError::new(
                error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                "topic does not exist",
            )),
            // Kafka's kafka-topics tool refuses this ("is a kafka internal
            // topic and is not allowed to be marked for deletion"); Strom
            // refuses it for every client, since the group coordinator
            // depends on the topic.
            Some(topic) if is_internal_topic(&topic.name) => Err(ApiError::new(
                error_codes::INVALID_REQUEST,
                format!(
                    "topic '{}' is a Kafka internal topic and cannot be deleted",
                    topic.name
                ),
            )),
            Some(_) if !broker.config.settings().delete_topic_enable => Err(ApiError::new(
                error_codes::TOPIC_DELETION_DISABLED,
                "topic deletion is disabled (delete.topic.enable=false)",
            )),
            Some(topic) => {
                result.name = Some(topic.name.clone());
                result.topic_id = topic.id;
                broker.delete_topic(&topic.name).await
            }
        };
        if let Err(e) = outcome {
            result.error_code = e.code;
            result.error_message = Some(e.message);
        }
        responses.push(result);
    }
    DeleteTopicsResponse {
        responses,
        ..Default::default()
    }
}

pub async fn create_partitions(
    broker: &Arc<Broker>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    let mut budget = PartitionBudget::new(broker);
    for topic in request.topics {
        let current = broker.topic(&topic.name).map_or(0, |t| t.partition_count());
        let outcome = match &topic.assignments {
            // A group's partition of __consumer_offsets is its hash modulo
            // the partition count: growing the topic would move groups.
            _ if is_internal_topic(&topic.name) => Err(ApiError::new(
                error_codes::INVALID_PARTITIONS,
                format!(
                    "the number of partitions of internal topic '{}' cannot be changed",
                    topic.name
                ),
            )),
            Some(assignments) if assignments.iter().any(|a| a.broker_ids != [broker.node_id]) => {
                Err(ApiError::new(
                    error_codes::INVALID_REPLICA_ASSIGNMENT,
                    format!(
                        "new partitions can only be assigned to broker {}",
                        broker.node_id
                    ),
                ))
            }
            _ => match budget.take(topic.count - current) {
                Ok(()) => {
                    broker
                        .create_partitions(&topic.name, topic.count, request.validate_only)
                        .await
                }
                Err(e) => Err(e),
            },
        };
        let (error_code, error_message) = match outcome {
            Ok(()) => (error_codes::NONE, None),
            Err(e) => (e.code, Some(e.message)),
        };
        results.push(CreatePartitionsTopicResult {
            name: topic.name,
            error_code,
            error_message,
            ..Default::default()
        });
    }
    CreatePartitionsResponse {
        results,
        ..Default::default()
    }
}

/// `strom.max.partitions.per.request`: how many partitions one CreateTopics
/// or CreatePartitions request may create, all topics together. Each
/// partition costs open files and memory; a request for tens of thousands
/// is refused before any of it is made.
struct PartitionBudget {
    limit: i32,
    left: i64,
}

impl PartitionBudget {
    fn new(broker: &Broker) -> PartitionBudget {
        let limit = broker.config.settings().max_partitions_per_request;
        PartitionBudget {
            limit,
            left: i64::from(limit),
        }
    }

    fn take(&mut self, partitions: i32) -> Result<(), ApiError> {
        let partitions = i64::from(partitions.max(0));
        if partitions > self.left {
            return Err(ApiError::new(
                error_codes::POLICY_VIOLATION,
                format!(
                    "this request would create more than {} partitions (strom.max.partitions.per.request); create them in several requests or raise the setting",
                    self.limit
                ),
            ));
        }
        self.left -= partitions;
        Ok(())
    }
}
