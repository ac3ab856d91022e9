//! `GET /v1/topics/{name}/records`: the console's message browser. The
//! latest records of one partition, or of every partition this broker
//! holds merged newest first, with key, value and header values in
//! base64 (the page shows them as text, JSON or hex). Bounded: at most
//! [`MAX_LIMIT`] records, [`MAX_PARTITIONS`] partitions read,
//! [`READ_BUDGET`] bytes read from disk per partition, values cut at
//! [`VALUE_SHOWN`] bytes, and [`MAX_AT_ONCE`] requests at a time.

use std::cmp::Reverse;
use std::collections::VecDeque;

use serde_json::{json, Value};
use strom_protocol::base64;
use strom_protocol::records::{batches, Record};

use super::Failure;
use crate::state::Broker;

/// Browsing requests served at once; more get 503.
pub const MAX_AT_ONCE: usize = 2;
/// Most records one request returns.
pub const MAX_LIMIT: usize = 100;
/// Records returned when the request does not say.
const DEFAULT_LIMIT: usize = 20;
/// Partitions read for "all partitions".
const MAX_PARTITIONS: usize = 64;
/// Bytes read from one partition's log for one request.
const READ_BUDGET: u32 = 4 << 20;
/// Bytes one batch may decompress to; a bigger one is skipped.
const MAX_DECOMPRESSED: usize = 8 << 20;
/// Bytes of a value (and of a key, a header value) sent to the page.
const VALUE_SHOWN: usize = 16 << 10;

/// The browser's query: `partition` (absent: all), `limit`.
#[derive(Debug, serde::Deserialize)]
pub struct Query {
    pub partition: Option<i32>,
    limit: Option<usize>,
}

impl Query {
    /// Records to return.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The query string that asks another broker the same.
    pub fn to_query(&self) -> String {
        let mut query = format!("limit={}", self.limit());
        if let Some(partition) = self.partition {
            query += &format!("&partition={partition}");
        }
        query
    }
}

pub fn records(broker: &Broker, topic_name: &str, query: &Query) -> Result<Value, Failure> {
    let topic = broker
        .topic(topic_name)
        .ok_or_else(|| Failure::not_found(format!("topic '{topic_name}' does not exist")))?;
    let limit = query.limit();
    let indexes: Vec<i32> = match query.partition {
        Some(index) if index < 0 || index >= topic.partition_count() => {
            return Err(Failure::not_found(format!(
                "topic '{topic_name}' has no partition {index}"
            )))
        }
        Some(index) => vec![index],
        None => (0..topic.partition_count()).take(MAX_PARTITIONS).collect(),
    };
    let mut found: Vec<Shown> = Vec::new();
    for index in indexes {
        let Ok(partition) = broker.partition(topic_name, index) else {
            if query.partition.is_some() {
                return Err(Failure::not_found(format!(
                    "partition {index} of '{topic_name}' is not on this broker"
                )));
            }
            continue;
        };
        let latest = latest_records(&partition.log, index, limit)
            .map_err(|e| Failure::internal(format!("reading partition {index}: {e}")))?;
        found.extend(latest);
        // Newest first: by offset in one partition (timestamps set by
        // producers need not grow), by timestamp across partitions. Cut
        // after each partition, so at most 2 × limit records are held.
        if query.partition.is_some() {
            found.sort_by_key(|r| Reverse(r.offset));
        } else {
            found.sort_by_key(|r| (Reverse(r.timestamp), r.partition, Reverse(r.offset)));
        }
        found.truncate(limit);
    }
    let records: Vec<Value> = found.into_iter().map(|r| r.json).collect();
    Ok(json!({"topic": topic_name, "records": records}))
}

/// A record as the page gets it, with what it is ordered by.
struct Shown {
    timestamp: i64,
    partition: i32,
    offset: i64,
    json: Value,
}

/// Up to `limit` records just below the log's high watermark, oldest
/// first; control records (transaction markers) left out.
fn latest_records(
    log: &strom_storage::Log,
    partition: i32,
    limit: usize,
) -> Result<VecDeque<Shown>, strom_storage::StorageError> {
    let end = log.high_watermark();
    let first = (end - limit as i64).max(log.log_start_offset());
    let mut offset = first;
    let mut kept = VecDeque::with_capacity(limit);
    let mut budget = READ_BUDGET;
    while offset < end && budget > 0 {
        let read = match log.read(offset, budget, end, true) {
            Ok(read) => read,
            // Retention moved the start meanwhile: what is left is newer.
            Err(strom_storage::StorageError::OffsetOutOfRange {
                log_start_offset, ..
            }) if log_start_offset > offset => {
                offset = log_start_offset;
                continue;
            }
            Err(e) => return Err(e),
        };
        if read.is_empty() {
            break;
        }
        budget = budget.saturating_sub(read.total_len() as u32);
        for batch in batches(read.read_bytes()?).flatten() {
            let header = batch.header();
            offset = offset.max(header.last_offset() + 1);
            if header.is_control() {
                continue;
            }
            // A batch too big to open is left out, not an error for the page.
            let Ok(records) = batch.records(MAX_DECOMPRESSED) else {
                continue;
            };
            // Copied out (cut to what is shown) as they are kept, so the
            // read buffers go with each batch.
            for record in records.flatten().filter(|r| r.offset >= first) {
                if kept.len() == limit {
                    kept.pop_front();
                }
                kept.push_back(Shown {
                    timestamp: record.timestamp,
                    partition,
                    offset: record.offset,
                    json: record_json(partition, &record),
                });
            }
        }
    }
    Ok(kept)
}

fn record_json(partition: i32, record: &Record) -> Value {
    let headers: Vec<Value> = record
        .headers
        .iter()
        .map(|h| {
            json!({
                "key": String::from_utf8_lossy(shown(&h.key)),
                "value": h.value.as_deref().map(|v| base64::encode(shown(v))),
            })
        })
        .collect();
    let value_size = record.value.as_ref().map_or(0, |v| v.len());
    json!({
        "partition": partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": record.key.as_deref().map(|k| base64::encode(shown(k))),
        "value": record.value.as_deref().map(|v| base64::encode(shown(v))),
        "value_size": value_size,
        "value_truncated": value_size > VALUE_SHOWN,
        "headers": headers,
    })
}

/// The part of a key, value or header the page gets.
fn shown(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(VALUE_SHOWN)]
}
