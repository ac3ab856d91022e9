//! Record batches, magic v2: the unit that producers send, logs store and
//! consumers fetch. The broker treats a batch as opaque bytes and only reads
//! and rewrites its fixed-size header.

mod header;

pub use header::{
    rewrite, BatchHeader, BatchHeaderError, CompressionType, TimestampType, BATCH_HEADER_LEN,
    LOG_OVERHEAD, MAGIC_V2, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
