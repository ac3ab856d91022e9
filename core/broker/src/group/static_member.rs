//! KIP-345 static membership: a member that comes back with a known
//! group.instance.id and no member id takes over its old place. In a
//! stable group whose protocol choice would not change, it gets a new
//! member id and its old assignment without a rebalance, once the new id
//! is persisted; otherwise the group rebalances.

use std::sync::Arc;

use bytes::Bytes;
use strom_protocol::error_codes;
use tokio::sync::oneshot;

use super::classic::{ClassicGroup, GroupState};
use super::join::{maybe_prepare_rebalance, prepare_rebalance, JoinParams, JoinResult, Reply};
use super::store::{self, Env};
use super::{lock, timers, GroupRef};
use crate::state::Broker;

/// What a static member's rejoin into a stable group must persist before
/// it is answered.
pub(crate) struct StaticStore {
    appended: Result<store::Appended, i16>,
    instance: String,
    old_id: String,
    new_id: String,
    old_protocols: Vec<(String, Bytes)>,
    old_timeouts: (i32, i32),
    answer: JoinResult,
}

/// KIP-345: a known static member came back with an unknown member id.
pub(crate) fn rejoin(
    env: &Env,
    g: &mut ClassicGroup,
    params: &JoinParams,
    instance: &str,
    old_id: &str,
    new_id: &str,
) -> (Reply, Option<StaticStore>) {
    let old_leader = g.leader.clone().unwrap_or_default();
    g.replace_static_member(instance, old_id, new_id);
    timers::spawn_session_timer(env, new_id.to_string());
    let (waiter, reply) = oneshot::channel();
    let Some(member) = g.member_mut(new_id) else {
        return (
            Reply::Now(JoinResult::error(
                String::new(),
                error_codes::UNKNOWN_MEMBER_ID,
            )),
            None,
        );
    };
    member.heartbeat_received();
    let old_protocols = std::mem::replace(&mut member.protocols, params.protocols.clone());
    let old_timeouts = (member.rebalance_timeout_ms, member.session_timeout_ms);
    member.rebalance_timeout_ms = params.rebalance_timeout_ms;
    member.session_timeout_ms = params.session_timeout_ms;
    member.awaiting_join = Some(waiter);
    match g.state {
        GroupState::Stable if g.select_protocol() == g.protocol_name => {
            // Nothing the assignment depends on changed: persist the new
            // member id and answer without a rebalance.
            let is_leader = g.is_leader(new_id);
            let answer = if params.supports_skip_assignment {
                JoinResult {
                    skip_assignment: is_leader,
                    ..JoinResult::current(g, new_id, is_leader)
                }
            } else {
                // Older clients would run the assignor if told they lead,
                // and a stable group ignores that assignment: name the old
                // leader id so this member does not think it leads.
                JoinResult {
                    leader: old_leader,
                    ..JoinResult::current(g, new_id, false)
                }
            };
            let record = g.metadata_record(None);
            let appended = store::append_group(env.broker, g.partition, &g.group_id, Some(&record));
            let store = StaticStore {
                appended,
                instance: instance.to_string(),
                old_id: old_id.to_string(),
                new_id: new_id.to_string(),
                old_protocols,
                old_timeouts,
                answer,
            };
            (Reply::Later(reply), Some(store))
        }
        GroupState::Stable => {
            maybe_prepare_rebalance(env, g);
            (Reply::Later(reply), None)
        }
        // The leader may already have been given the old member id: only
        // a new rebalance gives this member an assignment.
        GroupState::CompletingRebalance => {
            prepare_rebalance(env, g);
            (Reply::Later(reply), None)
        }
        GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {
            (Reply::Later(reply), None)
        }
    }
}

pub(crate) async fn finish_rejoin(broker: Arc<Broker>, group: GroupRef, store: StaticStore) {
    let outcome = match store.appended {
        Ok(appended) => store::wait(appended).await,
        Err(code) => Err(code),
    };
    let mut g = lock(&group);
    let Some(member) = g.member_mut(&store.new_id) else {
        return; // fenced again or removed meanwhile: already answered
    };
    match outcome {
        Ok(()) => member.answer_join(store.answer),
        Err(code) => {
            // Undo: the old member id stays valid, as on disk.
            member.protocols = store.old_protocols;
            (member.rebalance_timeout_ms, member.session_timeout_ms) = store.old_timeouts;
            let waiter = member.awaiting_join.take();
            g.replace_static_member(&store.instance, &store.new_id, &store.old_id);
            let env = Env {
                broker: &broker,
                group: &group,
            };
            timers::spawn_session_timer(&env, store.old_id.clone());
            if let Some(waiter) = waiter {
                let _ = waiter.send(JoinResult::error(String::new(), code));
            }
        }
    }
}
