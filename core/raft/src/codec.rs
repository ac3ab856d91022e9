//! Byte formats shared by the disk and the wire.
//!
//! * Values are bincode (varint, little endian) through serde; openraft's
//!   types derive serde with the `serde` feature.
//! * Disk records: `len u32 | crc32c u32 | batch_start u64 | payload`, all
//!   little endian. The checksum covers `len`, `batch_start` and the payload.
//!   `batch_start` is the file offset where the append batch holding this
//!   record began; recovery uses it to tell a torn final batch from damage to
//!   data that had already been fsynced (see `log_disk`).
//! * Wire frames: `len u32 (big endian) | payload`, with a hard size limit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{StoreError, TransportError};

pub(crate) const RECORD_HEADER: usize = 16;

fn options() -> impl Options {
    bincode::DefaultOptions::new()
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, bincode::Error> {
    options().serialize(value)
}

/// Decodes untrusted bytes. The limit (the input length) stops a forged
/// length prefix inside the value from making bincode allocate more than was
/// actually received.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, bincode::Error> {
    options().with_limit(bytes.len() as u64).deserialize(bytes)
}

fn record_crc(len: u32, batch_start: u64, payload: &[u8]) -> u32 {
    let mut head = [0u8; 12];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..].copy_from_slice(&batch_start.to_le_bytes());
    crc32c::crc32c_append(crc32c::crc32c(&head), payload)
}

/// Appends one checksummed record to `buf`.
pub(crate) fn put_record(buf: &mut Vec<u8>, batch_start: u64, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB"))?;
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&record_crc(len, batch_start, payload).to_le_bytes());
    buf.extend_from_slice(&batch_start.to_le_bytes());
    buf.extend_from_slice(payload);
    Ok(())
}

/// One step of scanning a file of records.
#[derive(Debug)]
pub(crate) enum Scan<'a> {
    /// A record with a valid checksum; `next` is the offset after it.
    Record {
        payload: &'a [u8],
        batch_start: u64,
        next: usize,
    },
    /// Clean end of the data.
    End,
    /// The bytes at this offset are not a valid record.
    Bad(&'static str),
}

pub(crate) fn read_record(data: &[u8], offset: usize) -> Scan<'_> {
    let rest = match data.get(offset..) {
        Some([]) | None => return Scan::End,
        Some(rest) => rest,
    };
    let Some(head) = rest.get(..RECORD_HEADER) else {
        return Scan::Bad("incomplete record header");
    };
    let word = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let len = word(0);
    let crc = word(4);
    let mut start = [0u8; 8];
    start.copy_from_slice(&head[8..16]);
    let batch_start = u64::from_le_bytes(start);
    let Some(payload) = rest.get(RECORD_HEADER..RECORD_HEADER + len as usize) else {
        return Scan::Bad("record extends past the end of the file");
    };
    if len == 0 || batch_start > offset as u64 {
        return Scan::Bad("impossible record header");
    }
    if record_crc(len, batch_start, payload) != crc {
        return Scan::Bad("checksum mismatch");
    }
    Scan::Record {
        payload,
        batch_start,
        next: offset + RECORD_HEADER + len as usize,
    }
}

/// Fsyncs a directory so that creates, renames and deletes in it are durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Replaces `dir/name` with one checksummed record holding `payload`:
/// written to a temp file, (fsynced), renamed over the old file, (directory
/// fsynced). Readers therefore see either the old or the new content whole.
/// `durable = false` skips the fsyncs for hints that may be lost on a crash.
pub(crate) fn write_file_atomic(
    dir: &Path,
    name: &str,
    payload: &[u8],
    durable: bool,
) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    let mut buf = Vec::with_capacity(payload.len() + RECORD_HEADER);
    put_record(&mut buf, 0, payload).map_err(|e| StoreError::io(&tmp, e))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| StoreError::io(&tmp, e))?;
    file.write_all(&buf).map_err(|e| StoreError::io(&tmp, e))?;
    if durable {
        file.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
    }
    drop(file);
    fs::rename(&tmp, &dst).map_err(|e| StoreError::io(&dst, e))?;
    if durable {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Reads a file written by [`write_file_atomic`]: `Ok(None)` if it does not
/// exist, `Err(Corrupt)` if its content is not exactly one valid record.
pub(crate) fn read_file_checked(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    match read_record(&data, 0) {
        Scan::Record { payload, next, .. } if next == data.len() => Ok(Some(payload.to_vec())),
        Scan::Record { .. } => Err(corrupt(path, 0, "trailing bytes after the record")),
        Scan::End => Err(corrupt(path, 0, "empty file")),
        Scan::Bad(reason) => Err(corrupt(path, 0, reason)),
    }
}

pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

/// Reads one frame; `Ok(None)` on a clean end of stream before a header.
/// A length over `max` is an error and the caller closes the connection
/// without reading the body.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, TransportError> {
    let mut head = [0u8; 4];
    match reader.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(head) as usize;
    if len > max {
        return Err(TransportError::FrameTooLarge { len, max });
    }
    // Grow with the bytes that actually arrive rather than trusting the
    // header with a big allocation up front.
    let mut body = Vec::with_capacity(len.min(64 * 1024));
    (&mut *reader)
        .take(len as u64)
        .read_to_end(&mut body)
        .await?;
    if body.len() != len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(Some(body))
}

pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    payload: &[u8],
) -> Result<(), TransportError> {
    let len = u32::try_from(payload.len()).map_err(|_| TransportError::FrameTooLarge {
        len: payload.len(),
        max: u32::MAX as usize,
    })?;
    // One buffer, one write: small RPCs go out in a single segment.
    let mut buf = Vec::with_capacity(payload.len() + 4);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(payload);
    writer.write_all(&buf).await?;
    writer.flush().await?;
    Ok(())
}
