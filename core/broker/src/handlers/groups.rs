//! FindCoordinator and the classic group APIs: JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, ListGroups, DescribeGroups and DeleteGroups.
//! They translate between the wire versions and [`crate::group`].

use std::net::SocketAddr;
use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::delete_groups_response::DeletableGroupResult;
use strom_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use strom_protocol::messages::find_coordinator_response::Coordinator;
use strom_protocol::messages::join_group_response::JoinGroupResponseMember;
use strom_protocol::messages::leave_group_response::MemberResponse;
use strom_protocol::messages::list_groups_response::ListedGroup;
use strom_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest,
    ListGroupsResponse, SyncGroupRequest, SyncGroupResponse,
};

use crate::group::{self, JoinParams, LeavingMember, SyncParams};
use crate::security::acl::{ResourceType, OPERATIONS_NOT_REQUESTED};
use crate::state::{Broker, Endpoint};

/// FindCoordinator key types.
const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

pub async fn find_coordinator(
    broker: &Arc<Broker>,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let key_type = if version >= 1 {
        request.key_type
    } else {
        KEY_TYPE_GROUP
    };
    if version >= 4 {
        let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
        for key in request.coordinator_keys {
            let (node_id, host, port, error_code, error_message) =
                match locate(broker, key_type, &key).await {
                    Ok(at) => (at.id, at.host, at.port, error_codes::NONE, None),
                    Err((code, message)) => (-1, String::new(), -1, code, Some(message)),
                };
            coordinators.push(Coordinator {
                key,
                node_id,
                host,
                port,
                error_code,
                error_message,
                ..Default::default()
            });
        }
        return FindCoordinatorResponse {
            coordinators,
            ..Default::default()
        };
    }
    match locate(broker, key_type, &request.key).await {
        Ok(at) => FindCoordinatorResponse {
            error_code: error_codes::NONE,
            error_message: None,
            node_id: at.id,
            host: at.host,
            port: at.port,
            ..Default::default()
        },
        Err((code, message)) => FindCoordinatorResponse {
            error_code: code,
            error_message: Some(message),
            node_id: -1,
            host: String::new(),
            port: -1,
            ..Default::default()
        },
    }
}

/// The leader of the group's partition of `__consumer_offsets` coordinates
/// it (that topic is created here if it does not exist yet).
async fn locate(broker: &Arc<Broker>, key_type: i8, key: &str) -> Result<Endpoint, (i16, String)> {
    match key_type {
        KEY_TYPE_GROUP => {
            let partitions = group::ensure_offsets_topic(broker)
                .await
                .map_err(|code| (code, format!("cannot create {}", group::OFFSETS_TOPIC)))?;
            let partition = group::partition_for(key, partitions);
            let leader = broker
                .topic(group::OFFSETS_TOPIC)
                .and_then(|t| t.partitions.get(partition as usize).map(|p| p.leader))
                .unwrap_or(-1);
            broker.broker_endpoint(leader).ok_or_else(|| {
                (
                    error_codes::COORDINATOR_NOT_AVAILABLE,
                    format!(
                        "partition {partition} of {} has no leader",
                        group::OFFSETS_TOPIC
                    ),
                )
            })
        }
        KEY_TYPE_TRANSACTION => Err((
            error_codes::COORDINATOR_NOT_AVAILABLE,
            "transactions are not supported by this broker yet".into(),
        )),
        other => Err((
            error_codes::INVALID_REQUEST,
            format!("unknown coordinator key type {other}"),
        )),
    }
}

pub async fn join_group(
    broker: &Arc<Broker>,
    request: JoinGroupRequest,
    version: i16,
    client_id: &str,
    peer: SocketAddr,
) -> JoinGroupResponse {
    if let Some(reason) = &request.reason {
        tracing::debug!(group = %request.group_id, member = %request.member_id, %reason, "JoinGroup");
    }
    let params = JoinParams {
        group_id: request.group_id,
        session_timeout_ms: request.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        member_id: request.member_id,
        group_instance_id: request.group_instance_id,
        protocol_type: request.protocol_type,
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name, p.metadata))
            .collect(),
        client_id: client_id.to_string(),
        // Kafka reports the address as InetAddress.toString does.
        client_host: format!("/{}", peer.ip()),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
    };
    let result = group::join(broker, params).await;
    JoinGroupResponse {
        error_code: result.error,
        generation_id: result.generation,
        protocol_type: result.protocol_type,
        // Nullable only from v7.
        protocol_name: if version >= 7 {
            result.protocol_name
        } else {
            Some(result.protocol_name.unwrap_or_default())
        },
        leader: result.leader,
        skip_assignment: result.skip_assignment,
        member_id: result.member_id,
        members: result
            .members
            .into_iter()
            .map(|m| JoinGroupResponseMember {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                metadata: m.metadata,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub async fn sync_group(broker: &Arc<Broker>, request: SyncGroupRequest) -> SyncGroupResponse {
    let params = SyncParams {
        group_id: request.group_id,
        generation: request.generation_id,
        member_id: request.member_id,
        group_instance_id: request.group_instance_id,
        protocol_type: request.protocol_type,
        protocol_name: request.protocol_name,
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id, a.assignment))
            .collect(),
    };
    let result = group::sync(broker, params).await;
    SyncGroupResponse {
        error_code: result.error,
        protocol_type: result.protocol_type,
        protocol_name: result.protocol_name,
        assignment: result.assignment,
        ..Default::default()
    }
}

pub async fn heartbeat(broker: &Arc<Broker>, request: HeartbeatRequest) -> HeartbeatResponse {
    let error_code = group::heartbeat(
        broker,
        &request.group_id,
        &request.member_id,
        request.group_instance_id.as_deref(),
        request.generation_id,
    )
    .await;
    HeartbeatResponse {
        error_code,
        ..Default::default()
    }
}

pub async fn leave_group(
    broker: &Arc<Broker>,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let leaving: Vec<LeavingMember> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
            })
            .collect()
    } else {
        vec![LeavingMember {
            member_id: request.member_id.clone(),
            group_instance_id: None,
        }]
    };
    let (group_error, member_errors) = group::leave(broker, &request.group_id, &leaving).await;
    if version < 3 {
        // One member: its error is the request's.
        let error_code = match member_errors.first() {
            Some(code) if group_error == error_codes::NONE => *code,
            _ => group_error,
        };
        return LeaveGroupResponse {
            error_code,
            ..Default::default()
        };
    }
    LeaveGroupResponse {
        error_code: group_error,
        members: leaving
            .into_iter()
            .zip(member_errors)
            .map(|(member, error_code)| MemberResponse {
                member_id: member.member_id,
                group_instance_id: member.group_instance_id,
                error_code,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub fn list_groups(broker: &Broker, request: ListGroupsRequest) -> ListGroupsResponse {
    let (error_code, groups) = group::list(broker, &request.states_filter);
    ListGroupsResponse {
        error_code,
        groups: groups
            .into_iter()
            .map(|g| ListedGroup {
                group_id: g.group_id,
                protocol_type: g.protocol_type,
                group_state: g.state.name().to_string(),
                group_type: "classic".to_string(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub async fn describe_groups(
    broker: &Arc<Broker>,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut groups = Vec::with_capacity(request.groups.len());
    for group_id in request.groups {
        let description = group::describe(broker, &group_id).await;
        groups.push(DescribedGroup {
            error_code: description.error,
            group_id,
            group_state: description.state,
            protocol_type: description.protocol_type,
            protocol_data: description.protocol,
            members: description
                .members
                .into_iter()
                .map(|m| DescribedGroupMember {
                    member_id: m.member_id,
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    member_metadata: m.metadata,
                    member_assignment: m.assignment,
                    ..Default::default()
                })
                .collect(),
            authorized_operations: if request.include_authorized_operations {
                ResourceType::Group.all_operations_bits()
            } else {
                OPERATIONS_NOT_REQUESTED
            },
            ..Default::default()
        });
    }
    DescribeGroupsResponse {
        groups,
        ..Default::default()
    }
}

pub async fn delete_groups(
    broker: &Arc<Broker>,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let results = group::delete_groups(broker, &request.groups_names).await;
    DeleteGroupsResponse {
        results: results
            .into_iter()
            .map(|r| DeletableGroupResult {
                group_id: r.group_id,
                error_code: r.error,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
