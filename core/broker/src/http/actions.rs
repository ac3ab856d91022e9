//! The console's actions: create a topic (`POST /v1/topics`), delete one
//! (`DELETE /v1/topics/{name}`) and reset a group's committed offsets
//! (`POST /v1/groups/{id}/reset-offsets`). Each goes through the same
//! code as the Kafka request that does it (CreateTopics, DeleteTopics,
//! OffsetCommit without membership), so the same rules hold: internal
//! topics stay, `delete.topic.enable` is obeyed, and a group with members
//! keeps its offsets. Who may call them is decided in `super::guard`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};
use strom_protocol::error_codes;
use strom_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use strom_protocol::messages::delete_topics_request::DeleteTopicState;
use strom_protocol::messages::{CreateTopicsRequest, DeleteTopicsRequest};

use super::Failure;
use crate::group::{self, CommitParams, CommitPartition};
use crate::handlers::topics;
use crate::state::Broker;

/// The newest CreateTopics and DeleteTopics versions, whose answers carry
/// error messages.
const CREATE_TOPICS_VERSION: i16 = 7;
const DELETE_TOPICS_VERSION: i16 = 6;

/// `POST /v1/topics`'s body; unset numbers take the broker's defaults.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTopic {
    name: String,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

pub async fn create_topic(broker: &Arc<Broker>, topic: NewTopic) -> Result<Value, Failure> {
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: topic.name.clone(),
            num_partitions: topic.partitions.unwrap_or(-1),
            replication_factor: topic.replication_factor.unwrap_or(-1),
            configs: topic
                .configs
                .into_iter()
                .map(|(name, value)| CreatableTopicConfig {
                    name,
                    value: Some(value),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        timeout_ms: 30_000,
        ..Default::default()
    };
    let answer = topics::create(broker, request, CREATE_TOPICS_VERSION).await;
    let result = answer.topics.into_iter().next().ok_or_else(no_answer)?;
    kafka_outcome(result.error_code, result.error_message)?;
    tracing::info!(topic = %result.name, "topic created through the console");
    Ok(
        json!({"name": result.name, "partitions": result.num_partitions,
              "replication_factor": result.replication_factor}),
    )
}

pub async fn delete_topic(broker: &Arc<Broker>, name: &str) -> Result<Value, Failure> {
    let request = DeleteTopicsRequest {
        topics: vec![DeleteTopicState {
            name: Some(name.to_string()),
            ..Default::default()
        }],
        timeout_ms: 30_000,
        ..Default::default()
    };
    let answer = topics::delete(broker, request, DELETE_TOPICS_VERSION).await;
    let result = answer.responses.into_iter().next().ok_or_else(no_answer)?;
    kafka_outcome(result.error_code, result.error_message)?;
    tracing::info!(topic = name, "topic deleted through the console");
    Ok(json!({"deleted": name}))
}

/// `POST /v1/groups/{id}/reset-offsets`'s body.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    topic: String,
    to: ResetTo,
}

#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum ResetTo {
    Earliest,
    Latest,
}

impl Reset {
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// Commits the start or the end of every partition of `reset.topic` for
/// the group, as `kafka-consumer-groups --reset-offsets --execute` does:
/// only while the group has no members. `elsewhere`: (log start, high
/// watermark) by partition, from the leaders of those this broker does
/// not hold.
pub async fn reset_offsets(
    broker: &Arc<Broker>,
    group_id: &str,
    reset: Reset,
    elsewhere: &HashMap<i32, (i64, i64)>,
) -> Result<Value, Failure> {
    let topic = broker
        .topic(&reset.topic)
        .ok_or_else(|| Failure::not_found(format!("topic '{}' does not exist", reset.topic)))?;
    let mut partitions = Vec::with_capacity(topic.partitions.len());
    for index in 0..topic.partition_count() {
        let (start, end) = match broker.partition(&topic.name, index) {
            Ok(held) => (held.log.log_start_offset(), held.log.high_watermark()),
            Err(_) => *elsewhere.get(&index).ok_or_else(|| {
                Failure::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the leader of partition {index} of '{}' did not answer",
                        topic.name
                    ),
                )
            })?,
        };
        let offset = match reset.to {
            ResetTo::Earliest => start,
            ResetTo::Latest => end,
        };
        partitions.push(CommitPartition {
            topic: topic.name.clone(),
            partition: index,
            offset,
            leader_epoch: -1,
            metadata: None,
        });
    }
    let params = CommitParams {
        group_id: group_id.to_string(),
        generation: -1,
        member_id: String::new(),
        group_instance_id: None,
        retention_ms: None,
        partitions,
    };
    let errors = group::commit(broker, &params).await;
    if let Some(&code) = errors.iter().find(|&&code| code != error_codes::NONE) {
        let message = match code {
            error_codes::UNKNOWN_MEMBER_ID | error_codes::REBALANCE_IN_PROGRESS => {
                format!("group '{group_id}' has active members: stop its consumers first (Kafka's kafka-consumer-groups has the same rule)")
            }
            error_codes::NOT_COORDINATOR => format!(
                "group '{group_id}' is coordinated by another broker: reset it from that broker's console"
            ),
            _ => format!("the commit failed: {}", error_codes::ErrorCode::from(code)),
        };
        return Err(Failure::from_kafka(code, message));
    }
    tracing::info!(group = group_id, topic = %topic.name, to = ?reset.to, "offsets reset through the console");
    let offsets: Vec<Value> = params
        .partitions
        .iter()
        .map(|p| json!({"partition": p.partition, "offset": p.offset}))
        .collect();
    Ok(json!({"group": group_id, "topic": topic.name, "offsets": offsets}))
}

fn kafka_outcome(code: i16, message: Option<String>) -> Result<(), Failure> {
    if code == error_codes::NONE {
        return Ok(());
    }
    let message =
        message.unwrap_or_else(|| error_codes::ErrorCode::from(code).description().to_string());
    Err(Failure::from_kafka(code, message))
}

fn no_answer() -> Failure {
    Failure::internal("the request got no answer".to_string())
}
