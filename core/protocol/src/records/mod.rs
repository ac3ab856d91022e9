//! Record batches, magic v2: the unit that producers send, logs store and
//! consumers fetch. The broker treats a batch as opaque bytes and only reads
//! and rewrites its fixed-size header.
//!
//! - [`header`](BatchHeader): the 61-byte header view and in-place rewrites.
//! - [`validate_produce_batches`]: the broker's checks before an append.
//! - [`RecordBatchBuilder`]: builds a batch (producers, tests).
//! - [`RecordBatch`], [`batches`], [`Records`]: reading batches and their
//!   records, decompressing with a bound.

mod batch;
mod builder;
mod error;
mod header;
mod record;
mod validate;
mod varint;

pub use batch::{batches, Batches, RecordBatch};
pub use builder::RecordBatchBuilder;
pub use error::RecordError;
pub use header::{
    add_sequence, rewrite, BatchHeader, BatchHeaderError, CompressionType, TimestampType,
    BATCH_HEADER_LEN, LOG_OVERHEAD, MAGIC_V2, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
pub use record::{Record, RecordHeader, Records};
pub use validate::{
    validate_produce_batches, ValidatedBatch, ValidationOptions, DEFAULT_MAX_DECOMPRESSED_BYTES,
    DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMESTAMP_AFTER_MAX_MS,
};
