//! Windowed rates and throttle times, as Kafka measures them: a rate is
//! the sum of the last `quota.window.num` samples of
//! `quota.window.size.seconds` each, over the time they cover (at least
//! all but one of them, so a new client is not judged on a fraction of a
//! second). A client over its quota is throttled for as long as it takes
//! its rate to come back to the quota: `(rate - quota) / quota × window`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Applicable;

/// The longest throttle a single response asks for: a client far over
/// its quota is slowed again at its next request.
const MAX_THROTTLE: Duration = Duration::from_secs(60);
/// Meters idle this long are forgotten (client ids come and go).
const IDLE_METER: Duration = Duration::from_secs(600);
/// Most meters kept: past it, those idle for a whole window go at once,
/// so a client that invents a client id per request cannot make the
/// broker keep a meter for each.
const MAX_METERS: usize = 100_000;

/// One client's usage of one quota: a ring of samples.
struct Meter {
    /// (start of the sample, total recorded in it), oldest first.
    samples: Vec<(Instant, f64)>,
    last_used: Instant,
}

/// What each client has used, per quota key.
pub struct QuotaMeters {
    samples: usize,
    sample_length: Duration,
    meters: Mutex<Meters>,
}

struct Meters {
    by_client: HashMap<(&'static str, String, String), Meter>,
    last_sweep: Instant,
}

impl QuotaMeters {
    /// `quota.window.num` samples of `quota.window.size.seconds`.
    pub fn new(samples: u32, sample_seconds: u32) -> QuotaMeters {
        QuotaMeters {
            samples: samples.max(2) as usize,
            sample_length: Duration::from_secs(u64::from(sample_seconds.max(1))),
            meters: Mutex::new(Meters {
                by_client: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// Records `amount` of `key` against the client's quota; returns how
    /// long the client is to be throttled (zero within its quota).
    pub fn record(
        &self,
        key: &'static str,
        quota: &Applicable,
        amount: f64,
        now: Instant,
    ) -> Duration {
        let mut meters = self.meters.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.sample_length * self.samples as u32;
        if meters.by_client.len() >= MAX_METERS {
            meters
                .by_client
                .retain(|_, meter| now.duration_since(meter.last_used) < window);
            meters.last_sweep = now;
        } else if now.duration_since(meters.last_sweep) > IDLE_METER {
            meters
                .by_client
                .retain(|_, meter| now.duration_since(meter.last_used) < IDLE_METER);
            meters.last_sweep = now;
        }
        let (user, client_id) = quota.counted_as.clone();
        let meter = meters
            .by_client
            .entry((key, user, client_id))
            .or_insert_with(|| Meter {
                samples: Vec::with_capacity(self.samples),
                last_used: now,
            });
        meter.last_used = now;
        self.add(meter, amount, now);
        let window = self.window(meter, now);
        let rate = meter.samples.iter().map(|(_, total)| total).sum::<f64>() / window.as_secs_f64();
        if quota.limit <= 0.0 {
            return if amount > 0.0 {
                MAX_THROTTLE
            } else {
                Duration::ZERO
            };
        }
        if rate <= quota.limit {
            return Duration::ZERO;
        }
        let throttle = (rate - quota.limit) / quota.limit * window.as_secs_f64();
        Duration::from_secs_f64(throttle.min(MAX_THROTTLE.as_secs_f64()))
    }

    /// Adds `amount` to the current sample, starting a new one (and
    /// dropping the oldest) when the current one has run its length.
    fn add(&self, meter: &mut Meter, amount: f64, now: Instant) {
        let expired = self.sample_length * self.samples as u32;
        meter
            .samples
            .retain(|(start, _)| now.duration_since(*start) < expired);
        match meter.samples.last_mut() {
            Some((start, total)) if now.duration_since(*start) < self.sample_length => {
                *total += amount
            }
            _ => {
                if meter.samples.len() == self.samples {
                    meter.samples.remove(0);
                }
                meter.samples.push((now, amount));
            }
        }
    }

    /// The time the samples cover, at least all but one sample's length.
    fn window(&self, meter: &Meter, now: Instant) -> Duration {
        let covered = meter
            .samples
            .first()
            .map_or(Duration::ZERO, |(start, _)| now.duration_since(*start));
        covered.max(self.sample_length * (self.samples as u32 - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: f64) -> Applicable {
        Applicable {
            limit,
            counted_as: ("alice".into(), String::new()),
        }
    }

    #[test]
    fn within_the_quota_nothing_is_throttled_and_over_it_the_excess_is_paid_back() {
        let meters = QuotaMeters::new(11, 1);
        let start = Instant::now();
        // 1,000 B/s allowed: 10,000 bytes in the first second fit the
        // 10 s minimum window exactly.
        assert_eq!(
            meters.record("producer_byte_rate", &quota(1000.0), 10_000.0, start),
            Duration::ZERO
        );
        // 10,000 more: 20,000 over 10 s is 2,000 B/s, twice the quota:
        // throttled for (2000 - 1000) / 1000 × 10 s.
        let throttle = meters.record("producer_byte_rate", &quota(1000.0), 10_000.0, start);
        assert_eq!(throttle, Duration::from_secs(10));
        // Another client's usage is its own.
        let bob = Applicable {
            limit: 1000.0,
            counted_as: ("bob".into(), String::new()),
        };
        assert_eq!(
            meters.record("producer_byte_rate", &bob, 5_000.0, start),
            Duration::ZERO
        );
    }

    #[test]
    fn a_flood_of_client_ids_does_not_keep_a_meter_each() {
        let meters = QuotaMeters::new(2, 1);
        let start = Instant::now();
        for i in 0..MAX_METERS {
            let quota = Applicable {
                limit: 1e9,
                counted_as: (String::new(), format!("client-{i}")),
            };
            meters.record("producer_byte_rate", &quota, 1.0, start);
        }
        let later = start + Duration::from_secs(3);
        meters.record("producer_byte_rate", &quota(1e9), 1.0, later);
        let kept = meters.meters.lock().expect("lock").by_client.len();
        assert_eq!(kept, 1, "the idle meters went once the cap was reached");
    }

    #[test]
    fn old_samples_age_out() {
        let meters = QuotaMeters::new(3, 1);
        let start = Instant::now();
        let throttle = meters.record("consumer_byte_rate", &quota(100.0), 1_000.0, start);
        assert!(throttle > Duration::ZERO);
        let later = start + Duration::from_secs(5);
        assert_eq!(
            meters.record("consumer_byte_rate", &quota(100.0), 10.0, later),
            Duration::ZERO,
            "the burst left the window"
        );
    }
}
