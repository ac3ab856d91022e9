//! The fixed-rate schedule of the latency run. Records are released in
//! 1 ms ticks (record i is due at the first whole millisecond at or after
//! i / rate seconds), so both clients see the same send pattern whatever
//! the precision of their sleep: a burst of rate/1000 records per ms.

use std::time::{Duration, Instant};

pub struct Pacer {
    started: Instant,
    rate: Option<u64>,
}

impl Pacer {
    pub fn new(rate: Option<u64>) -> Pacer {
        Pacer {
            started: Instant::now(),
            rate: rate.filter(|rate| *rate > 0),
        }
    }

    /// When record `index` (from 0) may be sent; `None` when unthrottled.
    pub fn due_at(&self, index: u64) -> Option<Instant> {
        let rate = self.rate?;
        let millis = (u128::from(index) * 1000).div_ceil(u128::from(rate));
        let millis = u64::try_from(millis).unwrap_or(u64::MAX);
        Some(self.started + Duration::from_millis(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_records_in_whole_millisecond_ticks() {
        let pacer = Pacer::new(Some(20_000));
        let at = |i| pacer.due_at(i).unwrap() - pacer.started;
        assert_eq!(at(0), Duration::ZERO);
        assert_eq!(at(1), Duration::from_millis(1));
        assert_eq!(at(20), Duration::from_millis(1));
        assert_eq!(at(21), Duration::from_millis(2));
        assert_eq!(at(20_000), Duration::from_secs(1));
    }

    #[test]
    fn no_rate_means_no_schedule() {
        assert!(Pacer::new(None).due_at(5).is_none());
        assert!(Pacer::new(Some(0)).due_at(5).is_none());
    }
}
