//! What the cleaner does with one batch (Kafka's `MemoryRecords.filterTo`
//! with the cleaner's retention rule).
//!
//! A record is kept when it has a key, no later record of that key is in
//! the offset map, and it is not a tombstone whose delete horizon has
//! passed. A batch that keeps every record and needs no new horizon is
//! copied byte for byte; otherwise it is rebuilt with the same base and
//! last offset, producer fields, leader epoch, flags and codec. A batch
//! that keeps nothing is dropped, unless it is one of the batches the
//! producer state remembers, which stays as an empty batch.

use std::collections::HashSet;

use strom_protocol::records::{CompressionType, Record, TimestampType};

use super::encode::{encode_batch, encode_empty_batch, BatchFrame, KeptRecord, DELETE_HORIZON_BIT};
use super::offset_map::{decode, is_compactable, OffsetMap, SourceSegment, StoredBatch};
use crate::error::{Result, StorageError};

/// Inputs of the retention rule that are the same for every batch.
pub(crate) struct FilterRules<'a> {
    pub dir: &'a std::path::Path,
    pub map: &'a OffsetMap,
    pub now_ms: i64,
    pub delete_retention_ms: i64,
    /// `(producer id, last offset)` of every batch the producer state
    /// remembers: kept even when empty, so a replay rebuilds the state.
    pub producer_batches: &'a HashSet<(i64, i64)>,
}

/// The cleaned form of a batch.
pub(crate) enum Cleaned {
    /// Unchanged: write the original bytes.
    Original,
    Rebuilt(Vec<u8>),
    Dropped,
}

/// What happened to one batch.
pub(crate) struct Filtered {
    pub cleaned: Cleaned,
    pub records_removed: u64,
    pub tombstones_removed: u64,
    /// Delete horizon of the written batch, if it holds tombstones.
    pub delete_horizon: Option<i64>,
}

fn unchanged(horizon: Option<i64>) -> Filtered {
    Filtered {
        cleaned: Cleaned::Original,
        records_removed: 0,
        tombstones_removed: 0,
        delete_horizon: horizon,
    }
}

fn frame_of(stored: &StoredBatch, flags: i16) -> BatchFrame {
    let info = &stored.info;
    BatchFrame {
        base_offset: info.base_offset,
        last_offset_delta: info.last_offset_delta,
        partition_leader_epoch: info.partition_leader_epoch,
        flags,
        producer_id: info.producer_id,
        producer_epoch: info.producer_epoch,
        base_sequence: info.base_sequence,
    }
}

pub(crate) fn filter_batch(
    rules: &FilterRules<'_>,
    segment: &SourceSegment,
    stored: &StoredBatch,
) -> Result<Filtered> {
    if stored.info.is_control {
        return Ok(unchanged(None));
    }
    let (batch, records) = decode(segment, stored)?;
    if !is_compactable(&stored.info, &batch) {
        return Ok(unchanged(None));
    }
    let header = batch.header();
    let attributes = header.attributes();
    let existing_horizon = (attributes & DELETE_HORIZON_BIT != 0).then(|| header.base_timestamp());
    let horizon_passed = existing_horizon.is_some_and(|h| rules.now_ms >= h);
    let mut kept: Vec<&Record> = Vec::with_capacity(records.len());
    let mut tombstones_removed = 0;
    for record in &records {
        let Some(key) = &record.key else { continue };
        if rules
            .map
            .latest(key)
            .is_some_and(|latest| latest > record.offset)
        {
            continue;
        }
        if record.value.is_none() && horizon_passed {
            tombstones_removed += 1;
            continue;
        }
        kept.push(record);
    }
    let records_removed = (records.len() - kept.len()) as u64;
    let holds_tombstones = kept.iter().any(|r| r.value.is_none());
    if records_removed == 0 && (!holds_tombstones || existing_horizon.is_some()) {
        return Ok(unchanged(existing_horizon.filter(|_| holds_tombstones)));
    }
    let fail = |reason: String| StorageError::Cleaner {
        dir: rules.dir.to_path_buf(),
        offset: stored.info.base_offset,
        reason,
    };
    let info = &stored.info;
    let frame = frame_of(stored, attributes);
    if kept.is_empty() {
        let remembered = info.producer_id >= 0
            && rules
                .producer_batches
                .contains(&(info.producer_id, info.last_offset));
        let cleaned = if remembered {
            Cleaned::Rebuilt(encode_empty_batch(&frame, info.max_timestamp).map_err(fail)?)
        } else {
            Cleaned::Dropped
        };
        return Ok(Filtered {
            cleaned,
            records_removed,
            tombstones_removed,
            delete_horizon: None,
        });
    }
    let delete_horizon = holds_tombstones.then(|| {
        existing_horizon.unwrap_or_else(|| rules.now_ms.saturating_add(rules.delete_retention_ms))
    });
    // Record timestamps as written: base + delta (for LogAppendTime
    // batches the readers ignore them and use the batch max timestamp).
    let base_timestamp = header.base_timestamp();
    let kept: Vec<KeptRecord> = kept
        .into_iter()
        .map(|r| KeptRecord {
            offset: r.offset,
            timestamp: base_timestamp.wrapping_add(r.timestamp_delta),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|h| (h.key.clone(), h.value.clone()))
                .collect(),
        })
        .collect();
    let max_timestamp = match header.timestamp_type() {
        TimestampType::LogAppendTime => header.max_timestamp(),
        TimestampType::CreateTime => kept.iter().map(|r| r.timestamp).max().unwrap_or(-1),
    };
    let codec = header.compression().unwrap_or(CompressionType::None);
    let bytes = encode_batch(&frame, codec, &kept, max_timestamp, delete_horizon).map_err(fail)?;
    Ok(Filtered {
        cleaned: Cleaned::Rebuilt(bytes),
        records_removed,
        tombstones_removed,
        delete_horizon,
    })
}
