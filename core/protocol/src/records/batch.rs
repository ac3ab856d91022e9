//! Whole batches as owned bytes: framing a buffer into batches, and reading
//! a batch's records (decompressing when needed).

use bytes::Bytes;

use super::error::RecordError;
use super::header::{
    BatchHeader, CompressionType, TimestampType, BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC, MAGIC_V2,
};
use super::record::Records;
use crate::compression;

/// Smallest legal size field of any message format (Kafka's
/// `LegacyRecord.RECORD_OVERHEAD_V0`): anything smaller is corrupt whatever
/// the magic. A magic 2 batch needs at least the 61-byte header.
const MIN_ANY_FORMAT_SIZE_FIELD: i64 = 14;

/// Size and magic of the batch at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub total_len: usize,
    pub magic: i8,
}

/// Looks at the batch that starts `buf`, as Kafka's
/// `ByteBufferLogInputStream.nextBatchSize` does. `Ok(None)` means the buffer
/// ends before the batch does (a partial batch); errors mean the bytes
/// cannot be a batch of any format.
pub(crate) fn peek_frame(buf: &[u8]) -> Result<Option<Frame>, RecordError> {
    if buf.len() < LOG_OVERHEAD {
        return Ok(None);
    }
    let size_field = i64::from(i32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]));
    let declared = size_field + LOG_OVERHEAD as i64;
    if size_field < MIN_ANY_FORMAT_SIZE_FIELD {
        return Err(RecordError::LengthTooSmall { declared });
    }
    let Some(&magic_byte) = buf.get(MAGIC) else {
        return Ok(None);
    };
    let magic = magic_byte as i8;
    if !(0..=MAGIC_V2).contains(&magic) {
        return Err(RecordError::InvalidMagic(magic));
    }
    if magic == MAGIC_V2 && declared < BATCH_HEADER_LEN as i64 {
        return Err(RecordError::LengthTooSmall { declared });
    }
    if declared > buf.len() as i64 {
        return Ok(None);
    }
    Ok(Some(Frame {
        total_len: declared as usize,
        magic,
    }))
}

/// One complete magic-2 batch. The frame (length and magic) is checked on
/// construction; the CRC only by [`RecordBatch::verify_crc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    bytes: Bytes,
}

impl RecordBatch {
    /// Takes `bytes` holding exactly one batch.
    pub fn new(bytes: Bytes) -> Result<Self, RecordError> {
        let frame = peek_frame(&bytes)?.ok_or_else(|| truncated(&bytes))?;
        if frame.magic != MAGIC_V2 {
            return Err(RecordError::NotMagicV2(frame.magic));
        }
        if frame.total_len != bytes.len() {
            return Err(RecordError::TrailingBytes(bytes.len() - frame.total_len));
        }
        Ok(Self { bytes })
    }

    pub fn header(&self) -> BatchHeader<'_> {
        BatchHeader::from_checked(&self.bytes)
    }

    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    pub fn verify_crc(&self) -> Result<(), RecordError> {
        Ok(self.header().verify_crc()?)
    }

    /// The codec, or an error for the ids 5-7 that no Kafka version defines.
    pub fn compression(&self) -> Result<CompressionType, RecordError> {
        let attributes = self.header().attributes();
        CompressionType::from_attributes(attributes)
            .ok_or(RecordError::UnknownCompression(attributes & 0x07))
    }

    /// The records section, decompressed into at most `max_decompressed`
    /// bytes. Uncompressed batches return a slice without copying.
    pub fn records_section(&self, max_decompressed: usize) -> Result<Bytes, RecordError> {
        let section = self.bytes.slice(BATCH_HEADER_LEN..);
        match self.compression()? {
            CompressionType::None => Ok(section),
            codec => Ok(compression::decompress(codec, &section, max_decompressed)?.into()),
        }
    }

    /// The batch's records. Decompression is bounded by `max_decompressed`;
    /// each record is then checked as it is read.
    pub fn records(&self, max_decompressed: usize) -> Result<Records, RecordError> {
        let header = self.header();
        let log_append_time = match header.timestamp_type() {
            TimestampType::LogAppendTime => Some(header.max_timestamp()),
            TimestampType::CreateTime => None,
        };
        Ok(Records::new(
            self.records_section(max_decompressed)?,
            header.record_count(),
            header.base_offset(),
            header.base_timestamp(),
            log_append_time,
        ))
    }
}

fn truncated(bytes: &[u8]) -> RecordError {
    let declared = if bytes.len() >= LOG_OVERHEAD {
        i64::from(i32::from_be_bytes([
            bytes[8], bytes[9], bytes[10], bytes[11],
        ])) + LOG_OVERHEAD as i64
    } else {
        BATCH_HEADER_LEN as i64
    };
    RecordError::Truncated {
        declared,
        available: bytes.len(),
    }
}

/// The batches of a buffer of concatenated batches, such as a Fetch
/// response's records field. Slices share the buffer (no copies).
///
/// A partial batch at the end is not an error: brokers cut fetch responses
/// at a byte limit, and clients ignore the tail (see [`Batches::partial_tail_len`]).
/// A batch of magic 0 or 1 yields [`RecordError::NotMagicV2`] and iteration
/// continues after it; bytes that cannot be framed end iteration with an error.
pub fn batches(buf: Bytes) -> Batches {
    Batches {
        buf,
        pos: 0,
        finished: false,
    }
}

#[derive(Debug, Clone)]
pub struct Batches {
    buf: Bytes,
    pos: usize,
    finished: bool,
}

impl Batches {
    /// Bytes after the last whole batch, once iteration has ended.
    pub fn partial_tail_len(&self) -> usize {
        self.buf.len() - self.pos
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let frame = match peek_frame(&self.buf[self.pos..]) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                self.finished = true;
                return None;
            }
            Err(error) => {
                self.finished = true;
                return Some(Err(error));
            }
        };
        let start = self.pos;
        self.pos += frame.total_len;
        if frame.magic != MAGIC_V2 {
            return Some(Err(RecordError::NotMagicV2(frame.magic)));
        }
        Some(Ok(RecordBatch {
            bytes: self.buf.slice(start..self.pos),
        }))
    }
}
