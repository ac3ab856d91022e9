//! Keyed records for compaction tests: batches built with the protocol
//! crate's builder, a model of what was appended, and whole-log decoding.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strom_protocol::records::{
    batches, CompressionType, RecordBatchBuilder, DEFAULT_MAX_DECOMPRESSED_BYTES,
};
use strom_storage::{AppendOutcome, CleanupPolicy, Log, LogConfig};

use super::OPTIONS;

/// One record as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A record to append: key, value (None = tombstone), timestamp.
#[derive(Debug, Clone)]
pub struct Put {
    pub key: String,
    pub value: Option<String>,
    pub timestamp: i64,
}

pub fn put(key: &str, value: Option<&str>, timestamp: i64) -> Put {
    Put {
        key: key.to_string(),
        value: value.map(str::to_string),
        timestamp,
    }
}

pub const CODECS: [CompressionType; 5] = [
    CompressionType::None,
    CompressionType::Lz4,
    CompressionType::None,
    CompressionType::Zstd,
    CompressionType::Gzip,
];

pub fn compact_config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        cleanup_policy: CleanupPolicy {
            delete: false,
            compact: true,
        },
        ..LogConfig::default()
    }
}

/// Builds one batch; `producer` = (id, epoch, base sequence).
pub fn keyed_batch(
    puts: &[Put],
    codec: CompressionType,
    producer: Option<(i64, i16, i32)>,
) -> Vec<u8> {
    let mut builder = RecordBatchBuilder::new(codec);
    if let Some((id, epoch, seq)) = producer {
        builder = builder.with_producer(id, epoch, seq);
    }
    for p in puts {
        let header_value = format!("h-{}", p.timestamp);
        builder
            .append(
                p.timestamp,
                Some(p.key.as_bytes()),
                p.value.as_ref().map(|v| v.as_bytes()),
                &[(b"trace".as_slice(), Some(header_value.as_bytes()))],
            )
            .unwrap();
    }
    builder.build().unwrap().to_vec()
}

/// The log plus everything appended to it, by offset.
pub struct Model {
    pub appended: BTreeMap<i64, Seen>,
}

impl Model {
    pub fn new() -> Self {
        Model {
            appended: BTreeMap::new(),
        }
    }

    pub fn append(
        &mut self,
        log: &Log,
        puts: &[Put],
        codec: CompressionType,
        producer: Option<(i64, i16, i32)>,
    ) -> AppendOutcome {
        let mut bytes = keyed_batch(puts, codec, producer);
        let outcome = log.append(&mut bytes, OPTIONS).unwrap();
        if !outcome.duplicate {
            for (i, p) in puts.iter().enumerate() {
                let offset = outcome.base_offset + i as i64;
                let header_value = format!("h-{}", p.timestamp).into_bytes();
                self.appended.insert(
                    offset,
                    Seen {
                        offset,
                        timestamp: p.timestamp,
                        key: Some(p.key.clone().into_bytes()),
                        value: p.value.clone().map(String::into_bytes),
                        headers: vec![(b"trace".to_vec(), Some(header_value))],
                    },
                );
            }
        }
        outcome
    }

    /// Key → its latest record.
    pub fn latest(&self) -> BTreeMap<Vec<u8>, Seen> {
        let mut latest = BTreeMap::new();
        for seen in self.appended.values() {
            latest.insert(seen.key.clone().unwrap(), seen.clone());
        }
        latest
    }
}

/// Decodes every record of a fetch buffer (skipping empty batches),
/// asserting CRCs.
pub fn decode_records(buf: Bytes) -> Vec<Seen> {
    let mut out = Vec::new();
    for batch in batches(buf) {
        let batch = batch.unwrap();
        batch.verify_crc().unwrap();
        for record in batch.records(DEFAULT_MAX_DECOMPRESSED_BYTES).unwrap() {
            let r = record.unwrap();
            out.push(Seen {
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key.map(|k| k.to_vec()),
                value: r.value.map(|v| v.to_vec()),
                headers: r
                    .headers
                    .into_iter()
                    .map(|h| (h.key.to_vec(), h.value.map(|v| v.to_vec())))
                    .collect(),
            });
        }
    }
    out
}

/// Every record from the log start to the end, as a consumer fetching in
/// a loop would see them. Asserts that offsets strictly increase.
pub fn consume_all(log: &Log) -> Vec<Seen> {
    let mut out: Vec<Seen> = Vec::new();
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let result = log.read(offset, 4096, i64::MAX, true).unwrap();
        let mut buf = BytesMut::new();
        result.copy_into(&mut buf).unwrap();
        let batches = super::split(&buf);
        assert!(!batches.is_empty(), "no progress reading at {offset}");
        for b in &batches {
            assert!(
                b.base_offset >= offset,
                "batch {} before fetch offset {offset}",
                b.base_offset
            );
            offset = b.last_offset + 1;
        }
        for seen in decode_records(buf.freeze()) {
            if let Some(previous) = out.last() {
                assert!(seen.offset > previous.offset, "offset went backwards");
            }
            out.push(seen);
        }
    }
    out
}

/// What a fully compacted log holds: the latest record of every key,
/// minus keys whose latest record is a tombstone when `tombstones_gone`.
pub fn expected_after_compaction(model: &Model, tombstones_gone: bool) -> Vec<Seen> {
    let mut expected: Vec<Seen> = model
        .latest()
        .into_values()
        .filter(|s| !(tombstones_gone && s.value.is_none()))
        .collect();
    expected.sort_by_key(|s| s.offset);
    expected
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Appends a record far enough in the future to roll the active segment,
/// so everything before it becomes cleanable; returns its offset.
pub fn roll(log: &Log, model: &mut Model, tag: &str) -> i64 {
    let ts = model
        .appended
        .values()
        .map(|s| s.timestamp)
        .max()
        .unwrap_or(0)
        + 8 * DAY_MS;
    let outcome = model.append(
        log,
        &[put(&format!("~{tag}"), Some("end"), ts)],
        CompressionType::None,
        None,
    );
    log.set_high_watermark(log.log_end_offset());
    outcome.base_offset
}

/// 50 keys x 40 updates in batches of 1-6 records, codecs rotating.
pub fn many_updates(log: &Log, model: &mut Model, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pending: Vec<(usize, usize)> =
        (0..50).flat_map(|k| (0..40).map(move |u| (k, u))).collect();
    // Updates of one key stay in order; keys interleave randomly.
    let mut next_update = [0usize; 50];
    let mut ts = 1_000_000;
    let mut batch_no = 0;
    while !pending.is_empty() {
        let n = rng.gen_range(1..=6).min(pending.len());
        let mut puts = Vec::new();
        for _ in 0..n {
            let i = rng.gen_range(0..pending.len());
            let (key, _) = pending.swap_remove(i);
            let update = next_update[key];
            next_update[key] += 1;
            ts += 1;
            let value = format!("value-{key}-{update}-{}", "x".repeat(rng.gen_range(0..30)));
            puts.push(put(&format!("key-{key:02}"), Some(&value), ts));
        }
        model.append(log, &puts, CODECS[batch_no % CODECS.len()], None);
        batch_no += 1;
    }
}
