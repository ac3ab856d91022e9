//! Writing a cleaned batch. The protocol crate's builder numbers records
//! 0, 1, 2, ... and picks its own base timestamp; a cleaned batch needs
//! neither: it keeps the original base and last offset (so the batch's
//! sequence range and the producer state that refers to it stay valid),
//! records keep their original offsets (deltas may skip), and the base
//! timestamp doubles as the delete horizon (KIP-534). So the batch is
//! encoded here, field by field, in the v2 layout of `records::header`.

use strom_protocol::compression;
use strom_protocol::records::{CompressionType, BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};

/// Attributes bit 6: the base timestamp is the delete horizon (KIP-534).
pub(crate) const DELETE_HORIZON_BIT: i16 = 0x40;
/// Bits an empty batch keeps: timestamp type, transactional, control.
pub(crate) const FLAG_BITS: i16 = 0x08 | 0x10 | 0x20;
const COMPRESSION_BITS: i16 = 0x07;
/// Byte offsets of the CRC and of the first CRC-covered field.
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;

/// The header fields of a batch being rewritten.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchFrame {
    pub base_offset: i64,
    pub last_offset_delta: i32,
    pub partition_leader_epoch: i32,
    /// Everything but the codec and the delete-horizon bit, which
    /// [`encode_batch`] sets.
    pub flags: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// One record to write, with its absolute offset and timestamp.
#[derive(Debug, Clone)]
pub(crate) struct KeptRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<bytes::Bytes>,
    pub value: Option<bytes::Bytes>,
    pub headers: Vec<(bytes::Bytes, Option<bytes::Bytes>)>,
}

fn put_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) -> Result<(), String> {
    match bytes {
        None => put_varint(out, -1),
        Some(b) => {
            let len = i32::try_from(b.len()).map_err(|_| "a field is larger than 2 GiB")?;
            put_varint(out, len);
            out.extend_from_slice(b);
        }
    }
    Ok(())
}

fn encode_records(
    records: &[KeptRecord],
    base_offset: i64,
    base_timestamp: i64,
) -> Result<Vec<u8>, String> {
    let mut section = Vec::new();
    let mut body = Vec::new();
    for record in records {
        body.clear();
        body.push(0);
        put_varlong(&mut body, record.timestamp.wrapping_sub(base_timestamp));
        let delta = i32::try_from(record.offset - base_offset)
            .map_err(|_| format!("record {} is too far from its batch base", record.offset))?;
        put_varint(&mut body, delta);
        put_bytes(&mut body, record.key.as_deref())?;
        put_bytes(&mut body, record.value.as_deref())?;
        let header_count = i32::try_from(record.headers.len()).map_err(|_| "too many headers")?;
        put_varint(&mut body, header_count);
        for (key, value) in &record.headers {
            put_bytes(&mut body, Some(key))?;
            put_bytes(&mut body, value.as_deref())?;
        }
        let len = i32::try_from(body.len()).map_err(|_| "a record is larger than 2 GiB")?;
        put_varint(&mut section, len);
        section.extend_from_slice(&body);
    }
    Ok(section)
}

fn header(
    frame: &BatchFrame,
    attributes: i16,
    base_timestamp: i64,
    max_timestamp: i64,
    record_count: i32,
    section: &[u8],
) -> Result<Vec<u8>, String> {
    let total = BATCH_HEADER_LEN + section.len();
    let length = i32::try_from(total - LOG_OVERHEAD).map_err(|_| "batch larger than 2 GiB")?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&frame.base_offset.to_be_bytes());
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&frame.partition_leader_epoch.to_be_bytes());
    out.push(MAGIC_V2 as u8);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&attributes.to_be_bytes());
    out.extend_from_slice(&frame.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&base_timestamp.to_be_bytes());
    out.extend_from_slice(&max_timestamp.to_be_bytes());
    out.extend_from_slice(&frame.producer_id.to_be_bytes());
    out.extend_from_slice(&frame.producer_epoch.to_be_bytes());
    out.extend_from_slice(&frame.base_sequence.to_be_bytes());
    out.extend_from_slice(&record_count.to_be_bytes());
    out.extend_from_slice(section);
    let crc = crc32c::crc32c(&out[ATTRIBUTES_AT..]);
    out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Encodes `records` (non-empty, ascending offsets within the frame's
/// range) as one batch compressed with `codec`. With a `delete_horizon`
/// the base timestamp is the horizon and bit 6 is set; record timestamps
/// stay exact either way because they are stored as deltas from the base.
/// `max_timestamp` is the caller's (LogAppendTime batches keep theirs).
pub(crate) fn encode_batch(
    frame: &BatchFrame,
    codec: CompressionType,
    records: &[KeptRecord],
    max_timestamp: i64,
    delete_horizon: Option<i64>,
) -> Result<Vec<u8>, String> {
    let first_timestamp = records.first().map_or(max_timestamp, |r| r.timestamp);
    let base_timestamp = delete_horizon.unwrap_or(first_timestamp);
    let section = encode_records(records, frame.base_offset, base_timestamp)?;
    let section = match codec {
        CompressionType::None => section,
        codec => compression::compress(codec, &section).map_err(|e| e.to_string())?,
    };
    let mut attributes = (frame.flags & !(COMPRESSION_BITS | DELETE_HORIZON_BIT)) | codec.id();
    if delete_horizon.is_some() {
        attributes |= DELETE_HORIZON_BIT;
    }
    let count = i32::try_from(records.len()).map_err(|_| "too many records")?;
    header(
        frame,
        attributes,
        base_timestamp,
        max_timestamp,
        count,
        &section,
    )
}

/// A batch with no records that keeps the original's offsets, producer
/// fields and flags: what Kafka writes when every record of a producer's
/// last batch was cleaned away, so the producer's sequence state survives
/// a replay of the log.
pub(crate) fn encode_empty_batch(frame: &BatchFrame, timestamp: i64) -> Result<Vec<u8>, String> {
    let attributes = frame.flags & FLAG_BITS;
    header(frame, attributes, timestamp, timestamp, 0, &[])
}
