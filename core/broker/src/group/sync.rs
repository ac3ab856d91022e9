//! SyncGroup, Heartbeat and LeaveGroup, following Kafka's classic
//! GroupCoordinator (`doSyncGroup`, `handleHeartbeat`, `handleLeaveGroup`).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use strom_protocol::error_codes;
use tokio::sync::oneshot;

use super::classic::{ClassicGroup, GroupState};
use super::join::{
    maybe_prepare_rebalance, propagate_sync, remove_member_and_update, remove_pending_member,
    validate_current_member,
};
use super::store::{self, Env};
use super::{lock, GroupApi, GroupRef};
use crate::state::Broker;

#[derive(Debug, Clone)]
pub struct SyncParams {
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// v5+: checked against the group's when present.
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// The leader's assignment: member id -> bytes.
    pub assignments: Vec<(String, Bytes)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    pub fn error(error: i16) -> SyncResult {
        SyncResult {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// What the leader's SyncGroup must persist before the generation's
/// assignment is handed out.
struct LeaderStore {
    appended: Result<store::Appended, i16>,
    generation: i32,
    assignment: HashMap<String, Bytes>,
}

pub async fn sync(broker: &Arc<Broker>, params: SyncParams) -> SyncResult {
    let group = match broker
        .groups
        .check(broker, &params.group_id, GroupApi::Sync)
        .await
    {
        // The state of the rebalance was lost with the coordinator: the
        // member must rejoin, which REBALANCE_IN_PROGRESS tells every
        // client version (older ones do not know LOAD_IN_PROGRESS here).
        Err(error_codes::COORDINATOR_LOAD_IN_PROGRESS) => {
            return SyncResult::error(error_codes::REBALANCE_IN_PROGRESS)
        }
        Err(code) => return SyncResult::error(code),
        Ok(_) => match broker.groups.get(&params.group_id) {
            Some(group) => group,
            None => return SyncResult::error(error_codes::UNKNOWN_MEMBER_ID),
        },
    };
    let (waiter, leader_store) = {
        let mut g = lock(&group);
        if let Err(code) = validate_sync(&g, &params) {
            return SyncResult::error(code);
        }
        match g.state {
            GroupState::Empty => return SyncResult::error(error_codes::UNKNOWN_MEMBER_ID),
            GroupState::PreparingRebalance => {
                return SyncResult::error(error_codes::REBALANCE_IN_PROGRESS)
            }
            GroupState::Dead => return SyncResult::error(error_codes::COORDINATOR_NOT_AVAILABLE),
            GroupState::Stable => {
                g.pending_sync.remove(&params.member_id);
                let protocol_type = g.protocol_type.clone();
                let protocol_name = g.protocol_name.clone();
                let Some(member) = g.member_mut(&params.member_id) else {
                    return SyncResult::error(error_codes::UNKNOWN_MEMBER_ID);
                };
                member.heartbeat_received();
                return SyncResult {
                    error: error_codes::NONE,
                    protocol_type,
                    protocol_name,
                    assignment: member.assignment.clone(),
                };
            }
            GroupState::CompletingRebalance => park_sync(broker, &mut g, &params),
        }
    };
    if let Some(leader_store) = leader_store {
        // A task of its own: the generation must complete even if the
        // leader's connection goes away meanwhile.
        let broker = broker.clone();
        tokio::spawn(finish_leader_sync(broker, group.clone(), leader_store));
    }
    waiter
        .await
        .unwrap_or_else(|_| SyncResult::error(error_codes::REBALANCE_IN_PROGRESS))
}

fn validate_sync(g: &ClassicGroup, params: &SyncParams) -> Result<(), i16> {
    if g.is(GroupState::Dead) {
        return Err(error_codes::COORDINATOR_NOT_AVAILABLE);
    }
    validate_current_member(g, &params.member_id, params.group_instance_id.as_deref())?;
    if params.generation != g.generation {
        return Err(error_codes::ILLEGAL_GENERATION);
    }
    let mismatch =
        |given: &Option<String>, actual: &Option<String>| given.is_some() && given != actual;
    if mismatch(&params.protocol_type, &g.protocol_type)
        || mismatch(&params.protocol_name, &g.protocol_name)
    {
        return Err(error_codes::INCONSISTENT_GROUP_PROTOCOL);
    }
    Ok(())
}

fn park_sync(
    broker: &Arc<Broker>,
    g: &mut ClassicGroup,
    params: &SyncParams,
) -> (oneshot::Receiver<SyncResult>, Option<LeaderStore>) {
    let (sender, waiter) = oneshot::channel();
    if let Some(member) = g.member_mut(&params.member_id) {
        member.awaiting_sync = Some(sender);
    }
    g.pending_sync.remove(&params.member_id);
    if !g.is_leader(&params.member_id) {
        return (waiter, None);
    }
    // Members the leader left out get an empty assignment; assignments
    // for non-members are ignored.
    let mut assignment: HashMap<String, Bytes> = g
        .members
        .iter()
        .map(|m| (m.member_id.clone(), Bytes::new()))
        .collect();
    for (member_id, bytes) in &params.assignments {
        if let Some(slot) = assignment.get_mut(member_id) {
            *slot = bytes.clone();
        }
    }
    let record = g.metadata_record(Some(&assignment));
    let appended = store::append_group(broker, g.partition, &g.group_id, Some(&record));
    let leader_store = LeaderStore {
        appended,
        generation: g.generation,
        assignment,
    };
    (waiter, Some(leader_store))
}

async fn finish_leader_sync(broker: Arc<Broker>, group: GroupRef, leader_store: LeaderStore) {
    let outcome = match leader_store.appended {
        Ok(appended) => store::wait(appended).await,
        Err(code) => Err(code),
    };
    let env = Env {
        broker: &broker,
        group: &group,
    };
    let mut g = lock(&group);
    // A member may have joined meanwhile and started another rebalance:
    // then this generation's assignment is void.
    if !g.is(GroupState::CompletingRebalance) || g.generation != leader_store.generation {
        return;
    }
    match outcome {
        Err(code) => {
            reset_and_propagate_assignment_error(&mut g, code);
            maybe_prepare_rebalance(&env, &mut g);
        }
        Ok(()) => {
            let mut assignment = leader_store.assignment;
            for member in &mut g.members {
                member.assignment = assignment.remove(&member.member_id).unwrap_or_default();
            }
            propagate_sync(&mut g, error_codes::NONE);
            g.transition(GroupState::Stable);
            tracing::info!(group = %g.group_id, generation = g.generation, "rebalance complete: group stable");
        }
    }
}

/// Kafka's `resetAndPropagateAssignmentError`.
pub(crate) fn reset_and_propagate_assignment_error(g: &mut ClassicGroup, error: i16) {
    for member in &mut g.members {
        member.assignment = Bytes::new();
    }
    propagate_sync(g, error);
}

pub async fn heartbeat(
    broker: &Arc<Broker>,
    group_id: &str,
    member_id: &str,
    group_instance_id: Option<&str>,
    generation: i32,
) -> i16 {
    match broker
        .groups
        .check(broker, group_id, GroupApi::Heartbeat)
        .await
    {
        // Kafka answers blindly while loading: the member's state is not
        // known yet, and an error would make it rejoin needlessly.
        Err(error_codes::COORDINATOR_LOAD_IN_PROGRESS) => return error_codes::NONE,
        Err(code) => return code,
        Ok(_) => {}
    }
    let Some(group) = broker.groups.get(group_id) else {
        return error_codes::UNKNOWN_MEMBER_ID;
    };
    let mut g = lock(&group);
    if g.is(GroupState::Dead) {
        return error_codes::COORDINATOR_NOT_AVAILABLE;
    }
    if let Err(code) = validate_current_member(&g, member_id, group_instance_id) {
        return code;
    }
    let state = g.state;
    let current_generation = g.generation;
    let Some(member) = g.member_mut(member_id) else {
        return error_codes::UNKNOWN_MEMBER_ID;
    };
    match state {
        GroupState::Empty => error_codes::UNKNOWN_MEMBER_ID,
        GroupState::CompletingRebalance => {
            member.heartbeat_received();
            error_codes::NONE
        }
        GroupState::PreparingRebalance => {
            member.heartbeat_received();
            error_codes::REBALANCE_IN_PROGRESS
        }
        GroupState::Stable if generation != current_generation => error_codes::ILLEGAL_GENERATION,
        GroupState::Stable => {
            member.heartbeat_received();
            error_codes::NONE
        }
        GroupState::Dead => error_codes::COORDINATOR_NOT_AVAILABLE,
    }
}

/// One member named by a LeaveGroup request (v3+ batches them; v0-2 send
/// one member id).
#[derive(Debug, Clone)]
pub struct LeavingMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// The group-level error and one error per leaving member.
pub async fn leave(
    broker: &Arc<Broker>,
    group_id: &str,
    leaving: &[LeavingMember],
) -> (i16, Vec<i16>) {
    if let Err(code) = broker.groups.check(broker, group_id, GroupApi::Leave).await {
        return (code, Vec::new());
    }
    let Some(group) = broker.groups.get(group_id) else {
        return (
            error_codes::NONE,
            vec![error_codes::UNKNOWN_MEMBER_ID; leaving.len()],
        );
    };
    let env = Env {
        broker,
        group: &group,
    };
    let mut g = lock(&group);
    if g.is(GroupState::Dead) {
        return (error_codes::COORDINATOR_NOT_AVAILABLE, Vec::new());
    }
    let errors = leaving
        .iter()
        .map(|member| leave_one(&env, &mut g, member))
        .collect();
    (error_codes::NONE, errors)
}

fn leave_one(env: &Env, g: &mut ClassicGroup, leaving: &LeavingMember) -> i16 {
    let instance = leaving.group_instance_id.as_deref();
    if leaving.member_id.is_empty() {
        // Administrative removal by group.instance.id (KIP-345).
        let current = instance.and_then(|i| g.static_members.get(i).cloned());
        return match current {
            Some(member_id) => {
                tracing::info!(group = %g.group_id, member = %member_id, "static member removed by LeaveGroup");
                remove_member_and_update(env, g, &member_id);
                error_codes::NONE
            }
            None => error_codes::UNKNOWN_MEMBER_ID,
        };
    }
    if g.pending_members.contains(&leaving.member_id) {
        remove_pending_member(env, g, &leaving.member_id);
        return error_codes::NONE;
    }
    match validate_current_member(g, &leaving.member_id, instance) {
        Ok(()) => {
            tracing::info!(group = %g.group_id, member = %leaving.member_id, "member left the group");
            remove_member_and_update(env, g, &leaving.member_id);
            error_codes::NONE
        }
        Err(code) => code,
    }
}
