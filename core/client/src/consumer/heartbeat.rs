//! The background heartbeat of a group member: every heartbeat.interval.ms
//! while the member holds a generation, until it rejoins; an error answer flags the
//! rejoin (or the fencing) that the next `poll` acts on.
//!
//! It also enforces max.poll.interval.ms, as Java's heartbeat thread does:
//! a member whose application has not called `poll` for that long leaves
//! the group (LeaveGroup; a static member just stops heartbeating and lets
//! its session expire), so the others take over its partitions; the next
//! `poll` treats them as lost and rejoins.

use std::sync::Weak;
use std::time::Duration;

use strom_protocol::messages::{ApiKey, HeartbeatRequest, Response};
use tokio::time::Instant;

use super::group::{coordinator_moved, Shared};

/// heartbeat.interval.ms, but at most a third of session.timeout.ms so a
/// lost heartbeat or two does not expire the session.
pub(crate) fn heartbeat_interval(config: &crate::config::ClientConfig) -> Duration {
    config
        .heartbeat_interval
        .min(config.session_timeout / 3)
        .max(Duration::from_millis(10))
}

/// What the heartbeat task does on one tick.
enum Tick {
    Idle,
    Heartbeat {
        generation_id: i32,
        member_id: String,
    },
    PollTimeout,
}

/// Heartbeats while the consumer is a member of a generation (also once a
/// rebalance started, until it rejoins), and flags a rejoin when the
/// coordinator says a rebalance started or this member was fenced. Ends
/// when the consumer's group state is dropped.
pub(crate) async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let max_poll_interval = shared.cluster.config().max_poll_interval;
        let tick = shared.with_state(|s| {
            if s.joining || s.generation_id < 0 {
                Tick::Idle
            } else if Instant::now().saturating_duration_since(s.last_poll) > max_poll_interval {
                // Checked before `rejoin_needed`: a member that does not
                // poll would otherwise hold up the group's rebalance.
                Tick::PollTimeout
            } else {
                // Also while a rejoin is pending and the application has
                // not polled yet (as the Java client does): the answers
                // (REBALANCE_IN_PROGRESS) keep the session alive, so only
                // max.poll.interval.ms bounds the time between polls.
                Tick::Heartbeat {
                    generation_id: s.generation_id,
                    member_id: s.member_id.clone(),
                }
            }
        });
        match tick {
            Tick::Idle => {}
            Tick::PollTimeout => leave_after_poll_timeout(&shared).await,
            Tick::Heartbeat {
                generation_id,
                member_id,
            } => heartbeat(&shared, generation_id, member_id).await,
        }
    }
}

async fn leave_after_poll_timeout(shared: &Shared) {
    tracing::warn!(
        group = %shared.group_id,
        "leaving the group: poll was not called within max.poll.interval.ms; \
         raise it or return fewer records per poll (max.poll.records)"
    );
    shared.with_state(|s| {
        s.partitions_lost = true;
        s.rejoin_needed = true;
    });
    if let Err(error) = shared.leave("consumer poll timeout has expired").await {
        tracing::debug!(group = %shared.group_id, "LeaveGroup after the poll timeout failed: {error}");
    }
    // A static member rejoins under its group.instance.id with a new
    // member id, as in Java.
    shared.with_state(|s| s.member_id.clear());
}

async fn heartbeat(shared: &Shared, generation_id: i32, member_id: String) {
    let request = HeartbeatRequest {
        group_id: shared.group_id.clone(),
        generation_id,
        member_id,
        group_instance_id: shared.instance_id.clone(),
        ..Default::default()
    };
    match shared.send(ApiKey::Heartbeat, |_| request.into()).await {
        Ok(Response::Heartbeat(response)) => {
            let code = response.error_code;
            if coordinator_moved(code) {
                shared.forget_coordinator().await;
            } else if code != 0 {
                tracing::debug!(group = %shared.group_id, code, "heartbeat answered with an error");
                shared.note_group_error(code, generation_id);
            }
        }
        Ok(other) => tracing::warn!("heartbeat answered with a {:?}", other.api_key()),
        Err(error) => tracing::debug!(group = %shared.group_id, "heartbeat failed: {error}"),
    }
}
