//! Topic administration and configs: CreateTopics needs CREATE on the
//! cluster or the topic, DeleteTopics and DeleteRecords DELETE,
//! CreatePartitions ALTER, DescribeConfigs DESCRIBE_CONFIGS and the two
//! AlterConfigs ALTER_CONFIGS (on the topic, or the cluster for broker
//! configs). InitProducerId needs IDEMPOTENT_WRITE on the cluster or WRITE
//! on some topic, or WRITE on its transactional id.

use strom_protocol::error_codes::{
    CLUSTER_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
};
use strom_protocol::messages::*;

use super::{split, Access, Screened};
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

pub(super) fn init_producer_id(access: Access, request: InitProducerIdRequest) -> Screened {
    let error_code = match &request.transactional_id {
        Some(id) if !access.may(Operation::Write, ResourceType::TransactionalId, id) => {
            TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        }
        Some(_) => return Screened::Run(request.into(), None),
        None => {
            let authorizer = &access.broker.authorizer;
            let caller = &access.caller;
            if authorizer.allows(
                caller,
                Operation::IdempotentWrite,
                ResourceType::Cluster,
                CLUSTER_NAME,
            ) || authorizer.allows_any(caller, Operation::Write, ResourceType::Topic)
            {
                return Screened::Run(request.into(), None);
            }
            // Logged as the cluster refusal Kafka reports.
            access.cluster(Operation::IdempotentWrite);
            CLUSTER_AUTHORIZATION_FAILED
        }
    };
    Screened::Answer(
        InitProducerIdResponse {
            error_code,
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        }
        .into(),
    )
}

pub(super) fn create_topics(access: Access, mut request: CreateTopicsRequest) -> Screened {
    let on_cluster = access.sees(Operation::Create, ResourceType::Cluster, CLUSTER_NAME);
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        on_cluster || access.topic(Operation::Create, &t.name)
    });
    request.topics = allowed;
    let patch = patch!(CreateTopics, |response| {
        for topic in denied {
            response
                .topics
                .push(create_topics_response::CreatableTopicResult {
                    name: topic.name,
                    error_code: TOPIC_AUTHORIZATION_FAILED,
                    error_message: None,
                    topic_config_error_code: TOPIC_AUTHORIZATION_FAILED,
                    num_partitions: -1,
                    replication_factor: -1,
                    ..Default::default()
                });
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn delete_topics(access: Access, mut request: DeleteTopicsRequest) -> Screened {
    let allowed_name = |name: &str| access.topic(Operation::Delete, name);
    // Before v6 topics are plain names; from v6 each has a name or an id.
    let (names, denied_names) = split(std::mem::take(&mut request.topic_names), |n| {
        allowed_name(n)
    });
    let (states, denied_states) = split(std::mem::take(&mut request.topics), |t| {
        let name = t.name.clone().or_else(|| {
            access
                .broker
                .topic_by_id(t.topic_id)
                .map(|topic| topic.name.clone())
        });
        // An id no topic has is the handler's to answer.
        name.is_none_or(|name| allowed_name(&name))
    });
    request.topic_names = names;
    request.topics = states;
    let patch = patch!(DeleteTopics, |response| {
        let refused =
            |name: Option<String>, topic_id| delete_topics_response::DeletableTopicResult {
                name,
                topic_id,
                error_code: TOPIC_AUTHORIZATION_FAILED,
                error_message: None,
                ..Default::default()
            };
        for name in denied_names {
            response
                .responses
                .push(refused(Some(name), Default::default()));
        }
        for state in denied_states {
            response.responses.push(refused(state.name, state.topic_id));
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn create_partitions(access: Access, mut request: CreatePartitionsRequest) -> Screened {
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Alter, &t.name)
    });
    request.topics = allowed;
    let patch = patch!(CreatePartitions, |response| {
        for topic in denied {
            response
                .results
                .push(create_partitions_response::CreatePartitionsTopicResult {
                    name: topic.name,
                    error_code: TOPIC_AUTHORIZATION_FAILED,
                    error_message: None,
                    ..Default::default()
                });
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn delete_records(access: Access, mut request: DeleteRecordsRequest) -> Screened {
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Delete, &t.name)
    });
    request.topics = allowed;
    let patch = patch!(DeleteRecords, |response| {
        for topic in denied {
            response
                .topics
                .push(delete_records_response::DeleteRecordsTopicResult {
                    name: topic.name,
                    partitions: topic
                        .partitions
                        .iter()
                        .map(|p| delete_records_response::DeleteRecordsPartitionResult {
                            partition_index: p.partition_index,
                            low_watermark: -1,
                            error_code: TOPIC_AUTHORIZATION_FAILED,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                });
        }
    });
    Screened::Run(request.into(), patch)
}

/// Kafka's config resource type of a topic; every other type (broker,
/// broker logger) is checked on the cluster.
const TOPIC_RESOURCE: i8 = 2;

/// Whether the caller may do `operation` on a config resource, and the
/// error it gets if not.
fn config_access(
    access: &Access,
    operation: Operation,
    resource_type: i8,
    name: &str,
) -> Result<(), i16> {
    if resource_type == TOPIC_RESOURCE {
        access
            .topic(operation, name)
            .then_some(())
            .ok_or(TOPIC_AUTHORIZATION_FAILED)
    } else {
        access
            .cluster(operation)
            .then_some(())
            .ok_or(CLUSTER_AUTHORIZATION_FAILED)
    }
}

/// A refused config resource: (type, name, error).
type RefusedResource = (i8, String, i16);

pub(super) fn describe_configs(access: Access, mut request: DescribeConfigsRequest) -> Screened {
    let mut refused: Vec<RefusedResource> = Vec::new();
    request.resources.retain(|r| {
        match config_access(
            &access,
            Operation::DescribeConfigs,
            r.resource_type,
            &r.resource_name,
        ) {
            Ok(()) => true,
            Err(code) => {
                refused.push((r.resource_type, r.resource_name.clone(), code));
                false
            }
        }
    });
    let patch = patch!(DescribeConfigs, |response| {
        for (resource_type, resource_name, error_code) in refused {
            response
                .results
                .push(describe_configs_response::DescribeConfigsResult {
                    error_code,
                    error_message: None,
                    resource_type,
                    resource_name,
                    ..Default::default()
                });
        }
    });
    Screened::Run(request.into(), patch)
}

/// Takes the resources the caller may not alter out of `resources`.
fn refuse_alters<T>(
    access: &Access,
    resources: &mut Vec<T>,
    key: impl Fn(&T) -> (i8, &str),
) -> Vec<RefusedResource> {
    let mut refused = Vec::new();
    resources.retain(|r| {
        let (resource_type, name) = key(r);
        match config_access(access, Operation::AlterConfigs, resource_type, name) {
            Ok(()) => true,
            Err(code) => {
                refused.push((resource_type, name.to_string(), code));
                false
            }
        }
    });
    refused
}

fn alter_refusals(
    refused: Vec<RefusedResource>,
) -> impl Iterator<Item = alter_configs_response::AlterConfigsResourceResponse> {
    refused
        .into_iter()
        .map(|(resource_type, resource_name, error_code)| {
            alter_configs_response::AlterConfigsResourceResponse {
                error_code,
                error_message: None,
                resource_type,
                resource_name,
                ..Default::default()
            }
        })
}

pub(super) fn alter_configs(access: Access, mut request: AlterConfigsRequest) -> Screened {
    let refused = refuse_alters(&access, &mut request.resources, |r| {
        (r.resource_type, &r.resource_name)
    });
    let patch = patch!(AlterConfigs, |response| {
        response.responses.extend(alter_refusals(refused))
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn incremental_alter_configs(
    access: Access,
    mut request: IncrementalAlterConfigsRequest,
) -> Screened {
    let refused = refuse_alters(&access, &mut request.resources, |r| {
        (r.resource_type, &r.resource_name)
    });
    let patch = patch!(IncrementalAlterConfigs, |response| {
        for r in alter_refusals(refused) {
            response.responses.push(
                incremental_alter_configs_response::AlterConfigsResourceResponse {
                    error_code: r.error_code,
                    error_message: r.error_message,
                    resource_type: r.resource_type,
                    resource_name: r.resource_name,
                    ..Default::default()
                },
            );
        }
    });
    Screened::Run(request.into(), patch)
}
