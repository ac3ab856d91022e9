//! Records and topic metadata: Produce needs WRITE on each topic, Fetch
//! READ, and ListOffsets, OffsetForLeaderEpoch, Metadata and
//! DescribeTopicPartitions DESCRIBE. Metadata that would create a topic
//! also needs CREATE on the cluster or the topic.

use strom_protocol::error_codes::{CLUSTER_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED};
use strom_protocol::messages::fetch_response::FetchableTopicResponse;
use strom_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use strom_protocol::messages::metadata_response::MetadataResponseTopic;
use strom_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use strom_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use strom_protocol::messages::*;

use super::{split, Access, Screened};
use crate::handlers::fetch::{fetching_replica, refused};
use crate::security::acl::Operation;

pub(super) fn produce(access: Access, mut request: ProduceRequest) -> Screened {
    let (allowed, denied) = split(std::mem::take(&mut request.topic_data), |t| {
        access.topic(Operation::Write, &t.name)
    });
    request.topic_data = allowed;
    if denied.is_empty() {
        return Screened::Run(request.into(), None);
    }
    let patch = patch!(Produce, |response| {
        for topic in denied {
            response.responses.push(TopicProduceResponse {
                name: topic.name,
                partition_responses: topic
                    .partition_data
                    .iter()
                    .map(|p| PartitionProduceResponse {
                        index: p.index,
                        error_code: TOPIC_AUTHORIZATION_FAILED,
                        base_offset: -1,
                        log_append_time_ms: -1,
                        log_start_offset: -1,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            });
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn fetch(access: Access, mut request: FetchRequest, version: i16) -> Screened {
    if fetching_replica(&request) >= 0 {
        if access.broker_only() {
            return Screened::Run(request.into(), None);
        }
        return Screened::Answer(
            FetchResponse {
                error_code: CLUSTER_AUTHORIZATION_FAILED,
                ..Default::default()
            }
            .into(),
        );
    }
    // v13+ name topics by id; an id no topic has is the handler's to answer.
    let name_of = |topic: &fetch_request::FetchTopic| {
        if version >= 13 {
            access
                .broker
                .topic_by_id(topic.topic_id)
                .map(|t| t.name.clone())
        } else {
            Some(topic.topic.clone())
        }
    };
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        name_of(t).is_none_or(|name| access.topic(Operation::Read, &name))
    });
    if denied.is_empty() {
        request.topics = allowed;
        return Screened::Run(request.into(), None);
    }
    let refusals = denied.into_iter().map(|topic| FetchableTopicResponse {
        topic: topic.topic,
        topic_id: topic.topic_id,
        partitions: topic
            .partitions
            .iter()
            .map(|p| refused(p.partition, TOPIC_AUTHORIZATION_FAILED))
            .collect(),
        ..Default::default()
    });
    if allowed.is_empty() {
        // Answered at once, rather than after waiting for data to read.
        return Screened::Answer(
            FetchResponse {
                responses: refusals.collect(),
                ..Default::default()
            }
            .into(),
        );
    }
    request.topics = allowed;
    let refusals: Vec<FetchableTopicResponse> = refusals.collect();
    let patch = patch!(Fetch, |response| response.responses.extend(refusals));
    Screened::Run(request.into(), patch)
}

pub(super) fn list_offsets(access: Access, mut request: ListOffsetsRequest) -> Screened {
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Describe, &t.name)
    });
    request.topics = allowed;
    let patch = patch!(ListOffsets, |response| {
        for topic in denied {
            response.topics.push(ListOffsetsTopicResponse {
                name: topic.name,
                partitions: topic
                    .partitions
                    .iter()
                    .map(|p| ListOffsetsPartitionResponse {
                        partition_index: p.partition_index,
                        error_code: TOPIC_AUTHORIZATION_FAILED,
                        timestamp: -1,
                        offset: -1,
                        leader_epoch: -1,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            });
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn leader_epochs(access: Access, mut request: OffsetForLeaderEpochRequest) -> Screened {
    if request.replica_id >= 0 {
        if access.broker_only() {
            return Screened::Run(request.into(), None);
        }
        let denied = request.topics.iter().map(|t| OffsetForLeaderTopicResult {
            topic: t.topic.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| epoch_refused(p.partition, CLUSTER_AUTHORIZATION_FAILED))
                .collect(),
            ..Default::default()
        });
        return Screened::Answer(
            OffsetForLeaderEpochResponse {
                topics: denied.collect(),
                ..Default::default()
            }
            .into(),
        );
    }
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Describe, &t.topic)
    });
    request.topics = allowed;
    let patch = patch!(OffsetForLeaderEpoch, |response| {
        for topic in denied {
            response.topics.push(OffsetForLeaderTopicResult {
                topic: topic.topic,
                partitions: topic
                    .partitions
                    .iter()
                    .map(|p| epoch_refused(p.partition, TOPIC_AUTHORIZATION_FAILED))
                    .collect(),
                ..Default::default()
            });
        }
    });
    Screened::Run(request.into(), patch)
}

fn epoch_refused(partition: i32, error_code: i16) -> EpochEndOffset {
    EpochEndOffset {
        error_code,
        partition,
        leader_epoch: -1,
        end_offset: -1,
        ..Default::default()
    }
}

/// Topics the caller may not describe are refused when named and left
/// out of an all-topics listing; a named topic that does not exist is
/// created only for a caller with CREATE on the cluster or the topic.
pub(super) fn metadata(access: Access, mut request: MetadataRequest) -> Screened {
    let topic_operations = request.include_topic_authorized_operations;
    let cluster_operations = request.include_cluster_authorized_operations;
    let auto_create = request.allow_auto_topic_creation
        && access.broker.config.settings().auto_create_topics_enable;
    let mut refused: Vec<String> = Vec::new();
    if let Some(topics) = request.topics.as_mut() {
        topics.retain(|t| {
            let Some(name) = t.name.clone().or_else(|| {
                access
                    .broker
                    .topic_by_id(t.topic_id)
                    .map(|topic| topic.name.clone())
            }) else {
                return true; // an unknown id: the handler answers it
            };
            let creatable = || {
                access.broker.topic(&name).is_some()
                    || !auto_create
                    || access.sees(
                        Operation::Create,
                        crate::security::acl::ResourceType::Cluster,
                        crate::security::acl::CLUSTER_NAME,
                    )
                    || access.topic(Operation::Create, &name)
            };
            let allowed = access.topic(Operation::Describe, &name) && creatable();
            if !allowed {
                refused.push(name);
            }
            allowed
        });
    }
    let patch = patch!(Metadata, |response| {
        response.topics.retain(|t| {
            t.name.as_deref().is_none_or(|name| {
                access.sees(
                    Operation::Describe,
                    crate::security::acl::ResourceType::Topic,
                    name,
                )
            })
        });
        // KIP-430: what this caller may do, not what anyone may.
        if topic_operations {
            for topic in response.topics.iter_mut().filter(|t| t.error_code == 0) {
                if let Some(name) = topic.name.as_deref() {
                    topic.topic_authorized_operations =
                        access.operations(crate::security::acl::ResourceType::Topic, name);
                }
            }
        }
        if cluster_operations {
            response.cluster_authorized_operations = access.operations(
                crate::security::acl::ResourceType::Cluster,
                crate::security::acl::CLUSTER_NAME,
            );
        }
        for name in refused {
            response.topics.push(MetadataResponseTopic {
                error_code: TOPIC_AUTHORIZATION_FAILED,
                name: Some(name),
                ..Default::default()
            });
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn describe_topic_partitions(
    access: Access,
    mut request: DescribeTopicPartitionsRequest,
) -> Screened {
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Describe, &t.name)
    });
    let listing = allowed.is_empty() && denied.is_empty();
    if !listing && allowed.is_empty() {
        // Nothing left to ask: an empty list would mean every topic.
        return Screened::Answer(
            DescribeTopicPartitionsResponse {
                topics: denied.into_iter().map(|t| refused_topic(t.name)).collect(),
                ..Default::default()
            }
            .into(),
        );
    }
    request.topics = allowed;
    let patch = patch!(DescribeTopicPartitions, |response| {
        if listing {
            response.topics.retain(|t| {
                t.name.as_deref().is_none_or(|name| {
                    access.sees(
                        Operation::Describe,
                        crate::security::acl::ResourceType::Topic,
                        name,
                    )
                })
            });
        }
        for topic in response.topics.iter_mut().filter(|t| t.error_code == 0) {
            if let Some(name) = topic.name.as_deref() {
                topic.topic_authorized_operations =
                    access.operations(crate::security::acl::ResourceType::Topic, name);
            }
        }
        response
            .topics
            .extend(denied.into_iter().map(|t| refused_topic(t.name)));
    });
    Screened::Run(request.into(), patch)
}

fn refused_topic(
    name: String,
) -> describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic {
    describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic {
        error_code: TOPIC_AUTHORIZATION_FAILED,
        name: Some(name),
        ..Default::default()
    }
}
