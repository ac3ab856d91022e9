//! What the broker counts as it works, for `/metrics` (Prometheus): a few
//! atomics per partition and per API, bumped once per request or
//! response, never per record; everything else (log ends and sizes,
//! group lag) is read when scraped ([`collect`]).

pub mod collect;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Records and bytes a partition took in from producers and handed to
/// consumers (replication is not counted).
#[derive(Debug, Default)]
pub struct Traffic {
    pub records_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

impl Traffic {
    pub fn produced(&self, records: u64, bytes: u64) {
        self.records_in.fetch_add(records, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn consumed(&self, bytes: u64) {
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Upper bounds of the latency histograms' buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram of atomics (no lock on the request path).
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Per bucket (not cumulative), the last one for past the largest bound.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// (sum in seconds, count, (upper bound, count) per bucket, not
    /// cumulative: `prometheus-client` adds them up as it writes), the
    /// last bucket's bound `f64::MAX`, which it writes as `+Inf`.
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, bucket)| {
                let bound = LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::MAX);
                (bound, bucket.load(Ordering::Relaxed))
            })
            .collect();
        // The count from the same loads as the buckets, so they agree.
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

/// Per Kafka API: requests answered and how long they took.
#[derive(Debug)]
pub struct RequestStats {
    /// Indexed by API key.
    per_api: Vec<LatencyHistogram>,
}

/// API keys go up to 80 or so; the table is sized with room.
const API_SLOTS: usize = 128;

impl Default for RequestStats {
    fn default() -> RequestStats {
        RequestStats {
            per_api: (0..API_SLOTS)
                .map(|_| LatencyHistogram::default())
                .collect(),
        }
    }
}

impl RequestStats {
    pub fn answered(&self, api_key: i16, took: Duration) {
        if let Some(stats) = usize::try_from(api_key)
            .ok()
            .and_then(|i| self.per_api.get(i))
        {
            stats.observe(took);
        }
    }

    /// Every API key with at least one request, and its histogram.
    pub fn used(&self) -> impl Iterator<Item = (i16, &LatencyHistogram)> {
        self.per_api
            .iter()
            .enumerate()
            .filter(|(_, stats)| stats.count() > 0)
            .filter_map(|(key, stats)| Some((i16::try_from(key).ok()?, stats)))
    }
}

/// The broker's own counters.
#[derive(Debug, Default)]
pub struct BrokerMetrics {
    pub requests: RequestStats,
    /// Client connections open now, on every listener.
    pub connections: AtomicI64,
}

/// Counts one open connection while it lives.
pub struct ConnectionCount<'a>(&'a AtomicI64);

impl<'a> ConnectionCount<'a> {
    pub fn open(gauge: &'a AtomicI64) -> ConnectionCount<'a> {
        gauge.fetch_add(1, Ordering::Relaxed);
        ConnectionCount(gauge)
    }
}

impl Drop for ConnectionCount<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_counts_per_bucket_and_sums_in_seconds() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(300));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(20));
        let (sum, count, buckets) = histogram.snapshot();
        assert_eq!(count, 3);
        assert!((sum - 20.0033).abs() < 1e-9, "{sum}");
        assert_eq!(buckets[0], (0.0005, 1));
        assert_eq!(buckets[3], (0.005, 1));
        assert_eq!(buckets.last(), Some(&(f64::MAX, 1)));
        assert_eq!(buckets.iter().map(|(_, n)| n).sum::<u64>(), 3);
    }
}
