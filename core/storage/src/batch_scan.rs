//! Reading batches back from a segment file with positional reads: header
//! scans (for reads, index rebuilds and replay), full CRC validation (for
//! recovery) and the record-level timestamp scan used by ListOffsets.
//!
//! Nothing here trusts the file: every length is checked against the bytes
//! that remain before it is used, and no buffer is sized by a value read
//! from disk without a cap.

use std::fs::File;
use std::os::unix::fs::FileExt;

use strom_protocol::records::{
    BatchHeader, RecordBatch, BATCH_HEADER_LEN, DEFAULT_MAX_DECOMPRESSED_BYTES,
};

/// What a log needs to know about one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchInfo {
    pub position: u64,
    pub size: u32,
    pub base_offset: i64,
    pub last_offset: i64,
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
    pub partition_leader_epoch: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub last_sequence: i32,
    pub is_control: bool,
}

impl BatchInfo {
    pub fn from_header(header: &BatchHeader<'_>, position: u64, size: u32) -> Self {
        BatchInfo {
            position,
            size,
            base_offset: header.base_offset(),
            // Not header.last_offset(): a corrupt base offset near i64::MAX
            // must not overflow.
            last_offset: header
                .base_offset()
                .saturating_add(i64::from(header.last_offset_delta())),
            last_offset_delta: header.last_offset_delta(),
            max_timestamp: header.max_timestamp(),
            partition_leader_epoch: header.partition_leader_epoch(),
            producer_id: header.producer_id(),
            producer_epoch: header.producer_epoch(),
            base_sequence: header.base_sequence(),
            last_sequence: header.last_sequence(),
            is_control: header.is_control(),
        }
    }

    pub fn end_position(&self) -> u64 {
        self.position + u64::from(self.size)
    }
}

/// Outcome of reading the header at one position.
#[derive(Debug)]
pub(crate) enum HeaderRead {
    Batch(BatchInfo),
    /// Exactly at the end of the readable region.
    End,
    /// Torn or malformed: why, for the log.
    Invalid(String),
}

/// Reads and frame-checks the batch header at `position`, where `end` is
/// the end of the valid (or, in recovery, the physical) file region.
pub(crate) fn read_header(file: &File, position: u64, end: u64) -> HeaderRead {
    let available = match room_for_header(position, end) {
        Ok(available) => available,
        Err(outcome) => return outcome,
    };
    let mut buf = [0u8; BATCH_HEADER_LEN];
    if let Err(e) = file.read_exact_at(&mut buf, position) {
        return HeaderRead::Invalid(format!("cannot read batch header: {e}"));
    }
    parse_header(&buf, position, available)
}

/// The bytes from `position` to `end`, if a header fits in them; else
/// what reading one there comes to (the end, or a torn header).
fn room_for_header(position: u64, end: u64) -> Result<u64, HeaderRead> {
    if position >= end {
        return Err(HeaderRead::End);
    }
    let available = end - position;
    if available < BATCH_HEADER_LEN as u64 {
        return Err(HeaderRead::Invalid(format!(
            "torn batch header: only {available} bytes left"
        )));
    }
    Ok(available)
}

/// Frame-checks the header at the start of `buf`, read from `position`
/// with `available` bytes of the region from there.
fn parse_header(buf: &[u8], position: u64, available: u64) -> HeaderRead {
    let header = match BatchHeader::parse(buf) {
        Ok(h) => h,
        Err(e) => return HeaderRead::Invalid(e.to_string()),
    };
    let available = usize::try_from(available).unwrap_or(usize::MAX);
    let size = match header.validate_frame(available) {
        Ok(size) => size,
        Err(e) => return HeaderRead::Invalid(e.to_string()),
    };
    if header.last_offset_delta() < 0 {
        return HeaderRead::Invalid(format!(
            "negative last offset delta {}",
            header.last_offset_delta()
        ));
    }
    match u32::try_from(size) {
        Ok(size) => HeaderRead::Batch(BatchInfo::from_header(&header, position, size)),
        Err(_) => HeaderRead::Invalid(format!("batch of {size} bytes is too large")),
    }
}

/// Reads consecutive batches of a segment through one buffer, a window at
/// a time: one read per window instead of one per header, and each
/// batch's CRC checked from the bytes already read.
pub(crate) struct ScanWindow<'a> {
    file: &'a File,
    /// End of the region the batches lie in.
    end: u64,
    /// How much a refill reads at least (unless the region ends first).
    window: u64,
    /// The file position of `buf[0]`.
    start: u64,
    buf: &'a mut Vec<u8>,
}

impl<'a> ScanWindow<'a> {
    pub fn new(file: &'a File, end: u64, window: u64, buf: &'a mut Vec<u8>) -> Self {
        buf.clear();
        ScanWindow {
            file,
            end,
            window,
            start: 0,
            buf,
        }
    }

    /// [`read_header`] from the window.
    pub fn header(&mut self, position: u64) -> HeaderRead {
        let available = match room_for_header(position, self.end) {
            Ok(available) => available,
            Err(outcome) => return outcome,
        };
        match self.bytes(position, BATCH_HEADER_LEN as u64) {
            Ok(bytes) => parse_header(bytes, position, available),
            Err(e) => HeaderRead::Invalid(format!("cannot read batch header: {e}")),
        }
    }

    /// Whether `batch` (framed by [`ScanWindow::header`]) has the CRC it
    /// carries; false if it cannot be read. A batch larger than the window
    /// is checked a window at a time: its length comes from the file, and
    /// a damaged one (up to the rest of the segment) must not size a buffer.
    pub fn crc_matches(&mut self, batch: &BatchInfo) -> bool {
        if u64::from(batch.size) > self.window {
            return self.crc_matches_in_steps(batch);
        }
        match self.bytes(batch.position, u64::from(batch.size)) {
            Ok(bytes) => BatchHeader::parse(bytes).is_ok_and(|h| h.verify_crc().is_ok()),
            Err(_) => false,
        }
    }

    fn crc_matches_in_steps(&mut self, batch: &BatchInfo) -> bool {
        let stored = match self.bytes(batch.position, CRC_START) {
            Ok(head) => crc_field(head),
            Err(_) => return false,
        };
        let mut crc = 0u32;
        let mut position = batch.position + CRC_START;
        let end = batch.end_position();
        while position < end {
            let step = (end - position).min(self.window);
            match self.bytes(position, step) {
                Ok(bytes) => crc = crc32c::crc32c_append(crc, bytes),
                Err(_) => return false,
            }
            position += step;
        }
        crc == stored
    }

    /// `len` bytes from `position`, refilling the window from there when
    /// it does not hold them all.
    fn bytes(&mut self, position: u64, len: u64) -> std::io::Result<&[u8]> {
        let held = position >= self.start && position + len <= self.start + self.buf.len() as u64;
        if !held {
            let want = len.max(self.window).min(self.end - position);
            self.buf.clear();
            self.start = position;
            read_at_into(
                self.file,
                position,
                usize::try_from(want).unwrap_or(usize::MAX),
                self.buf,
            )?;
            if (self.buf.len() as u64) < len {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        let from = usize::try_from(position - self.start).unwrap_or(usize::MAX);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        Ok(&self.buf[from..from + len])
    }
}

/// Appends `len` bytes of `file` from `position` to `buf`, straight into
/// its spare capacity (no zeroing pass first: on the fetch path that cost
/// as much as a CRC check); an error if the file ends first.
pub(crate) fn read_at_into(
    file: &File,
    position: u64,
    len: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    let start = buf.len();
    let end = start + len;
    buf.reserve(len);
    while buf.len() < end {
        let at = position + (buf.len() - start) as u64;
        // Fills the spare capacity, which may reach past `end`: whatever
        // lies beyond it is cut off below.
        match rustix::io::pread(file, rustix::buffer::spare_capacity(buf), at) {
            Ok(0) => {
                buf.truncate(start);
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                buf.truncate(start);
                return Err(e.into());
            }
        }
    }
    buf.truncate(end);
    Ok(())
}

/// Offset of the CRC-covered region within a batch (the attributes field).
const CRC_START: u64 = 21;
const CRC_FIELD: usize = 17;
/// The step of the scans below that read a region once.
const CHUNK: usize = 64 * 1024;
/// The window of [`crc_matches`]: small, as a heap buffer of 16 KiB or
/// more per batch (jemalloc's large sizes, handed back to the OS when
/// freed) cost a page-table flush on every core each time.
const CRC_STEP: u64 = 8 * 1024;

/// The CRC a batch carries, from its first bytes (at least [`CRC_START`]).
fn crc_field(head: &[u8]) -> u32 {
    let mut field = [0u8; 4];
    field.copy_from_slice(&head[CRC_FIELD..CRC_FIELD + 4]);
    u32::from_be_bytes(field)
}

/// Whether one batch has the CRC it carries, read [`CRC_STEP`] bytes at a
/// time: false on a mismatch or a short read. For single batches (a
/// check, a resync); scans of many batches read them through one
/// [`ScanWindow`] of their own.
pub(crate) fn crc_matches(file: &File, batch: &BatchInfo) -> bool {
    let mut buf = Vec::new();
    ScanWindow::new(file, batch.end_position(), CRC_STEP, &mut buf).crc_matches(batch)
}

/// Whether every byte of `file` from `from` to `end` is zero (false if
/// it cannot be read): the space an fsync-mode segment had written ahead
/// of its appends (`Segment::zero_ahead`) and no append reached before a
/// crash. No batch starts with a zero length, so such bytes never hide one.
pub(crate) fn zeros_to_end(file: &File, from: u64, end: u64) -> bool {
    let mut window = vec![0u8; CHUNK];
    let mut start = from;
    while start < end {
        let n = usize::try_from(end - start).unwrap_or(CHUNK).min(CHUNK);
        if file.read_exact_at(&mut window[..n], start).is_err() {
            return false;
        }
        if window[..n].iter().any(|&b| b != 0) {
            return false;
        }
        start += n as u64;
    }
    true
}

/// Where the magic byte sits in a batch header.
const MAGIC_POSITION: u64 = 16;

/// The first position in `[from, end)` that holds an intact batch (framed,
/// magic 2, CRC right) which `accept`s: how a reader finds its footing
/// again after damaged bytes. The file is read in windows and only
/// positions whose magic byte is 2 are parsed, so a damaged region costs
/// about one read of its bytes.
pub(crate) fn find_intact_batch(
    file: &File,
    from: u64,
    end: u64,
    accept: impl Fn(&BatchInfo) -> bool,
) -> Option<BatchInfo> {
    let mut window = vec![0u8; CHUNK];
    let mut start = from;
    while start + MAGIC_POSITION < end {
        let n = usize::try_from(end - start - MAGIC_POSITION)
            .unwrap_or(CHUNK)
            .min(CHUNK);
        file.read_exact_at(&mut window[..n], start + MAGIC_POSITION)
            .ok()?;
        for (i, _) in window[..n].iter().enumerate().filter(|(_, &m)| m == 2) {
            let position = start + i as u64;
            if let HeaderRead::Batch(batch) = read_header(file, position, end) {
                if accept(&batch) && crc_matches(file, &batch) {
                    return Some(batch);
                }
            }
        }
        start += n as u64;
    }
    None
}

/// Largest stored batch whose records we are willing to load for a
/// timestamp scan (a batch is at most `message.max.bytes`, far less).
const MAX_SCANNED_BATCH: u32 = 64 * 1024 * 1024;

/// The first record of `batch` with offset >= `min_offset` whose timestamp
/// satisfies `wanted`, as `(offset, timestamp)`: the batch is decompressed
/// (bounded) and its records read in order, as Kafka's timestamp search
/// does. In a LogAppendTime batch every record has the batch's timestamp.
/// `None` if no record matches; `Err` if the batch cannot be read or decoded.
pub(crate) fn find_record(
    file: &File,
    batch: &BatchInfo,
    min_offset: i64,
    wanted: impl Fn(i64) -> bool,
) -> Result<Option<(i64, i64)>, String> {
    if batch.size > MAX_SCANNED_BATCH {
        return Err(format!(
            "batch of {} bytes is too large to scan",
            batch.size
        ));
    }
    let mut bytes = vec![0u8; batch.size as usize];
    file.read_exact_at(&mut bytes, batch.position)
        .map_err(|e| e.to_string())?;
    let stored = RecordBatch::new(bytes.into()).map_err(|e| e.to_string())?;
    let records = stored
        .records(DEFAULT_MAX_DECOMPRESSED_BYTES)
        .map_err(|e| e.to_string())?;
    for record in records {
        let record = record.map_err(|e| e.to_string())?;
        if record.offset >= min_offset && wanted(record.timestamp) {
            return Ok(Some((record.offset, record.timestamp)));
        }
    }
    Ok(None)
}
