//! What a partition leader knows of its followers: how far each has
//! fetched (its log end) and when it was last caught up (Kafka's
//! `Replica.updateFetchState`). From these come the high watermark (the
//! smallest log end in the ISR), the in-sync replicas that fell behind
//! for longer than `replica.lag.time.max.ms`, and the out-of-sync ones that
//! caught up again.

use std::collections::HashMap;

/// A log end not known yet (the follower has not fetched since this
/// broker became leader): it holds the high watermark where it is.
pub const UNKNOWN_LOG_END: i64 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FollowerState {
    log_end: i64,
    /// When the follower was last known to have everything the leader had.
    last_caught_up_ms: i64,
    last_fetch_ms: i64,
    /// The leader's log end when the follower last fetched.
    leader_end_at_last_fetch: i64,
}

#[derive(Debug, Default)]
pub struct Followers {
    states: HashMap<i32, FollowerState>,
}

impl Followers {
    /// Starts tracking `followers` afresh (a new leadership): log ends
    /// unknown, and each given a full lag window from `now_ms`, as Kafka
    /// does, so the ISR does not shrink before they could fetch.
    pub fn reset(&mut self, followers: impl IntoIterator<Item = i32>, now_ms: i64) {
        self.states = followers
            .into_iter()
            .map(|id| {
                let state = FollowerState {
                    log_end: UNKNOWN_LOG_END,
                    last_caught_up_ms: now_ms,
                    last_fetch_ms: now_ms,
                    leader_end_at_last_fetch: UNKNOWN_LOG_END,
                };
                (id, state)
            })
            .collect();
    }

    /// The replica set changed under the same leadership: followers kept
    /// keep their state, new ones start as [`Followers::reset`] starts them.
    pub fn retain_and_add(&mut self, followers: impl IntoIterator<Item = i32>, now_ms: i64) {
        let wanted: Vec<i32> = followers.into_iter().collect();
        self.states.retain(|id, _| wanted.contains(id));
        for id in wanted {
            self.states.entry(id).or_insert(FollowerState {
                log_end: UNKNOWN_LOG_END,
                last_caught_up_ms: now_ms,
                last_fetch_ms: now_ms,
                leader_end_at_last_fetch: UNKNOWN_LOG_END,
            });
        }
    }

    /// A fetch from `follower` at `fetch_offset`: it holds every record
    /// below it. It is caught up if it reached the leader's end now, or
    /// the end the leader had at its previous fetch (then as of that
    /// fetch). False if `follower` is not a follower of this partition.
    pub fn record_fetch(
        &mut self,
        follower: i32,
        fetch_offset: i64,
        leader_end: i64,
        now_ms: i64,
    ) -> bool {
        let Some(state) = self.states.get_mut(&follower) else {
            return false;
        };
        if fetch_offset >= leader_end {
            state.last_caught_up_ms = state.last_caught_up_ms.max(now_ms);
        } else if fetch_offset >= state.leader_end_at_last_fetch {
            state.last_caught_up_ms = state.last_caught_up_ms.max(state.last_fetch_ms);
        }
        state.log_end = fetch_offset;
        state.leader_end_at_last_fetch = leader_end;
        state.last_fetch_ms = now_ms;
        true
    }

    /// The smallest log end among the followers in `isr`, if any is in it.
    pub fn min_in_sync_log_end(&self, isr: &[i32]) -> Option<i64> {
        isr.iter()
            .filter_map(|id| self.states.get(id))
            .map(|state| state.log_end)
            .min()
    }

    /// In-sync followers not caught up for longer than `max_lag_ms`: the
    /// ISR shrinks without them.
    pub fn lagging(&self, isr: &[i32], now_ms: i64, max_lag_ms: i64) -> Vec<i32> {
        isr.iter()
            .copied()
            .filter(|id| {
                self.states
                    .get(id)
                    .is_some_and(|s| now_ms - s.last_caught_up_ms > max_lag_ms)
            })
            .collect()
    }

    /// Followers outside `isr` whose log reaches the high watermark and
    /// that were caught up within `max_lag_ms`: the ISR grows with them
    /// (Kafka's `isFollowerInSync`). A follower that stopped fetching is
    /// not one, however far it had come.
    pub fn caught_up(
        &self,
        isr: &[i32],
        high_watermark: i64,
        now_ms: i64,
        max_lag_ms: i64,
    ) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .states
            .iter()
            .filter(|(id, state)| {
                !isr.contains(id)
                    && state.log_end >= high_watermark
                    && now_ms - state.last_caught_up_ms <= max_lag_ms
            })
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_in_sync_follower_holds_the_high_watermark() {
        let mut followers = Followers::default();
        followers.reset([2, 3], 0);
        assert_eq!(
            followers.min_in_sync_log_end(&[1, 2, 3]),
            Some(UNKNOWN_LOG_END),
            "nothing is known before they fetch"
        );
        assert!(followers.record_fetch(2, 10, 10, 5));
        assert!(followers.record_fetch(3, 7, 10, 5));
        assert_eq!(followers.min_in_sync_log_end(&[1, 2, 3]), Some(7));
        assert_eq!(
            followers.min_in_sync_log_end(&[1, 2]),
            Some(10),
            "3 is not in sync"
        );
        assert_eq!(
            followers.min_in_sync_log_end(&[1]),
            None,
            "the leader alone"
        );
        assert!(!followers.record_fetch(4, 10, 10, 5), "not a follower");
    }

    #[test]
    fn a_follower_that_stops_catching_up_lags_and_one_that_catches_up_rejoins() {
        let mut followers = Followers::default();
        followers.reset([2, 3], 0);
        // 2 keeps up; 3 fetches but always trails a leader that keeps writing.
        for now in [1_000, 2_000, 40_000] {
            followers.record_fetch(2, 100 + now, 100 + now, now);
            followers.record_fetch(3, 5, 100 + now, now);
        }
        assert_eq!(followers.lagging(&[1, 2, 3], 40_000, 30_000), vec![3]);
        assert!(followers.lagging(&[1, 2, 3], 20_000, 30_000).is_empty());

        // Reaching the end the leader had at its previous fetch counts as
        // caught up as of that fetch.
        followers.record_fetch(3, 40_100, 40_500, 41_000);
        assert!(followers.lagging(&[1, 2, 3], 41_000, 30_000).is_empty());
        assert_eq!(
            followers.caught_up(&[1, 2], 40_100, 41_000, 30_000),
            vec![3]
        );
        assert!(followers
            .caught_up(&[1, 2], 40_101, 41_000, 30_000)
            .is_empty());
        assert!(
            followers
                .caught_up(&[1, 2], 40_100, 80_000, 30_000)
                .is_empty(),
            "a follower silent for longer than the lag time does not rejoin"
        );
    }
}
