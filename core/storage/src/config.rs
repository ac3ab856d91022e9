//! Per-partition log settings, named after Kafka's topic configs.

/// How appends reach the disk. See the crate docs for the guarantee of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// `wait_durable` fdatasyncs (group commit): an acknowledged append
    /// survives power loss.
    Fsync,
    /// Data is left to the OS page cache, like Kafka's default: an append
    /// survives a broker crash but not an OS crash or power loss.
    PageCache,
}

/// `cleanup.policy`: what happens to old data. Kafka's `compact,delete`
/// is both flags set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// `delete`: `retention.ms` and `retention.bytes` remove old segments.
    pub delete: bool,
    /// `compact`: [`Log::compact`](crate::Log::compact) keeps only the
    /// latest record of each key.
    pub compact: bool,
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        CleanupPolicy {
            delete: true,
            compact: false,
        }
    }
}

/// Settings of one partition log. `Default` matches Kafka's defaults.
/// (Not `Eq`: `min_cleanable_dirty_ratio` is a float.)
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when an incoming batch's max timestamp is this much
    /// later than the max timestamp of the active segment's first batch.
    pub segment_ms: i64,
    /// `retention.ms`: delete segments whose largest timestamp is older; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete old segments while the log is larger; -1 = no limit.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: bytes of log between two offset index entries.
    pub index_interval_bytes: u64,
    /// `segment.index.bytes`: maximum size of an index file; a full index rolls the segment.
    pub segment_index_bytes: u64,
    /// `producer.id.expiration.ms`: forget idle producers after this long.
    pub producer_id_expiration_ms: i64,
    pub flush: FlushPolicy,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long a tombstone stays readable after the
    /// cleaning pass that first saw it (consumers get that long to see the delete).
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: clean only when the not-yet-cleaned part
    /// is at least this fraction of the cleanable log.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: a segment whose newest record is younger
    /// than this is not cleaned yet.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a dirty segment whose first batch is older
    /// than this is cleaned whatever the dirty ratio.
    pub max_compaction_lag_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        const DAY_MS: i64 = 24 * 60 * 60 * 1000;
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * DAY_MS,
            retention_ms: 7 * DAY_MS,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            segment_index_bytes: 10 * 1024 * 1024,
            producer_id_expiration_ms: DAY_MS,
            flush: FlushPolicy::Fsync,
            cleanup_policy: CleanupPolicy::default(),
            delete_retention_ms: DAY_MS,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}
