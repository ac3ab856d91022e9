//! The numbers one run prints: one JSON object, with the keys benchlib's
//! loads already read (records, records_per_s, mib_per_s, latency_ms,
//! errors, first_errors).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const MIB: f64 = 1024.0 * 1024.0;
const ERRORS_KEPT: usize = 5;

/// Per-record delivery latencies, in microseconds.
#[derive(Debug, Default)]
pub struct Latencies {
    micros: Vec<u32>,
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// avg, p50, p95, p99, p99.9 and max in milliseconds.
    pub fn summary_ms(mut self) -> Value {
        if self.micros.is_empty() {
            return Value::Null;
        }
        self.micros.sort_unstable();
        let count = self.micros.len();
        let at = |fraction: f64| {
            let index = ((fraction * count as f64) as usize).min(count - 1);
            f64::from(self.micros[index]) / 1000.0
        };
        let total: u64 = self.micros.iter().map(|&m| u64::from(m)).sum();
        json!({
            "avg": total as f64 / count as f64 / 1000.0,
            "p50": at(0.50),
            "p95": at(0.95),
            "p99": at(0.99),
            "p999": at(0.999),
            "max": at(1.0),
        })
    }
}

/// Failed records: how many, and the first few reasons.
#[derive(Debug, Default)]
pub struct Failures {
    pub count: u64,
    pub first: Vec<String>,
}

impl Failures {
    pub fn add(&mut self, reason: String) {
        self.count += 1;
        if self.first.len() < ERRORS_KEPT {
            self.first.push(reason);
        }
    }

    pub fn merge(&mut self, other: Failures) {
        self.count += other.count;
        for reason in other.first {
            if self.first.len() < ERRORS_KEPT {
                self.first.push(reason);
            }
        }
    }
}

/// What a producer run ends with.
pub struct Produced {
    pub delivered: u64,
    pub record_size: usize,
    /// From the first send to the end of the final flush.
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub failures: Failures,
}

impl Produced {
    pub fn into_json(self, client: Value) -> Value {
        let seconds = self.elapsed.as_secs_f64().max(f64::EPSILON);
        json!({
            "client": client,
            "records": self.delivered,
            "records_per_s": self.delivered as f64 / seconds,
            "mib_per_s": self.delivered as f64 * self.record_size as f64 / MIB / seconds,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "latency_ms": self.latencies.summary_ms(),
            "errors": self.failures.count,
            "first_errors": self.failures.first,
        })
    }
}

/// Counts a consumer's records as they arrive.
pub struct ConsumeTally {
    assigned_at: Instant,
    first_at: Option<Instant>,
    last_at: Instant,
    pub records: u64,
    bytes: u64,
    /// Records and bytes that arrived at `first_at` itself: a client that
    /// hands over a whole batch at once would otherwise have its first
    /// batch counted with none of the time it took.
    records_at_first: u64,
    bytes_at_first: u64,
    pub failures: Failures,
}

impl ConsumeTally {
    pub fn new(assigned_at: Instant) -> ConsumeTally {
        ConsumeTally {
            assigned_at,
            first_at: None,
            last_at: assigned_at,
            records: 0,
            bytes: 0,
            records_at_first: 0,
            bytes_at_first: 0,
            failures: Failures::default(),
        }
    }

    pub fn add(&mut self, now: Instant, value_len: usize) {
        if *self.first_at.get_or_insert(now) == now {
            self.records_at_first += 1;
            self.bytes_at_first += value_len as u64;
        }
        self.last_at = now;
        self.records += 1;
        self.bytes += value_len as u64;
    }

    /// How long since the last record (or the assignment, before one).
    pub fn idle_for(&self) -> Duration {
        self.last_at.elapsed()
    }

    /// Rates from the first record to the last (the records that came
    /// after the first arrival, over the time between); `startup_ms` is
    /// assign() to the first record.
    pub fn into_json(self, client: Value) -> Value {
        let first_at = self.first_at.unwrap_or(self.last_at);
        let seconds = (self.last_at - first_at).as_secs_f64().max(f64::EPSILON);
        let from_assign = (self.last_at - self.assigned_at)
            .as_secs_f64()
            .max(f64::EPSILON);
        let after_first = self.records - self.records_at_first;
        let bytes_after_first = self.bytes - self.bytes_at_first;
        json!({
            "client": client,
            "records": self.records,
            "records_per_s": after_first as f64 / seconds,
            "mib_per_s": bytes_after_first as f64 / MIB / seconds,
            "records_per_s_from_assign": self.records as f64 / from_assign,
            "startup_ms": (first_at - self.assigned_at).as_secs_f64() * 1000.0,
            "errors": self.failures.count,
            "first_errors": self.failures.first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_sorted_samples() {
        let mut latencies = Latencies::default();
        for millis in (1..=100).rev() {
            latencies.record(Duration::from_millis(millis));
        }
        let summary = latencies.summary_ms();
        assert_eq!(summary["p50"], 51.0);
        assert_eq!(summary["p99"], 100.0);
        assert_eq!(summary["max"], 100.0);
        assert_eq!(summary["avg"], 50.5);
    }

    #[test]
    fn failures_keep_the_first_reasons_and_count_all() {
        let mut failures = Failures::default();
        for n in 0..8 {
            failures.add(format!("failure {n}"));
        }
        assert_eq!(failures.count, 8);
        assert_eq!(failures.first.len(), ERRORS_KEPT);
        assert_eq!(failures.first[0], "failure 0");
    }

    #[test]
    fn consumer_rate_leaves_out_what_arrived_with_the_first_record() {
        let assigned = Instant::now();
        let mut tally = ConsumeTally::new(assigned);
        let first = assigned + Duration::from_millis(100);
        for _ in 0..10 {
            tally.add(first, 100);
        }
        for _ in 0..20 {
            tally.add(first + Duration::from_secs(2), 100);
        }
        let report = tally.into_json(Value::Null);
        assert_eq!(report["records"], 30);
        assert_eq!(report["records_per_s"], 10.0);
        assert_eq!(report["startup_ms"], 100.0);
    }
}
