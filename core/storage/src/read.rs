//! The fetch path: find the batch that contains the start offset, then
//! return whole batches as file slices. The log lock is held only to pick
//! the segment and the index position; header reads happen outside it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::BytesMut;

use crate::batch_scan::{read_header, BatchInfo, HeaderRead};
use crate::error::{Result, StorageError};
use crate::log::{Log, LogState};

/// A run of bytes in a segment file, ready for `sendfile`/`pread`. The
/// `Arc<File>` keeps the data readable even if retention deletes the
/// segment meanwhile.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    pub position: u64,
    pub len: u32,
}

impl FileSlice {
    /// Appends the slice's bytes to `buf` with `pread`.
    pub fn read_into(&self, buf: &mut BytesMut) -> std::io::Result<()> {
        let start = buf.len();
        buf.resize(start + self.len as usize, 0);
        let result = self.file.read_exact_at(&mut buf[start..], self.position);
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }
}

/// What a fetch gets back from one partition.
#[derive(Debug, Clone)]
pub struct LogReadResult {
    /// Whole batches, in offset order (one slice per segment touched).
    pub slices: Vec<FileSlice>,
    /// Base offset of the first returned batch, if any.
    pub first_batch_offset: Option<i64>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
}

impl LogReadResult {
    pub fn total_len(&self) -> u64 {
        self.slices.iter().map(|s| u64::from(s.len)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// Copies every slice into `buf` (for callers that cannot sendfile).
    pub fn copy_into(&self, buf: &mut BytesMut) -> Result<()> {
        for slice in &self.slices {
            slice
                .read_into(buf)
                .map_err(|e| StorageError::io("read segment slice", "segment file", e))?;
        }
        Ok(())
    }
}

/// Where to start reading, as decided under the lock.
struct ReadPlan {
    file: Arc<File>,
    path: PathBuf,
    /// Position of an index entry at or before the wanted batch.
    start_position: u64,
    /// Valid bytes of the segment when the plan was made.
    end_position: u64,
    /// Where the next segment starts, to continue if this one has no match.
    next_segment: Option<i64>,
}

fn plan(state: &LogState, offset: i64) -> ReadPlan {
    let segment = state.segment_for(offset);
    let start_position = segment
        .relative(offset)
        .and_then(|rel| segment.offset_index.lookup(rel))
        .map_or(0, |e| u64::from(e.position));
    let next_segment = (segment.base_offset != state.active.base_offset)
        .then(|| state.segment_end_offset(segment.base_offset));
    ReadPlan {
        file: segment.log_file(),
        path: segment.log_path().to_path_buf(),
        start_position,
        end_position: segment.size,
        next_segment,
    }
}

/// Finds the first batch whose last offset is >= `offset`, starting at an
/// index position. A position that does not land on a plausible batch
/// (a stale or damaged index) is retried once from the segment start.
fn find_batch(plan: &ReadPlan, offset: i64) -> Result<Option<BatchInfo>> {
    let mut from = plan.start_position;
    loop {
        let mut position = from;
        let mut first = true;
        let found = loop {
            match read_header(&plan.file, position, plan.end_position) {
                HeaderRead::End => break Ok(None),
                HeaderRead::Invalid(reason) => break Err(reason),
                HeaderRead::Batch(b) => {
                    if first && b.base_offset > offset && from > 0 {
                        break Err("index points past the wanted offset".to_string());
                    }
                    first = false;
                    if b.last_offset >= offset {
                        break Ok(Some(b));
                    }
                    position = b.end_position();
                }
            }
        };
        match found {
            Ok(batch) => return Ok(batch),
            Err(reason) if from > 0 => {
                tracing::warn!(segment = %plan.path.display(), position, %reason, "index lookup failed; scanning the segment from its start");
                from = 0;
            }
            Err(reason) => {
                return Err(StorageError::CorruptLog {
                    path: plan.path.clone(),
                    position,
                    reason,
                })
            }
        }
    }
}

impl Log {
    /// Reads whole batches starting with the one that contains
    /// `start_offset`. Stops before `max_bytes` would be exceeded, except
    /// that with `min_one_batch` the first batch is returned whole whatever
    /// its size (KIP-74). Never returns a batch whose last offset is at or
    /// past `max_offset_exclusive` (the high watermark for consumers).
    /// Batches come from a single segment, as in Kafka; the next fetch
    /// continues in the next segment. An offset outside
    /// `[log start, log end]` is `OffsetOutOfRange`; reading at the log end
    /// returns nothing. In a compacted log, an offset that was cleaned
    /// away reads as the first batch after it.
    pub fn read(
        &self,
        start_offset: i64,
        max_bytes: u32,
        max_offset_exclusive: i64,
        min_one_batch: bool,
    ) -> Result<LogReadResult> {
        let mut offset = start_offset;
        loop {
            let (mut result, plan) = {
                let state = self.lock();
                self.ensure_open(&state)?;
                let (log_start, log_end) = (state.log_start_offset, state.log_end_offset());
                if start_offset < log_start || start_offset > log_end {
                    return Err(StorageError::OffsetOutOfRange {
                        offset: start_offset,
                        log_start_offset: log_start,
                        log_end_offset: log_end,
                    });
                }
                let result = LogReadResult {
                    slices: Vec::new(),
                    first_batch_offset: None,
                    log_start_offset: log_start,
                    log_end_offset: log_end,
                    high_watermark: state.high_watermark,
                };
                if offset >= log_end {
                    return Ok(result);
                }
                (result, plan(&state, offset))
            };
            let Some(first) = find_batch(&plan, offset)? else {
                // Nothing at or after the offset in this segment: go on to the next.
                match plan.next_segment {
                    Some(next) if next > offset => {
                        offset = next;
                        continue;
                    }
                    _ => return Ok(result),
                }
            };
            if first.last_offset >= max_offset_exclusive
                || (first.size > max_bytes && !min_one_batch)
            {
                return Ok(result);
            }
            let mut len = u64::from(first.size);
            let mut position = first.end_position();
            while let HeaderRead::Batch(b) = read_header(&plan.file, position, plan.end_position) {
                if b.last_offset >= max_offset_exclusive
                    || len + u64::from(b.size) > u64::from(max_bytes)
                {
                    break;
                }
                len += u64::from(b.size);
                position = b.end_position();
            }
            // len <= max(max_bytes, first batch size), both u32.
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            result.first_batch_offset = Some(first.base_offset);
            result.slices.push(FileSlice {
                file: plan.file,
                position: first.position,
                len,
            });
            return Ok(result);
        }
    }
}
