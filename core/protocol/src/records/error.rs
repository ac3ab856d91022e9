//! Why a record batch was refused or could not be read, with the Kafka
//! error code a produce response carries for it.

use thiserror::Error;

use super::header::BatchHeaderError;
use crate::compression::CompressionError;
use crate::error_codes as codes;

#[derive(Debug, Clone, Error)]
pub enum RecordError {
    // --- Framing: the bytes do not split into whole batches (CORRUPT_MESSAGE).
    #[error("record batch is truncated: its length field says {declared} bytes but only {available} are present")]
    Truncated { declared: i64, available: usize },
    #[error("record batch length field says {declared} bytes, less than the 61-byte batch header")]
    LengthTooSmall { declared: i64 },
    #[error("{0} bytes follow the last whole record batch and are not a batch")]
    TrailingBytes(usize),
    #[error("record batch has magic {0}, which no Kafka version writes")]
    InvalidMagic(i8),
    #[error("record batch CRC is {stored:#010x} but its contents hash to {computed:#010x}: the batch was corrupted in transit")]
    CrcMismatch { stored: u32, computed: u32 },

    // --- The batch is well framed but its producer built it wrong (INVALID_RECORD).
    #[error("produce request carries no record batch for this partition")]
    NoBatch,
    #[error("produce requests with version 3 or newer must carry exactly one record batch per partition; found more")]
    MultipleBatches,
    #[error("produce requests with version 3 or newer only carry magic 2 batches; this one has magic {0}")]
    NotMagicV2(i8),
    #[error("the base offset of a produced record batch must be 0, but it is {0}")]
    NonZeroBaseOffset(i64),
    #[error("record batch declares {0} records; a produced batch must hold at least one")]
    InvalidRecordCount(i32),
    #[error("record batch declares {count} records but its last offset delta is {last_offset_delta} (must be count - 1)")]
    OffsetRangeMismatch { last_offset_delta: i32, count: i32 },
    #[error("record batch declares {declared} records but holds {found}")]
    RecordCountMismatch { declared: i32, found: i64 },
    #[error("record {index} has offset delta {offset_delta}; records must carry offset deltas 0, 1, 2, ... in order")]
    OffsetDeltaOutOfOrder { index: i32, offset_delta: i32 },
    #[error("record {index} is malformed: {reason}")]
    MalformedRecord { index: i32, reason: &'static str },
    #[error("clients may not write control batches")]
    ControlBatchFromClient,
    #[error("record batch of producer {producer_id} has invalid base sequence {base_sequence}")]
    InvalidSequence {
        producer_id: i64,
        base_sequence: i32,
    },
    #[error("record {index} has no key, but a compacted topic needs a key on every record")]
    MissingKeyOnCompactedTopic { index: i32 },

    // --- Timestamps (INVALID_TIMESTAMP).
    #[error("record {index} has timestamp {timestamp}, outside the accepted range [{min}, {max}] (message.timestamp.before.max.ms / message.timestamp.after.max.ms); check the producer's clock")]
    TimestampOutOfRange {
        index: i32,
        timestamp: i64,
        min: i64,
        max: i64,
    },
    #[error("producers may not set the LogAppendTime timestamp type; the broker sets it")]
    LogAppendTimeFromProducer { index: i32 },

    // --- Size (MESSAGE_TOO_LARGE).
    #[error("record batch is {size} bytes, larger than the topic's max.message.bytes of {max}")]
    BatchTooLarge { size: usize, max: usize },

    // --- Compression.
    #[error("record batch uses compression codec id {0}, which is not gzip, snappy, lz4 or zstd")]
    UnknownCompression(i16),
    #[error("zstd-compressed batches need produce request version 7 or newer (this one is {0})")]
    ZstdNeedsProduceV7(i16),
    #[error("record batch compression: {0}")]
    Compression(#[from] CompressionError),

    // --- Other.
    #[error("magic {0} batches need a conversion this broker does not do; upgrade the client")]
    LegacyMagicUnsupported(i8),
    #[error("record batch cannot be built: {0}")]
    Build(&'static str),
}

impl RecordError {
    /// The code to put in the partition's produce response.
    pub fn kafka_error_code(&self) -> i16 {
        use RecordError::*;
        match self {
            Truncated { .. }
            | LengthTooSmall { .. }
            | TrailingBytes(_)
            | InvalidMagic(_)
            | CrcMismatch { .. } => codes::CORRUPT_MESSAGE,
            // A batch that would decompress past the limit is refused for its size.
            Compression(CompressionError::OutputTooLarge { .. }) => codes::MESSAGE_TOO_LARGE,
            Compression(_) => codes::CORRUPT_MESSAGE,
            NoBatch
            | MultipleBatches
            | NotMagicV2(_)
            | NonZeroBaseOffset(_)
            | InvalidRecordCount(_)
            | OffsetRangeMismatch { .. }
            | RecordCountMismatch { .. }
            | OffsetDeltaOutOfOrder { .. }
            | MalformedRecord { .. }
            | ControlBatchFromClient
            | InvalidSequence { .. }
            | MissingKeyOnCompactedTopic { .. }
            | Build(_) => codes::INVALID_RECORD,
            TimestampOutOfRange { .. } | LogAppendTimeFromProducer { .. } => {
                codes::INVALID_TIMESTAMP
            }
            BatchTooLarge { .. } => codes::MESSAGE_TOO_LARGE,
            UnknownCompression(_) | ZstdNeedsProduceV7(_) => codes::UNSUPPORTED_COMPRESSION_TYPE,
            LegacyMagicUnsupported(_) => codes::UNSUPPORTED_FOR_MESSAGE_FORMAT,
        }
    }

    /// Whether a client may retry the same request. Kafka treats a corrupt
    /// message as retriable (the corruption may have happened in transit);
    /// every other refusal here would fail again.
    pub fn is_retriable(&self) -> bool {
        codes::is_retriable(self.kafka_error_code())
    }

    /// The index within the batch of the record at fault, for the
    /// `record_errors` of a produce response (v8+).
    pub fn record_index(&self) -> Option<i32> {
        use RecordError::*;
        match self {
            OffsetDeltaOutOfOrder { index, .. }
            | MalformedRecord { index, .. }
            | MissingKeyOnCompactedTopic { index }
            | TimestampOutOfRange { index, .. }
            | LogAppendTimeFromProducer { index } => Some(*index),
            _ => None,
        }
    }
}

impl From<BatchHeaderError> for RecordError {
    fn from(e: BatchHeaderError) -> Self {
        match e {
            BatchHeaderError::TooShort(available) => RecordError::Truncated {
                declared: super::header::BATCH_HEADER_LEN as i64,
                available,
            },
            BatchHeaderError::LengthMismatch {
                declared,
                available,
            } => {
                if declared < super::header::BATCH_HEADER_LEN as i64 {
                    RecordError::LengthTooSmall { declared }
                } else {
                    RecordError::Truncated {
                        declared,
                        available,
                    }
                }
            }
            BatchHeaderError::UnsupportedMagic(magic) => RecordError::NotMagicV2(magic),
            BatchHeaderError::CrcMismatch { stored, computed } => {
                RecordError::CrcMismatch { stored, computed }
            }
        }
    }
}
