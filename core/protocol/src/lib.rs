//! Sans-io codec for the Apache Kafka wire protocol.
//!
//! - [`records`]: record batches (magic v2) as opaque bytes with a typed view of
//!   their header, CRC32C validation and the in-place rewrites the broker does.
//!
//! Nothing here does I/O: the broker and the client own their sockets and files.

pub mod records;
