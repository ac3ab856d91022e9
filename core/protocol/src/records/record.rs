//! Records inside a v2 batch: reading them without allocating (for the
//! broker's validation) and as owned values (for clients and tests).
//!
//! Wire layout of one record (all varints zigzag-encoded):
//!
//! ```text
//! length varint            bytes after this field
//! attributes int8          unused, 0
//! timestampDelta varlong   from the batch's base timestamp
//! offsetDelta varint       from the batch's base offset
//! keyLength varint, key    -1 = null key
//! valueLength varint, value  -1 = null value
//! headerCount varint, then per header:
//!   keyLength varint, key (never null)
//!   valueLength varint, value (-1 = null)
//! ```

use bytes::Bytes;

use super::error::RecordError;
use super::varint::{Cursor, ReadError};

/// A record header: a key (UTF-8 by convention, bytes on the wire) and an
/// optional value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    pub key: Bytes,
    pub value: Option<Bytes>,
}

impl RecordHeader {
    /// The key as text, if it is valid UTF-8 (Java clients always write it so).
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}

/// One record of a batch, owning cheap [`Bytes`] slices of the batch (or of
/// its decompressed records section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Absolute offset: the batch's base offset plus `offset_delta`.
    pub offset: i64,
    /// Absolute timestamp: base timestamp plus `timestamp_delta`, or the
    /// batch's max timestamp when the batch is LogAppendTime (as Kafka reads it).
    pub timestamp: i64,
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<RecordHeader>,
}

/// The fields of one record as slices of the input, checked for structure
/// but not copied. Headers stay encoded: `headers` holds `header_count`
/// well-formed headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord<'a> {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub header_count: i32,
    pub headers: &'a [u8],
}

/// Reads the record at the cursor, checking every length against the bytes
/// that remain and that the record's length field matches its contents
/// (Kafka's `DefaultRecord.readFrom` checks the same).
pub(crate) fn read_raw_record<'a>(cursor: &mut Cursor<'a>) -> Result<RawRecord<'a>, ReadError> {
    let length = cursor.read_varint()?;
    if length < 0 {
        return Err("negative record length");
    }
    let body = cursor.take(length as usize)?;
    let mut body_cursor = Cursor::new(body);
    let _attributes = body_cursor.read_i8()?;
    let timestamp_delta = body_cursor.read_varlong()?;
    let offset_delta = body_cursor.read_varint()?;
    let key = body_cursor.read_nullable_bytes()?;
    let value = body_cursor.read_nullable_bytes()?;
    let header_count = body_cursor.read_varint()?;
    if header_count < 0 {
        return Err("negative header count");
    }
    let headers_start = body_cursor.position();
    // Each header takes at least two bytes or fails, so a huge count in a
    // short record ends quickly in an error rather than a long loop.
    for _ in 0..header_count {
        read_header(&mut body_cursor)?;
    }
    let headers = &body[headers_start..body_cursor.position()];
    if !body_cursor.is_empty() {
        return Err("record length field does not match the record's contents");
    }
    Ok(RawRecord {
        timestamp_delta,
        offset_delta,
        key,
        value,
        header_count,
        headers,
    })
}

fn read_header<'a>(cursor: &mut Cursor<'a>) -> Result<(&'a [u8], Option<&'a [u8]>), ReadError> {
    let key_len = cursor.read_varint()?;
    if key_len < 0 {
        return Err("negative header key length");
    }
    let key = cursor.take(key_len as usize)?;
    let value = cursor.read_nullable_bytes()?;
    Ok((key, value))
}

/// Iterates over the records of one batch's (decompressed) records section.
/// Yields an error, then stops, on the first malformed record, when the
/// data ends before the declared count, or when bytes remain after it.
#[derive(Debug, Clone)]
pub struct Records {
    data: Bytes,
    pos: usize,
    index: i32,
    declared_count: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    finished: bool,
}

impl Records {
    /// `data` is the records section, already decompressed.
    /// `log_append_time` is the batch's max timestamp if the batch is
    /// LogAppendTime: every record then reads as that timestamp.
    pub(crate) fn new(
        data: Bytes,
        declared_count: i32,
        base_offset: i64,
        base_timestamp: i64,
        log_append_time: Option<i64>,
    ) -> Self {
        Self {
            data,
            pos: 0,
            index: 0,
            declared_count,
            base_offset,
            base_timestamp,
            log_append_time,
            finished: false,
        }
    }

    fn fail(&mut self, error: RecordError) -> Option<Result<Record, RecordError>> {
        self.finished = true;
        Some(Err(error))
    }

    fn to_record(&self, raw: &RawRecord<'_>) -> Record {
        let slice = |s: &[u8]| self.data.slice_ref(s);
        let mut headers = Vec::with_capacity(
            usize::try_from(raw.header_count)
                .unwrap_or(0)
                .min(raw.headers.len() / 2),
        );
        let mut cursor = Cursor::new(raw.headers);
        // read_raw_record already walked these headers, so this cannot fail;
        // stopping quietly keeps that a non-panicking assumption.
        while let Ok((key, value)) = read_header(&mut cursor) {
            headers.push(RecordHeader {
                key: slice(key),
                value: value.map(slice),
            });
        }
        Record {
            offset: self.base_offset.wrapping_add(i64::from(raw.offset_delta)),
            timestamp: self
                .log_append_time
                .unwrap_or_else(|| self.base_timestamp.wrapping_add(raw.timestamp_delta)),
            offset_delta: raw.offset_delta,
            timestamp_delta: raw.timestamp_delta,
            key: raw.key.map(slice),
            value: raw.value.map(slice),
            headers,
        }
    }
}

impl Iterator for Records {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let rest = &self.data[self.pos..];
        if self.index >= self.declared_count {
            self.finished = true;
            if rest.is_empty() {
                return None;
            }
            let extra = count_records(rest);
            return self.fail(RecordError::RecordCountMismatch {
                declared: self.declared_count,
                found: i64::from(self.declared_count) + extra,
            });
        }
        if rest.is_empty() {
            return self.fail(RecordError::RecordCountMismatch {
                declared: self.declared_count,
                found: i64::from(self.index),
            });
        }
        let mut cursor = Cursor::new(rest);
        let record = match read_raw_record(&mut cursor) {
            Ok(raw) => self.to_record(&raw),
            Err(reason) => {
                let index = self.index;
                return self.fail(RecordError::MalformedRecord { index, reason });
            }
        };
        self.pos += cursor.position();
        self.index += 1;
        Some(Ok(record))
    }
}

/// How many well-formed records `data` holds before it ends or breaks off
/// (used only to describe a count mismatch).
pub(crate) fn count_records(data: &[u8]) -> i64 {
    let mut cursor = Cursor::new(data);
    let mut found = 0;
    while !cursor.is_empty() && read_raw_record(&mut cursor).is_ok() {
        found += 1;
    }
    found
}
