//! Authorization of each request, before its handler runs: the checks
//! Kafka's request handlers make, with its error codes.
//!
//! A request the caller may not make at all (a cluster operation, a group
//! it may not join) is answered here with the API's
//! `*_AUTHORIZATION_FAILED` code. A request naming several topics or
//! groups runs on the ones the caller may use; the others are answered
//! with the error by a [`Patch`] applied to the handler's response. A
//! listing (Metadata of all topics, ListGroups) leaves out what the
//! caller may not describe, and a refusal reveals nothing about whether
//! the resource exists.
//!
//! Handlers know nothing of this: with the authorizer off, `screen`
//! returns every request unchanged.

/// A [`Patch`] that runs `$body` on the response of kind `$variant`.
macro_rules! patch {
    ($variant:ident, |$response:ident| $body:expr) => {
        Some(Box::new(move |response: &mut Response| {
            if let Response::$variant($response) = response {
                $body
            }
        }) as $crate::access::Patch)
    };
}

mod admin;
mod data;
mod groups;

use std::sync::Arc;

use strom_protocol::error_codes::CLUSTER_AUTHORIZATION_FAILED;
use strom_protocol::messages::*;

use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};
use crate::security::authorizer::Caller;
use crate::state::Broker;

/// Turns the handler's response into the answer the caller gets.
pub type Patch = Box<dyn FnOnce(&mut Response) + Send>;

pub enum Screened {
    /// Run this request (the part the caller may make), then apply the
    /// patch, if any, to its response.
    Run(Request, Option<Patch>),
    /// Answer this without running anything.
    Answer(Response),
}

/// What a request's caller may do, asked of the broker's authorizer.
#[derive(Clone)]
pub(crate) struct Access {
    broker: Arc<Broker>,
    caller: Caller,
}

impl Access {
    /// Checks and logs a refusal.
    fn may(&self, operation: Operation, resource_type: ResourceType, name: &str) -> bool {
        self.broker
            .authorizer
            .authorize(&self.caller, operation, resource_type, name)
    }

    /// Checks without logging: for what a listing leaves out.
    fn sees(&self, operation: Operation, resource_type: ResourceType, name: &str) -> bool {
        self.broker
            .authorizer
            .allows(&self.caller, operation, resource_type, name)
    }

    /// KIP-430: what the caller may do on the resource, as a bit field.
    fn operations(&self, resource_type: ResourceType, name: &str) -> i32 {
        self.broker
            .authorizer
            .authorized_operations(&self.caller, resource_type, name)
    }

    fn topic(&self, operation: Operation, name: &str) -> bool {
        self.may(operation, ResourceType::Topic, name)
    }

    fn group(&self, operation: Operation, name: &str) -> bool {
        self.may(operation, ResourceType::Group, name)
    }

    fn cluster(&self, operation: Operation) -> bool {
        self.may(operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// A request only brokers make (a follower's Fetch): allowed on the
    /// brokers' own listener, else it needs CLUSTER_ACTION.
    fn broker_only(&self) -> bool {
        self.caller.inter_broker || self.cluster(Operation::ClusterAction)
    }
}

/// Authorizes `request` from `caller`.
pub fn screen(broker: &Arc<Broker>, caller: &Caller, request: Request, version: i16) -> Screened {
    if !broker.authorizer.is_enabled() {
        return Screened::Run(request, None);
    }
    let access = Access {
        broker: broker.clone(),
        caller: caller.clone(),
    };
    match request {
        Request::ApiVersions(_) | Request::SaslHandshake(_) | Request::SaslAuthenticate(_) => {
            Screened::Run(request, None)
        }
        Request::Produce(r) => data::produce(access, r),
        Request::Fetch(r) => data::fetch(access, r, version),
        Request::ListOffsets(r) => data::list_offsets(access, r),
        Request::OffsetForLeaderEpoch(r) => data::leader_epochs(access, r),
        Request::Metadata(r) => data::metadata(access, r),
        Request::DescribeTopicPartitions(r) => data::describe_topic_partitions(access, r),
        Request::InitProducerId(r) => admin::init_producer_id(access, r),
        Request::CreateTopics(r) => admin::create_topics(access, r),
        Request::DeleteTopics(r) => admin::delete_topics(access, r),
        Request::CreatePartitions(r) => admin::create_partitions(access, r),
        Request::DeleteRecords(r) => admin::delete_records(access, r),
        Request::DescribeConfigs(r) => admin::describe_configs(access, r),
        Request::AlterConfigs(r) => admin::alter_configs(access, r),
        Request::IncrementalAlterConfigs(r) => admin::incremental_alter_configs(access, r),
        Request::FindCoordinator(r) => groups::find_coordinator(access, r, version),
        Request::JoinGroup(r) => groups::join_group(access, r),
        Request::SyncGroup(r) => groups::sync_group(access, r),
        Request::Heartbeat(r) => groups::heartbeat(access, r),
        Request::LeaveGroup(r) => groups::leave_group(access, r),
        Request::ListGroups(r) => groups::list_groups(access, r),
        Request::DescribeGroups(r) => groups::describe_groups(access, r),
        // Allowed: served with the caller's own operations. Refused (checked
        // and logged once, below): answered by cluster_request.
        Request::DescribeCluster(r)
            if access.sees(Operation::Describe, ResourceType::Cluster, CLUSTER_NAME) =>
        {
            let wanted = r.include_cluster_authorized_operations;
            let patch = patch!(DescribeCluster, |response| {
                if wanted {
                    response.cluster_authorized_operations =
                        access.operations(ResourceType::Cluster, CLUSTER_NAME);
                }
            });
            Screened::Run(r.into(), patch)
        }
        Request::DeleteGroups(r) => groups::delete_groups(access, r),
        Request::OffsetCommit(r) => groups::offset_commit(access, r),
        Request::OffsetFetch(r) => groups::offset_fetch(access, r, version),
        Request::OffsetDelete(r) => groups::offset_delete(access, r),
        other => cluster_request(&access, other),
    }
}

/// The requests that act on the cluster as a whole.
fn cluster_request(access: &Access, request: Request) -> Screened {
    use Operation::{Alter, Describe};
    let denied = CLUSTER_AUTHORIZATION_FAILED;
    let message = || None;
    let refusal: Response = match &request {
        Request::DescribeCluster(_) if !access.cluster(Describe) => DescribeClusterResponse {
            error_code: denied,
            error_message: message(),
            ..Default::default()
        }
        .into(),
        Request::DescribeLogDirs(_) if !access.cluster(Describe) => DescribeLogDirsResponse {
            error_code: denied,
            ..Default::default()
        }
        .into(),
        Request::DescribeQuorum(_) if !access.cluster(Describe) => DescribeQuorumResponse {
            error_code: denied,
            error_message: message(),
            ..Default::default()
        }
        .into(),
        Request::ElectLeaders(_) if !access.cluster(Alter) => ElectLeadersResponse {
            error_code: denied,
            ..Default::default()
        }
        .into(),
        Request::AlterPartitionReassignments(_) if !access.cluster(Alter) => {
            AlterPartitionReassignmentsResponse {
                error_code: denied,
                error_message: message(),
                ..Default::default()
            }
            .into()
        }
        Request::ListPartitionReassignments(_) if !access.cluster(Describe) => {
            ListPartitionReassignmentsResponse {
                error_code: denied,
                error_message: message(),
                ..Default::default()
            }
            .into()
        }
        Request::DescribeUserScramCredentials(_) if !access.cluster(Describe) => {
            DescribeUserScramCredentialsResponse {
                error_code: denied,
                error_message: message(),
                ..Default::default()
            }
            .into()
        }
        Request::AlterUserScramCredentials(r) if !access.cluster(Alter) => {
            let users = r.deletions.iter().map(|d| &d.name);
            let mut users: Vec<&String> =
                users.chain(r.upsertions.iter().map(|u| &u.name)).collect();
            users.sort();
            users.dedup();
            AlterUserScramCredentialsResponse {
                results: users
                    .into_iter()
                    .map(|user| {
                        alter_user_scram_credentials_response::AlterUserScramCredentialsResult {
                            user: user.clone(),
                            error_code: denied,
                            error_message: message(),
                            ..Default::default()
                        }
                    })
                    .collect(),
                ..Default::default()
            }
            .into()
        }
        Request::DescribeClientQuotas(_) if !access.cluster(Operation::DescribeConfigs) => {
            DescribeClientQuotasResponse {
                error_code: denied,
                error_message: message(),
                ..Default::default()
            }
            .into()
        }
        Request::AlterClientQuotas(r) if !access.cluster(Operation::AlterConfigs) => {
            AlterClientQuotasResponse {
                entries: r
                    .entries
                    .iter()
                    .map(|e| alter_client_quotas_response::EntryData {
                        error_code: denied,
                        entity: e
                            .entity
                            .iter()
                            .map(|part| alter_client_quotas_response::EntityData {
                                entity_type: part.entity_type.clone(),
                                entity_name: part.entity_name.clone(),
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
            .into()
        }
        Request::DescribeAcls(_) if !access.cluster(Describe) => DescribeAclsResponse {
            error_code: denied,
            error_message: message(),
            ..Default::default()
        }
        .into(),
        Request::CreateAcls(r) if !access.cluster(Alter) => CreateAclsResponse {
            results: r
                .creations
                .iter()
                .map(|_| create_acls_response::AclCreationResult {
                    error_code: denied,
                    error_message: message(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into(),
        Request::DeleteAcls(r) if !access.cluster(Alter) => DeleteAclsResponse {
            filter_results: r
                .filters
                .iter()
                .map(|_| delete_acls_response::DeleteAclsFilterResult {
                    error_code: denied,
                    error_message: message(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .into(),
        _ => return Screened::Run(request, None),
    };
    Screened::Answer(refusal)
}

/// Splits `items` into those `allowed` and the others.
fn split<T>(items: Vec<T>, allowed: impl FnMut(&T) -> bool) -> (Vec<T>, Vec<T>) {
    items.into_iter().partition(allowed)
}
