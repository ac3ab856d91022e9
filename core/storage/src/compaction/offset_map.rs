//! The cleaner's key → latest offset map (Kafka's `OffsetMap`), built over
//! the dirty part of the log, and the batch walk shared with the rewrite.
//!
//! Unlike Kafka's map, which stores a 16-byte hash of each key and accepts
//! the (tiny) chance that a collision deletes a live record, this one keeps
//! whole keys: no collision can lose data. Its memory is bounded instead by
//! [`MAX_MAP_BYTES`]: when the map is full, the pass cleans only up to the
//! last whole segment that fit, and the next pass continues from there.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use strom_protocol::records::{Record, RecordBatch, DEFAULT_MAX_DECOMPRESSED_BYTES};

use crate::batch_scan::{read_header, BatchInfo, HeaderRead};
use crate::error::{Result, StorageError};

/// Memory budget of one map (keys plus per-entry overhead).
pub(crate) const MAX_MAP_BYTES: usize = 64 * 1024 * 1024;
/// Rough per-entry cost of the hash map beyond the key bytes.
const ENTRY_OVERHEAD: usize = 48;

/// A closed segment as the cleaner reads it: its file stays readable even
/// if the log drops the segment meanwhile.
#[derive(Debug, Clone)]
pub(crate) struct SourceSegment {
    pub base_offset: i64,
    /// The next segment's base: offsets of this segment are below it.
    pub end_offset: i64,
    pub file: Arc<File>,
    pub path: PathBuf,
    pub size: u64,
}

#[derive(Debug, Default)]
pub(crate) struct OffsetMap {
    latest: HashMap<Box<[u8]>, i64>,
    bytes: usize,
}

impl OffsetMap {
    pub fn latest(&self, key: &[u8]) -> Option<i64> {
        self.latest.get(key).copied()
    }

    fn put(&mut self, key: &[u8], offset: i64) {
        match self.latest.get_mut(key) {
            Some(slot) => *slot = (*slot).max(offset),
            None => {
                self.bytes += key.len() + ENTRY_OVERHEAD;
                self.latest.insert(key.into(), offset);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.latest.len()
    }
}

/// One batch read back: where it is, and its bytes.
pub(crate) struct StoredBatch {
    pub info: BatchInfo,
    pub bytes: Bytes,
}

fn corrupt(path: &Path, position: u64, reason: impl ToString) -> StorageError {
    StorageError::CorruptLog {
        path: path.to_path_buf(),
        position,
        reason: reason.to_string(),
    }
}

/// Calls `visit` with every batch of a segment, in order. Batch sizes are
/// checked against the segment size before anything is allocated.
pub(crate) fn for_each_batch(
    segment: &SourceSegment,
    mut visit: impl FnMut(StoredBatch) -> Result<()>,
) -> Result<()> {
    let mut position = 0;
    loop {
        let info = match read_header(&segment.file, position, segment.size) {
            HeaderRead::End => return Ok(()),
            HeaderRead::Invalid(reason) => return Err(corrupt(&segment.path, position, reason)),
            HeaderRead::Batch(info) => info,
        };
        let mut buf = vec![0u8; info.size as usize];
        segment
            .file
            .read_exact_at(&mut buf, position)
            .map_err(|e| StorageError::io("read segment for cleaning", &segment.path, e))?;
        position = info.end_position();
        visit(StoredBatch {
            info,
            bytes: Bytes::from(buf),
        })?;
    }
}

/// Whether the cleaner may look inside a batch: control batches and
/// transactional data are kept exactly as they are (this crate keeps no
/// transaction index to tell committed data from aborted).
pub(crate) fn is_compactable(info: &BatchInfo, batch: &RecordBatch) -> bool {
    !info.is_control && !batch.header().is_transactional()
}

/// Decodes a batch's records after checking its CRC.
pub(crate) fn decode(
    segment: &SourceSegment,
    stored: &StoredBatch,
) -> Result<(RecordBatch, Vec<Record>)> {
    let at = stored.info.position;
    let batch =
        RecordBatch::new(stored.bytes.clone()).map_err(|e| corrupt(&segment.path, at, e))?;
    batch
        .verify_crc()
        .map_err(|e| corrupt(&segment.path, at, e))?;
    let records = batch
        .records(DEFAULT_MAX_DECOMPRESSED_BYTES)
        .map_err(|e| corrupt(&segment.path, at, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| corrupt(&segment.path, at, e))?;
    Ok((batch, records))
}

/// Builds the map over `dirty` (consecutive segments, oldest first).
/// Returns the map and the offset it covers up to: the end of the last
/// segment that fit in the memory budget (at least one segment is taken).
pub(crate) fn build(dirty: &[SourceSegment]) -> Result<(OffsetMap, i64)> {
    let mut map = OffsetMap::default();
    let mut end = dirty.first().map_or(0, |s| s.base_offset);
    for segment in dirty {
        if map.bytes >= MAX_MAP_BYTES && map.len() > 0 {
            break;
        }
        for_each_batch(segment, |stored| {
            if stored.info.is_control {
                return Ok(());
            }
            let (batch, records) = decode(segment, &stored)?;
            if !is_compactable(&stored.info, &batch) {
                return Ok(());
            }
            for record in &records {
                if let Some(key) = &record.key {
                    map.put(key, record.offset);
                }
            }
            Ok(())
        })?;
        end = segment.end_offset;
    }
    Ok((map, end))
}
