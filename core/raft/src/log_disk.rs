//! The Raft log and vote on disk. Plain synchronous code: `log_store` runs it
//! on tokio's blocking threads, one operation at a time, in openraft's order.
//!
//! Layout under the quorum directory:
//! * `log/<first index, 20 digits>.seg`: segment files of checksummed records
//!   (see `codec`), one record per entry. Only the last segment is written.
//! * `vote`, `purged`: one record each, replaced atomically and fsynced.
//! * `committed`: same format, not fsynced: it is a hint that lets a restart
//!   re-apply committed entries before a leader is heard from.
//!
//! Every append batch is written with one `write` and then fsynced before the
//! call returns. Each record names the offset where its batch began, so at
//! open a bad record can be judged: if an intact record of a *later* batch
//! follows it, the bad one had been fsynced and damaged afterwards (error);
//! otherwise it belongs to the final batch that a crash cut short (dropped).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use openraft::{LogId, Vote};

use crate::codec;
use crate::error::StoreError;
use crate::log_scan::{
    create_segment, list_segments, open_append, read_value, segment_path, Scanner,
};
use crate::{NodeId, TypeConfig};

pub(crate) type LogEntry = openraft::Entry<TypeConfig>;
pub(crate) type SharedEntries = Arc<RwLock<BTreeMap<u64, LogEntry>>>;
type Lid = LogId<NodeId>;

const LOG_DIR: &str = "log";
pub(crate) const SEGMENT_EXT: &str = "seg";
const VOTE_FILE: &str = "vote";
const PURGED_FILE: &str = "purged";
const COMMITTED_FILE: &str = "committed";

/// Where an entry's record starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pos {
    pub(crate) segment: u64,
    pub(crate) offset: u64,
}

#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) id: u64,
    pub(crate) len: u64,
    /// Highest index stored in it (purged ones included).
    pub(crate) last_index: Option<u64>,
}

pub(crate) struct DiskLog {
    dir: PathBuf,
    log_dir: PathBuf,
    /// Sorted by id; never empty; the last one is `active`.
    segments: Vec<Segment>,
    active: File,
    positions: BTreeMap<u64, Pos>,
    /// Unpurged entries, shared with log readers. The metadata log is small
    /// between snapshots, so it is kept in memory whole.
    entries: SharedEntries,
    vote: Option<Vote<NodeId>>,
    purged: Option<Lid>,
    committed: Option<Lid>,
    segment_bytes: u64,
    /// Set when a write failed half-way: the files may not match memory.
    failed: bool,
    /// Refuse holes between entries. Always on in a node; openraft's storage
    /// test suite writes logs with holes, so its run turns this off.
    strict: bool,
}

impl DiskLog {
    /// Opens (or creates) the log in `dir`, dropping a torn final batch.
    pub(crate) fn open(
        dir: &Path,
        segment_bytes: u64,
        strict: bool,
    ) -> Result<DiskLog, StoreError> {
        let log_dir = dir.join(LOG_DIR);
        if !log_dir.is_dir() {
            fs::create_dir_all(&log_dir).map_err(|e| StoreError::io(&log_dir, e))?;
            codec::fsync_dir(dir)?;
        }
        let vote = read_value::<Vote<NodeId>>(&dir.join(VOTE_FILE))?;
        let purged = read_value::<Lid>(&dir.join(PURGED_FILE))?;
        // A damaged hint only costs waiting for the leader's commit index.
        let committed = read_value::<Lid>(&dir.join(COMMITTED_FILE)).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "ignoring unreadable committed-index hint");
            None
        });

        let ids = list_segments(&log_dir)?;
        let mut scan = Scanner {
            purged,
            next: purged.map_or(0, |p| p.index + 1),
            entries: BTreeMap::new(),
            positions: BTreeMap::new(),
            log_dir: log_dir.clone(),
            strict,
        };
        let mut segments = Vec::with_capacity(ids.len().max(1));
        for (i, &id) in ids.iter().enumerate() {
            segments.push(scan.segment(id, i + 1 == ids.len())?);
        }
        if segments.is_empty() {
            let id = scan.next;
            create_segment(&log_dir, id)?;
            segments.push(Segment {
                id,
                len: 0,
                last_index: None,
            });
        }
        let active_id = segments.last().map_or(0, |s| s.id);
        let active = open_append(&segment_path(&log_dir, active_id))?;
        Ok(DiskLog {
            dir: dir.to_path_buf(),
            log_dir,
            segments,
            active,
            positions: scan.positions,
            entries: Arc::new(RwLock::new(scan.entries)),
            vote,
            purged,
            committed,
            segment_bytes,
            failed: false,
            strict,
        })
    }

    pub(crate) fn entries(&self) -> SharedEntries {
        self.entries.clone()
    }

    pub(crate) fn vote(&self) -> Option<Vote<NodeId>> {
        self.vote
    }

    pub(crate) fn purged(&self) -> Option<Lid> {
        self.purged
    }

    pub(crate) fn last_log_id(&self) -> Option<Lid> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(self.purged)
    }

    /// The committed hint, only if this log still holds that very entry (or it
    /// is covered by the purge point), so a restart never re-applies from a
    /// log that does not match what was committed.
    pub(crate) fn committed(&self) -> Option<Lid> {
        let c = self.committed?;
        if self.purged.is_some_and(|p| c.index <= p.index) {
            return Some(c);
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        (entries.get(&c.index).map(|e| e.log_id) == Some(c)).then_some(c)
    }

    pub(crate) fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StoreError> {
        self.check()?;
        let bytes = encode(vote, "vote")?;
        codec::write_file_atomic(&self.dir, VOTE_FILE, &bytes, true)?;
        self.vote = Some(*vote);
        Ok(())
    }

    pub(crate) fn save_committed(&mut self, committed: Option<Lid>) -> Result<(), StoreError> {
        let Some(c) = committed else { return Ok(()) };
        let bytes = encode(&c, "committed index")?;
        codec::write_file_atomic(&self.dir, COMMITTED_FILE, &bytes, false)?;
        self.committed = Some(c);
        Ok(())
    }

    /// Writes `batch` and fsyncs it; the entries are readable once this returns.
    pub(crate) fn append(&mut self, batch: Vec<LogEntry>) -> Result<(), StoreError> {
        self.check()?;
        let Some(first) = batch.first().map(|e| e.log_id.index) else {
            return Ok(());
        };
        let expected = self.last_log_id().map_or(0, |l| l.index + 1);
        if !self.strict {
            // The test suite writes anywhere, the way a map would.
            self.truncate(first)?;
        } else if first != expected {
            return Err(StoreError::Gap {
                dir: self.log_dir.clone(),
                expected,
                found: first,
            });
        }
        self.roll_if_full(first)?;
        let (seg_id, base) = self.active_segment().map(|s| (s.id, s.len))?;
        let mut buf = Vec::new();
        let mut placed = Vec::with_capacity(batch.len());
        for entry in &batch {
            let payload = encode(entry, "log entry")?;
            placed.push((entry.log_id.index, base + buf.len() as u64));
            codec::put_record(&mut buf, base, &payload)
                .map_err(|e| StoreError::io(&self.log_dir, e))?;
        }
        let path = segment_path(&self.log_dir, seg_id);
        if let Err(e) = self
            .active
            .write_all(&buf)
            .and_then(|_| self.active.sync_data())
        {
            self.failed = true;
            return Err(StoreError::io(path, e));
        }
        let last = placed.last().map(|&(i, _)| i);
        if let Some(seg) = self.segments.last_mut() {
            seg.len += buf.len() as u64;
            seg.last_index = last;
        }
        for (index, offset) in placed {
            let pos = Pos {
                segment: seg_id,
                offset,
            };
            self.positions.insert(index, pos);
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.extend(batch.into_iter().map(|e| (e.log_id.index, e)));
        Ok(())
    }

    /// Removes the entries from `index` on (conflicting entries replaced by a
    /// new leader). Later segments go first, so a crash part-way leaves a
    /// shorter but still consecutive log.
    pub(crate) fn truncate(&mut self, index: u64) -> Result<(), StoreError> {
        self.check()?;
        let Some((&index, &pos)) = self.positions.range(index..).next() else {
            return Ok(());
        };
        if !self.segments.iter().any(|s| s.id == pos.segment) {
            return Err(StoreError::Background(format!(
                "segment {} of entry {index} is missing",
                pos.segment
            )));
        }
        let mut removed = false;
        while self.segments.last().is_some_and(|s| s.id != pos.segment) {
            let Some(seg) = self.segments.pop() else {
                break;
            };
            let path = segment_path(&self.log_dir, seg.id);
            if let Err(e) = fs::remove_file(&path) {
                return Err(self.fail_at(&path, e));
            }
            removed = true;
        }
        if removed {
            codec::fsync_dir(&self.log_dir)?;
        }
        let path = segment_path(&self.log_dir, pos.segment);
        let file = open_append(&path)?;
        if let Err(e) = file.set_len(pos.offset).and_then(|_| file.sync_all()) {
            return Err(self.fail_at(&path, e));
        }
        self.active = file;
        let before = self.positions.range(..index).next_back();
        let last_index = before
            .filter(|(_, p)| p.segment == pos.segment)
            .map(|(&i, _)| i);
        if let Some(seg) = self.segments.last_mut() {
            seg.len = pos.offset;
            seg.last_index = last_index;
        }
        self.positions.split_off(&index);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.split_off(&index);
        Ok(())
    }

    /// Forgets entries up to `upto` (inclusive; they are in a snapshot). The
    /// purge point is made durable first; whole segments are deleted after.
    pub(crate) fn purge(&mut self, upto: Lid) -> Result<(), StoreError> {
        self.check()?;
        let bytes = encode(&upto, "purge point")?;
        codec::write_file_atomic(&self.dir, PURGED_FILE, &bytes, true)?;
        self.purged = Some(upto);
        self.positions = self.positions.split_off(&(upto.index + 1));
        {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            *entries = entries.split_off(&(upto.index + 1));
        }
        let active_id = self.active_segment()?.id;
        let doomed: Vec<u64> = self
            .segments
            .iter()
            .filter(|s| s.id != active_id && s.last_index.is_none_or(|l| l <= upto.index))
            .map(|s| s.id)
            .collect();
        for id in &doomed {
            let path = segment_path(&self.log_dir, *id);
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
        }
        if !doomed.is_empty() {
            self.segments.retain(|s| !doomed.contains(&s.id));
            codec::fsync_dir(&self.log_dir)?;
        }
        Ok(())
    }

    fn roll_if_full(&mut self, next_index: u64) -> Result<(), StoreError> {
        let active = self.active_segment()?;
        if active.len < self.segment_bytes || active.last_index.is_none() {
            return Ok(());
        }
        let file = create_segment(&self.log_dir, next_index)?;
        self.segments.push(Segment {
            id: next_index,
            len: 0,
            last_index: None,
        });
        self.active = file;
        Ok(())
    }

    fn active_segment(&self) -> Result<&Segment, StoreError> {
        self.segments
            .last()
            .ok_or_else(|| StoreError::Background("no active log segment".into()))
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failed {
            Err(StoreError::Failed)
        } else {
            Ok(())
        }
    }

    fn fail_at(&mut self, path: &Path, e: std::io::Error) -> StoreError {
        self.failed = true;
        StoreError::io(path, e)
    }
}

fn encode<T: serde::Serialize>(value: &T, what: &'static str) -> Result<Vec<u8>, StoreError> {
    codec::encode(value).map_err(|source| StoreError::Encode { what, source })
}

#[cfg(test)]
#[path = "log_disk_tests.rs"]
mod tests;
