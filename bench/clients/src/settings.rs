//! What one run does, parsed from the command line, and the producer
//! settings both clients get under the same names, so neither client is
//! configured differently by accident.

use std::time::Duration;

/// One producer run.
#[derive(Debug, Clone)]
pub struct ProduceSpec {
    pub bootstrap: String,
    pub topic: String,
    pub records: u64,
    pub record_size: usize,
    pub acks: String,
    /// Records per second; `None`: as fast as the client takes them.
    pub rate: Option<u64>,
    pub linger_ms: u64,
    pub batch_size: usize,
    /// Records handed to the Strom client and not yet acknowledged, at
    /// most. librdkafka has its own bound (queue.buffering.max.messages,
    /// 100,000 by default); the Strom producer has none, so the harness
    /// applies the same number to it.
    pub max_outstanding: usize,
}

impl ProduceSpec {
    /// The settings both producers are created with; everything else is
    /// each client's default. Both clients accept these names.
    pub fn producer_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("bootstrap.servers", self.bootstrap.clone()),
            ("acks", self.acks.clone()),
            ("linger.ms", self.linger_ms.to_string()),
            ("batch.size", self.batch_size.to_string()),
            ("compression.type", "none".to_string()),
        ]
    }
}

/// One consumer run: read `records` from every partition of `topic`,
/// starting at the earliest offset, without a consumer group.
#[derive(Debug, Clone)]
pub struct ConsumeSpec {
    pub bootstrap: String,
    pub topic: String,
    pub records: u64,
    pub partitions: i32,
    /// Give up when no record has arrived for this long.
    pub idle_timeout: Duration,
}

/// The record value both clients send: printable, not all one byte, the
/// same bytes as benchlib/rdkafka_load.py sends.
pub fn payload(size: usize) -> Vec<u8> {
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect()
}

/// How long a producer may take to deliver what is still queued at the end.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(120);
