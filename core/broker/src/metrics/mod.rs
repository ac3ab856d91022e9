//! What the broker counts as it works, for `/metrics` (Prometheus): a few
//! atomics per partition and per API, bumped once per request or
//! response, never per record; everything else (log ends and sizes,
//! group lag) is read when scraped ([`collect`]).

pub mod collect;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use strom_storage::latency::{LatencyHistogram, LATENCY_BUCKETS};

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

    /// Records in, bytes in and bytes out so far.
    pub fn totals(&self) -> [u64; 3] {
        [&self.records_in, &self.bytes_in, &self.bytes_out].map(|c| c.load(Ordering::Relaxed))
    }
}

/// Per Kafka API: requests answered and how long they took, and how many
/// answered with a top-level error.
#[derive(Debug)]
pub struct RequestStats {
    /// Indexed by API key.
    per_api: Vec<LatencyHistogram>,
    /// (API key, error code) -> answers; touched only for errors.
    errors: Mutex<BTreeMap<(i16, i16), u64>>,
}

/// API keys go up to 80 or so; the table is sized with room.
const API_SLOTS: usize = 128;

impl Default for RequestStats {
    fn default() -> RequestStats {
        RequestStats {
            per_api: (0..API_SLOTS)
                .map(|_| LatencyHistogram::default())
                .collect(),
            errors: Mutex::new(BTreeMap::new()),
        }
    }
}

impl RequestStats {
    /// One answer of `api_key` after `took`, with the response's
    /// top-level `error` code (0 when none).
    pub fn answered(&self, api_key: i16, took: Duration, error: i16) {
        let Some(stats) = usize::try_from(api_key)
            .ok()
            .and_then(|i| self.per_api.get(i))
        else {
            return;
        };
        stats.observe(took);
        if error != 0 {
            let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
            *errors.entry((api_key, error)).or_default() += 1;
        }
    }

    /// Per API key: answers by top-level error code (0: none), every
    /// answered API listed.
    pub fn by_error(&self) -> Vec<(i16, i16, u64)> {
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut rows = Vec::new();
        for (key, stats) in self.used() {
            let of_key = errors.range((key, i16::MIN)..=(key, i16::MAX));
            let failed: u64 = of_key.clone().map(|(_, n)| n).sum();
            rows.push((key, 0, stats.count().saturating_sub(failed)));
            rows.extend(of_key.map(|(&(_, code), &n)| (key, code, n)));
        }
        rows
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
