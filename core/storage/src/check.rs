//! Offline verification of partition logs (`strom storage check`), as
//! Kafka's `kafka-dump-log --deep-iteration` does: every batch of every
//! segment is framed, CRC-checked and its offsets checked against the
//! batch before it. Damage is reported with its file, byte position and
//! the offsets around it, and the scan goes on past it (it looks for the
//! next intact batch), so one bad spot does not hide another.
//!
//! The files are only read, with positional reads in bounded chunks.

use std::path::{Path, PathBuf};

use std::fs::File;

use crate::batch_scan::{
    crc_matches, find_intact_batch, read_header, zeros_to_end, BatchInfo, HeaderRead,
};

use crate::checkpoint::{
    dir_entries, offset_file_name, parse_offset_file_name, read_offsets, CLEAN_SHUTDOWN_FILE,
    GAP_SEGMENTS_FILE, LOG_SUFFIX,
};
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
    /// The segment being checked holds replicated gaps (it is in the
    /// gap-segments checkpoint): gaps into and within it are expected.
    gap_segment: bool,
    /// The segment being checked is the partition's last and the broker
    /// did not stop cleanly: zeros that run to its end are space written
    /// ahead of appends that a crash left (fsync mode), not damage. (A
    /// clean stop cuts them.)
    may_end_in_zeros: bool,
}

fn check_partition(dir: &Path, report: &mut CheckReport) -> Result<()> {
    report.partitions += 1;
    let clean_offset = CleanerCheckpoint::read(dir).map_or(0, |c| c.clean_offset);
    let gap_segments = read_offsets(dir, GAP_SEGMENTS_FILE)?;
    let mut cursor = Cursor {
        next: None,
        clean_offset,
        gap_segment: false,
        may_end_in_zeros: false,
    };
    let stopped_cleanly = dir.join(CLEAN_SHUTDOWN_FILE).exists();
    let bases = segment_bases(dir)?;
    for &base in &bases {
        report.segments += 1;
        cursor.gap_segment = gap_segments.contains(&base);
        cursor.may_end_in_zeros = !stopped_cleanly && bases.last() == Some(&base);
        let path = dir.join(offset_file_name(base, LOG_SUFFIX));
        let io = |e| StorageError::io("read segment", &path, e);
        let file = File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        check_segment(&path, base, &file, len, &mut cursor, report);
    }
    Ok(())
}

/// The intact batch at `at`: framed, magic 2, its CRC right, its offsets
/// in this segment.
fn intact_batch(
    file: &File,
    at: u64,
    len: u64,
    segment_base: i64,
) -> std::result::Result<BatchInfo, String> {
    let batch = match read_header(file, at, len) {
        HeaderRead::Batch(batch) => batch,
        HeaderRead::Invalid(reason) => return Err(reason),
        HeaderRead::End => return Err("no batch".to_string()),
    };
    if !crc_matches(file, &batch) {
        return Err("CRC32C mismatch".to_string());
    }
    if batch.base_offset < segment_base {
        return Err(format!(
            "offsets {}..{} do not belong in the segment starting at {segment_base}",
            batch.base_offset, batch.last_offset
        ));
    }
    Ok(batch)
}

fn check_segment(
    path: &Path,
    segment_base: i64,
    file: &File,
    len: u64,
    cursor: &mut Cursor,
    report: &mut CheckReport,
) {
    let mut at = 0u64;
    let mut last_good: Option<i64> = cursor.next.map(|next| next - 1);
    while at < len {
        let problem = match intact_batch(file, at, len, segment_base) {
            Ok(batch) => {
                let (base, last) = (batch.base_offset, batch.last_offset);
                match cursor.next {
                    Some(next) if base < next => Some(format!(
                        "batch offsets {base}..{last} go back before {next}, the offset after the previous batch"
                    )),
                    Some(next)
                        if base > next && base > cursor.clean_offset && !cursor.gap_segment =>
                    {
                        Some(format!(
                            "batch offsets {base}..{last} skip {} offset(s) after {}",
                            base - next,
                            next - 1
                        ))
                    }
                    _ => {
                        report.batches += 1;
                        cursor.next = Some(last + 1);
                        last_good = Some(last);
                        at = batch.end_position();
                        None
                    }
                }
            }
            Err(reason) => Some(reason),
        };
        let Some(reason) = problem else { continue };
        if cursor.may_end_in_zeros && zeros_to_end(file, at, len) {
            break;
        }
        // Past the damage: the next intact batch that continues the
        // partition's offsets. (A batch whose offsets are wrong but whose
        // bytes are intact is skipped whole, so the scan goes on right
        // after it.)
        let resume = find_intact_batch(file, at + 1, len, |batch| {
            batch.base_offset >= segment_base
                && cursor.next.is_none_or(|next| batch.base_offset >= next)
        });
        report.damage.push(Damage {
            file: path.to_path_buf(),
            position: at,
            skipped: resume.map_or(len, |batch| batch.position) - at,
            after_offset: last_good,
            before_offset: resume.map(|batch| batch.base_offset),
            reason,
        });
        // Damage that runs to the end of the file hides where the offsets
        // stand: the next segment's first batch says it (the broker moves
        // the intact batches after damage to a segment of their own).
        cursor.next = resume.map(|batch| batch.base_offset);
        at = resume.map_or(len, |batch| batch.position);
    }
}
