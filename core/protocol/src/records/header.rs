//! The fixed 61-byte header of a v2 record batch.
//!
//! Layout (big-endian), as Kafka's `DefaultRecordBatch` defines it:
//!
//! | offset | field                  | type  |
//! |-------:|------------------------|-------|
//! | 0      | base offset            | int64 |
//! | 8      | batch length           | int32 | (bytes after this field)
//! | 12     | partition leader epoch | int32 |
//! | 16     | magic                  | int8  |
//! | 17     | crc (CRC32C)           | uint32| (covers offset 21 to the end)
//! | 21     | attributes             | int16 |
//! | 23     | last offset delta      | int32 |
//! | 27     | base timestamp         | int64 |
//! | 35     | max timestamp          | int64 |
//! | 43     | producer id            | int64 |
//! | 51     | producer epoch         | int16 |
//! | 53     | base sequence          | int32 |
//! | 57     | record count           | int32 |
//!
//! Base offset, length, leader epoch and magic are outside the CRC, which is
//! why a broker can assign offsets and stamp the leader epoch without
//! recomputing it. The max timestamp is inside, so LogAppendTime needs a new CRC.

use thiserror::Error;

/// Bytes before the batch length field ends: base offset + length.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the whole fixed header.
pub const BATCH_HEADER_LEN: usize = 61;
pub const MAGIC_V2: i8 = 2;
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;
pub const NO_SEQUENCE: i32 = -1;

const BASE_OFFSET: usize = 0;
const LENGTH: usize = 8;
const LEADER_EPOCH: usize = 12;
pub(crate) const MAGIC: usize = 16;
pub(crate) const CRC: usize = 17;
pub(crate) const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 0x08;
pub(crate) const TRANSACTIONAL_BIT: i16 = 0x10;
pub(crate) const CONTROL_BIT: i16 = 0x20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl CompressionType {
    pub fn from_attributes(attributes: i16) -> Option<Self> {
        match attributes & COMPRESSION_MASK {
            0 => Some(Self::None),
            1 => Some(Self::Gzip),
            2 => Some(Self::Snappy),
            3 => Some(Self::Lz4),
            4 => Some(Self::Zstd),
            _ => None,
        }
    }

    pub fn id(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Gzip => 1,
            Self::Snappy => 2,
            Self::Lz4 => 3,
            Self::Zstd => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchHeaderError {
    #[error("record batch is {0} bytes, shorter than the 61-byte header")]
    TooShort(usize),
    #[error("record batch length field says {declared} bytes but {available} are present")]
    LengthMismatch { declared: i64, available: usize },
    #[error("record batch has magic {0}; only magic 2 is supported")]
    UnsupportedMagic(i8),
    #[error("record batch CRC is {stored:#010x} but its contents hash to {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
}

/// A read-only view of a batch header over a byte slice that holds at least
/// the header. Constructed with [`BatchHeader::parse`], which checks nothing
/// but the size; use [`BatchHeader::validate_frame`] and
/// [`BatchHeader::verify_crc`] for the rest.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader<'a> {
    bytes: &'a [u8],
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl<'a> BatchHeader<'a> {
    /// A view of the header at the start of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BatchHeaderError> {
        if bytes.len() < BATCH_HEADER_LEN {
            return Err(BatchHeaderError::TooShort(bytes.len()));
        }
        Ok(Self { bytes })
    }

    /// A view over bytes the caller has already checked to hold at least
    /// [`BATCH_HEADER_LEN`] bytes.
    pub(crate) fn from_checked(bytes: &'a [u8]) -> Self {
        debug_assert!(bytes.len() >= BATCH_HEADER_LEN);
        Self { bytes }
    }

    /// Total size of the batch on the wire: the length field plus the 12
    /// bytes before it. Negative or absurd lengths come back as-is (as i64)
    /// so callers can reject them.
    pub fn total_len(&self) -> i64 {
        i64::from(self.batch_length()) + LOG_OVERHEAD as i64
    }

    /// Checks that magic is 2 and that the length field is at least a header
    /// and at most `available` bytes.
    pub fn validate_frame(&self, available: usize) -> Result<usize, BatchHeaderError> {
        let total = self.total_len();
        if total < BATCH_HEADER_LEN as i64 || total > available as i64 {
            return Err(BatchHeaderError::LengthMismatch {
                declared: total,
                available,
            });
        }
        if self.magic() != MAGIC_V2 {
            return Err(BatchHeaderError::UnsupportedMagic(self.magic()));
        }
        Ok(total as usize)
    }

    /// Recomputes the CRC32C over attributes..end of the batch. Call after
    /// [`validate_frame`](Self::validate_frame) so the length is trusted.
    pub fn verify_crc(&self) -> Result<(), BatchHeaderError> {
        let end = usize::try_from(self.total_len()).unwrap_or(usize::MAX);
        let Some(covered) = self.bytes.get(ATTRIBUTES..end) else {
            return Err(BatchHeaderError::LengthMismatch {
                declared: self.total_len(),
                available: self.bytes.len(),
            });
        };
        let computed = crc32c::crc32c(covered);
        let stored = self.crc();
        if computed != stored {
            return Err(BatchHeaderError::CrcMismatch { stored, computed });
        }
        Ok(())
    }

    pub fn base_offset(&self) -> i64 {
        be_i64(self.bytes, BASE_OFFSET)
    }
    pub fn batch_length(&self) -> i32 {
        be_i32(self.bytes, LENGTH)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(self.bytes, LEADER_EPOCH)
    }
    pub fn magic(&self) -> i8 {
        self.bytes[MAGIC] as i8
    }
    pub fn crc(&self) -> u32 {
        be_i32(self.bytes, CRC) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(self.bytes, ATTRIBUTES)
    }
    pub fn compression(&self) -> Option<CompressionType> {
        CompressionType::from_attributes(self.attributes())
    }
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes() & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(self.bytes, LAST_OFFSET_DELTA)
    }
    /// Offset of the last record: base offset + last offset delta.
    pub fn last_offset(&self) -> i64 {
        // Saturating: a hostile base offset near i64::MAX must not panic.
        self.base_offset()
            .saturating_add(i64::from(self.last_offset_delta()))
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(self.bytes, BASE_TIMESTAMP)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(self.bytes, MAX_TIMESTAMP)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(self.bytes, PRODUCER_ID)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(self.bytes, PRODUCER_EPOCH)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(self.bytes, BASE_SEQUENCE)
    }
    /// Sequence of the last record, wrapping at i32::MAX as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        let base = self.base_sequence();
        if base == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        let last = i64::from(base) + i64::from(self.last_offset_delta());
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }
    pub fn record_count(&self) -> i32 {
        be_i32(self.bytes, RECORD_COUNT)
    }
}

/// In-place rewrites of a batch header, for the broker's append path.
/// Each takes the whole batch as `&mut [u8]` of at least the header length.
pub mod rewrite {
    use super::*;

    pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
        batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    }

    pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
        batch[LEADER_EPOCH..LEADER_EPOCH + 4].copy_from_slice(&epoch.to_be_bytes());
    }

    /// Sets the max timestamp (CreateTime batches: the largest record
    /// timestamp, which Kafka's broker writes back after validation) and
    /// recomputes the CRC. `batch` must be exactly one batch.
    pub fn set_max_timestamp(batch: &mut [u8], timestamp: i64) {
        batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
        let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
        batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }

    /// Marks the batch LogAppendTime with `timestamp` as its max timestamp and
    /// recomputes the CRC, which covers both. `batch` must be exactly one batch.
    pub fn set_log_append_time(batch: &mut [u8], timestamp: i64) {
        let attributes = be_i16(batch, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
        batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
        batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
        let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
        batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

/// Kafka's producer sequence arithmetic: sequences wrap from `i32::MAX`
/// to 0. For sequences and increments of valid batches (not negative).
pub fn add_sequence(sequence: i32, increment: i32) -> i32 {
    let sum = i64::from(sequence) + i64::from(increment);
    (sum.rem_euclid(i64::from(i32::MAX) + 1)) as i32
}

#[cfg(test)]
mod tests {
    use super::add_sequence;

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(add_sequence(i32::MAX, 1), 0);
        assert_eq!(add_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(add_sequence(5, 2), 7);
    }
}
