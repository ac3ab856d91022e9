//! Opening the log: reading every segment back, checking it, and cutting
//! off a torn final batch. Also the small file helpers `log_disk` uses.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use openraft::LogId;
use serde::de::DeserializeOwned;

use crate::codec::{self, corrupt, read_record, Scan, RECORD_HEADER};
use crate::error::StoreError;
use crate::log_disk::{LogEntry, Pos, Segment, SEGMENT_EXT};
use crate::NodeId;

/// State carried from one segment to the next while opening.
pub(crate) struct Scanner {
    pub(crate) purged: Option<LogId<NodeId>>,
    pub(crate) next: u64,
    pub(crate) entries: BTreeMap<u64, LogEntry>,
    pub(crate) positions: BTreeMap<u64, Pos>,
    pub(crate) log_dir: PathBuf,
    pub(crate) strict: bool,
}

impl Scanner {
    pub(crate) fn segment(&mut self, id: u64, is_last: bool) -> Result<Segment, StoreError> {
        let path = segment_path(&self.log_dir, id);
        let data = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut offset = 0usize;
        let mut last_index = None;
        loop {
            match read_record(&data, offset) {
                Scan::End => break,
                Scan::Record { payload, next, .. } => {
                    let entry: LogEntry = codec::decode(payload).map_err(|e| {
                        corrupt(&path, offset as u64, format!("undecodable entry: {e}"))
                    })?;
                    let index = entry.log_id.index;
                    last_index = Some(index);
                    if self.purged.is_none_or(|p| index > p.index) {
                        if index != self.next && (self.strict || index < self.next) {
                            return Err(StoreError::Gap {
                                dir: self.log_dir.clone(),
                                expected: self.next,
                                found: index,
                            });
                        }
                        let pos = Pos {
                            segment: id,
                            offset: offset as u64,
                        };
                        self.positions.insert(index, pos);
                        self.entries.insert(index, entry);
                        self.next = index + 1;
                    }
                    offset = next;
                }
                Scan::Bad(reason) => {
                    if !is_last {
                        return Err(corrupt(&path, offset as u64, reason));
                    }
                    if let Some(at) = later_batch_record(&data, offset) {
                        let why = format!(
                            "{reason}, but an intact record written later follows at offset {at}"
                        );
                        return Err(corrupt(&path, offset as u64, why));
                    }
                    tracing::warn!(
                        file = %path.display(),
                        offset,
                        dropped_bytes = data.len() - offset,
                        reason,
                        "dropping the torn tail of the raft log (an append cut short by a crash)"
                    );
                    let file = OpenOptions::new().write(true).open(&path);
                    file.and_then(|f| f.set_len(offset as u64).and_then(|_| f.sync_all()))
                        .map_err(|e| StoreError::io(&path, e))?;
                    break;
                }
            }
        }
        Ok(Segment {
            id,
            len: offset as u64,
            last_index,
        })
    }
}

/// Offset of an intact record, after `bad`, that belongs to a batch started
/// after `bad`: proof that the batch holding `bad` had completed.
fn later_batch_record(data: &[u8], bad: usize) -> Option<usize> {
    let end = data.len().checked_sub(RECORD_HEADER)?;
    (bad + 1..=end).find(|&at| {
        matches!(read_record(data, at), Scan::Record { batch_start, .. } if batch_start > bad as u64)
    })
}

pub(crate) fn read_value<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    let Some(bytes) = codec::read_file_checked(path)? else {
        return Ok(None);
    };
    codec::decode(&bytes)
        .map(Some)
        .map_err(|e| corrupt(path, 0, format!("undecodable content: {e}")))
}

pub(crate) fn segment_path(log_dir: &Path, id: u64) -> PathBuf {
    log_dir.join(format!("{id:020}.{SEGMENT_EXT}"))
}

pub(crate) fn list_segments(log_dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut ids = Vec::new();
    let read = fs::read_dir(log_dir).map_err(|e| StoreError::io(log_dir, e))?;
    for item in read {
        let path = item.map_err(|e| StoreError::io(log_dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(SEGMENT_EXT) {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        match stem.parse::<u64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                tracing::warn!(file = %path.display(), "ignoring unexpected file in the raft log directory")
            }
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

pub(crate) fn create_segment(log_dir: &Path, id: u64) -> Result<File, StoreError> {
    let path = segment_path(log_dir, id);
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    codec::fsync_dir(log_dir)?;
    Ok(file)
}

pub(crate) fn open_append(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))
}
