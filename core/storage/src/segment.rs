//! One segment: a `.log` file of v2 batches plus its `.index` and
//! `.timeindex`. The segment keeps the in-memory facts the log asks about
//! (size, next offset, largest timestamp) and the indexing rule shared by
//! appends and rebuilds, so a rebuilt index equals the one appends wrote.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::batch_scan::{
    crc_matches, read_header, zeros_to_end, BatchInfo, HeaderRead, ScanWindow,
};
pub(crate) use crate::checkpoint::remove_files;
use crate::checkpoint::{
    offset_file_name, rename, rename_for_deletion, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX,
};
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::index::{OffsetEntry, OffsetIndex, TimeEntry, TimeIndex};
use crate::read::VERIFY_WINDOW;

/// Kafka's "no timestamp" value.
pub(crate) const NO_TIMESTAMP: i64 = -1;

/// How far [`Segment::zero_ahead`] writes zeros past the data at least
/// and at most: a quarter of the segment's size between the two, so a
/// quiet partition (of a thousand) costs 64 KiB ahead, a busy one 1 MiB.
const MIN_ZERO_AHEAD: u64 = 64 * 1024;
const MAX_ZERO_AHEAD: u64 = 1024 * 1024;
/// The largest append that zeros are written ahead of. The journal work
/// zeros save a sync is about the same whatever the append; the second
/// write of each block grows with it. At 16 KiB a partition (a Java
/// producer's batch) zeros ahead won 15% on throughput, at 160 KiB
/// (librdkafka's) they lost 20%.
const MAX_APPEND_ZEROED_AHEAD: u64 = 32 * 1024;
static ZEROS: [u8; MAX_ZERO_AHEAD as usize] = [0; MAX_ZERO_AHEAD as usize];

pub(crate) struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    log: Arc<File>,
    /// Bytes of the file that hold valid batches.
    pub size: u64,
    /// The offset after the last batch (`base_offset` when empty).
    pub next_offset: i64,
    pub offset_index: OffsetIndex,
    pub time_index: TimeIndex,
    bytes_since_index_entry: u64,
    pub max_timestamp: i64,
    /// Base offset of the batch carrying `max_timestamp`.
    pub offset_of_max_timestamp: i64,
    /// Max timestamp of the first batch: the clock `segment.ms` runs on.
    pub first_batch_timestamp: Option<i64>,
    /// Set by [`Segment::open`]: false when an index file was missing or
    /// failed its sanity checks, so [`Segment::load`] must rebuild.
    indexes_loaded: bool,
    /// The cleaner has rewritten this segment, or a follower append
    /// brought gaps from a compacted leader (`replicated.rs`), so its
    /// offsets only increase. Others must be contiguous, which is what
    /// catches a corrupted base offset (outside the CRC).
    pub gaps_allowed: bool,
    /// A scan that stops at damage leaves the file as it is (the damaged
    /// bytes and whatever follows them) instead of cutting it there: set
    /// while a log opens, which then decides (`recovery.rs`).
    pub keep_damaged: bool,
    /// Set when a scan stopped at damage in a `keep_damaged` segment: the
    /// valid bytes end at `size`, the file goes on.
    pub damaged: bool,
    /// Where the zeros [`Segment::zero_ahead`] wrote past `size` end (0
    /// when there are none).
    zeroed_to: u64,
    /// The `.log` may hold changes no fsync of it has covered yet: set by
    /// every write and cut, and when the segment is made or opened;
    /// cleared when [`Segment::take_sync_handles`] hands the file out to
    /// be synced, or by [`Segment::mark_log_durable`]. A sealed segment
    /// synced at its roll is then not synced again by every clean stop.
    log_unsynced: bool,
}

/// Why a scan stopped before the end of the file.
pub(crate) struct Truncation {
    pub position: u64,
    pub reason: String,
    /// Only zeros follow `position`: space written ahead that no append
    /// reached (a crash in fsync mode), not a torn write.
    pub unwritten: bool,
}

fn open_log(path: &Path, truncate: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .map_err(|e| StorageError::io("open segment", path, e))
}

/// `<base>.<suffix><extra>`: a segment file, or (with `.cleaned` or
/// `.swap` as `extra`) one the cleaner is about to swap in.
pub(crate) fn segment_file(dir: &Path, base_offset: i64, suffix: &str, extra: &str) -> PathBuf {
    dir.join(format!("{}{extra}", offset_file_name(base_offset, suffix)))
}

impl Segment {
    fn with_files(
        dir: &Path,
        base_offset: i64,
        log: File,
        config: &LogConfig,
        extra: &str,
    ) -> Result<Self> {
        let offset_index = OffsetIndex::create(
            segment_file(dir, base_offset, INDEX_SUFFIX, extra),
            config.segment_index_bytes,
        )?;
        let time_index = TimeIndex::create(
            segment_file(dir, base_offset, TIME_INDEX_SUFFIX, extra),
            config.segment_index_bytes,
        )?;
        Ok(Segment {
            base_offset,
            log_path: segment_file(dir, base_offset, LOG_SUFFIX, extra),
            log: Arc::new(log),
            size: 0,
            next_offset: base_offset,
            offset_index,
            time_index,
            bytes_since_index_entry: 0,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            first_batch_timestamp: None,
            indexes_loaded: true,
            gaps_allowed: false,
            keep_damaged: false,
            damaged: false,
            zeroed_to: 0,
            log_unsynced: true,
        })
    }

    /// A new empty segment starting at `base_offset` (stale files are emptied).
    pub fn create(dir: &Path, base_offset: i64, config: &LogConfig) -> Result<Self> {
        Self::create_named(dir, base_offset, config, "")
    }

    /// [`Segment::create`] with `extra` appended to every file name: the
    /// cleaner writes `<base>.log.cleaned` and its indexes this way.
    pub fn create_named(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        extra: &str,
    ) -> Result<Self> {
        let log = open_log(&segment_file(dir, base_offset, LOG_SUFFIX, extra), true)?;
        Self::with_files(dir, base_offset, log, config, extra)
    }

    /// Renames the three files to `<base>.<suffix><extra>` (indexes first,
    /// the log last: recovery keys on the log file's name). Open handles
    /// stay valid.
    pub fn rename_files(&mut self, dir: &Path, extra: &str) -> Result<()> {
        let base = self.base_offset;
        self.offset_index
            .rename(segment_file(dir, base, INDEX_SUFFIX, extra))?;
        self.time_index
            .rename(segment_file(dir, base, TIME_INDEX_SUFFIX, extra))?;
        let log_target = segment_file(dir, base, LOG_SUFFIX, extra);
        rename(&self.log_path, &log_target)?;
        self.log_path = log_target;
        Ok(())
    }

    /// Opens an existing segment and whatever index files pass the basic
    /// sanity checks. Its state is unknown until [`Segment::load`] or
    /// [`Segment::recover`] runs.
    pub fn open(dir: &Path, base_offset: i64, config: &LogConfig) -> Result<Self> {
        let log_path = dir.join(offset_file_name(base_offset, LOG_SUFFIX));
        let log = open_log(&log_path, false)?;
        let file_len = log
            .metadata()
            .map_err(|e| StorageError::io("stat segment", &log_path, e))?
            .len();
        let index_path = dir.join(offset_file_name(base_offset, INDEX_SUFFIX));
        let time_path = dir.join(offset_file_name(base_offset, TIME_INDEX_SUFFIX));
        let max = config.segment_index_bytes;
        let loaded_offsets = OffsetIndex::load(index_path.clone(), max, |e| {
            u64::from(e.position) < file_len
        })?;
        let loaded_times = TimeIndex::load(time_path.clone(), max, |_| file_len > 0)?;
        let indexes_loaded = loaded_offsets.is_some() && loaded_times.is_some();
        let offset_index = match loaded_offsets {
            Some(index) => index,
            None => OffsetIndex::create(index_path, max)?,
        };
        let time_index = match loaded_times {
            Some(index) => index,
            None => TimeIndex::create(time_path, max)?,
        };
        Ok(Segment {
            base_offset,
            log_path,
            log: Arc::new(log),
            size: file_len,
            next_offset: base_offset,
            offset_index,
            time_index,
            bytes_since_index_entry: 0,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            first_batch_timestamp: None,
            indexes_loaded,
            gaps_allowed: false,
            keep_damaged: false,
            damaged: false,
            zeroed_to: 0,
            log_unsynced: true,
        })
    }

    pub fn log_file(&self) -> Arc<File> {
        Arc::clone(&self.log)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// `offset` relative to the base, if it fits an index entry.
    pub fn relative(&self, offset: i64) -> Option<u32> {
        u32::try_from(offset.checked_sub(self.base_offset)?).ok()
    }

    fn reset_state(&mut self) {
        self.offset_index.clear();
        self.time_index.clear();
        self.size = 0;
        self.next_offset = self.base_offset;
        self.bytes_since_index_entry = 0;
        self.max_timestamp = NO_TIMESTAMP;
        self.offset_of_max_timestamp = self.base_offset;
        self.first_batch_timestamp = None;
        self.zeroed_to = 0;
    }

    /// The indexing rule (Kafka's): before a batch is added, if at least
    /// `index.interval.bytes` were written since the last entry, index this
    /// batch (offset index: its last offset and position; time index: the
    /// largest timestamp so far).
    pub fn track(&mut self, batch: &BatchInfo, index_interval_bytes: u64) {
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(batch.max_timestamp);
        }
        if batch.max_timestamp > self.max_timestamp {
            self.max_timestamp = batch.max_timestamp;
            self.offset_of_max_timestamp = batch.base_offset;
        }
        if self.bytes_since_index_entry >= index_interval_bytes {
            if let (Some(rel), Ok(position)) = (
                self.relative(batch.last_offset),
                u32::try_from(batch.position),
            ) {
                self.offset_index.push(OffsetEntry {
                    relative_offset: rel,
                    position,
                });
            }
            if let Some(rel) = self.relative(self.offset_of_max_timestamp) {
                self.time_index.push(TimeEntry {
                    timestamp: self.max_timestamp,
                    relative_offset: rel,
                });
            }
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += u64::from(batch.size);
        self.size = batch.end_position();
        self.next_offset = batch.last_offset.saturating_add(1);
    }

    /// Writes already-offset-assigned batches at the end of the file and
    /// indexes them. `batches` describe `bytes` with positions relative to
    /// the start of `bytes`. On a write error the file is cut back.
    pub fn append(
        &mut self,
        bytes: &[u8],
        batches: &[BatchInfo],
        index_interval_bytes: u64,
    ) -> Result<()> {
        let start = self.size;
        self.log_unsynced = true;
        if let Err(e) = self.log.write_all_at(bytes, start) {
            // Best effort: leave no partial batch behind for the next append.
            let _ = self.log.set_len(start);
            self.zeroed_to = 0;
            return Err(StorageError::io("append to segment", &self.log_path, e));
        }
        for batch in batches {
            let placed = BatchInfo {
                position: start + batch.position,
                ..*batch
            };
            self.track(&placed, index_interval_bytes);
        }
        Ok(())
    }

    /// After a small append (`appended` bytes, at most
    /// [`MAX_APPEND_ZEROED_AHEAD`]), writes zeros past the data when the
    /// appends come within half a stretch of the zeros' end (never past
    /// `max_size`, where the segment rolls). Two gains, one per policy:
    /// - fsync: the next sync puts those blocks and the file size on disk
    ///   before any append reaches them, so a later sync of an append
    ///   writes its data only, with no block allocation or size change to
    ///   journal: on ext4 that took a third off the time of a `syncfs`
    ///   round under a Java producer (and 0.8 to 0.3 ms for six 16 KiB
    ///   appends alone);
    /// - both: one large aligned write makes the page cache hold the
    ///   segment in large folios (where the filesystem has them: ext4
    ///   since Linux 6.16, XFS), which the appends then fill. Small
    ///   appends alone leave it in 4 KiB pages, and every later read
    ///   (`pread` for the CRC check, `sendfile`) walks them: by hand, a
    ///   Java consumer group reading 300 MB from a page-cache broker used
    ///   a third less broker CPU with the zeros (0.16 s against 0.23–0.25).
    ///
    /// The cost is writing each block twice, in memory (a page-cache
    /// append's zeros are overwritten before the kernel writes them back,
    /// unless the partition is slow). Best effort: on a failure (a full
    /// disk) the appends extend the file as before.
    /// [`Segment::trim_zeros`] cuts what is left at a roll or a close, and
    /// recovery tells the zeros from damage after a crash.
    pub fn zero_ahead(&mut self, appended: u64, max_size: u64) {
        let ahead = (self.size / 4).clamp(MIN_ZERO_AHEAD, MAX_ZERO_AHEAD);
        if self.damaged
            || appended > MAX_APPEND_ZEROED_AHEAD
            || self.size + ahead / 2 <= self.zeroed_to
        {
            return;
        }
        let from = self.zeroed_to.max(self.size);
        let to = (from + ahead).min(max_size);
        if to <= from {
            return;
        }
        let len = usize::try_from(to - from).unwrap_or(ZEROS.len());
        self.log_unsynced = true;
        match self.log.write_all_at(&ZEROS[..len], from) {
            Ok(()) => self.zeroed_to = to,
            Err(e) => {
                tracing::debug!(segment = %self.log_path.display(), "cannot write zeros ahead of the appends: {e}");
                let _ = self.log.set_len(from);
            }
        }
    }

    /// Cuts the zeros written ahead of the appends, so that a segment
    /// that stops being active ends with its last batch.
    pub fn trim_zeros(&mut self) -> Result<()> {
        if self.zeroed_to > self.size {
            self.cut_file_at(self.size)?;
        }
        self.zeroed_to = 0;
        Ok(())
    }

    /// Rebuilds all in-memory state and the index files by scanning the log
    /// from the start. With `verify_crc` every batch is fully checked, as
    /// after an unclean stop. Batches must be contiguous (each starting at
    /// the offset after the previous one, the first at the segment's base);
    /// in a segment with gaps (`gaps_allowed`) offsets must only increase.
    /// The file is cut at the first batch that fails, and `visit` sees
    /// every valid batch.
    pub fn recover(
        &mut self,
        verify_crc: bool,
        index_interval_bytes: u64,
        mut visit: impl FnMut(&BatchInfo),
    ) -> Result<Option<Truncation>> {
        let file_len = self
            .log
            .metadata()
            .map_err(|e| StorageError::io("stat segment", &self.log_path, e))?
            .len();
        self.reset_state();
        let mut truncation = None;
        // Checked batches are read a window at a time (headers and
        // bodies); a walk of the headers alone reads only those.
        let file = Arc::clone(&self.log);
        let mut scratch = Vec::new();
        let mut window =
            verify_crc.then(|| ScanWindow::new(&file, file_len, VERIFY_WINDOW, &mut scratch));
        loop {
            let position = self.size;
            let next = match window.as_mut() {
                Some(window) => window.header(position),
                None => read_header(&self.log, position, file_len),
            };
            let batch = match next {
                HeaderRead::End => break,
                HeaderRead::Invalid(reason) => {
                    let unwritten = zeros_to_end(&self.log, position, file_len);
                    truncation = Some(Truncation {
                        position,
                        reason,
                        unwritten,
                    });
                    break;
                }
                HeaderRead::Batch(batch) => batch,
            };
            // A batch placed at its true offsets had its CRC checked then.
            let (batch, crc_checked) = match self.contiguity_problem(&batch) {
                None => (batch, false),
                Some(reason) => match self.with_damaged_base_offset(&batch, file_len) {
                    Some(placed) => (placed, true),
                    None => {
                        truncation = Some(Truncation {
                            position,
                            reason,
                            unwritten: false,
                        });
                        break;
                    }
                },
            };
            if !crc_checked && window.as_mut().is_some_and(|w| !w.crc_matches(&batch)) {
                truncation = Some(Truncation {
                    position,
                    reason: "CRC32C mismatch".to_string(),
                    unwritten: false,
                });
                break;
            }
            visit(&batch);
            self.track(&batch, index_interval_bytes);
        }
        if truncation.is_some() {
            self.damaged = true;
            if !self.keep_damaged {
                self.discard_damage()?;
            }
        }
        // The in-memory index is what the open log uses; on a full disk
        // the files catch up at the next persist (roll or close).
        if let Err(e) = self.persist_indexes() {
            if !e.is_disk_full() {
                return Err(e);
            }
            tracing::warn!(segment = %self.log_path.display(), "disk full: the rebuilt index stays in memory for now ({e})");
        }
        Ok(truncation)
    }

    /// Cuts the file where its valid bytes end (a torn write, or garbage
    /// with nothing readable before it).
    pub fn discard_damage(&mut self) -> Result<()> {
        self.cut_file_at(self.size)?;
        self.damaged = false;
        Ok(())
    }

    /// Sets the file's length to `len` (`len` is where batches end).
    fn cut_file_at(&mut self, len: u64) -> Result<()> {
        self.log_unsynced = true;
        self.log
            .set_len(len)
            .map_err(|e| StorageError::io("truncate segment", &self.log_path, e))
    }

    /// In a never-cleaned segment being opened (`keep_damaged`), a batch whose
    /// CRC holds but whose base offset does not follow the previous batch
    /// had that field damaged (it is the one field outside the CRC) when
    /// the batch after it follows the offsets this one must have. Returns
    /// the batch at those offsets (reads serve it so; see `read.rs`).
    fn with_damaged_base_offset(&self, batch: &BatchInfo, file_len: u64) -> Option<BatchInfo> {
        if !self.keep_damaged || self.gaps_allowed || !crc_matches(&self.log, batch) {
            return None;
        }
        let delta = i64::from(batch.last_offset_delta);
        let placed = BatchInfo {
            base_offset: self.next_offset,
            last_offset: self.next_offset.checked_add(delta)?,
            ..*batch
        };
        let follows = match read_header(&self.log, batch.end_position(), file_len) {
            HeaderRead::Batch(next) => next.base_offset == placed.last_offset + 1,
            _ => false,
        };
        if !follows {
            return None;
        }
        tracing::error!(
            segment = %self.log_path.display(),
            position = batch.position,
            "damaged base offset: the batch says {} but follows offset {}; served at its true offsets",
            batch.base_offset,
            self.next_offset - 1
        );
        Some(placed)
    }

    fn contiguity_problem(&self, batch: &BatchInfo) -> Option<String> {
        if self.gaps_allowed {
            if batch.base_offset < self.next_offset {
                return Some(format!(
                    "batch base offset {} is below {}, the offset after the previous batch",
                    batch.base_offset, self.next_offset
                ));
            }
        } else if batch.base_offset != self.next_offset {
            return Some(format!(
                "batch base offset {} where {} was expected",
                batch.base_offset, self.next_offset
            ));
        }
        if batch.last_offset - self.base_offset > i64::from(i32::MAX) {
            return Some(format!(
                "last offset {} is too far from the segment base {}",
                batch.last_offset, self.base_offset
            ));
        }
        None
    }

    /// Loads a segment written before a clean stop (or below the recovery
    /// point): trusts indexes that passed the sanity checks in
    /// [`Segment::open`], and reads only the batches after the last index
    /// entry to find the end. Falls back to a header-scan rebuild when an
    /// index is missing or names the wrong batch, and to a full recovery
    /// when the log itself is malformed.
    pub fn load(&mut self, index_interval_bytes: u64) -> Result<Option<Truncation>> {
        if !self.indexes_loaded {
            return self.rebuild_indexes(index_interval_bytes);
        }
        let file_len = self.size;
        let first = match read_header(&self.log, 0, file_len) {
            HeaderRead::Batch(b) => b,
            HeaderRead::End => return Ok(None),
            HeaderRead::Invalid(_) => return self.recover(true, index_interval_bytes, |_| {}),
        };
        if self.contiguity_problem(&first).is_some() {
            return self.recover(true, index_interval_bytes, |_| {});
        }
        self.first_batch_timestamp = Some(first.max_timestamp);
        if let Some(t) = self.time_index.last().copied() {
            self.max_timestamp = t.timestamp;
            self.offset_of_max_timestamp = self
                .base_offset
                .saturating_add(i64::from(t.relative_offset));
        }
        let start = self.offset_index.last().copied();
        self.size = start.map_or(0, |e| u64::from(e.position));
        self.next_offset = self.base_offset;
        self.bytes_since_index_entry = 0;
        if let Some(entry) = start {
            // The indexed batch itself was counted when its entry was made.
            let batch = match read_header(&self.log, self.size, file_len) {
                HeaderRead::Batch(b) => b,
                _ => return self.rebuild_indexes(index_interval_bytes),
            };
            if batch.last_offset
                != self
                    .base_offset
                    .saturating_add(i64::from(entry.relative_offset))
            {
                return self.rebuild_indexes(index_interval_bytes);
            }
            if batch.max_timestamp > self.max_timestamp {
                self.max_timestamp = batch.max_timestamp;
                self.offset_of_max_timestamp = batch.base_offset;
            }
            self.bytes_since_index_entry = u64::from(batch.size);
            self.size = batch.end_position();
            self.next_offset = batch.last_offset.saturating_add(1);
        }
        loop {
            let batch = match read_header(&self.log, self.size, file_len) {
                HeaderRead::End => break,
                HeaderRead::Invalid(_) => return self.recover(true, index_interval_bytes, |_| {}),
                HeaderRead::Batch(b) => b,
            };
            if let Some(reason) = self.contiguity_problem(&batch) {
                tracing::warn!(segment = %self.log_path.display(), %reason, "segment tail is inconsistent; recovering it");
                return self.recover(true, index_interval_bytes, |_| {});
            }
            self.track(&batch, index_interval_bytes);
        }
        let time_index_overshoots = self.time_index.last().is_some_and(|t| {
            self.base_offset
                .saturating_add(i64::from(t.relative_offset))
                >= self.next_offset
        });
        if time_index_overshoots {
            return self.rebuild_indexes(index_interval_bytes);
        }
        Ok(None)
    }

    fn rebuild_indexes(&mut self, index_interval_bytes: u64) -> Result<Option<Truncation>> {
        tracing::warn!(segment = %self.log_path.display(), "index missing or inconsistent; rebuilding it from the log");
        let truncation = self.recover(false, index_interval_bytes, |_| {})?;
        if truncation.is_some() && self.keep_damaged {
            // Damage in a durable segment: a batch before it can be
            // damaged too (bytes cut from inside a batch leave its frame
            // whole and its CRC wrong), so every batch is checked.
            return self.recover(true, index_interval_bytes, |_| {});
        }
        Ok(truncation)
    }

    /// Kafka's last step before a segment stops being active: make sure the
    /// time index ends with the segment's largest timestamp, then write the
    /// index files out.
    pub fn seal_indexes(&mut self) -> Result<()> {
        if self.max_timestamp != NO_TIMESTAMP {
            if let Some(rel) = self.relative(self.offset_of_max_timestamp) {
                self.time_index.push(TimeEntry {
                    timestamp: self.max_timestamp,
                    relative_offset: rel,
                });
            }
        }
        self.persist_indexes()
    }

    pub fn persist_indexes(&mut self) -> Result<()> {
        self.offset_index.persist()?;
        self.time_index.persist()
    }

    /// Handles to fsync for this segment, each a file changed since the
    /// last call: the log first, then the index files (the segment lets
    /// go of those, so they close once synced). The caller must sync them
    /// all or fail the directory: the segment counts them as synced.
    pub fn take_sync_handles(&mut self) -> Vec<(PathBuf, Arc<File>)> {
        let mut handles = Vec::with_capacity(3);
        if std::mem::take(&mut self.log_unsynced) {
            handles.push((self.log_path.clone(), self.log_file()));
        }
        handles.extend(self.offset_index.take_unsynced());
        handles.extend(self.time_index.take_unsynced());
        handles
    }

    /// The `.log` is known to be on disk as it is: a cleanly closed log's
    /// segments were all synced before its clean-shutdown marker.
    pub fn mark_log_durable(&mut self) {
        self.log_unsynced = false;
    }

    /// The segment's three files, whether or not its indexes were written.
    pub fn file_paths(&self) -> [&Path; 3] {
        [
            &self.log_path,
            self.offset_index.path(),
            self.time_index.path(),
        ]
    }

    /// Cuts the segment before the batch that contains `offset` (or the first
    /// batch after it) and rebuilds its indexes.
    pub fn truncate_to(&mut self, offset: i64, index_interval_bytes: u64) -> Result<()> {
        let start = self
            .relative(offset)
            .and_then(|rel| self.offset_index.lookup(rel))
            .map_or(0, |e| u64::from(e.position));
        let mut position = start;
        loop {
            match read_header(&self.log, position, self.size) {
                HeaderRead::Batch(b) if b.last_offset < offset => position = b.end_position(),
                _ => break,
            }
        }
        self.cut_file_at(position)?;
        self.recover(false, index_interval_bytes, |_| {})?;
        Ok(())
    }

    /// Renames the segment's files to `*.deleted` (cheap, under the log
    /// lock) and returns the new paths for [`remove_files`] to unlink later.
    pub fn mark_deleted(&self) -> Result<Vec<PathBuf>> {
        let mut renamed = Vec::new();
        for path in self.file_paths() {
            if let Some(p) = rename_for_deletion(path)? {
                renamed.push(p);
            }
        }
        Ok(renamed)
    }

    pub fn set_index_max_bytes(&mut self, max_bytes: u64) {
        self.offset_index.set_max_bytes(max_bytes);
        self.time_index.set_max_bytes(max_bytes);
    }
}
