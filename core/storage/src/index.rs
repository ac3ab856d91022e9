//! Sparse segment indexes, in Kafka's file layout.
//!
//! - `.index`: 8-byte entries `relative offset: u32, position: u32` (big
//!   endian). The offset is the *last* offset of the indexed batch, as in
//!   Kafka, so the batch containing a target offset is at or after the
//!   position of the greatest entry whose offset is <= the target.
//! - `.timeindex`: 12-byte entries `timestamp: i64, relative offset: u32`: the
//!   largest timestamp seen so far in the segment and the base offset of the
//!   batch that carried it. Timestamps strictly increase.
//!
//! Entries live in memory (lookups never touch the disk) and the files are
//! written without preallocation. The active segment's files may lag behind
//! memory, or not exist yet: [`Index::persist`] creates and catches them up
//! at roll, flush, truncation and close. After an unclean stop the indexes
//! of every segment past the recovery point are rebuilt from the log, so a
//! lagging or missing file is harmless; any other file that fails the
//! sanity checks in [`Index::load`] is rebuilt too.
//!
//! An index holds no open file except between a write and the fsync that
//! follows it ([`Index::take_unsynced`]): a log then holds one descriptor
//! per segment, as Kafka does (it maps its indexes and closes their files),
//! and creating a partition creates one file, not three.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::remove_if_exists;
use crate::error::{Result, StorageError};

pub(crate) trait IndexEntry: Copy {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Self;
    /// Whether `next` may follow `self` in a well-formed index.
    fn may_precede(&self, next: &Self) -> bool;
}

/// `.index` entry: last offset of a batch (relative) and its file position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

/// `.timeindex` entry: max timestamp so far and the (relative) base offset of
/// the batch that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl IndexEntry for OffsetEntry {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            relative_offset: be_u32(&b[0..4]),
            position: be_u32(&b[4..8]),
        }
    }
    fn may_precede(&self, next: &Self) -> bool {
        self.relative_offset < next.relative_offset && self.position < next.position
    }
}

impl IndexEntry for TimeEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[0..8]);
        TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            relative_offset: be_u32(&b[8..12]),
        }
    }
    fn may_precede(&self, next: &Self) -> bool {
        self.timestamp < next.timestamp && self.relative_offset <= next.relative_offset
    }
}

pub(crate) struct Index<E: IndexEntry> {
    path: PathBuf,
    /// The file as last written, until its fsync takes it.
    unsynced: Option<Arc<File>>,
    entries: Vec<E>,
    /// How many leading entries the file holds.
    persisted: usize,
    /// The file exists and holds exactly those entries.
    file_current: bool,
    max_entries: usize,
}

pub(crate) type OffsetIndex = Index<OffsetEntry>;
pub(crate) type TimeIndex = Index<TimeEntry>;

fn open_for_writing(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StorageError::io("open index", path, e))
}

impl<E: IndexEntry> Index<E> {
    fn max_entries_for(max_bytes: u64) -> usize {
        usize::try_from(max_bytes / E::SIZE as u64)
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// A new, empty index. Its file is written at the first
    /// [`Index::persist`]; a stale one is removed now, so that a crash
    /// before then cannot pair it with the new segment.
    pub fn create(path: PathBuf, max_bytes: u64) -> Result<Self> {
        remove_if_exists(&path)?;
        Ok(Index {
            path,
            unsynced: None,
            entries: Vec::new(),
            persisted: 0,
            file_current: false,
            max_entries: Self::max_entries_for(max_bytes),
        })
    }

    /// Loads an index file. Returns `Ok(None)` when the file is missing or
    /// fails the sanity checks (size a multiple of the entry size, entries
    /// ordered, `accept` true for every entry); the caller then rebuilds it.
    pub fn load(
        path: PathBuf,
        max_bytes: u64,
        accept: impl Fn(&E) -> bool,
    ) -> Result<Option<Self>> {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io("open index", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| StorageError::io("stat index", &path, e))?
            .len();
        let max_entries = Self::max_entries_for(max_bytes);
        // A file larger than the configured maximum is not one we wrote with
        // this config; rebuilding is cheaper than trusting it (and bounds the
        // allocation below by the config, not by the disk).
        if len % E::SIZE as u64 != 0 || len / E::SIZE as u64 > max_entries as u64 {
            return Ok(None);
        }
        let mut bytes = vec![0u8; len as usize];
        file.read_exact_at(&mut bytes, 0)
            .map_err(|e| StorageError::io("read index", &path, e))?;
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        let ordered = entries.windows(2).all(|w| w[0].may_precede(&w[1]));
        if !ordered || !entries.iter().all(accept) {
            return Ok(None);
        }
        let persisted = entries.len();
        Ok(Some(Index {
            path,
            unsynced: None,
            entries,
            persisted,
            file_current: true,
            max_entries,
        }))
    }

    #[cfg(test)]
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    pub fn last(&self) -> Option<&E> {
        self.entries.last()
    }

    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    /// Appends in memory if the entry keeps the index ordered and it has room.
    pub fn push(&mut self, entry: E) {
        if self.is_full() {
            return;
        }
        if self
            .entries
            .last()
            .is_none_or(|last| last.may_precede(&entry))
        {
            self.entries.push(entry);
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.persisted = 0;
        self.file_current = false;
    }

    /// The greatest entry for which `le` holds, assuming `le` is true for a
    /// prefix of the entries.
    pub fn floor_by(&self, le: impl Fn(&E) -> bool) -> Option<&E> {
        let n = self.entries.partition_point(le);
        n.checked_sub(1).map(|i| &self.entries[i])
    }

    /// Brings the file in line with memory: writes unpersisted entries and
    /// cuts the file after the last entry (creating it, if need be). The
    /// file stays open until [`Index::take_unsynced`].
    pub fn persist(&mut self) -> Result<()> {
        if self.file_current && self.persisted == self.entries.len() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
        for entry in &self.entries[self.persisted..] {
            entry.encode(&mut buf);
        }
        let start = (self.persisted * E::SIZE) as u64;
        let file = match &self.unsynced {
            Some(file) => file,
            None => self
                .unsynced
                .insert(Arc::new(open_for_writing(&self.path)?)),
        };
        file.write_all_at(&buf, start)
            .map_err(|e| StorageError::io("write index", &self.path, e))?;
        file.set_len((self.entries.len() * E::SIZE) as u64)
            .map_err(|e| StorageError::io("truncate index", &self.path, e))?;
        self.persisted = self.entries.len();
        self.file_current = true;
        Ok(())
    }

    /// The file written since the last call, with its path, for the
    /// caller to fsync; `None` if nothing was.
    pub fn take_unsynced(&mut self) -> Option<(PathBuf, Arc<File>)> {
        let file = self.unsynced.take()?;
        Some((self.path.clone(), file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file (the cleaner's swap), if it was written yet.
    pub fn rename(&mut self, target: PathBuf) -> Result<()> {
        match std::fs::rename(&self.path, &target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StorageError::io("rename", &self.path, e));
            }
            _ => {}
        }
        self.path = target;
        Ok(())
    }

    pub fn set_max_bytes(&mut self, max_bytes: u64) {
        self.max_entries = Self::max_entries_for(max_bytes);
    }
}

impl OffsetIndex {
    /// The greatest entry whose offset is <= `relative_offset`.
    pub fn lookup(&self, relative_offset: u32) -> Option<OffsetEntry> {
        self.floor_by(|e| e.relative_offset <= relative_offset)
            .copied()
    }
}

impl TimeIndex {
    /// The greatest entry whose timestamp is < `timestamp`: every record up
    /// to that entry's batch is older than the target.
    pub fn lookup_before(&self, timestamp: i64) -> Option<TimeEntry> {
        self.floor_by(|e| e.timestamp < timestamp).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_and_load_round_trip_and_reject_disorder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut index = OffsetIndex::create(path.clone(), 1024).unwrap();
        index.push(OffsetEntry {
            relative_offset: 3,
            position: 0,
        });
        index.push(OffsetEntry {
            relative_offset: 9,
            position: 4100,
        });
        // Out of order: ignored.
        index.push(OffsetEntry {
            relative_offset: 5,
            position: 9000,
        });
        index.persist().unwrap();
        let loaded = OffsetIndex::load(path.clone(), 1024, |_| true)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.entries(), index.entries());
        assert_eq!(
            loaded.lookup(8),
            Some(OffsetEntry {
                relative_offset: 3,
                position: 0
            })
        );
        assert_eq!(loaded.lookup(2), None);

        std::fs::write(&path, [0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1]).unwrap();
        assert!(OffsetIndex::load(path.clone(), 1024, |_| true)
            .unwrap()
            .is_none());
        std::fs::write(&path, [1, 2, 3]).unwrap();
        assert!(OffsetIndex::load(path, 1024, |_| true).unwrap().is_none());
    }
}
