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

/// Settings of one partition log. `Default` matches Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        }
    }
}
