//! Errors of the protocol codec.

use thiserror::Error;

/// Why bytes from the wire could not be decoded. Every variant is the
/// result of bad input, never of a bug: the caller answers the client with
/// an error or closes that one connection.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unexpected end of data: needed {needed} more bytes, {remaining} left")]
    UnexpectedEof { needed: usize, remaining: usize },
    #[error("length or count {0} is negative")]
    NegativeLength(i64),
    #[error("field {0} is null but is not nullable in this version")]
    UnexpectedNull(&'static str),
    #[error("varint is longer than its type allows")]
    VarintOverflow,
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    #[error("{count} elements cannot fit in the {remaining} bytes left in the frame")]
    CountExceedsFrame { count: usize, remaining: usize },
    #[error("invalid boolean byte {0}")]
    InvalidBool(u8),
    #[error("tagged field {tag} declares {declared} bytes but its value used {used}")]
    TaggedFieldSize {
        tag: u32,
        declared: usize,
        used: usize,
    },
    #[error("tagged fields out of order or repeated (tag {0})")]
    TaggedFieldOrder(u32),
    #[error("unsupported version {version} of {what}")]
    UnsupportedVersion { what: &'static str, version: i16 },
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    #[error("frame of {size} bytes is larger than the limit of {limit} bytes")]
    FrameTooLarge { size: i64, limit: usize },
    #[error("{0} bytes left over after the message")]
    TrailingBytes(usize),
}

/// Why a message could not be encoded: a value that this version cannot
/// express.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    #[error("field {0} is null but is not nullable in this version")]
    NullNotAllowed(&'static str),
    #[error("{what} of length {len} does not fit its length prefix")]
    TooLong { what: &'static str, len: usize },
    #[error("unsupported version {version} of {what}")]
    UnsupportedVersion { what: &'static str, version: i16 },
    /// Kafka's rule: a field that is not `ignorable` in the spec must hold
    /// its default in versions that lack it, or the value would be lost
    /// without anyone noticing.
    #[error("field {field} has a non-default value but version {version} does not have it")]
    FieldNotInVersion { field: &'static str, version: i16 },
    #[error("tagged field {0} is set twice (known field and unknown_tagged_fields)")]
    DuplicateTag(u32),
    #[error("request header says API key {header} but the body is API key {body}")]
    ApiKeyMismatch { header: i16, body: i16 },
}
