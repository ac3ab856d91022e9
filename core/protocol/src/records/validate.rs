//! The checks Kafka's broker makes on a partition's records before it
//! appends them: `ProduceRequest.validateRecords` (framing, one batch,
//! magic 2), `UnifiedLog.analyzeAndValidateRecords` (base offset 0, size,
//! CRC) and `LogValidator` (offset range and count, control batches,
//! sequences, keys on compacted topics, timestamps).
//!
//! Where Kafka is lenient in ways our opaque-bytes storage cannot afford, we
//! are stricter:
//! - bytes after the batch (Kafka trims a trailing partial batch silently)
//!   are CORRUPT_MESSAGE;
//! - records must carry offset deltas 0..n-1 (Kafka rebuilds a compressed
//!   batch whose inner offsets are off; we never rewrite records);
//! - decompression is bounded ([`ValidationOptions::max_decompressed_bytes`]).
//!
//! The walk over records reads varints in place and allocates nothing for
//! uncompressed batches; compressed batches are decompressed once.

use std::ops::Range;

use super::batch::peek_frame;
use super::error::RecordError;
use super::header::{BatchHeader, CompressionType, TimestampType, BATCH_HEADER_LEN, MAGIC_V2};
use super::record::{count_records, read_raw_record};
use super::varint::Cursor;
use crate::compression;

/// Kafka's default `max.message.bytes` (1 MiB + the 12-byte log overhead).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_048_588;
/// Default of `message.timestamp.after.max.ms` in current Kafka: one hour.
pub const DEFAULT_TIMESTAMP_AFTER_MAX_MS: i64 = 3_600_000;
/// Default ceiling on a compressed batch's decompressed records. Kafka has
/// none; a legitimate producer batch (at most `max.message.bytes`
/// compressed) rarely expands beyond a few tens of MiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 128 * 1024 * 1024;
/// Produce v7 introduced zstd; v3 made "one v2 batch per partition" the rule.
const FIRST_PRODUCE_VERSION_WITH_ZSTD: i16 = 7;
const FIRST_PRODUCE_VERSION_V2_ONLY: i16 = 3;
/// Timestamp Kafka uses for "no timestamp".
const NO_TIMESTAMP: i64 = -1;

/// The topic configuration and request context the checks depend on.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// Version of the Produce request that carried the records.
    pub produce_version: i16,
    /// The topic's `max.message.bytes`: the largest batch, in bytes on the wire.
    pub max_message_bytes: usize,
    /// The broker's clock, in ms since the epoch.
    pub now_ms: i64,
    /// The topic's `message.timestamp.type`. With LogAppendTime the broker
    /// overwrites timestamps, so they are not range-checked.
    pub timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`: how far in the past a CreateTime
    /// timestamp may lie (default: unlimited).
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far in the future it may lie.
    pub timestamp_after_max_ms: i64,
    /// Whether the topic's `cleanup.policy` includes `compact`: every record
    /// then needs a key.
    pub compacted_topic: bool,
    /// Ceiling on a compressed batch's decompressed records section.
    pub max_decompressed_bytes: usize,
}

impl ValidationOptions {
    /// Kafka's defaults, for a Produce request of the latest version.
    pub fn new(now_ms: i64) -> Self {
        Self {
            produce_version: i16::MAX,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            now_ms,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: DEFAULT_TIMESTAMP_AFTER_MAX_MS,
            compacted_topic: false,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// What the broker needs to append a validated batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedBatch {
    /// Where the batch lies in the validated bytes.
    pub byte_range: Range<usize>,
    /// Records in the batch: the number of offsets to assign.
    pub record_count: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub is_transactional: bool,
    pub compression: CompressionType,
    /// The largest record timestamp (-1 if none has one). Kafka writes this
    /// into the header of a CreateTime batch; compare with the header's
    /// max timestamp and rewrite if they differ.
    pub max_timestamp: i64,
}

/// Validates the records field of one partition of a Produce request.
/// Returns the batches (exactly one, as Kafka requires for magic 2) or the
/// first problem found, carrying its Kafka error code.
pub fn validate_produce_batches(
    bytes: &[u8],
    opts: &ValidationOptions,
) -> Result<Vec<ValidatedBatch>, RecordError> {
    let range = single_batch_range(bytes, opts.produce_version)?;
    let batch = &bytes[range.clone()];
    let header = BatchHeader::from_checked(batch);
    let validated = validate_batch(batch, &header, opts)?;
    Ok(vec![ValidatedBatch {
        byte_range: range,
        ..validated
    }])
}

/// Frames `bytes` as exactly one magic-2 batch.
fn single_batch_range(bytes: &[u8], produce_version: i16) -> Result<Range<usize>, RecordError> {
    if bytes.is_empty() {
        return Err(RecordError::NoBatch);
    }
    let Some(frame) = peek_frame(bytes)? else {
        return Err(truncated(bytes));
    };
    if frame.magic != MAGIC_V2 {
        return Err(if produce_version >= FIRST_PRODUCE_VERSION_V2_ONLY {
            RecordError::NotMagicV2(frame.magic)
        } else {
            RecordError::LegacyMagicUnsupported(frame.magic)
        });
    }
    let rest = &bytes[frame.total_len..];
    if !rest.is_empty() {
        // A second whole batch is a client error; anything else is junk.
        return Err(match peek_frame(rest) {
            Ok(Some(_)) => RecordError::MultipleBatches,
            _ => RecordError::TrailingBytes(rest.len()),
        });
    }
    Ok(0..frame.total_len)
}

fn truncated(bytes: &[u8]) -> RecordError {
    let declared = match bytes.get(8..12) {
        Some(len) => i64::from(i32::from_be_bytes([len[0], len[1], len[2], len[3]])) + 12,
        None => BATCH_HEADER_LEN as i64,
    };
    RecordError::Truncated {
        declared,
        available: bytes.len(),
    }
}

/// The header and record checks, in Kafka's order.
fn validate_batch(
    batch: &[u8],
    header: &BatchHeader<'_>,
    opts: &ValidationOptions,
) -> Result<ValidatedBatch, RecordError> {
    if header.base_offset() != 0 {
        return Err(RecordError::NonZeroBaseOffset(header.base_offset()));
    }
    if batch.len() > opts.max_message_bytes {
        return Err(RecordError::BatchTooLarge {
            size: batch.len(),
            max: opts.max_message_bytes,
        });
    }
    // The CRC first, so that attributes garbled in transit read as a
    // (retriable) corrupt message rather than as an unknown codec.
    header.verify_crc()?;
    let attributes = header.attributes();
    let compression = CompressionType::from_attributes(attributes)
        .ok_or(RecordError::UnknownCompression(attributes & 0x07))?;
    if compression == CompressionType::Zstd
        && opts.produce_version < FIRST_PRODUCE_VERSION_WITH_ZSTD
    {
        return Err(RecordError::ZstdNeedsProduceV7(opts.produce_version));
    }
    check_batch_header(header)?;

    let section = &batch[BATCH_HEADER_LEN..];
    let max_timestamp = match compression {
        CompressionType::None => walk_records(section, header, opts)?,
        codec => {
            let records = compression::decompress(codec, section, opts.max_decompressed_bytes)?;
            walk_records(&records, header, opts)?
        }
    };

    Ok(ValidatedBatch {
        byte_range: 0..batch.len(),
        record_count: header.record_count(),
        producer_id: header.producer_id(),
        producer_epoch: header.producer_epoch(),
        base_sequence: header.base_sequence(),
        is_transactional: header.is_transactional(),
        compression,
        max_timestamp,
    })
}

/// Kafka's `LogValidator.validateBatch` for a client's append.
fn check_batch_header(header: &BatchHeader<'_>) -> Result<(), RecordError> {
    let count = header.record_count();
    let last_offset_delta = header.last_offset_delta();
    let count_from_offsets = i64::from(last_offset_delta) + 1;
    if count_from_offsets <= 0 {
        return Err(RecordError::OffsetRangeMismatch {
            last_offset_delta,
            count,
        });
    }
    if count <= 0 {
        return Err(RecordError::InvalidRecordCount(count));
    }
    if count_from_offsets != i64::from(count) {
        return Err(RecordError::OffsetRangeMismatch {
            last_offset_delta,
            count,
        });
    }
    if header.is_control() {
        return Err(RecordError::ControlBatchFromClient);
    }
    if header.producer_id() >= 0 && header.base_sequence() < 0 {
        return Err(RecordError::InvalidSequence {
            producer_id: header.producer_id(),
            base_sequence: header.base_sequence(),
        });
    }
    Ok(())
}

/// Walks the records section in place: structure, count, offset deltas,
/// keys and timestamps. Returns the largest record timestamp.
fn walk_records(
    section: &[u8],
    header: &BatchHeader<'_>,
    opts: &ValidationOptions,
) -> Result<i64, RecordError> {
    let declared = header.record_count();
    let batch_is_log_append_time = header.timestamp_type() == TimestampType::LogAppendTime;
    let base_timestamp = header.base_timestamp();
    let mut cursor = Cursor::new(section);
    let mut max_timestamp = NO_TIMESTAMP;

    for index in 0..declared {
        if cursor.is_empty() {
            return Err(RecordError::RecordCountMismatch {
                declared,
                found: i64::from(index),
            });
        }
        let record = read_raw_record(&mut cursor)
            .map_err(|reason| RecordError::MalformedRecord { index, reason })?;
        if record.offset_delta != index {
            return Err(RecordError::OffsetDeltaOutOfOrder {
                index,
                offset_delta: record.offset_delta,
            });
        }
        if opts.compacted_topic && record.key.is_none() {
            return Err(RecordError::MissingKeyOnCompactedTopic { index });
        }
        // Kafka reads every record of a LogAppendTime batch as the batch's
        // max timestamp.
        let timestamp = if batch_is_log_append_time {
            header.max_timestamp()
        } else {
            base_timestamp.wrapping_add(record.timestamp_delta)
        };
        check_timestamp(index, timestamp, batch_is_log_append_time, opts)?;
        max_timestamp = max_timestamp.max(timestamp);
    }

    if !cursor.is_empty() {
        let rest = &section[cursor.position()..];
        return Err(RecordError::RecordCountMismatch {
            declared,
            found: i64::from(declared) + count_records(rest),
        });
    }
    Ok(max_timestamp)
}

/// Kafka's `LogValidator.validateTimestamp` (KIP-937 bounds).
fn check_timestamp(
    index: i32,
    timestamp: i64,
    batch_is_log_append_time: bool,
    opts: &ValidationOptions,
) -> Result<(), RecordError> {
    if opts.timestamp_type == TimestampType::CreateTime && timestamp != NO_TIMESTAMP {
        // Wide arithmetic: Java's long subtraction would wrap for extreme
        // timestamps and let them through.
        let behind = i128::from(opts.now_ms) - i128::from(timestamp);
        if behind > i128::from(opts.timestamp_before_max_ms)
            || -behind > i128::from(opts.timestamp_after_max_ms)
        {
            return Err(RecordError::TimestampOutOfRange {
                index,
                timestamp,
                min: opts.now_ms.saturating_sub(opts.timestamp_before_max_ms),
                max: opts.now_ms.saturating_add(opts.timestamp_after_max_ms),
            });
        }
        return Ok(());
    }
    if batch_is_log_append_time {
        return Err(RecordError::LogAppendTimeFromProducer { index });
    }
    Ok(())
}
