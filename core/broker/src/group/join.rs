//! JoinGroup and the join phase of a rebalance, following Kafka's classic
//! GroupCoordinator (`handleJoinGroup`, `doNewMemberJoinGroup`,
//! `doCurrentMemberJoinGroup`, `prepareRebalance`, `onCompleteJoin`).

use std::sync::Arc;

use bytes::Bytes;
use strom_protocol::error_codes;
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use super::classic::{ClassicGroup, GroupState};
use super::member::{Member, NEW_MEMBER_JOIN_TIMEOUT};
use super::store::{self, Env};
use super::sync::{reset_and_propagate_assignment_error, SyncResult};
use super::{lock, static_member, timers, GroupApi};
use crate::state::Broker;

/// A JoinGroup request, version differences already applied.
#[derive(Debug, Clone)]
pub struct JoinParams {
    pub group_id: String,
    pub session_timeout_ms: i32,
    /// v0 has none: the session timeout stands in.
    pub rebalance_timeout_ms: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub client_id: String,
    pub client_host: String,
    /// v4+: a new dynamic member first gets MEMBER_ID_REQUIRED (KIP-394).
    pub require_known_member_id: bool,
    /// v9+: a static leader rejoining a stable group skips the assignment.
    pub supports_skip_assignment: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub error: i16,
    pub member_id: String,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub skip_assignment: bool,
    /// Every member's metadata, for the leader only.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    pub fn error(member_id: String, error: i16) -> JoinResult {
        JoinResult {
            error,
            member_id,
            generation: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            members: Vec::new(),
        }
    }

    /// The current generation as `member_id` sees it.
    pub(crate) fn current(g: &ClassicGroup, member_id: &str, with_members: bool) -> JoinResult {
        JoinResult {
            error: error_codes::NONE,
            member_id: member_id.to_string(),
            generation: g.generation,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol_name.clone(),
            leader: g.leader.clone().unwrap_or_default(),
            skip_assignment: false,
            members: if with_members {
                g.member_metadata()
                    .into_iter()
                    .map(|(member_id, group_instance_id, metadata)| JoinedMember {
                        member_id,
                        group_instance_id,
                        metadata,
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

pub(crate) enum Reply {
    Now(JoinResult),
    Later(oneshot::Receiver<JoinResult>),
}

pub async fn join(broker: &Arc<Broker>, params: JoinParams) -> JoinResult {
    let fail = |code| JoinResult::error(params.member_id.clone(), code);
    let coordinator = &broker.groups;
    let partition = match coordinator
        .check(broker, &params.group_id, GroupApi::Join)
        .await
    {
        Ok(partition) => partition,
        Err(code) => return fail(code),
    };
    let settings = broker.config.settings();
    if params.session_timeout_ms < settings.group_min_session_timeout_ms
        || params.session_timeout_ms > settings.group_max_session_timeout_ms
    {
        return fail(error_codes::INVALID_SESSION_TIMEOUT);
    }
    let unknown = params.member_id.is_empty();
    let group = if unknown {
        coordinator.get_or_create(&params.group_id, partition)
    } else {
        match coordinator.get(&params.group_id) {
            Some(group) => group,
            None => return fail(error_codes::UNKNOWN_MEMBER_ID),
        }
    };
    let env = Env {
        broker,
        group: &group,
    };
    let (reply, pending_store) = {
        let mut g = lock(&group);
        let max_size = settings.group_max_size.max(1) as usize;
        let outcome = if !accepts_joining_member(&g, &params.member_id, max_size) {
            g.remove(&params.member_id);
            (
                Reply::Now(JoinResult::error(
                    String::new(),
                    error_codes::GROUP_MAX_SIZE_REACHED,
                )),
                None,
            )
        } else if unknown {
            new_member_join(&env, &mut g, &params)
        } else {
            (current_member_join(&env, &mut g, &params), None)
        };
        try_complete_join(&env, &mut g);
        outcome
    };
    if let Some(store) = pending_store {
        tokio::spawn(static_member::finish_rejoin(
            broker.clone(),
            group.clone(),
            store,
        ));
    }
    match reply {
        Reply::Now(result) => result,
        // A dropped waiter means the group went away under the member.
        Reply::Later(waiter) => waiter.await.unwrap_or_else(|_| {
            JoinResult::error(params.member_id.clone(), error_codes::NOT_COORDINATOR)
        }),
    }
}

/// Kafka's `acceptJoiningMember` (`group.max.size`).
fn accepts_joining_member(g: &ClassicGroup, member_id: &str, max_size: usize) -> bool {
    match g.state {
        GroupState::Empty | GroupState::Dead => true,
        GroupState::PreparingRebalance => {
            g.member(member_id).is_some_and(Member::is_awaiting_join)
                || g.awaiting_join_count() + g.pending_members.len() < max_size
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            g.has(member_id) || g.members.len() < max_size
        }
    }
}

fn new_member_join(
    env: &Env,
    g: &mut ClassicGroup,
    params: &JoinParams,
) -> (Reply, Option<static_member::StaticStore>) {
    if g.is(GroupState::Dead) {
        return (
            Reply::Now(JoinResult::error(
                String::new(),
                error_codes::COORDINATOR_NOT_AVAILABLE,
            )),
            None,
        );
    }
    if !g.supports_protocols(&params.protocol_type, &params.protocols) {
        return (
            Reply::Now(JoinResult::error(
                String::new(),
                error_codes::INCONSISTENT_GROUP_PROTOCOL,
            )),
            None,
        );
    }
    let prefix = params
        .group_instance_id
        .as_deref()
        .unwrap_or(&params.client_id);
    let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
    if let Some(instance) = &params.group_instance_id {
        if let Some(old_id) = g.static_members.get(instance).cloned() {
            return static_member::rejoin(env, g, params, instance, &old_id, &new_id);
        }
        return (add_member_and_rebalance(env, g, params, &new_id), None);
    }
    if params.require_known_member_id {
        // KIP-394: hand out the id and wait for the member to come back
        // with it, so a client that never does leaves no member behind.
        g.pending_members.insert(new_id.clone());
        let timeout = Duration::from_millis(params.session_timeout_ms.max(0) as u64);
        timers::spawn_pending_member_timer(env, new_id.clone(), timeout);
        return (
            Reply::Now(JoinResult::error(new_id, error_codes::MEMBER_ID_REQUIRED)),
            None,
        );
    }
    (add_member_and_rebalance(env, g, params, &new_id), None)
}

fn current_member_join(env: &Env, g: &mut ClassicGroup, params: &JoinParams) -> Reply {
    let member_id = params.member_id.as_str();
    let fail = |code| Reply::Now(JoinResult::error(member_id.to_string(), code));
    if g.is(GroupState::Dead) {
        return fail(error_codes::COORDINATOR_NOT_AVAILABLE);
    }
    if !g.supports_protocols(&params.protocol_type, &params.protocols) {
        return fail(error_codes::INCONSISTENT_GROUP_PROTOCOL);
    }
    if g.pending_members.contains(member_id) {
        return add_member_and_rebalance(env, g, params, member_id);
    }
    if let Err(code) = validate_current_member(g, member_id, params.group_instance_id.as_deref()) {
        return fail(code);
    }
    let unchanged = g
        .member(member_id)
        .is_some_and(|m| m.matches(&params.protocols));
    match g.state {
        GroupState::PreparingRebalance => update_member_and_rebalance(env, g, params),
        GroupState::CompletingRebalance if unchanged => {
            // The member missed the JoinGroup response: send it again.
            let is_leader = g.is_leader(member_id);
            Reply::Now(JoinResult::current(g, member_id, is_leader))
        }
        GroupState::Stable if unchanged && !g.is_leader(member_id) => {
            Reply::Now(JoinResult::current(g, member_id, false))
        }
        // A changed member, or the leader of a stable group (which is how
        // a leader asks for a rebalance, e.g. after metadata changes).
        GroupState::CompletingRebalance | GroupState::Stable => {
            update_member_and_rebalance(env, g, params)
        }
        GroupState::Empty | GroupState::Dead => fail(error_codes::UNKNOWN_MEMBER_ID),
    }
}

/// Kafka's `validateCurrentMember`: a static member must use the member id
/// its instance id currently maps to (FENCED_INSTANCE_ID otherwise); any
/// member id must exist.
pub(crate) fn validate_current_member(
    g: &ClassicGroup,
    member_id: &str,
    instance: Option<&str>,
) -> Result<(), i16> {
    if let Some(instance) = instance {
        return match g.static_members.get(instance) {
            Some(current) if current != member_id => Err(error_codes::FENCED_INSTANCE_ID),
            Some(_) => Ok(()),
            None => Err(error_codes::UNKNOWN_MEMBER_ID),
        };
    }
    if g.has(member_id) {
        Ok(())
    } else {
        Err(error_codes::UNKNOWN_MEMBER_ID)
    }
}

fn add_member_and_rebalance(
    env: &Env,
    g: &mut ClassicGroup,
    params: &JoinParams,
    member_id: &str,
) -> Reply {
    let (waiter, reply) = oneshot::channel();
    let member = Member {
        member_id: member_id.to_string(),
        group_instance_id: params.group_instance_id.clone(),
        client_id: params.client_id.clone(),
        client_host: params.client_host.clone(),
        rebalance_timeout_ms: params.rebalance_timeout_ms,
        session_timeout_ms: params.session_timeout_ms,
        protocol_type: params.protocol_type.clone(),
        protocols: params.protocols.clone(),
        assignment: Bytes::new(),
        awaiting_join: Some(waiter),
        awaiting_sync: None,
        is_new: true,
        session_deadline: Instant::now() + NEW_MEMBER_JOIN_TIMEOUT,
    };
    if g.is(GroupState::PreparingRebalance) && g.generation == 0 {
        g.new_member_added = true;
    }
    g.add(member);
    timers::spawn_session_timer(env, member_id.to_string());
    maybe_prepare_rebalance(env, g);
    Reply::Later(reply)
}

fn update_member_and_rebalance(env: &Env, g: &mut ClassicGroup, params: &JoinParams) -> Reply {
    let (waiter, reply) = oneshot::channel();
    if let Some(member) = g.member_mut(&params.member_id) {
        member.protocols = params.protocols.clone();
        member.rebalance_timeout_ms = params.rebalance_timeout_ms;
        member.session_timeout_ms = params.session_timeout_ms;
        // A member that retries a parked JoinGroup replaces its old request.
        member.awaiting_join = Some(waiter);
    }
    maybe_prepare_rebalance(env, g);
    Reply::Later(reply)
}

pub(crate) fn maybe_prepare_rebalance(env: &Env, g: &mut ClassicGroup) {
    if matches!(
        g.state,
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
    ) {
        prepare_rebalance(env, g);
    }
}

/// Starts a join phase: the first one of an empty group waits
/// `group.initial.rebalance.delay.ms` (longer while members keep coming,
/// up to the rebalance timeout); later ones wait at most the rebalance
/// timeout for every member to rejoin.
pub(crate) fn prepare_rebalance(env: &Env, g: &mut ClassicGroup) {
    if g.is(GroupState::CompletingRebalance) {
        reset_and_propagate_assignment_error(g, error_codes::REBALANCE_IN_PROGRESS);
    }
    g.sync_timer = 0;
    let initial = g.is(GroupState::Empty);
    g.transition(GroupState::PreparingRebalance);
    let token = g.next_timer();
    g.join_timer = token;
    let rebalance_timeout = g.rebalance_timeout_ms().max(0) as u64;
    if initial {
        let delay = env
            .broker
            .config
            .settings()
            .group_initial_rebalance_delay_ms
            .max(0) as u64;
        let remaining = rebalance_timeout.saturating_sub(delay);
        g.initial_delay_running = true;
        timers::spawn_join_timer(
            env,
            token,
            Duration::from_millis(delay),
            Some(Duration::from_millis(remaining)),
        );
    } else {
        g.initial_delay_running = false;
        timers::spawn_join_timer(env, token, Duration::from_millis(rebalance_timeout), None);
    }
    try_complete_join(env, g);
}

pub(crate) fn try_complete_join(env: &Env, g: &mut ClassicGroup) {
    if g.is(GroupState::PreparingRebalance) && !g.initial_delay_running && g.all_members_joined() {
        complete_join(env, g);
    }
}

/// Kafka's `onCompleteJoin`: dynamic members that did not rejoin are
/// removed, the next generation starts, and every parked JoinGroup is
/// answered at once (the leader with every member's metadata).
pub(crate) fn complete_join(env: &Env, g: &mut ClassicGroup) {
    g.join_timer = 0;
    g.initial_delay_running = false;
    let gone: Vec<String> = g
        .members
        .iter()
        .filter(|m| !m.is_awaiting_join() && m.group_instance_id.is_none())
        .map(|m| m.member_id.clone())
        .collect();
    for member_id in gone {
        tracing::info!(group = %g.group_id, member = %member_id, "member did not rejoin in time; removed");
        g.remove(&member_id);
    }
    if g.is(GroupState::Dead) {
        return;
    }
    if !g.elect_joined_leader() && !g.members.is_empty() {
        // Only static members that have not rejoined are left: wait again
        // until they rejoin or their sessions expire.
        let token = g.next_timer();
        g.join_timer = token;
        let timeout = Duration::from_millis(g.rebalance_timeout_ms().max(0) as u64);
        timers::spawn_join_timer(env, token, timeout, None);
        return;
    }
    g.init_next_generation();
    if g.is(GroupState::Empty) {
        let record = g.metadata_record(None);
        if let Ok(appended) =
            store::append_group(env.broker, g.partition, &g.group_id, Some(&record))
        {
            tokio::spawn(store::wait_logged(appended));
        }
        return;
    }
    tracing::info!(
        group = %g.group_id,
        generation = g.generation,
        members = g.members.len(),
        protocol = g.protocol_name.as_deref().unwrap_or(""),
        "rebalance: join phase complete"
    );
    let leader_view = JoinResult::current(g, "", true);
    let follower_view = JoinResult::current(g, "", false);
    let leader = g.leader.clone();
    let ids: Vec<String> = g.members.iter().map(|m| m.member_id.clone()).collect();
    for member_id in ids {
        let view = if leader.as_deref() == Some(member_id.as_str()) {
            &leader_view
        } else {
            &follower_view
        };
        let result = JoinResult {
            member_id: member_id.clone(),
            ..view.clone()
        };
        if let Some(member) = g.member_mut(&member_id) {
            member.answer_join(result);
            member.heartbeat_received();
            member.is_new = false;
        }
        g.pending_sync.insert(member_id);
    }
    let token = g.next_timer();
    g.sync_timer = token;
    let timeout = Duration::from_millis(g.rebalance_timeout_ms().max(0) as u64);
    timers::spawn_sync_timer(env, token, timeout);
}

/// Kafka's `removeMemberAndUpdateGroup`: a parked JoinGroup is answered
/// UNKNOWN_MEMBER_ID (so a live client rejoins), then the group moves on.
pub(crate) fn remove_member_and_update(env: &Env, g: &mut ClassicGroup, member_id: &str) {
    if let Some(member) = g.member_mut(member_id) {
        member.answer_join(JoinResult::error(
            String::new(),
            error_codes::UNKNOWN_MEMBER_ID,
        ));
    }
    g.remove(member_id);
    match g.state {
        GroupState::Dead | GroupState::Empty => {}
        GroupState::Stable | GroupState::CompletingRebalance => maybe_prepare_rebalance(env, g),
        GroupState::PreparingRebalance => try_complete_join(env, g),
    }
}

/// Kafka's `removePendingMemberAndUpdateGroup`.
pub(crate) fn remove_pending_member(env: &Env, g: &mut ClassicGroup, member_id: &str) {
    g.pending_members.remove(member_id);
    try_complete_join(env, g);
}

/// Answers every parked SyncGroup of the group.
pub(crate) fn propagate_sync(g: &mut ClassicGroup, error: i16) {
    let protocol_type = g.protocol_type.clone();
    let protocol_name = g.protocol_name.clone();
    for member in &mut g.members {
        let result = SyncResult {
            error,
            protocol_type: protocol_type.clone(),
            protocol_name: protocol_name.clone(),
            assignment: if error == error_codes::NONE {
                member.assignment.clone()
            } else {
                Bytes::new()
            },
        };
        if member.awaiting_sync.is_some() {
            member.answer_sync(result);
            member.heartbeat_received();
        }
    }
}
