//! DescribeTopicPartitions (KIP-966): topics and their partitions in name
//! order, a page at a time. A response describes at most
//! `response_partition_limit` partitions (capped by the broker's
//! `max.request.partition.size.limit`) and names the cursor to continue
//! from. Kafka's admin client uses it to describe topics from 3.8 on.

use std::collections::BTreeSet;

use strom_protocol::error_codes;
use strom_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use strom_protocol::messages::{DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse};

use crate::internal_topics::is_internal_topic;
use crate::security::acl::ResourceType;
use crate::state::Broker;
use crate::topic_store::validate_topic_name;
use crate::topic_table::Topic;

pub fn handle(
    broker: &Broker,
    request: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let (cursor_topic, cursor_partition) = request.cursor.as_ref().map_or(("", 0), |c| {
        (c.topic_name.as_str(), c.partition_index.max(0))
    });
    let fetch_all = request.topics.is_empty();
    // Sorted and each named once, from the cursor's topic on.
    let names: BTreeSet<String> = if fetch_all {
        broker.topics().iter().map(|t| t.name.clone()).collect()
    } else {
        request.topics.iter().map(|t| t.name.clone()).collect()
    };
    let names: Vec<String> = names
        .into_iter()
        .filter(|name| name.as_str() >= cursor_topic)
        .collect();
    if request.cursor.is_some() && !fetch_all && !names.iter().any(|n| n == cursor_topic) {
        // Kafka: the cursor's topic must be one of those asked for.
        return refused(&request, error_codes::INVALID_REQUEST);
    }
    let cap = broker
        .config
        .settings()
        .max_request_partition_size_limit
        .max(1);
    let mut remaining = request.response_partition_limit.clamp(0, cap) as usize;
    let mut response = DescribeTopicPartitionsResponse::default();
    for name in names {
        if remaining == 0 {
            // The next page starts with this topic.
            response.next_cursor = Some(cursor(&name, 0));
            break;
        }
        let Some(topic) = broker.topic(&name) else {
            if !fetch_all {
                let code = match validate_topic_name(&name) {
                    Ok(()) => error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                    Err(_) => error_codes::INVALID_TOPIC_EXCEPTION,
                };
                response.topics.push(topic_error(name, code));
            }
            continue;
        };
        let first = if name == cursor_topic {
            cursor_partition
        } else {
            0
        };
        let (described, next) = describe(&topic, first, remaining);
        remaining -= described.partitions.len();
        response.topics.push(described);
        if let Some(next) = next {
            response.next_cursor = Some(cursor(&name, next));
            break;
        }
    }
    response
}

/// Partitions `first..` of `topic`, at most `limit`; the index of the first
/// one left out, if any.
fn describe(
    topic: &Topic,
    first: i32,
    limit: usize,
) -> (DescribeTopicPartitionsResponseTopic, Option<i32>) {
    let partitions: Vec<_> = topic
        .partitions
        .iter()
        .zip(0..)
        .skip(usize::try_from(first).unwrap_or(0))
        .take(limit)
        .map(
            |(assignment, index)| DescribeTopicPartitionsResponsePartition {
                error_code: error_codes::NONE,
                partition_index: index,
                leader_id: assignment.leader,
                leader_epoch: assignment.leader_epoch,
                replica_nodes: assignment.replicas.clone(),
                isr_nodes: assignment.isr.clone(),
                eligible_leader_replicas: Some(Vec::new()),
                last_known_elr: Some(Vec::new()),
                offline_replicas: Vec::new(),
                ..Default::default()
            },
        )
        .collect();
    let next = partitions.last().map_or(first, |p| p.partition_index + 1);
    let next = (next < topic.partition_count() && partitions.len() == limit).then_some(next);
    let described = DescribeTopicPartitionsResponseTopic {
        error_code: error_codes::NONE,
        name: Some(topic.name.clone()),
        topic_id: topic.id,
        is_internal: is_internal_topic(&topic.name),
        partitions,
        // With no authorizer any client may do all of them (the access
        // layer narrows this when one is on).
        topic_authorized_operations: ResourceType::Topic.all_operations_bits(),
        ..Default::default()
    };
    (described, next)
}

fn cursor(topic: &str, partition_index: i32) -> Cursor {
    Cursor {
        topic_name: topic.to_string(),
        partition_index,
        ..Default::default()
    }
}

fn topic_error(name: String, error_code: i16) -> DescribeTopicPartitionsResponseTopic {
    DescribeTopicPartitionsResponseTopic {
        error_code,
        name: Some(name),
        is_internal: false,
        ..Default::default()
    }
}

/// Kafka's answer to a request it refuses whole: every topic asked for,
/// with the error.
fn refused(
    request: &DescribeTopicPartitionsRequest,
    error_code: i16,
) -> DescribeTopicPartitionsResponse {
    DescribeTopicPartitionsResponse {
        topics: request
            .topics
            .iter()
            .map(|t| topic_error(t.name.clone(), error_code))
            .collect(),
        ..Default::default()
    }
}
