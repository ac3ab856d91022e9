//! Timestamp lookups for ListOffsets.
//!
//! As in Kafka, the answer is an exact record: the batches that may hold it
//! are found by their max timestamps (and the time index), then that
//! batch's records are read, decompressing where needed. A batch that
//! cannot be decoded is logged and answered at batch granularity (its
//! first offset and max timestamp) rather than failing the request.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use crate::batch_scan::{find_record, read_header, BatchInfo, HeaderRead};
use crate::error::Result;
use crate::log::{Log, LogState};
use crate::segment::{Segment, NO_TIMESTAMP};

struct ScanPlan {
    file: Arc<File>,
    path: PathBuf,
    start_position: u64,
    end_position: u64,
}

impl ScanPlan {
    /// [`find_record`] in this plan's file; `None` (logged) when the batch
    /// cannot be decoded.
    fn find_record(
        &self,
        batch: &BatchInfo,
        min_offset: i64,
        wanted: impl Fn(i64) -> bool,
    ) -> Option<Option<(i64, i64)>> {
        match find_record(&self.file, batch, min_offset, wanted) {
            Ok(found) => Some(found),
            Err(reason) => {
                tracing::warn!(
                    file = %self.path.display(),
                    position = batch.position,
                    base_offset = batch.base_offset,
                    "timestamp lookup cannot read a batch's records ({reason}); answering at batch granularity"
                );
                None
            }
        }
    }
}

fn position_of(segment: &Segment, offset: i64) -> u64 {
    segment
        .relative(offset)
        .and_then(|rel| segment.offset_index.lookup(rel))
        .map_or(0, |e| u64::from(e.position))
}

fn scan(
    plan: &ScanPlan,
    mut visit: impl FnMut(&BatchInfo) -> Option<(i64, i64)>,
) -> Option<(i64, i64)> {
    let mut position = plan.start_position;
    while let HeaderRead::Batch(batch) = read_header(&plan.file, position, plan.end_position) {
        if let Some(found) = visit(&batch) {
            return Some(found);
        }
        position = batch.end_position();
    }
    None
}

fn timestamp_plans(state: &LogState, target: i64) -> Vec<ScanPlan> {
    state
        .segments()
        .filter(|s| s.max_timestamp != NO_TIMESTAMP && s.max_timestamp >= target)
        .map(|s| {
            let start_offset = s
                .time_index
                .lookup_before(target)
                .map_or(s.base_offset, |e| {
                    s.base_offset.saturating_add(i64::from(e.relative_offset))
                });
            ScanPlan {
                file: s.log_file(),
                path: s.log_path().to_path_buf(),
                start_position: position_of(s, start_offset),
                end_position: s.size,
            }
        })
        .collect()
}

impl Log {
    /// ListOffsets by timestamp: the first offset at or after the log start
    /// whose record timestamp is >= `timestamp`, with that timestamp. `None`
    /// when every record is older. See the module docs for precision.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let (log_start, plans) = {
            let state = self.lock();
            self.ensure_open(&state)?;
            (state.log_start_offset, timestamp_plans(&state, timestamp))
        };
        for plan in &plans {
            let found = scan(plan, |batch| {
                if batch.last_offset < log_start || batch.max_timestamp < timestamp {
                    return None;
                }
                // None here means only records below the log start matched.
                plan.find_record(batch, log_start, |t| t >= timestamp)
                    .unwrap_or(Some((
                        batch.base_offset.max(log_start),
                        batch.max_timestamp,
                    )))
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP (KIP-734): the offset of the first record
    /// carrying the largest timestamp in the log, with that timestamp.
    /// `None` for an empty log.
    pub fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>> {
        let (plan, batch_offset, max_ts) = {
            let state = self.lock();
            self.ensure_open(&state)?;
            let mut best: Option<&Segment> = None;
            for s in state.segments().filter(|s| !s.is_empty()) {
                if best.is_none_or(|b| s.max_timestamp > b.max_timestamp) {
                    best = Some(s);
                }
            }
            let Some(s) = best else { return Ok(None) };
            let plan = ScanPlan {
                file: s.log_file(),
                path: s.log_path().to_path_buf(),
                start_position: position_of(s, s.offset_of_max_timestamp),
                end_position: s.size,
            };
            (plan, s.offset_of_max_timestamp, s.max_timestamp)
        };
        let found = scan(&plan, |batch| {
            if batch.base_offset < batch_offset {
                return None;
            }
            if batch.base_offset > batch_offset {
                return Some((batch_offset, max_ts));
            }
            let exact = plan.find_record(batch, batch.base_offset, |t| t == max_ts);
            Some(exact.flatten().unwrap_or((batch.base_offset, max_ts)))
        });
        Ok(Some(found.unwrap_or((batch_offset, max_ts))))
    }
}
