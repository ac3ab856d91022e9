//! [`Log`]: the public face of a partition log, its shared state, and the
//! append path. Reads, timestamps, retention, truncation, recovery and
//! durability live in sibling modules as further `impl Log` blocks.

use std::collections::BTreeMap;
use std::fs::File;
use std::iter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use strom_protocol::records::{rewrite, BatchHeader};

use crate::batch_scan::BatchInfo;
use crate::config::LogConfig;
use crate::dir_health::DirHealth;
use crate::epoch_cache::{EpochEntry, LeaderEpochCache};
use crate::error::{Result, StorageError};
use crate::group_commit::GroupCommit;
use crate::latency::FSYNC_LATENCY;
use crate::producer_state::{
    encode_snapshot, BatchMetadata, ProducerStateEntry, ProducerStateManager, SequenceCheck,
};
use crate::segment::Segment;
use crate::tail_cache::{AppendBytes, TailCache, TailReads};

/// [`Log::offsets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOffsets {
    pub log_start: i64,
    pub high_watermark: i64,
    /// The offset the next append will get.
    pub log_end: i64,
}

/// How the leader stamps an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOptions {
    /// Written into every batch's partition leader epoch; a newer epoch than
    /// the cache's latest is also assigned to the first offset of the append.
    pub leader_epoch: i32,
    /// `Some(now)` when the topic uses LogAppendTime.
    pub log_append_time_ms: Option<i64>,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// First offset assigned (or, for a duplicate, first offset of the
    /// original; for [`Log::append_replicated`], the first batch's own).
    pub base_offset: i64,
    pub last_offset: i64,
    /// The LogAppendTime stamped, or -1 when none was (CreateTime, or a
    /// follower append, which keeps the leader's timestamps).
    pub log_append_time: i64,
    pub log_start_offset: i64,
    /// The batch was already in the log (idempotent retry): nothing was appended.
    pub duplicate: bool,
}

/// A segment that stopped being active and is not yet known to be on disk.
pub(crate) struct RolledSegment {
    pub base_offset: i64,
    /// The new active segment's base: where the producer snapshot belongs.
    pub next_offset: i64,
    pub handles: Vec<(PathBuf, Arc<File>)>,
    /// Producer state as of `next_offset`, encoded.
    pub snapshot: Vec<u8>,
}

pub(crate) struct LogState {
    pub config: LogConfig,
    /// Every segment but the active one, by base offset.
    pub sealed: BTreeMap<i64, Segment>,
    pub active: Segment,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    /// Everything below this offset is known to be on disk (checkpointed).
    pub recovery_point: i64,
    pub producers: ProducerStateManager,
    pub epochs: LeaderEpochCache,
    pub unflushed: Vec<RolledSegment>,
    pub closed: bool,
    /// Offsets below this have been cleaned (the cleaner checkpoint).
    pub clean_offset: i64,
    /// What the gap-segments checkpoint holds (see `replicated.rs`), so it
    /// is rewritten only when [`LogState::gap_segment_bases`] differs.
    pub gap_segments_checkpoint: Vec<i64>,
    /// Earliest delete horizon of a tombstone kept by the last pass: from
    /// then on a pass can drop it even if no new data arrived.
    pub earliest_delete_horizon: Option<i64>,
    /// The data directory's `syncfs` round that makes everything below
    /// the log end durable: numbered after the last write (and, for what
    /// was there at start-up, after the log was opened).
    pub covering_sync_round: u64,
    /// The active segment's newest batches, for fetches at the tail.
    pub tail: TailCache,
    /// The epoch cache holds an entry the checkpoint does not, which no
    /// record follows yet ([`Log::begin_leader_epoch`]): the next append
    /// saves it.
    pub epochs_unsaved: bool,
}

impl LogState {
    pub fn log_end_offset(&self) -> i64 {
        self.active.next_offset
    }

    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.sealed.values().chain(iter::once(&self.active))
    }

    pub fn segments_mut(&mut self) -> impl Iterator<Item = &mut Segment> {
        self.sealed.values_mut().chain(iter::once(&mut self.active))
    }

    /// The segment that holds `offset` (the first one for offsets below it).
    pub fn segment_for(&self, offset: i64) -> &Segment {
        if offset >= self.active.base_offset {
            return &self.active;
        }
        self.sealed
            .range(..=offset)
            .next_back()
            .or_else(|| self.sealed.iter().next())
            .map_or(&self.active, |(_, s)| s)
    }

    /// Where the segment starting at `base` ends: the next segment's base,
    /// or the LEO for the active segment.
    pub fn segment_end_offset(&self, base: i64) -> i64 {
        if base >= self.active.base_offset {
            return self.log_end_offset();
        }
        self.sealed
            .range(base.saturating_add(1)..)
            .next()
            .map_or(self.active.base_offset, |(b, _)| *b)
    }

    fn should_roll(&self, append_bytes: u64, append_max_ts: i64, append_last_offset: i64) -> bool {
        let seg = &self.active;
        // Relative offsets must fit the index (recovery caps them at
        // i32::MAX). Checked even on an empty segment: a replicated append
        // after a large offset gap can overflow one.
        if append_last_offset - seg.base_offset > i64::from(i32::MAX) {
            return true;
        }
        if seg.is_empty() {
            return false;
        }
        seg.size + append_bytes > self.max_segment_size()
            || seg
                .first_batch_timestamp
                .is_some_and(|first| append_max_ts.saturating_sub(first) > self.config.segment_ms)
            || seg.offset_index.is_full()
            || seg.time_index.is_full()
    }

    /// Where a segment rolls: positions in the index are u32 and Kafka
    /// caps segment.bytes at i32::MAX.
    fn max_segment_size(&self) -> u64 {
        self.config.segment_bytes.min(i32::MAX as u64)
    }

    /// Starts a new active segment at the LEO. The old one is sealed and
    /// queued for an fsync and a producer snapshot ([`Log::flush_rolled`]).
    pub fn roll(&mut self, dir: &Path) -> Result<()> {
        self.roll_at(dir, self.log_end_offset())
    }

    /// [`LogState::roll`] with the new segment starting at `new_base`, at
    /// or past the LEO: a replicated append rolls at its first batch's
    /// base offset (Kafka's rule), so a segment never starts with a gap.
    pub fn roll_at(&mut self, dir: &Path, new_base: i64) -> Result<()> {
        debug_assert!(new_base >= self.log_end_offset());
        // Before anything changes: a failure leaves the log as it was.
        self.active.trim_zeros()?;
        let fresh = Segment::create(dir, new_base, &self.config)?;
        self.tail.clear();
        let mut old = std::mem::replace(&mut self.active, fresh);
        let sealed = old.seal_indexes();
        self.unflushed.push(RolledSegment {
            base_offset: old.base_offset,
            next_offset: new_base,
            handles: old.take_sync_handles(),
            snapshot: encode_snapshot(&self.producers),
        });
        self.sealed.insert(old.base_offset, old);
        sealed
    }

    /// The epoch cache learns that `epoch` starts at `start_offset` when
    /// it is newer than its latest (a leader append, whose epoch is never
    /// older). Returns whether the cache changed.
    pub fn note_epoch(&mut self, epoch: i32, start_offset: i64) -> bool {
        let changed = self.is_new_epoch(epoch) && self.epochs.assign(epoch, start_offset);
        changed | std::mem::take(&mut self.epochs_unsaved)
    }

    /// The epoch cache learns from a replicated batch ([`LeaderEpochCache::follow`](crate::epoch_cache::LeaderEpochCache::follow)).
    /// Returns the number of stale entries dropped and whether the cache
    /// (or its checkpoint) has to be written.
    pub(crate) fn note_replicated_epoch(&mut self, epoch: i32, start_offset: i64) -> (usize, bool) {
        let (dropped, changed) = self.epochs.follow(epoch, start_offset);
        (dropped, changed | std::mem::take(&mut self.epochs_unsaved))
    }

    /// Whether an append in `epoch` would start a leader epoch in the cache.
    fn is_new_epoch(&self, epoch: i32) -> bool {
        epoch >= 0
            && self
                .epochs
                .latest_epoch()
                .is_none_or(|latest| latest < epoch)
    }

    /// Whether appending `placed` (`bytes` long) rolls the active segment.
    fn would_roll(&self, bytes: u64, placed: &[BatchInfo]) -> bool {
        let Some(last) = placed.last() else {
            return false;
        };
        let max_timestamp = placed.iter().map(|b| b.max_timestamp).max().unwrap_or(-1);
        self.should_roll(bytes, max_timestamp, last.last_offset)
    }

    /// Segments whose offsets may have gaps though the cleaner never
    /// rewrote them (replicated from a leader whose log has gaps): what
    /// the gap-segments checkpoint must say. Cleaned segments are left
    /// out, the clean offset covers them.
    pub fn gap_segment_bases(&self) -> Vec<i64> {
        self.segments()
            .filter(|s| s.gaps_allowed && s.base_offset >= self.clean_offset)
            .map(|s| s.base_offset)
            .collect()
    }
}

/// A partition log. `Send + Sync`; share it as `Arc<Log>`.
pub struct Log {
    pub(crate) dir: PathBuf,
    pub(crate) state: Mutex<LogState>,
    pub(crate) group_commit: GroupCommit,
    /// Serialises everything that writes checkpoint or snapshot files, so
    /// the newest state is always the one written last. Lock order: this
    /// lock first, then `state`.
    pub(crate) checkpoint_lock: Mutex<()>,
    /// One cleaning pass at a time. Taken before any other lock.
    pub(crate) cleaner_lock: Mutex<()>,
    /// Shared with every log in the data directory.
    pub(crate) health: Arc<DirHealth>,
    /// Shared with the tail cache in `state`: noted without its lock.
    pub(crate) tail_reads: Arc<TailReads>,
}

/// fdatasyncs each file in turn; the first failure, with its file. Free of
/// `Log` so the group commit can run it on the blocking pool.
pub(crate) fn sync_all_data(
    handles: &[(PathBuf, Arc<File>)],
) -> std::result::Result<(), (PathBuf, std::io::Error)> {
    handles.iter().try_for_each(|(path, file)| {
        FSYNC_LATENCY
            .time(|| file.sync_data())
            .map_err(|e| (path.clone(), e))
    })
}

/// Splits the bytes of an append into batches, checking framing only (the
/// caller validated CRCs).
pub(crate) fn split_batches(bytes: &[u8]) -> Result<Vec<BatchInfo>> {
    let mut batches = Vec::new();
    let mut position = 0usize;
    while position < bytes.len() {
        let rest = &bytes[position..];
        let corrupt = |reason: String| StorageError::CorruptBatch { position, reason };
        let header = BatchHeader::parse(rest).map_err(|e| corrupt(e.to_string()))?;
        let size = header
            .validate_frame(rest.len())
            .map_err(|e| corrupt(e.to_string()))?;
        if header.last_offset_delta() < 0 {
            return Err(corrupt("negative last offset delta".to_string()));
        }
        let size32 = u32::try_from(size).map_err(|_| corrupt("batch too large".to_string()))?;
        batches.push(BatchInfo::from_header(&header, position as u64, size32));
        position += size;
    }
    if batches.is_empty() {
        return Err(StorageError::InvalidAppend {
            reason: "no record batch to append".to_string(),
        });
    }
    Ok(batches)
}

/// Refuses an append one segment could not index: offsets
/// `first_offset..next_offset` or `len` bytes beyond i32::MAX.
pub(crate) fn check_fits_segment(first_offset: i64, next_offset: i64, len: usize) -> Result<()> {
    if next_offset - first_offset > i64::from(i32::MAX) || len > i32::MAX as usize {
        return Err(StorageError::InvalidAppend {
            reason: format!(
                "{} offsets in {len} bytes do not fit one segment",
                next_offset - first_offset
            ),
        });
    }
    Ok(())
}

enum Appended {
    New {
        outcome: AppendOutcome,
        rolled: bool,
        epochs_changed: bool,
    },
    Duplicate(BatchMetadata),
    /// Refused by [`FileWork::Refused`]; nothing changed.
    NeedsFileWork,
}

/// Whether an append may roll the segment or persist a new epoch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileWork {
    Allowed,
    Refused,
}

impl Log {
    pub(crate) fn lock(&self) -> MutexGuard<'_, LogState> {
        // A panic while holding the lock cannot leave a half-written batch
        // visible (sizes are updated after writes), so keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_checkpoints(&self) -> MutexGuard<'_, ()> {
        self.checkpoint_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn ensure_open(&self, state: &LogState) -> Result<()> {
        if state.closed {
            return Err(StorageError::Closed {
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }

    /// [`Log::ensure_open`], and the data directory has had no failed
    /// fsync: every write path checks this.
    pub(crate) fn ensure_writable(&self, state: &LogState) -> Result<()> {
        self.ensure_open(state)?;
        self.ensure_dir_healthy()
    }

    /// `DirFailed` once an fsync failed anywhere in the data directory.
    pub(crate) fn ensure_dir_healthy(&self) -> Result<()> {
        match self.health.failure() {
            Some(reason) => Err(StorageError::DirFailed {
                dir: self.dir.clone(),
                reason: reason.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// The error for a failed `op` (fsync, fdatasync) on `path`, which
    /// fails the whole data directory.
    pub(crate) fn fsync_failed(
        &self,
        op: &'static str,
        path: &Path,
        error: std::io::Error,
    ) -> StorageError {
        self.health.fail(op, path, &error);
        StorageError::io(op, path, error)
    }

    /// fdatasyncs `handles`; a failure fails the whole data directory.
    pub(crate) fn sync_data(&self, handles: &[(PathBuf, Arc<File>)]) -> Result<()> {
        sync_all_data(handles).map_err(|(path, e)| self.fsync_failed("fdatasync", &path, e))
    }

    /// Appends one or more validated v2 batches: assigns offsets from the
    /// log end offset, stamps `options.leader_epoch` (and LogAppendTime when
    /// asked), checks idempotent-producer sequences and writes them to the
    /// active segment, rolling it first when needed. The bytes are rewritten
    /// in place, and the tail cache may take an owned buffer as it is
    /// ([`AppendBytes`]: a `BytesMut` is left empty then). Data is in the
    /// page cache on return; call
    /// [`Log::wait_durable`] with `last_offset + 1` before acknowledging
    /// when the flush policy is `Fsync`.
    ///
    /// If any batch is a duplicate of one of its producer's last five, the
    /// whole call appends nothing and returns that batch's original offsets
    /// with `duplicate: true` (as Kafka does; producers send one batch per
    /// partition per request).
    pub fn append<B>(&self, batches: B, options: AppendOptions) -> Result<AppendOutcome>
    where
        B: AppendBytes + AsMut<[u8]>,
    {
        // Only `FileWork::Refused` answers None.
        self.append_as(batches, &options, FileWork::Allowed)?
            .ok_or_else(|| StorageError::InvalidAppend {
                reason: "an append allowed file work was refused".to_string(),
            })
    }

    /// [`Log::append`] when it only writes to the active segment, for a
    /// thread that should not block on more: `Ok(None)`, with nothing
    /// changed, when the append would roll the segment (new files, an
    /// fsync of the old one) or record a new leader epoch (a checkpoint
    /// file). Then call [`Log::append`] where blocking is fine.
    pub fn append_without_file_work<B>(
        &self,
        batches: B,
        options: AppendOptions,
    ) -> Result<Option<AppendOutcome>>
    where
        B: AppendBytes + AsMut<[u8]>,
    {
        self.append_as(batches, &options, FileWork::Refused)
    }

    fn append_as<B>(
        &self,
        batches: B,
        options: &AppendOptions,
        file_work: FileWork,
    ) -> Result<Option<AppendOutcome>>
    where
        B: AppendBytes + AsMut<[u8]>,
    {
        let incoming = split_batches(batches.as_ref())?;
        let appended = {
            let mut state = self.lock();
            self.ensure_writable(&state)?;
            self.append_locked(&mut state, batches, &incoming, options, file_work)?
        };
        let outcome = match appended {
            Appended::Duplicate(meta) => AppendOutcome {
                base_offset: meta.first_offset,
                last_offset: meta.last_offset,
                log_append_time: -1,
                log_start_offset: self.log_start_offset(),
                duplicate: true,
            },
            Appended::New {
                outcome,
                rolled,
                epochs_changed,
            } => {
                self.finish_append(rolled, epochs_changed)?;
                outcome
            }
            Appended::NeedsFileWork => return Ok(None),
        };
        Ok(Some(outcome))
    }

    fn append_locked<B>(
        &self,
        state: &mut LogState,
        mut bytes: B,
        incoming: &[BatchInfo],
        options: &AppendOptions,
        file_work: FileWork,
    ) -> Result<Appended>
    where
        B: AppendBytes + AsMut<[u8]>,
    {
        let first_offset = state.log_end_offset();
        let mut next = first_offset;
        let mut scratch = state
            .producers
            .subset(incoming.iter().map(|b| b.producer_id));
        let mut placed = Vec::with_capacity(incoming.len());
        for batch in incoming {
            if let SequenceCheck::Duplicate(meta) = scratch.check(batch)? {
                return Ok(Appended::Duplicate(meta));
            }
            let last = next
                .checked_add(i64::from(batch.last_offset_delta))
                .filter(|last| *last < i64::MAX)
                .ok_or_else(|| StorageError::InvalidAppend {
                    reason: format!("offsets after {next} overflow"),
                })?;
            let assigned = BatchInfo {
                base_offset: next,
                last_offset: last,
                partition_leader_epoch: options.leader_epoch,
                max_timestamp: options.log_append_time_ms.unwrap_or(batch.max_timestamp),
                ..*batch
            };
            scratch.record(&assigned);
            placed.push(assigned);
            next = last + 1;
        }
        let len = bytes.as_ref().len();
        check_fits_segment(first_offset, next, len)?;
        if file_work == FileWork::Refused
            && (state.would_roll(len as u64, &placed) || state.is_new_epoch(options.leader_epoch))
        {
            return Ok(Appended::NeedsFileWork);
        }
        for batch in &placed {
            let slice = &mut bytes.as_mut()[batch.position as usize..batch.end_position() as usize];
            rewrite::set_base_offset(slice, batch.base_offset);
            rewrite::set_partition_leader_epoch(slice, options.leader_epoch);
            if let Some(time) = options.log_append_time_ms {
                rewrite::set_log_append_time(slice, time);
            }
        }
        let rolled = self.write_placed(state, bytes, &placed)?;
        state.producers.merge(scratch);
        let epochs_changed = state.note_epoch(options.leader_epoch, first_offset);
        Ok(Appended::New {
            outcome: AppendOutcome {
                base_offset: first_offset,
                last_offset: next - 1,
                log_append_time: options.log_append_time_ms.unwrap_or(-1),
                log_start_offset: state.log_start_offset,
                duplicate: false,
            },
            rolled,
            epochs_changed,
        })
    }

    /// Writes batches whose offsets are final (`placed` describes `bytes`)
    /// to the active segment and indexes them, rolling it first when
    /// needed; the new segment starts at the first batch's base offset.
    /// The tail cache may then keep `bytes` ([`AppendBytes`]). Shared by
    /// leader and follower appends. Returns whether it rolled.
    pub(crate) fn write_placed(
        &self,
        state: &mut LogState,
        bytes: impl AppendBytes,
        placed: &[BatchInfo],
    ) -> Result<bool> {
        let Some(first) = placed.first() else {
            return Ok(false);
        };
        let len = bytes.as_ref().len() as u64;
        let rolled = state.would_roll(len, placed);
        if rolled {
            state.roll_at(&self.dir, first.base_offset)?;
        }
        let interval = state.config.index_interval_bytes;
        state.active.append(bytes.as_ref(), placed, interval)?;
        state.tail.push(bytes, placed);
        let max_size = state.max_segment_size();
        state.active.zero_ahead(len, max_size);
        state.covering_sync_round = self.health.next_sync_round();
        Ok(rolled)
    }

    /// What an append does once the log lock is released: fsync a rolled
    /// segment (moving the recovery point) and persist a changed epoch cache.
    pub(crate) fn finish_append(&self, rolled: bool, epochs_changed: bool) -> Result<()> {
        if rolled {
            self.flush_rolled()?;
        }
        if epochs_changed {
            self.persist_epochs()?;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_start_offset(&self) -> i64 {
        self.lock().log_start_offset
    }

    /// The offset the next append will get.
    pub fn log_end_offset(&self) -> i64 {
        self.lock().log_end_offset()
    }

    pub fn high_watermark(&self) -> i64 {
        self.lock().high_watermark
    }

    /// Log start, high watermark and log end as of one moment, for a
    /// reader that needs all three (a fetch, per partition) at the cost
    /// of one lock.
    pub fn offsets(&self) -> LogOffsets {
        let state = self.lock();
        LogOffsets {
            log_start: state.log_start_offset,
            high_watermark: state.high_watermark,
            log_end: state.log_end_offset(),
        }
    }

    /// Sets the high watermark, clamped to `[log start, log end]`. It is
    /// persisted on clean close only (like Kafka's
    /// replication-offset-checkpoint); after a crash it comes back as
    /// `min(LEO, last checkpoint)`.
    pub fn set_high_watermark(&self, high_watermark: i64) {
        let mut state = self.lock();
        let upper = state.log_end_offset();
        state.high_watermark = high_watermark.min(upper).max(state.log_start_offset);
    }

    /// Bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.lock().segments().map(|s| s.size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.lock().sealed.len() + 1
    }

    /// Base offsets of all segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.lock().segments().map(|s| s.base_offset).collect()
    }

    pub fn config(&self) -> LogConfig {
        self.lock().config.clone()
    }

    /// Replaces the settings; they apply from the next append or retention
    /// pass (existing segments keep their size).
    pub fn update_config(&self, config: LogConfig) {
        let mut state = self.lock();
        state.active.set_index_max_bytes(config.segment_index_bytes);
        state.config = config;
    }

    /// The state of one idempotent producer, if the log knows it.
    pub fn producer_state(&self, producer_id: i64) -> Option<ProducerStateEntry> {
        self.lock().producers.get(producer_id).cloned()
    }

    pub fn producer_count(&self) -> usize {
        self.lock().producers.len()
    }

    /// Offset below which the log is known to be on disk (checkpointed).
    pub fn recovery_point(&self) -> i64 {
        self.lock().recovery_point
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.lock().epochs.latest_epoch()
    }

    pub fn epoch_entries(&self) -> Vec<EpochEntry> {
        self.lock().epochs.entries().to_vec()
    }

    /// For OffsetForLeaderEpoch: `(epoch, end offset)` as Kafka computes it,
    /// `None` for an epoch newer than any known (UNDEFINED).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let state = self.lock();
        state.epochs.end_offset_for(epoch, state.log_end_offset())
    }

    /// Records that leader `epoch` starts writing at `start_offset`, and
    /// persists the leader-epoch-checkpoint.
    pub fn assign_epoch(&self, epoch: i32, start_offset: i64) -> Result<()> {
        let changed = {
            let mut state = self.lock();
            self.ensure_open(&state)?;
            state.epochs.assign(epoch, start_offset)
        };
        if changed {
            self.persist_epochs()?;
        }
        Ok(())
    }

    /// A leader taking over in `epoch`: the epoch starts at the log end
    /// at once (Kafka's `makeLeader`), if it is newer than the log's latest
    /// (an older one would drop the newer entries of a log ahead of the
    /// broker's metadata).
    ///
    /// The leader-epoch-checkpoint gets the entry with the epoch's first
    /// append: until then no record follows it, and opening a log drops
    /// such entries (`truncate_from_end`, as Kafka's log loading does), so
    /// saving it sooner would buy nothing for its two fsyncs and a rename
    /// (creating 1,000 partitions took 2,003 fsyncs and 1,001 renames
    /// instead of 3 and 1).
    pub fn begin_leader_epoch(&self, epoch: i32) -> Result<()> {
        let mut state = self.lock();
        self.ensure_open(&state)?;
        let end = state.log_end_offset();
        if state.note_epoch(epoch, end) {
            state.epochs_unsaved = true;
        }
        Ok(())
    }

    pub(crate) fn persist_epochs(&self) -> Result<()> {
        let files = self.lock_checkpoints();
        self.persist_epochs_holding(&files)
    }

    /// [`Log::persist_epochs`] for callers that hold the checkpoint lock.
    pub(crate) fn persist_epochs_holding(&self, _files: &MutexGuard<'_, ()>) -> Result<()> {
        let epochs = self.lock().epochs.clone();
        epochs.persist(&self.dir)
    }
}
