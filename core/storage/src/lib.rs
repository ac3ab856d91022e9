//! The partition log of a Strom broker, in Kafka's on-disk format.
//!
//! A partition is a directory (the caller picks the path, e.g.
//! `<data-dir>/<topic>-<partition>`) of segments named by their base
//! offset, 20 digits zero-padded:
//!
//! - `<base>.log`: v2 record batches exactly as on the wire, offsets assigned;
//! - `<base>.index`: sparse offset index (relative offset u32, position u32),
//!   one entry per `index.interval.bytes`;
//! - `<base>.timeindex`: sparse time index (timestamp i64, relative offset u32);
//!   both indexes live in memory and their files are written at the
//!   segment's roll, a flush or the log's close (a new log has none yet),
//!   and closed once synced: an open log holds one descriptor per segment;
//! - `<offset>.snapshot`: idempotent-producer state as of `offset`;
//! - `leader-epoch-checkpoint`, `log-start-offset-checkpoint`,
//!   `recovery-point-offset-checkpoint`, `replication-offset-checkpoint`
//!   (high watermark), `cleaner-offset-checkpoint` (see Compaction),
//!   `gap-segments-checkpoint` (see Replication) and the `.clean-shutdown`
//!   marker;
//! - `*.cleaned` / `*.swap`: segment files of a cleaning pass in progress.
//!
//! [`Log`] is the entry point: `Send + Sync`, every method takes `&self`,
//! and the broker shares it as `Arc<Log>`. One mutex guards the in-memory
//! state; appends hold it while writing, reads only while picking a segment
//! and index position (their file I/O happens outside it), and fsyncs run
//! outside it.
//!
//! # Durability
//!
//! [`LogConfig::flush`] picks what an acknowledged write survives:
//!
//! - [`FlushPolicy::Fsync`] (default): the broker acknowledges after
//!   [`Log::wait_durable`], which waits for a sync of the data directory
//!   (one `syncfs` shared by the concurrent waiters of every log in it:
//!   group commit, see `dir_sync.rs`). An acknowledged
//!   append survives a process crash, an OS crash and power loss.
//! - [`FlushPolicy::PageCache`]: `wait_durable` returns at once; data sits
//!   in the OS page cache until the kernel writes it back (or a segment
//!   rolls, or [`Log::flush`]/[`Log::close`] runs). An acknowledged append
//!   survives a broker crash but not an OS crash or power loss: Kafka's
//!   default behaviour, which relies on replication instead.
//!
//! Rolled segments are always fsynced (then the recovery point moves past
//! them), so crash recovery only has to validate the newest segments.
//! After a crash the open syncs what it recovered (the segments past the
//! recovery point; those below it were synced before it moved) before it
//! moves the recovery point past it; a page-cache log leaves its active
//! segment to the next roll or close instead, with the recovery point
//! where it was.
//!
//! # Compaction
//!
//! With `cleanup.policy` including `compact` ([`CleanupPolicy`]),
//! [`Log::compact`] runs one pass of Kafka's log cleaner; the broker calls
//! it periodically (it does blocking file I/O: run it off the reactor, e.g.
//! with `spawn_blocking`). Retention (`apply_retention`) deletes by time
//! and size only when the policy includes `delete`.
//!
//! - **When.** Only closed segments entirely below the high watermark and
//!   the recovery point, and at least `min.compaction.lag.ms` old, are
//!   cleanable; the active segment is never touched. A pass runs when
//!   dirty bytes / (clean + dirty bytes) >= `min.cleanable.dirty.ratio`,
//!   when a dirty segment's first batch is older than
//!   `max.compaction.lag.ms`, or when a kept tombstone's delete horizon
//!   has passed.
//! - **What survives.** For every key, the record with the highest offset
//!   among the cleanable segments, and every record after them. Records
//!   without a key are dropped. Offsets are never renumbered: a kept
//!   record keeps its offset, timestamp, key, value and headers, and a
//!   rebuilt batch keeps its base and last offset (Kafka's rule, so its
//!   sequence range stays right), producer fields, leader epoch and codec;
//!   offsets inside and between batches then have gaps. A fetch at a
//!   removed offset returns the next batch after it. Batches the producer
//!   state remembers stay, empty if need be, so a replay rebuilds
//!   idempotent-producer state. Control batches and transactional batches
//!   are kept as they are (no transaction index here to tell aborted data).
//! - **Tombstones** (null value) are kept for `delete.retention.ms` after
//!   the pass that first rewrote their batch: that pass stamps the delete
//!   horizon into the batch (KIP-534: attributes bit 6, base timestamp =
//!   horizon); a pass after the horizon drops them.
//! - **Readers and writers.** A pass writes `.cleaned` files without the
//!   log lock; only the swap holds it, for a few renames. A reader keeps
//!   the open file of the segment it started on, so within one read
//!   offsets only increase, and since the latest record of a key is never
//!   removed, every read sees it, before, during or after a pass.
//! - **Crash safety.** `.cleaned` files become `.swap` (the commit point),
//!   then replace the live files. On open, any `.swap` means the pass
//!   committed: it is finished (indexes of the swapped segments are
//!   rebuilt); otherwise `.cleaned` leftovers are deleted.
//! - **Checkpoint.** `cleaner-offset-checkpoint` holds the clean offset
//!   (everything below it has been cleaned, so the dirty ratio counts only
//!   newer data) and the earliest pending tombstone horizon. It is written
//!   before the commit point, so every cleaned segment lies below it:
//!   recovery requires contiguous offsets above it (catching a corrupted
//!   base offset, which no CRC covers) and only increasing ones below it.
//!
//! # Replication
//!
//! [`Log::append`] is the leader's append: it assigns offsets from the
//! log end offset and stamps the leader epoch. A follower stores what it
//! fetched from the leader with [`Log::append_replicated`] (Kafka's
//! `appendAsFollower`): offsets, epochs and bytes kept, the epoch cache
//! and producer state updated from the batches, gaps accepted (a
//! compacted leader has them), overlaps refused. It truncates with
//! [`Log::truncate_to`] to the leader's epoch end offset first. A leader
//! serves followers with [`Log::read`] bounded by the log end offset
//! (`max_offset_exclusive = i64::MAX`) rather than the high watermark.
//! Never-cleaned segments that received a replicated gap are listed in
//! `gap-segments-checkpoint`, so recovery accepts their gaps (elsewhere it
//! takes a gap for a damaged base offset).
//!
//! # Choices where Kafka leaves room
//!
//! - `segment.ms` runs on record time: the active segment rolls when an
//!   incoming batch's max timestamp is more than `segment.ms` past the max
//!   timestamp of the segment's first batch (Kafka's rule when timestamps
//!   exist). No wall clock is read, so behaviour is reproducible.
//! - Retention is applied by [`Log::apply_retention`], which takes the
//!   current time from the caller.
//! - Unknown producers are accepted at any sequence (Kafka 2.5+, KIP-360).
//! - Timestamp lookups name the exact record, decompressing the batch that
//!   holds it (see [`Log::offset_for_timestamp`]).
//! - Index files are not preallocated; the in-memory index is authoritative
//!   while the log is open.
//! - The cleaner's key map holds whole keys, not 16-byte hashes as
//!   Kafka's does, so no hash collision can delete a live record; its
//!   memory is capped instead, and a pass whose map fills cleans up to the
//!   last segment that fit. Empty segments left by a pass (other than the
//!   first) are removed rather than merged; non-empty ones are not merged.
//!
//! # Modules
//!
//! `log` (state, append), `replicated` (follower append), `read` (fetch
//! slices), `timestamp` (ListOffsets),
//! `retention` (retention and DeleteRecords), `compaction` (the cleaner:
//! `plan`, `offset_map`, `filter`, `encode`, `swap`), `truncate`,
//! `recovery` (open), `lifecycle` (close, delete), `group_commit`
//! (durability), `dir_health` (a failed fsync stops writes), `check` (offline
//! verification), `log_limit`, with `segment`,
//! `index`, `batch_scan`, `producer_state`, `epoch_cache` and `checkpoint`
//! underneath.

mod batch_scan;
mod check;
mod checkpoint;
mod compaction;
mod config;
mod dir_health;
mod dir_sync;
mod epoch_cache;
mod error;
mod group_commit;
mod index;
pub mod latency;
mod lifecycle;
mod log;
mod log_limit;
mod producer_state;
mod read;
mod recovery;
mod replicated;
mod resync;
mod retention;
mod segment;
mod tail_cache;
mod timestamp;
mod truncate;

pub use check::{check_dir, CheckReport, Damage};
pub use compaction::CompactionOutcome;
pub use config::{CleanupPolicy, FlushPolicy, LogConfig};
pub use dir_health::DirHealth;
pub use epoch_cache::{latest_epoch_in, EpochEntry};
pub use error::{Result, StorageError};
pub use log::{AppendOptions, AppendOutcome, Log, LogOffsets};
pub use log_limit::once_every;
pub use producer_state::{BatchMetadata, ProducerStateEntry, RETAINED_BATCHES};
pub use read::{LogReadResult, VERIFY_WINDOW};
pub use recovery::NewLogSync;
pub use retention::RetentionOutcome;
pub use tail_cache::{AppendBytes, MAX_TAIL_CACHE_PER_LOG, READERS_GONE_AFTER, TAIL_CACHE_BUDGET};
