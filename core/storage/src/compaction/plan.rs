//! Deciding whether a log needs cleaning and which segments a pass reads,
//! under the log lock (cheap: in-memory facts only).
//!
//! As in Kafka's `LogCleanerManager`: the log splits into a clean part
//! (below the clean offset from the cleaner checkpoint), a cleanable dirty
//! part, and an uncleanable tail. The tail starts at the first segment
//! that is the active one, is not entirely below the high watermark and
//! the recovery point (data that may still be truncated or is not yet on
//! disk), or is younger than `min.compaction.lag.ms`. The dirty ratio is
//! dirty bytes / (clean + dirty bytes), segment by segment.

use std::collections::HashSet;

use super::offset_map::SourceSegment;
use crate::config::LogConfig;
use crate::log::LogState;
use crate::segment::{Segment, NO_TIMESTAMP};

pub(crate) struct CleaningPlan {
    /// Every segment a pass may rewrite, oldest first: the clean part, then
    /// the cleanable dirty part.
    pub sources: Vec<SourceSegment>,
    /// Index in `sources` of the first dirty segment (`sources.len()` when
    /// the pass only drops expired tombstones).
    pub first_dirty: usize,
    pub dirty_ratio: f64,
    /// `(producer id, last offset)` of the batches the producer state
    /// remembers: kept (possibly empty) so a replay finds them.
    pub producer_batches: HashSet<(i64, i64)>,
    pub config: LogConfig,
}

pub(crate) enum Plan {
    Skip { dirty_ratio: f64 },
    Clean(CleaningPlan),
}

fn old_enough(segment: &Segment, config: &LogConfig, now_ms: i64) -> bool {
    // Kafka's rule, which only applies with a positive lag: the segment's
    // newest record must be at least the lag old.
    config.min_compaction_lag_ms <= 0
        || segment.max_timestamp == NO_TIMESTAMP
        || now_ms.saturating_sub(segment.max_timestamp) >= config.min_compaction_lag_ms
}

fn overdue(segment: &Segment, config: &LogConfig, now_ms: i64) -> bool {
    segment
        .first_batch_timestamp
        .is_some_and(|first| now_ms.saturating_sub(first) > config.max_compaction_lag_ms)
}

pub(crate) fn plan(state: &LogState, now_ms: i64) -> Plan {
    let config = &state.config;
    if !config.cleanup_policy.compact {
        return Plan::Skip { dirty_ratio: 0.0 };
    }
    let limit = state
        .high_watermark
        .min(state.recovery_point)
        .min(state.active.base_offset);
    let clean_below = state.clean_offset.max(state.log_start_offset);
    let mut sources = Vec::new();
    let mut first_dirty = None;
    let (mut clean_bytes, mut dirty_bytes) = (0u64, 0u64);
    let mut forced = false;
    for (&base, segment) in &state.sealed {
        let end = state.segment_end_offset(base);
        if end > limit {
            break;
        }
        if end <= clean_below {
            clean_bytes += segment.size;
        } else {
            if !old_enough(segment, config, now_ms) {
                break;
            }
            first_dirty.get_or_insert(sources.len());
            dirty_bytes += segment.size;
            forced |= overdue(segment, config, now_ms);
        }
        sources.push(SourceSegment {
            base_offset: base,
            end_offset: end,
            file: segment.log_file(),
            path: segment.log_path().to_path_buf(),
            size: segment.size,
        });
    }
    let total = clean_bytes + dirty_bytes;
    let dirty_ratio = if total == 0 {
        0.0
    } else {
        dirty_bytes as f64 / total as f64
    };
    let tombstones_due = state
        .earliest_delete_horizon
        .is_some_and(|horizon| now_ms >= horizon);
    let worth_it = dirty_bytes > 0 && (dirty_ratio >= config.min_cleanable_dirty_ratio || forced);
    if sources.is_empty() || !(worth_it || tombstones_due) {
        return Plan::Skip { dirty_ratio };
    }
    Plan::Clean(CleaningPlan {
        first_dirty: first_dirty.unwrap_or(sources.len()),
        sources,
        dirty_ratio,
        producer_batches: state.producers.remembered_batches(),
        config: config.clone(),
    })
}
