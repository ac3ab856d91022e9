//! A followed partition that stopped fetching says so. The replica
//! fetcher's failures (no connection, a refused fetch, a reconciliation
//! that does not settle, a leader that does not answer) are logged at
//! debug, as they are routine during a leader change; one that lasts
//! longer than `replica.lag.time.max.ms` (the time after which the leader
//! drops this replica from the ISR) is not, and gets a warning naming the
//! partition and the last failure, once per such period while it lasts.
//!
//! The fetcher reports what happens; a watcher task of its own checks
//! every second, so a fetcher held up anywhere (a connect, a call the
//! leader never answers) is still seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::state::Broker;

type Key = (String, i32);

/// How often the watcher looks for partitions that stopped fetching.
const CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(super) struct Stalls {
    /// Since when each followed partition has gone without a fetch
    /// answered for it (or since its last warning).
    waiting_since: HashMap<Key, Instant>,
    /// The latest failure of the fetcher as a whole (its connection),
    /// and of each partition, for the warning.
    last_failure: Option<String>,
    partition_failures: HashMap<Key, String>,
    /// The request the fetcher waits for the leader to answer, and since when.
    in_flight: Option<(&'static str, Instant)>,
}

/// The fetcher's side: what it reports to its watcher.
#[derive(Clone, Default)]
pub(super) struct StallReport(Arc<Mutex<Stalls>>);

impl StallReport {
    fn with(&self, f: impl FnOnce(&mut Stalls)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The leader answered a fetch for `key` without an error.
    pub fn fetched(&self, key: &Key) {
        self.with(|s| {
            if let Some(since) = s.waiting_since.get_mut(key) {
                *since = Instant::now();
            }
            s.last_failure = None;
            s.partition_failures.remove(key);
        })
    }

    /// Something kept the fetcher from fetching at all.
    pub fn failed(&self, failure: impl Into<String>) {
        self.with(|s| s.last_failure = Some(failure.into()))
    }

    /// Something kept the fetcher from fetching `key`.
    pub fn partition_failed(&self, key: &Key, failure: impl Into<String>) {
        self.with(|s| {
            s.partition_failures.insert(key.clone(), failure.into());
        })
    }

    /// The fetcher sent `request` and waits for its answer (`None`: got it).
    pub fn waiting_for(&self, request: Option<&'static str>) {
        self.with(|s| s.in_flight = request.map(|r| (r, Instant::now())))
    }

    /// Checks every second until the broker goes (the fetcher aborts it
    /// when it ends).
    pub async fn watch(self, broker: Weak<Broker>, leader: i32) {
        loop {
            tokio::time::sleep(CHECK_EVERY).await;
            let Some(b) = broker.upgrade() else {
                return;
            };
            let lag =
                Duration::from_millis(b.config.settings().replica_lag_time_max_ms.max(0) as u64);
            let followed = super::fetcher::followed(&b, leader);
            drop(b);
            self.with(|s| {
                s.check(leader, followed.keys(), lag);
            });
        }
    }
}

impl Stalls {
    /// Why the fetcher has not fetched `key`, as best it knows. A request
    /// the leader holds comes first: it is what the fetcher waits on now.
    fn reason(&self, key: &Key, now: Instant) -> String {
        if let Some((request, sent)) = self.in_flight {
            let waited = now.duration_since(sent);
            if waited >= CHECK_EVERY {
                return format!(
                    "the leader has not answered the {request} request sent {} ms ago",
                    waited.as_millis()
                );
            }
        }
        self.partition_failures
            .get(key)
            .or(self.last_failure.as_ref())
            .cloned()
            .unwrap_or_else(|| "none seen".to_string())
    }

    /// Warns about each of `followed` that has not fetched for `lag`, and
    /// forgets partitions no longer followed from this leader. Returns the
    /// partitions warned about.
    fn check<'a>(
        &mut self,
        leader: i32,
        followed: impl Iterator<Item = &'a Key>,
        lag: Duration,
    ) -> Vec<Key> {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut still = HashMap::with_capacity(self.waiting_since.len());
        for key in followed {
            let since = self.waiting_since.get(key).copied().unwrap_or(now);
            let waited = now.duration_since(since);
            if waited >= lag && !lag.is_zero() {
                tracing::warn!(
                    topic = %key.0,
                    partition = key.1,
                    leader,
                    waited_ms = waited.as_millis() as u64,
                    last_failure = %self.reason(key, now),
                    "this follower has not fetched from the leader for longer than \
                     replica.lag.time.max.ms"
                );
                still.insert(key.clone(), now);
                due.push(key.clone());
            } else {
                still.insert(key.clone(), since);
            }
        }
        self.waiting_since = still;
        let followed = &self.waiting_since;
        self.partition_failures
            .retain(|key, _| followed.contains_key(key));
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(index: i32) -> Key {
        ("t".to_string(), index)
    }

    #[test]
    fn a_partition_is_due_once_per_period_and_a_fetch_resets_it() {
        let report = StallReport::default();
        let lag = Duration::from_millis(30);
        let keys = [key(0), key(1)];
        let check = |keys: &[Key]| report.0.lock().unwrap().check(1, keys.iter(), lag);
        assert!(check(&keys).is_empty());
        std::thread::sleep(Duration::from_millis(40));
        report.fetched(&key(1));
        report.partition_failed(&key(0), "refused with error code 6");
        report.failed("connection reset");
        assert_eq!(check(&keys), vec![key(0)]);
        let now = Instant::now();
        let stalls = report.0.lock().unwrap();
        assert_eq!(stalls.reason(&key(0), now), "refused with error code 6");
        assert_eq!(stalls.reason(&key(1), now), "connection reset");
        drop(stalls);
        // Warned once: due again only after another period.
        assert!(check(&keys).is_empty());
        // A partition no longer followed is forgotten; followed again, its
        // period starts afresh.
        check(&keys[1..]);
        assert!(report.0.lock().unwrap().partition_failures.is_empty());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(check(&keys), vec![key(1)]);
    }

    #[test]
    fn a_request_the_leader_holds_is_the_reason_after_a_second() {
        let report = StallReport::default();
        report.failed("connection reset");
        report.partition_failed(&key(1), "refused with error code 6");
        report.waiting_for(Some("Fetch"));
        let stalls = report.0.lock().unwrap();
        let sent = stalls.in_flight.unwrap().1;
        assert_eq!(stalls.reason(&key(0), sent), "connection reset");
        let later = sent + Duration::from_millis(1500);
        let held = "the leader has not answered the Fetch request sent 1500 ms ago";
        assert_eq!(stalls.reason(&key(0), later), held);
        assert_eq!(stalls.reason(&key(1), later), held);
    }
}
