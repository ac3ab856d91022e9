//! Consumer groups: joining, syncing, heart-beating, leaving and
//! committing need READ on the group (and committing READ on each topic);
//! FindCoordinator, DescribeGroups and OffsetFetch DESCRIBE; DeleteGroups
//! and OffsetDelete DELETE. ListGroups lists every group for a caller
//! with DESCRIBE on the cluster, else the groups it may describe.

use std::collections::HashSet;

use strom_protocol::error_codes::{
    GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
};
use strom_protocol::messages::*;

use super::{split, Access, Screened};
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// FindCoordinator's key type of a transactional id (0: a group).
const TRANSACTION_KEY: i8 = 1;
/// The first FindCoordinator version that batches keys.
const BATCHED_FROM: i16 = 4;

pub(super) fn find_coordinator(
    access: Access,
    mut request: FindCoordinatorRequest,
    version: i16,
) -> Screened {
    let check = |key: &str| -> Option<i16> {
        if request.key_type == TRANSACTION_KEY {
            (!access.may(Operation::Describe, ResourceType::TransactionalId, key))
                .then_some(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        } else {
            (!access.group(Operation::Describe, key)).then_some(GROUP_AUTHORIZATION_FAILED)
        }
    };
    if version < BATCHED_FROM {
        return match check(&request.key) {
            None => Screened::Run(request.into(), None),
            Some(error_code) => Screened::Answer(
                FindCoordinatorResponse {
                    error_code,
                    error_message: None,
                    node_id: -1,
                    port: -1,
                    ..Default::default()
                }
                .into(),
            ),
        };
    }
    let mut refused = Vec::new();
    request.coordinator_keys.retain(|key| match check(key) {
        None => true,
        Some(code) => {
            refused.push((key.clone(), code));
            false
        }
    });
    let patch = patch!(FindCoordinator, |response| {
        for (key, error_code) in refused {
            response
                .coordinators
                .push(find_coordinator_response::Coordinator {
                    key,
                    node_id: -1,
                    port: -1,
                    error_code,
                    error_message: None,
                    ..Default::default()
                });
        }
    });
    Screened::Run(request.into(), patch)
}

/// Runs `request` if the caller may `operation` the group, else answers
/// `refusal`.
fn group_gate(
    access: &Access,
    operation: Operation,
    group: &str,
    request: Request,
    refusal: impl FnOnce() -> Response,
) -> Screened {
    if access.group(operation, group) {
        Screened::Run(request, None)
    } else {
        Screened::Answer(refusal())
    }
}

pub(super) fn join_group(access: Access, request: JoinGroupRequest) -> Screened {
    let group = request.group_id.clone();
    group_gate(&access, Operation::Read, &group, request.into(), || {
        JoinGroupResponse {
            error_code: GROUP_AUTHORIZATION_FAILED,
            generation_id: -1,
            ..Default::default()
        }
        .into()
    })
}

pub(super) fn sync_group(access: Access, request: SyncGroupRequest) -> Screened {
    let group = request.group_id.clone();
    group_gate(&access, Operation::Read, &group, request.into(), || {
        SyncGroupResponse {
            error_code: GROUP_AUTHORIZATION_FAILED,
            ..Default::default()
        }
        .into()
    })
}

pub(super) fn heartbeat(access: Access, request: HeartbeatRequest) -> Screened {
    let group = request.group_id.clone();
    group_gate(&access, Operation::Read, &group, request.into(), || {
        HeartbeatResponse {
            error_code: GROUP_AUTHORIZATION_FAILED,
            ..Default::default()
        }
        .into()
    })
}

pub(super) fn leave_group(access: Access, request: LeaveGroupRequest) -> Screened {
    let group = request.group_id.clone();
    group_gate(&access, Operation::Read, &group, request.into(), || {
        LeaveGroupResponse {
            error_code: GROUP_AUTHORIZATION_FAILED,
            ..Default::default()
        }
        .into()
    })
}

pub(super) fn list_groups(access: Access, request: ListGroupsRequest) -> Screened {
    if access.sees(Operation::Describe, ResourceType::Cluster, CLUSTER_NAME) {
        return Screened::Run(request.into(), None);
    }
    let patch = patch!(ListGroups, |response| {
        response
            .groups
            .retain(|g| access.sees(Operation::Describe, ResourceType::Group, &g.group_id))
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn describe_groups(access: Access, request: DescribeGroupsRequest) -> Screened {
    let refused: HashSet<String> = request
        .groups
        .iter()
        .filter(|g| !access.group(Operation::Describe, g))
        .cloned()
        .collect();
    let operations = request.include_authorized_operations;
    if refused.is_empty() && !operations {
        return Screened::Run(request.into(), None);
    }
    // DescribeGroups changes nothing: it runs whole, and the refused
    // groups' answers are replaced.
    let patch = patch!(DescribeGroups, |response| {
        for group in response.groups.iter_mut() {
            if operations && group.error_code == 0 {
                // KIP-430: what this caller may do with the group.
                group.authorized_operations =
                    access.operations(ResourceType::Group, &group.group_id);
            }
            if refused.contains(&group.group_id) {
                *group = describe_groups_response::DescribedGroup {
                    error_code: GROUP_AUTHORIZATION_FAILED,
                    group_id: std::mem::take(&mut group.group_id),
                    ..Default::default()
                };
            }
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn delete_groups(access: Access, mut request: DeleteGroupsRequest) -> Screened {
    let (allowed, denied) = split(std::mem::take(&mut request.groups_names), |g| {
        access.group(Operation::Delete, g)
    });
    request.groups_names = allowed;
    let patch = patch!(DeleteGroups, |response| {
        for group_id in denied {
            response
                .results
                .push(delete_groups_response::DeletableGroupResult {
                    group_id,
                    error_code: GROUP_AUTHORIZATION_FAILED,
                    ..Default::default()
                });
        }
    });
    Screened::Run(request.into(), patch)
}

pub(super) fn offset_commit(access: Access, mut request: OffsetCommitRequest) -> Screened {
    let refusals = |topics: &[offset_commit_request::OffsetCommitRequestTopic], error_code| {
        topics
            .iter()
            .map(|t| offset_commit_response::OffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| offset_commit_response::OffsetCommitResponsePartition {
                        partition_index: p.partition_index,
                        error_code,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect::<Vec<_>>()
    };
    if !access.group(Operation::Read, &request.group_id) {
        return Screened::Answer(
            OffsetCommitResponse {
                topics: refusals(&request.topics, GROUP_AUTHORIZATION_FAILED),
                ..Default::default()
            }
            .into(),
        );
    }
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Read, &t.name)
    });
    request.topics = allowed;
    let denied = refusals(&denied, TOPIC_AUTHORIZATION_FAILED);
    let patch = patch!(OffsetCommit, |response| response.topics.extend(denied));
    Screened::Run(request.into(), patch)
}

pub(super) fn offset_delete(access: Access, mut request: OffsetDeleteRequest) -> Screened {
    if !access.group(Operation::Delete, &request.group_id) {
        return Screened::Answer(
            OffsetDeleteResponse {
                error_code: GROUP_AUTHORIZATION_FAILED,
                ..Default::default()
            }
            .into(),
        );
    }
    let (allowed, denied) = split(std::mem::take(&mut request.topics), |t| {
        access.topic(Operation::Read, &t.name)
    });
    request.topics = allowed;
    let patch = patch!(OffsetDelete, |response| {
        for topic in denied {
            response
                .topics
                .push(offset_delete_response::OffsetDeleteResponseTopic {
                    name: topic.name,
                    partitions: topic
                        .partitions
                        .iter()
                        .map(|p| offset_delete_response::OffsetDeleteResponsePartition {
                            partition_index: p.partition_index,
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

/// The first OffsetFetch version with a request-level error code, and the
/// first that batches groups.
const TOP_LEVEL_ERROR_FROM: i16 = 2;
const BATCHED_GROUPS_FROM: i16 = 8;

/// OffsetFetch changes nothing, so it runs whole and the answers the
/// caller may not see are replaced: a refused group's error, and for the
/// topics it may not describe, TOPIC_AUTHORIZATION_FAILED when named or
/// nothing when it asked for every topic.
pub(super) fn offset_fetch(access: Access, request: OffsetFetchRequest, version: i16) -> Screened {
    if version < BATCHED_GROUPS_FROM {
        if !access.group(Operation::Describe, &request.group_id) {
            return Screened::Answer(refused_offset_fetch(&request, version).into());
        }
        let named = request.topics.is_some();
        let patch = patch!(OffsetFetch, |response| {
            response.topics.retain_mut(|t| {
                if visible(&access, named, &t.name) {
                    return true;
                }
                for p in &mut t.partitions {
                    *p = offset_fetch_response::OffsetFetchResponsePartition {
                        partition_index: p.partition_index,
                        committed_offset: -1,
                        committed_leader_epoch: -1,
                        error_code: TOPIC_AUTHORIZATION_FAILED,
                        ..Default::default()
                    };
                }
                named
            })
        });
        return Screened::Run(request.into(), patch);
    }
    let groups: Vec<(String, bool, bool)> = request
        .groups
        .iter()
        .map(|g| {
            let allowed = access.group(Operation::Describe, &g.group_id);
            (g.group_id.clone(), allowed, g.topics.is_some())
        })
        .collect();
    let patch = patch!(OffsetFetch, |response| {
        for group in response.groups.iter_mut() {
            let Some((_, allowed, named)) = groups.iter().find(|(id, ..)| *id == group.group_id)
            else {
                continue;
            };
            if !allowed {
                group.topics.clear();
                group.error_code = GROUP_AUTHORIZATION_FAILED;
                continue;
            }
            group.topics.retain_mut(|t| {
                if visible(&access, *named, &t.name) {
                    return true;
                }
                for p in &mut t.partitions {
                    *p = offset_fetch_response::OffsetFetchResponsePartitions {
                        partition_index: p.partition_index,
                        committed_offset: -1,
                        committed_leader_epoch: -1,
                        error_code: TOPIC_AUTHORIZATION_FAILED,
                        ..Default::default()
                    };
                }
                *named
            });
        }
    });
    Screened::Run(request.into(), patch)
}

/// Whether OffsetFetch shows a topic's offsets: a refusal of a topic the
/// caller named is logged; one left out of "every topic" is not.
fn visible(access: &Access, named: bool, topic: &str) -> bool {
    if named {
        access.topic(Operation::Describe, topic)
    } else {
        access.sees(Operation::Describe, ResourceType::Topic, topic)
    }
}

/// A single-group OffsetFetch refused on its group: the error at the top
/// (v2+) and, as v1 has no top-level error, on every partition asked for.
fn refused_offset_fetch(request: &OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let topics =
        request
            .topics
            .iter()
            .flatten()
            .map(|t| offset_fetch_response::OffsetFetchResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partition_indexes
                    .iter()
                    .map(
                        |&partition_index| offset_fetch_response::OffsetFetchResponsePartition {
                            partition_index,
                            committed_offset: -1,
                            committed_leader_epoch: -1,
                            error_code: GROUP_AUTHORIZATION_FAILED,
                            ..Default::default()
                        },
                    )
                    .collect(),
                ..Default::default()
            });
    OffsetFetchResponse {
        topics: topics.collect(),
        error_code: if version >= TOP_LEVEL_ERROR_FROM {
            GROUP_AUTHORIZATION_FAILED
        } else {
            0
        },
        ..Default::default()
    }
}
