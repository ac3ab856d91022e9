//! The one error type of the storage crate. Every variant carries the context
//! an operator needs (which file, which offset) and maps to a Kafka error code
//! so the broker can answer clients without a second translation table.

use std::io;
use std::path::PathBuf;

use strom_protocol::error_codes;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// A file operation failed. The broker should treat the log directory as
    /// suspect (Kafka takes it offline).
    #[error(
        "{op} failed on {path}: {source} (check the disk and the permissions of the log directory)"
    )]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("offset {offset} is outside the log range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },

    /// The bytes handed to `append` are not a sequence of well-framed v2 batches.
    #[error("record batch at byte {position} of the append is invalid: {reason}")]
    CorruptBatch { position: usize, reason: String },

    /// The append cannot be stored as asked (e.g. empty, or spans more offsets
    /// than a segment can index).
    #[error("invalid append: {reason}")]
    InvalidAppend { reason: String },

    /// A follower append whose offsets do not follow the log (Kafka's
    /// UnexpectedAppendOffset / OffsetsOutOfOrder): the follower fetched
    /// from the wrong offset, or must truncate first. Nothing was written.
    #[error(
        "replicated batch with offsets {base_offset}..={last_offset} must start after offset {after}: {reason}"
    )]
    OffsetOutOfOrder {
        base_offset: i64,
        last_offset: i64,
        after: i64,
        reason: String,
    },

    #[error(
        "out of order sequence for producer {producer_id} (epoch {producer_epoch}): \
         expected {expected}, received first sequence {received}"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        producer_epoch: i16,
        /// What the log expected: the next sequence, or 0 for a new epoch.
        expected: i32,
        received: i32,
    },

    #[error(
        "producer {producer_id} is fenced: its epoch {received} is older than the current epoch {current}"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        current: i16,
        received: i16,
    },

    /// A stored batch that was valid when written no longer reads back.
    #[error("corrupt data in {path} at byte {position}: {reason}")]
    CorruptLog {
        path: PathBuf,
        position: u64,
        reason: String,
    },

    #[error("the log in {dir} is closed")]
    Closed { dir: PathBuf },

    /// An fsync failed in this log's data directory: it takes no writes
    /// until the broker restarts (see `DirHealth`).
    #[error("the data directory of {dir} failed ({reason}); writes are refused until restart")]
    DirFailed { dir: PathBuf, reason: String },

    /// The cleaner could not rebuild a batch it read back (for example the
    /// codec failed). Nothing was swapped in; the log is unchanged.
    #[error("log cleaning in {dir} failed at offset {offset}: {reason}")]
    Cleaner {
        dir: PathBuf,
        offset: i64,
        reason: String,
    },
}

impl StorageError {
    /// The disk (or the user's quota) is full: the operation may succeed
    /// once space returns, and nothing written so far is at risk.
    pub fn is_disk_full(&self) -> bool {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        match self {
            StorageError::Io { source, .. } => {
                source.kind() == io::ErrorKind::StorageFull
                    || matches!(source.raw_os_error(), Some(ENOSPC | EDQUOT))
            }
            _ => false,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The Kafka error code to put in a response.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            StorageError::Io { .. }
            | StorageError::Closed { .. }
            | StorageError::DirFailed { .. }
            | StorageError::CorruptLog { .. }
            | StorageError::Cleaner { .. } => error_codes::KAFKA_STORAGE_ERROR,
            StorageError::OffsetOutOfRange { .. } => error_codes::OFFSET_OUT_OF_RANGE,
            StorageError::CorruptBatch { .. } => error_codes::CORRUPT_MESSAGE,
            StorageError::InvalidAppend { .. } => error_codes::INVALID_RECORD,
            // Kafka has no code for it: the replica fetcher's own error.
            StorageError::OffsetOutOfOrder { .. } => error_codes::UNKNOWN_SERVER_ERROR,
            StorageError::OutOfOrderSequence { .. } => error_codes::OUT_OF_ORDER_SEQUENCE_NUMBER,
            StorageError::InvalidProducerEpoch { .. } => error_codes::INVALID_PRODUCER_EPOCH,
        }
    }

    /// Whether a client may retry the same request, as Kafka classifies the code.
    pub fn is_retriable(&self) -> bool {
        error_codes::is_retriable(self.kafka_error_code())
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
