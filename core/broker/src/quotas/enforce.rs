//! What a request uses of its client's quotas, and the answer's throttle:
//! a produce counts its request's bytes, a consumer's fetch the record
//! bytes it is sent (a follower's fetch is replication, not a client's),
//! and every request the time it took to handle, in percent of one
//! thread. The longest throttle of the three goes into the answer's
//! `throttle_time_ms`, and the connection is not read again before it
//! has passed.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use strom_protocol::messages::Response;

use super::rates::QuotaMeters;
use super::{ClientQuotas, CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE};

/// What one request used.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub produced_bytes: usize,
    pub fetched_bytes: usize,
    pub handling: Duration,
}

impl ClientQuotas {
    /// Whether any quota is set: without one, requests count nothing.
    pub fn is_active(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// How long `user`'s client `client_id` is throttled after `usage`
    /// (zero when no quota applies or it is within its quotas).
    pub fn throttle(
        &self,
        meters: &QuotaMeters,
        user: &str,
        client_id: &str,
        usage: Usage,
    ) -> Duration {
        if !self.is_active() {
            return Duration::ZERO;
        }
        let now = Instant::now();
        let amounts = [
            (PRODUCER_BYTE_RATE, usage.produced_bytes as f64),
            (CONSUMER_BYTE_RATE, usage.fetched_bytes as f64),
            (REQUEST_PERCENTAGE, usage.handling.as_secs_f64() * 100.0),
        ];
        amounts
            .into_iter()
            .filter(|(key, amount)| *amount > 0.0 || *key == REQUEST_PERCENTAGE)
            .filter_map(|(key, amount)| {
                let quota = self.applicable(key, user, client_id)?;
                Some(meters.record(key, &quota, amount, now))
            })
            .max()
            .unwrap_or_default()
    }
}

/// The user name quotas know a principal by: `User:alice` is `alice`.
pub fn quota_user(principal: &str) -> &str {
    principal.strip_prefix("User:").unwrap_or(principal)
}

/// The record bytes a fetch answer carries.
pub fn fetched_bytes(response: &Response) -> usize {
    match response {
        Response::Fetch(fetch) => fetch
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .map(crate::handlers::fetch::served_bytes)
            .sum(),
        _ => 0,
    }
}

/// Sets the answer's `throttle_time_ms` to at least `throttle`.
pub fn set_throttle(response: &mut Response, throttle: Duration) {
    if throttle.is_zero() {
        return;
    }
    if let Some(field) = response.throttle_time_ms_mut() {
        let ms = i32::try_from(throttle.as_millis()).unwrap_or(i32::MAX);
        *field = (*field).max(ms);
    }
}
