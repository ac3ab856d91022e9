//! Errors of the protocol codec and of SASL authentication.

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
    #[error("arrays would take {wanted} more bytes once decoded, {left} left of what the message may take")]
    OverBudget { wanted: usize, left: usize },
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
    #[error("record data could not be read from its file: {0}")]
    FileRead(String),
}

/// Why a SASL exchange (SCRAM or PLAIN, see [`crate::sasl`]) failed. The
/// variant tells the broker's log what went wrong; what the client is told
/// is the caller's choice, and it should be the same for every credential
/// failure so that a client learns nothing about which check it failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SaslError {
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
    #[error("SASL message is not valid UTF-8")]
    InvalidUtf8,
    #[error("invalid base64 in SASL message")]
    InvalidBase64,
    #[error("client asked for channel binding, which is not supported")]
    ChannelBindingUnsupported,
    #[error("authorization id differs from the user name")]
    AuthzidMismatch,
    #[error("mandatory SCRAM extension (m=) is not supported")]
    MandatoryExtension,
    #[error("nonce is empty or not printable ASCII without commas")]
    InvalidNonce,
    #[error("credential is for {credential} but the exchange uses {exchange}")]
    MechanismMismatch {
        credential: &'static str,
        exchange: &'static str,
    },
    #[error("iteration count {0} is outside the accepted range")]
    IterationsOutOfRange(u32),
    #[error("nonce does not match the one of this exchange")]
    NonceMismatch,
    #[error("channel binding does not match the gs2 header")]
    ChannelBindingMismatch,
    /// Wrong password, unknown user (decoy credential) or a tampered proof:
    /// one variant, because the proof alone cannot tell them apart. The
    /// broker knows whether it used a decoy.
    #[error("client proof does not match the credential")]
    InvalidProof,
    #[error("server signature does not match: the server does not know the password")]
    ServerSignatureMismatch,
    #[error("server refused the exchange: {0}")]
    ServerError(String),
    #[error("SCRAM step {0} called out of order")]
    OutOfOrder(&'static str),
    #[error("SCRAM exchange already failed")]
    AlreadyFailed,
}
