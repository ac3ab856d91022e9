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
//! - `<offset>.snapshot`: idempotent-producer state as of `offset`;
//! - `leader-epoch-checkpoint`, `log-start-offset-checkpoint`,
//!   `recovery-point-offset-checkpoint`, `replication-offset-checkpoint`
//!   (high watermark) and the `.clean-shutdown` marker.
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
//!   [`Log::wait_durable`], which fdatasyncs the segment (one fdatasync
//!   shared by all concurrent waiters: group commit). An acknowledged
//!   append survives a process crash, an OS crash and power loss.
//! - [`FlushPolicy::PageCache`]: `wait_durable` returns at once; data sits
//!   in the OS page cache until the kernel writes it back (or a segment
//!   rolls, or [`Log::flush`]/[`Log::close`] runs). An acknowledged append
//!   survives a broker crash but not an OS crash or power loss: Kafka's
//!   default behaviour, which relies on replication instead.
//!
//! Rolled segments are always fsynced (then the recovery point moves past
//! them), so crash recovery only has to validate the newest segments.
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
//! - Timestamp lookups are exact for uncompressed batches and at batch
//!   granularity for compressed ones (see [`Log::offset_for_timestamp`]).
//! - Index files are not preallocated; the in-memory index is authoritative
//!   while the log is open.
//!
//! # Modules
//!
//! `log` (state, append), `read` (fetch slices), `timestamp` (ListOffsets),
//! `retention` (retention and DeleteRecords), `truncate`, `recovery` (open),
//! `lifecycle` (close, delete), `group_commit` (durability), with `segment`,
//! `index`, `batch_scan`, `producer_state`, `epoch_cache` and `checkpoint`
//! underneath.

mod batch_scan;
mod checkpoint;
mod config;
mod epoch_cache;
mod error;
mod group_commit;
mod index;
mod lifecycle;
mod log;
mod producer_state;
mod read;
mod recovery;
mod retention;
mod segment;
mod timestamp;
mod truncate;

pub use config::{FlushPolicy, LogConfig};
pub use epoch_cache::EpochEntry;
pub use error::{codes, Result, StorageError};
pub use log::{AppendOptions, AppendOutcome, Log};
pub use producer_state::{BatchMetadata, ProducerStateEntry, RETAINED_BATCHES};
pub use read::{FileSlice, LogReadResult};
pub use retention::RetentionOutcome;
