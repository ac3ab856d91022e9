//! Offline verification of partition logs (`strom storage check`), as
//! Kafka's `kafka-dump-log --deep-iteration` does: every batch of every
//! segment is framed, CRC-checked and its offsets checked against the
//! batch before it. Damage is reported with its file, byte position and
//! the offsets around it, and the scan goes on past it (it looks for the
//! next intact batch), so one bad spot does not hide another.
//!
//! The files are only read. A segment is read whole, so memory use is
//! about the largest segment (`segment.bytes`).

use std::path::{Path, PathBuf};

use strom_protocol::records::{BatchHeader, BATCH_HEADER_LEN};

use crate::checkpoint::{dir_entries, offset_file_name, parse_offset_file_name, LOG_SUFFIX};
use crate::compaction::CleanerCheckpoint;
use crate::error::{Result, StorageError};

/// One damaged spot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub file: PathBuf,
    /// Byte position in the file where the damage starts.
    pub position: u64,
    /// Bytes skipped to the next intact batch (to the end of the file if
    /// none follows).
    pub skipped: u64,
    /// The last offset before the damage (if any batch precedes it) and
    /// the first after it (if one follows).
    pub after_offset: Option<i64>,
    pub before_offset: Option<i64>,
    pub reason: String,
}

/// What [`check_dir`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub partitions: usize,
    pub segments: usize,
    pub batches: u64,
    pub damage: Vec<Damage>,
}

/// Checks `dir`: one partition directory (it holds `.log` segments) or a
/// data directory (every subdirectory that does).
pub fn check_dir(dir: &Path) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    if segment_bases(dir)?.is_empty() {
        let mut partitions: Vec<PathBuf> = dir_entries(dir)?
            .into_iter()
            .map(|(_, path)| path)
            .filter(|path| path.is_dir())
            .collect();
        partitions.sort();
        for partition in partitions {
            if !segment_bases(&partition)?.is_empty() {
                check_partition(&partition, &mut report)?;
            }
        }
    } else {
        check_partition(dir, &mut report)?;
    }
    Ok(report)
}

fn segment_bases(dir: &Path) -> Result<Vec<i64>> {
    let mut bases: Vec<i64> = dir_entries(dir)?
        .iter()
        .filter_map(|(name, _)| match parse_offset_file_name(name) {
            Some((base, LOG_SUFFIX)) => Some(base),
            _ => None,
        })
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

/// Offsets seen so far in one partition.
struct Cursor {
    /// The offset the next batch should start at (`None` before the first).
    next: Option<i64>,
    /// Below this, the cleaner has removed records: gaps are expected.
    clean_offset: i64,
}

fn check_partition(dir: &Path, report: &mut CheckReport) -> Result<()> {
    report.partitions += 1;
    let clean_offset = CleanerCheckpoint::read(dir).map_or(0, |c| c.clean_offset);
    let mut cursor = Cursor {
        next: None,
        clean_offset,
    };
    for base in segment_bases(dir)? {
        report.segments += 1;
        let path = dir.join(offset_file_name(base, LOG_SUFFIX));
        let bytes = std::fs::read(&path).map_err(|e| StorageError::io("read segment", &path, e))?;
        check_segment(&path, base, &bytes, &mut cursor, report);
    }
    Ok(())
}

/// An intact batch at `at`: framed, magic 2, its CRC right, its offsets
/// in this segment. Returns its length and offsets.
fn intact_batch(
    bytes: &[u8],
    at: usize,
    segment_base: i64,
) -> std::result::Result<(usize, i64, i64), String> {
    let rest = &bytes[at..];
    if rest.len() < BATCH_HEADER_LEN {
        return Err(format!("torn batch header: {} bytes left", rest.len()));
    }
    let header = BatchHeader::parse(rest).map_err(|e| e.to_string())?;
    let len = header
        .validate_frame(rest.len())
        .map_err(|e| e.to_string())?;
    header.verify_crc().map_err(|e| e.to_string())?;
    let base = header.base_offset();
    let last = base.saturating_add(i64::from(header.last_offset_delta()));
    if header.last_offset_delta() < 0 || base < segment_base {
        return Err(format!(
            "offsets {base}..{last} do not belong in the segment starting at {segment_base}"
        ));
    }
    Ok((len, base, last))
}

fn check_segment(
    path: &Path,
    segment_base: i64,
    bytes: &[u8],
    cursor: &mut Cursor,
    report: &mut CheckReport,
) {
    let mut at = 0usize;
    let mut last_good: Option<i64> = cursor.next.map(|next| next - 1);
    while at < bytes.len() {
        let problem = match intact_batch(bytes, at, segment_base) {
            Ok((len, base, last)) => match cursor.next {
                Some(next) if base < next => Some(format!(
                    "batch offsets {base}..{last} go back before {next}, the offset after the previous batch"
                )),
                Some(next) if base > next && base > cursor.clean_offset => Some(format!(
                    "batch offsets {base}..{last} skip {} offset(s) after {}",
                    base - next,
                    next - 1
                )),
                _ => {
                    report.batches += 1;
                    cursor.next = Some(last + 1);
                    last_good = Some(last);
                    at += len;
                    None
                }
            },
            Err(reason) => Some(reason),
        };
        let Some(reason) = problem else { continue };
        // Past the damage: the next position holding an intact batch that
        // continues the partition's offsets.
        let resume = (at + 1..bytes.len()).find_map(|p| {
            let (_, base, _) = intact_batch(bytes, p, segment_base).ok()?;
            cursor
                .next
                .is_none_or(|next| base >= next)
                .then_some((p, base))
        });
        let before_offset = resume.map(|(_, base)| base);
        let skipped_to = resume.map_or(bytes.len(), |(p, _)| p);
        // A batch whose offsets are wrong but whose bytes are intact is
        // skipped whole, so the scan goes on right after it.
        report.damage.push(Damage {
            file: path.to_path_buf(),
            position: at as u64,
            skipped: (skipped_to - at) as u64,
            after_offset: last_good,
            before_offset,
            reason,
        });
        if let Some(base) = before_offset {
            cursor.next = Some(base);
        }
        at = skipped_to;
    }
}
