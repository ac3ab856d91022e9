//! Building a v2 record batch, as a producer (or a test) does.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::RecordError;
use super::header::{
    CompressionType, TimestampType, ATTRIBUTES, BATCH_HEADER_LEN, CONTROL_BIT, CRC, LOG_OVERHEAD,
    MAGIC_V2, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
};
use super::varint::{varint_len, varlong_len, write_varint, write_varlong};
use crate::compression;

/// Kafka writes -1 as the leader epoch of a batch a producer sends; the
/// broker stamps the real one on append.
const NO_PARTITION_LEADER_EPOCH: i32 = -1;

/// Accumulates records and produces one batch with a correct header:
/// last offset delta, base and max timestamps, record count and CRC32C.
///
/// ```
/// use strom_protocol::records::{CompressionType, RecordBatchBuilder};
/// let mut builder = RecordBatchBuilder::new(CompressionType::Lz4);
/// builder.append(
///     1_700_000_000_000,
///     Some("key".as_bytes()),
///     Some("value".as_bytes()),
///     &[("trace".as_bytes(), Some("42".as_bytes()))],
/// )?;
/// let batch = builder.build()?;
/// # Ok::<(), strom_protocol::records::RecordError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    compression: CompressionType,
    timestamp_type: TimestampType,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    /// The first record's timestamp: deltas are relative to it, as Java's
    /// `MemoryRecordsBuilder` does.
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    record_count: i32,
    /// The uncompressed records section, appended to record by record.
    records: Vec<u8>,
}

impl RecordBatchBuilder {
    /// A builder for a non-idempotent, non-transactional CreateTime batch
    /// with base offset 0.
    pub fn new(compression: CompressionType) -> Self {
        Self {
            compression,
            timestamp_type: TimestampType::CreateTime,
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            base_timestamp: None,
            max_timestamp: -1,
            record_count: 0,
            records: Vec::new(),
        }
    }

    pub fn with_base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    pub fn with_partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Idempotent producer identity: id, epoch and the sequence of the first record.
    pub fn with_producer(
        mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    pub fn with_transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as a control batch (transaction markers). Only the
    /// broker writes these; a producer's control batch is refused.
    pub fn with_control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    pub fn with_timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.timestamp_type = timestamp_type;
        self
    }

    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// Size of the batch if built uncompressed now; a producer compares it
    /// with `batch.size` (compressed batches are usually smaller).
    pub fn uncompressed_size(&self) -> usize {
        BATCH_HEADER_LEN + self.records.len()
    }

    /// Appends a record with the next offset delta, which it returns.
    /// Header keys are bytes on the wire (UTF-8 text by convention).
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&[u8], Option<&[u8]>)],
    ) -> Result<i32, RecordError> {
        let offset_delta = self.record_count;
        if offset_delta == i32::MAX {
            return Err(RecordError::Build("a batch holds at most i32::MAX records"));
        }
        let base_timestamp = *self.base_timestamp.get_or_insert(timestamp);

        let timestamp_delta = timestamp.wrapping_sub(base_timestamp);
        // The body's length prefixes it: computed first, so that the body
        // is written once, straight into the records section.
        let mut body_len = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
        body_len += nullable_bytes_len(key)? + nullable_bytes_len(value)?;
        body_len += varint_len(wire_len(headers.len())?);
        for (header_key, header_value) in headers {
            body_len += nullable_bytes_len(Some(header_key))? + nullable_bytes_len(*header_value)?;
        }

        let out = &mut self.records;
        let start = out.len();
        write_varint(wire_len(body_len)?, out);
        out.reserve(body_len);
        out.push(0); // record attributes: unused in v2
        write_varlong(timestamp_delta, out);
        write_varint(offset_delta, out);
        write_nullable_bytes(key, out)?;
        write_nullable_bytes(value, out)?;
        write_varint(wire_len(headers.len())?, out);
        for (header_key, header_value) in headers {
            write_nullable_bytes(Some(header_key), out)?;
            write_nullable_bytes(*header_value, out)?;
        }
        debug_assert_eq!(
            out.len() - start,
            varint_len(body_len as i32) + body_len,
            "record length prefix matches the body"
        );
        self.record_count += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(offset_delta)
    }

    /// Compresses the records and writes the header. A batch needs at
    /// least one record.
    pub fn build(&self) -> Result<Bytes, RecordError> {
        self.build_stamped(self.producer_id, self.producer_epoch, self.base_sequence)
    }

    /// [`build`](Self::build) with an idempotent producer's identity and
    /// first sequence, without copying the builder to set them.
    pub fn build_stamped(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> Result<Bytes, RecordError> {
        if self.record_count == 0 {
            return Err(RecordError::Build(
                "a record batch needs at least one record",
            ));
        }
        let section = match self.compression {
            CompressionType::None => None,
            codec => Some(compression::compress(codec, &self.records)?),
        };
        let section: &[u8] = section.as_deref().unwrap_or(&self.records);
        let total_len = BATCH_HEADER_LEN + section.len();
        let batch_length = i32::try_from(total_len - LOG_OVERHEAD)
            .map_err(|_| RecordError::Build("a record batch must be smaller than 2 GiB"))?;

        let mut out = BytesMut::with_capacity(total_len);
        out.put_i64(self.base_offset);
        out.put_i32(batch_length);
        out.put_i32(self.partition_leader_epoch);
        out.put_i8(MAGIC_V2);
        out.put_u32(0); // CRC, filled in below
        out.put_i16(self.attributes());
        out.put_i32(self.record_count - 1);
        out.put_i64(self.base_timestamp.unwrap_or(-1));
        out.put_i64(self.max_timestamp);
        out.put_i64(producer_id);
        out.put_i16(producer_epoch);
        out.put_i32(base_sequence);
        out.put_i32(self.record_count);
        out.put_slice(section);

        let crc = crc32c::crc32c(&out[ATTRIBUTES..]);
        out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(out.freeze())
    }

    fn attributes(&self) -> i16 {
        let mut attributes = self.compression.id();
        if self.timestamp_type == TimestampType::LogAppendTime {
            attributes |= TIMESTAMP_TYPE_BIT;
        }
        if self.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        if self.control {
            attributes |= CONTROL_BIT;
        }
        attributes
    }
}

fn wire_len(len: usize) -> Result<i32, RecordError> {
    i32::try_from(len)
        .map_err(|_| RecordError::Build("a key, value or header is larger than 2 GiB"))
}

/// The encoded size of a nullable byte string: its varint length, then it.
fn nullable_bytes_len(bytes: Option<&[u8]>) -> Result<usize, RecordError> {
    Ok(match bytes {
        None => varint_len(-1),
        Some(bytes) => varint_len(wire_len(bytes.len())?) + bytes.len(),
    })
}

fn write_nullable_bytes(bytes: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), RecordError> {
    match bytes {
        None => write_varint(-1, out),
        Some(bytes) => {
            write_varint(wire_len(bytes.len())?, out);
            out.extend_from_slice(bytes);
        }
    }
    Ok(())
}
