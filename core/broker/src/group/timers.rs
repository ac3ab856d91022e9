//! The coordinator's deadlines, as tokio tasks that sleep and then act
//! under the group's lock:
//!
//! - a session timer per member, which removes the member when its
//!   deadline passes without a heartbeat (members parked in a rebalance
//!   count as alive); a heartbeat only moves the deadline, so the task
//!   re-reads it after every sleep;
//! - a timer per pending member (MEMBER_ID_REQUIRED issued, not yet back);
//! - the join-phase timer (initial delay or rebalance timeout), and the
//!   SyncGroup timer after a join completes.
//!
//! Join and sync timers carry a token; a timer whose token is no longer
//! the group's does nothing. Tasks hold the broker weakly, so a stopped
//! broker is not kept alive by a sleeping timer.

use std::sync::{Arc, Weak};

use tokio::time::{sleep, sleep_until, Duration, Instant};

use super::classic::GroupState;
use super::join::{
    complete_join, prepare_rebalance, remove_member_and_update, remove_pending_member,
};
use super::store::Env;
use super::{lock, GroupRef};
use crate::state::Broker;

pub(crate) fn spawn_session_timer(env: &Env, member_id: String) {
    let weak = Arc::downgrade(env.broker);
    let group = env.group.clone();
    tokio::spawn(async move {
        loop {
            // Wake at the deadline, or after one session timeout at most:
            // a deadline can also move earlier (a new member's join
            // timeout gives way to its session timeout).
            let deadline = {
                let g = lock(&group);
                match g.member(&member_id) {
                    Some(member) if !g.is(GroupState::Dead) => member
                        .session_deadline
                        .min(Instant::now() + member.session_timeout()),
                    _ => return,
                }
            };
            sleep_until(deadline).await;
            let Some(broker) = weak.upgrade() else { return };
            let env = Env {
                broker: &broker,
                group: &group,
            };
            let mut g = lock(&group);
            if g.is(GroupState::Dead) {
                return;
            }
            let Some(member) = g.member_mut(&member_id) else {
                return;
            };
            if Instant::now() < member.session_deadline {
                continue;
            }
            if member.is_parked() {
                member.heartbeat_received();
                continue;
            }
            tracing::info!(group = %g.group_id, member = %member_id, "session timeout expired; removing member");
            remove_member_and_update(&env, &mut g, &member_id);
            return;
        }
    });
}

pub(crate) fn spawn_pending_member_timer(env: &Env, member_id: String, timeout: Duration) {
    let weak = Arc::downgrade(env.broker);
    let group = env.group.clone();
    tokio::spawn(async move {
        sleep(timeout).await;
        let Some(broker) = weak.upgrade() else { return };
        let env = Env {
            broker: &broker,
            group: &group,
        };
        let mut g = lock(&group);
        if g.pending_members.contains(&member_id) && !g.is(GroupState::Dead) {
            tracing::info!(group = %g.group_id, member = %member_id, "pending member did not rejoin in its session timeout");
            remove_pending_member(&env, &mut g, &member_id);
        }
    });
}

/// `initial_remaining`: for the initial delay of an empty group, how much
/// longer the join may still be stretched while members keep arriving.
pub(crate) fn spawn_join_timer(
    env: &Env,
    token: u64,
    delay: Duration,
    initial_remaining: Option<Duration>,
) {
    let weak = Arc::downgrade(env.broker);
    let group = env.group.clone();
    tokio::spawn(async move {
        sleep(delay).await;
        let Some(broker) = weak.upgrade() else { return };
        on_join_deadline(&broker, &group, token, initial_remaining);
    });
}

fn on_join_deadline(
    broker: &Arc<Broker>,
    group: &GroupRef,
    token: u64,
    initial_remaining: Option<Duration>,
) {
    let env = Env { broker, group };
    let mut g = lock(group);
    if g.join_timer != token || !g.is(GroupState::PreparingRebalance) {
        return;
    }
    if let Some(remaining) = initial_remaining {
        if g.new_member_added && !remaining.is_zero() {
            // Kafka's InitialDelayedJoin: another member arrived during the
            // delay, so wait one more delay (within the rebalance timeout).
            g.new_member_added = false;
            let configured = broker
                .config
                .settings()
                .group_initial_rebalance_delay_ms
                .max(0);
            let next = Duration::from_millis(configured as u64).min(remaining);
            spawn_join_timer(&env, token, next, Some(remaining - next));
            return;
        }
    }
    complete_join(&env, &mut g);
}

pub(crate) fn spawn_sync_timer(env: &Env, token: u64, timeout: Duration) {
    let weak: Weak<Broker> = Arc::downgrade(env.broker);
    let group = env.group.clone();
    tokio::spawn(async move {
        sleep(timeout).await;
        let Some(broker) = weak.upgrade() else { return };
        let env = Env {
            broker: &broker,
            group: &group,
        };
        let mut g = lock(&group);
        let waiting = matches!(
            g.state,
            GroupState::CompletingRebalance | GroupState::Stable
        );
        if g.sync_timer != token || !waiting || g.pending_sync.is_empty() {
            return;
        }
        let missing: Vec<String> = g.pending_sync.drain().collect();
        for member_id in &missing {
            tracing::info!(group = %g.group_id, member = %member_id, "no SyncGroup within the rebalance timeout; removing member");
            g.remove(member_id);
        }
        prepare_rebalance(&env, &mut g);
    });
}
