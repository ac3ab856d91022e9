//! Test helpers: hand-built v2 batches and whole-log reads.
#![allow(dead_code)]

use std::path::Path;

use bytes::BytesMut;
use strom_protocol::records::BatchHeader;
use strom_storage::{AppendOptions, Log, LogConfig};

pub mod files;
pub mod keyed;

fn put_unsigned(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_unsigned(out, ((v << 1) ^ (v >> 31)) as u32 as u64);
}

fn put_varlong(out: &mut Vec<u8>, v: i64) {
    put_unsigned(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Producer fields of a batch.
#[derive(Clone, Copy)]
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
}

pub const NO_PRODUCER: Producer = Producer {
    id: -1,
    epoch: -1,
    base_sequence: -1,
};

/// A valid uncompressed v2 batch with one record per timestamp, each with a
/// null key and a `value_len`-byte value (record i's bytes are all i + 1), base offset 0 and a correct CRC32C.
pub fn build_batch(timestamps: &[i64], value_len: usize, producer: Producer) -> Vec<u8> {
    assert!(!timestamps.is_empty());
    let base_ts = timestamps[0];
    let max_ts = *timestamps.iter().max().unwrap();
    let mut records = Vec::new();
    for (i, ts) in timestamps.iter().enumerate() {
        let mut body = vec![0u8];
        put_varlong(&mut body, ts - base_ts);
        put_varint(&mut body, i as i32);
        put_varint(&mut body, -1);
        put_varint(&mut body, value_len as i32);
        // Never zero: a batch ending in zeros would survive a cut of its
        // last bytes whole, with the next batch's leading zeros in them.
        body.extend(std::iter::repeat_n(i as u8 + 1, value_len));
        put_varint(&mut body, 0);
        put_varint(&mut records, body.len() as i32);
        records.extend(body);
    }
    let n = timestamps.len() as i32;
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&(n - 1).to_be_bytes());
    b.extend_from_slice(&base_ts.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&producer.id.to_be_bytes());
    b.extend_from_slice(&producer.epoch.to_be_bytes());
    b.extend_from_slice(&producer.base_sequence.to_be_bytes());
    b.extend_from_slice(&n.to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// `count` records with timestamps `first_ts, first_ts + 1, ...`.
pub fn simple_batch(count: usize, first_ts: i64, value_len: usize) -> Vec<u8> {
    let ts: Vec<i64> = (0..count as i64).map(|i| first_ts + i).collect();
    build_batch(&ts, value_len, NO_PRODUCER)
}

pub fn idempotent_batch(count: usize, producer: Producer) -> Vec<u8> {
    let ts: Vec<i64> = (0..count as i64).map(|i| 1_000 + i).collect();
    build_batch(&ts, 10, producer)
}

pub const OPTIONS: AppendOptions = AppendOptions {
    leader_epoch: 0,
    log_append_time_ms: None,
};

pub fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 512,
        ..LogConfig::default()
    }
}

pub fn open(dir: &Path, config: LogConfig) -> Log {
    Log::open(dir, config).expect("open log")
}

/// A batch read back: its offsets and exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub bytes: Vec<u8>,
}

pub fn split(bytes: &[u8]) -> Vec<StoredBatch> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let h = BatchHeader::parse(&bytes[pos..]).unwrap();
        let len = h.validate_frame(bytes.len() - pos).unwrap();
        h.verify_crc().unwrap();
        out.push(StoredBatch {
            base_offset: h.base_offset(),
            last_offset: h.last_offset(),
            bytes: bytes[pos..pos + len].to_vec(),
        });
        pos += len;
    }
    out
}

/// Every batch from the log start to the log end, via `read`.
pub fn read_all(log: &Log) -> Vec<StoredBatch> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let result = log.read(offset, 1 << 20, i64::MAX, true).unwrap();
        let mut buf = BytesMut::new();
        result.copy_into(&mut buf).unwrap();
        let batches = split(&buf);
        assert!(!batches.is_empty(), "no progress reading at {offset}");
        offset = batches.last().unwrap().last_offset + 1;
        out.extend(batches);
    }
    out
}

/// Batches returned by one read.
pub fn read_batches(
    log: &Log,
    offset: i64,
    max_bytes: u32,
    max_offset: i64,
    min_one: bool,
) -> Vec<StoredBatch> {
    let result = log.read(offset, max_bytes, max_offset, min_one).unwrap();
    let mut buf = BytesMut::new();
    result.copy_into(&mut buf).unwrap();
    assert_eq!(buf.len() as u64, result.total_len());
    split(&buf)
}
