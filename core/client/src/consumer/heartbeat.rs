//! The background heartbeat of a group member: every heartbeat.interval.ms
//! while the member is in a stable generation; an error answer flags the
//! rejoin (or the fencing) that the next `poll` acts on.

use std::sync::Weak;
use std::time::Duration;

use strom_protocol::messages::{ApiKey, HeartbeatRequest, Response};

use super::group::{coordinator_moved, Shared};

/// heartbeat.interval.ms, but at most a third of session.timeout.ms so a
/// lost heartbeat or two does not expire the session.
pub(crate) fn heartbeat_interval(config: &crate::config::ClientConfig) -> Duration {
    config
        .heartbeat_interval
        .min(config.session_timeout / 3)
        .max(Duration::from_millis(10))
}

/// Heartbeats while the consumer is a member of a stable generation, and
/// flags a rejoin when the coordinator says a rebalance started or this
/// member was fenced. Ends when the consumer's group state is dropped.
pub(crate) async fn heartbeat_loop(shared: Weak<Shared>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Some((generation_id, member_id)) = shared.with_state(|s| {
            let idle = s.joining || s.rejoin_needed || s.generation_id < 0;
            (!idle).then(|| (s.generation_id, s.member_id.clone()))
        }) else {
            continue;
        };
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
}
