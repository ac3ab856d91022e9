//! The client's one error type, shaped for bindings to map: it is
//! `Clone` (one failure can be handed to many waiters and callbacks), and
//! every error has a stable numeric [`ClientError::code`] with a
//! [`ClientError::name`]: Kafka's code when the broker sent one (or the
//! error is one of Kafka's), else a librdkafka-style local code
//! ([`local`]: negative, names starting with `_`), so C, Python and Node
//! users see the codes they know from librdkafka. Each says whether
//! retrying may help ([`ClientError::is_retriable`]) and whether the
//! client can go on at all ([`ClientError::is_fatal`]); its message tells a
//! person what to check.

use std::sync::Arc;
use std::time::Duration;

use strom_protocol::compression::CompressionError;
use strom_protocol::error_codes::{self as kafka, ErrorCode};
use strom_protocol::records::RecordError;
use thiserror::Error;

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// librdkafka's local error codes (`RD_KAFKA_RESP_ERR__*`), with the same
/// numbers and names, for errors that did not come from a broker: those
/// this client produces, and those applications written for librdkafka
/// test for (`_PARTITION_EOF`, `_UNKNOWN_TOPIC`, ...), so a binding can
/// offer every name its users know.
pub mod local {
    /// Declares each local code once: its constant, and its row in
    /// [`TABLE`].
    macro_rules! local_codes {
        ($(($code:literal, $name:ident, $wire:literal, $description:literal)),* $(,)?) => {
            $(
                #[doc = $description]
                pub const $name: i32 = $code;
            )*
            /// Each local code: number, librdkafka's name, description.
            pub const TABLE: &[(i32, &str, &str)] = &[$(($code, $wire, $description)),*];
        };
    }

    local_codes! {
        (-199, BAD_MSG, "_BAD_MSG", "A response or record batch could not be read."),
        (-198, BAD_COMPRESSION, "_BAD_COMPRESSION", "Compressed data could not be decompressed."),
        (-197, DESTROY, "_DESTROY", "The client (or its runtime) was closed."),
        (-196, FAIL, "_FAIL", "A local failure."),
        (-195, TRANSPORT, "_TRANSPORT", "The connection to a broker failed or was lost."),
        (-192, MSG_TIMED_OUT, "_MSG_TIMED_OUT", "A record was not delivered within delivery.timeout.ms."),
        (-191, PARTITION_EOF, "_PARTITION_EOF", "The consumer reached the end of a partition."),
        (-190, UNKNOWN_PARTITION, "_UNKNOWN_PARTITION", "The partition does not exist."),
        (-188, UNKNOWN_TOPIC, "_UNKNOWN_TOPIC", "The topic does not exist."),
        (-187, ALL_BROKERS_DOWN, "_ALL_BROKERS_DOWN", "No broker of the cluster could be reached."),
        (-186, INVALID_ARG, "_INVALID_ARG", "An invalid argument or setting."),
        (-185, TIMED_OUT, "_TIMED_OUT", "An operation did not finish within its timeout."),
        (-184, QUEUE_FULL, "_QUEUE_FULL", "The producer's queue (buffer.memory) is full."),
        (-175, ASSIGN_PARTITIONS, "_ASSIGN_PARTITIONS", "A rebalance assigned partitions (a rebalance callback's event)."),
        (-174, REVOKE_PARTITIONS, "_REVOKE_PARTITIONS", "A rebalance revoked partitions (a rebalance callback's event)."),
        (-172, STATE, "_STATE", "The call is not allowed in the client's current state."),
        (-168, NO_OFFSET, "_NO_OFFSET", "No offset is stored or committed."),
        (-163, INTR, "_INTR", "The call was interrupted (by a signal)."),
        (-162, KEY_SERIALIZATION, "_KEY_SERIALIZATION", "The key serializer failed."),
        (-161, VALUE_SERIALIZATION, "_VALUE_SERIALIZATION", "The value serializer failed."),
        (-160, KEY_DESERIALIZATION, "_KEY_DESERIALIZATION", "The key deserializer failed."),
        (-159, VALUE_DESERIALIZATION, "_VALUE_DESERIALIZATION", "The value deserializer failed."),
        (-156, NOENT, "_NOENT", "No such entry (e.g. a message without headers)."),
        (-150, FATAL, "_FATAL", "A fatal error: the client cannot go on."),
        (-142, ASSIGNMENT_LOST, "_ASSIGNMENT_LOST", "The consumer lost its partitions to the group."),
    }

    /// The name of a local code, or `None` for a Kafka code.
    pub fn name(code: i32) -> Option<&'static str> {
        TABLE.iter().find(|row| row.0 == code).map(|row| row.1)
    }

    /// What a code means, in one sentence: the local table's description
    /// or Kafka's (librdkafka's `rd_kafka_err2str`).
    pub fn description(code: i32) -> &'static str {
        if let Some(row) = TABLE.iter().find(|row| row.0 == code) {
            return row.2;
        }
        match i16::try_from(code) {
            Ok(code) => super::kafka::ErrorCode(code).description(),
            Err(_) => "Unknown error",
        }
    }

    /// Whether an error with this code may go away if the call is made
    /// again: Kafka's retriable codes, and the local codes of
    /// [`super::ClientError::is_retriable`] (a lost connection, a timeout,
    /// no broker, a full queue).
    pub fn is_retriable(code: i32) -> bool {
        match code {
            TRANSPORT | TIMED_OUT | MSG_TIMED_OUT | ALL_BROKERS_DOWN | QUEUE_FULL => true,
            code => i16::try_from(code).is_ok_and(super::kafka::is_retriable),
        }
    }

    /// librdkafka's spelling of the Kafka codes it names differently
    /// from Kafka (`UNKNOWN_TOPIC_OR_PART`); every other code has Kafka's
    /// name in librdkafka too.
    pub const RDKAFKA_KAFKA_NAMES: &[(i32, &str)] = &[
        (-1, "UNKNOWN"),
        (0, "NO_ERROR"),
        (2, "INVALID_MSG"),
        (3, "UNKNOWN_TOPIC_OR_PART"),
        (4, "INVALID_MSG_SIZE"),
        (6, "NOT_LEADER_FOR_PARTITION"),
        (10, "MSG_SIZE_TOO_LARGE"),
        (17, "TOPIC_EXCEPTION"),
    ];

    /// librdkafka's name for any code, Kafka's or local: what
    /// `rd_kafka_err2name` and confluent-kafka's `KafkaError.name()` give.
    pub fn rdkafka_name(code: i32) -> &'static str {
        if let Some(name) = name(code) {
            return name;
        }
        if let Some((_, name)) = RDKAFKA_KAFKA_NAMES.iter().find(|row| row.0 == code) {
            return name;
        }
        i16::try_from(code).map_or("_UNKNOWN", super::kafka::error_name)
    }
}

#[derive(Debug, Clone, Error)]
pub enum ClientError {
    #[error("unknown client setting `{key}`: check the spelling against the librdkafka/Java client setting names")]
    UnknownConfig { key: String },

    #[error("invalid value `{value}` for client setting `{key}`: {reason}")]
    InvalidConfig {
        key: String,
        value: String,
        reason: String,
    },

    #[error("broker at {addr} is unreachable ({source}): check bootstrap.servers and the broker's advertised.listeners")]
    Unreachable {
        addr: String,
        #[source]
        source: Arc<std::io::Error>,
    },

    #[error("connection to broker at {addr} was lost ({reason}); the request may or may not have been processed")]
    Disconnected { addr: String, reason: String },

    #[error("{what} timed out after {} ms: the broker may be overloaded or unreachable; raise {setting} if it is just slow", after.as_millis())]
    Timeout {
        what: String,
        after: Duration,
        setting: &'static str,
    },

    #[error("{context}: broker answered {} ({code}){}: {}", kafka::error_name(*code), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(), ErrorCode(*code).description())]
    Kafka {
        code: i16,
        context: String,
        message: Option<String>,
    },

    #[error("TLS with broker at {addr} failed: {reason}; check ssl.ca.location (the broker's CA), the host name in bootstrap.servers against the broker's certificate, and the client certificate if the broker asks for one")]
    Tls { addr: String, reason: String },

    #[error("SASL login to broker at {addr} failed: {reason}")]
    Authentication { addr: String, reason: String },

    #[error("broker at {addr} sent a response this client cannot read: {reason}; this is a broker or client bug, please report it")]
    Protocol { addr: String, reason: String },

    #[error("broker at {addr} does not support {api} (versions this client speaks: {client_min}..={client_max}); upgrade the broker")]
    UnsupportedApi {
        addr: String,
        api: &'static str,
        client_min: i16,
        client_max: i16,
    },

    #[error("no broker of the cluster could be reached or asked: {reason}")]
    NoBrokerAvailable { reason: String },

    #[error("topic `{topic}` partition {partition} has no leader right now; metadata is refreshed and the request retried until its timeout")]
    NoLeader { topic: String, partition: i32 },

    /// A record for a partition the topic does not have (librdkafka's
    /// `_UNKNOWN_PARTITION`).
    #[error("topic `{topic}` has {partitions} partitions (0..{partitions}); partition {partition} does not exist")]
    UnknownPartition {
        topic: String,
        partition: i32,
        partitions: i32,
    },

    /// A record the producer refused before sending: bigger than a limit of
    /// its own (max.request.size, buffer.memory). Kafka's MESSAGE_TOO_LARGE.
    #[error("the record is {size} bytes when serialized, larger than {setting} ({limit} bytes), so the producer did not send it: send smaller records or raise {setting} (and the topic's max.message.bytes)")]
    RecordTooLarge {
        size: usize,
        limit: usize,
        setting: &'static str,
    },

    /// `Producer::send` while buffer.memory, or the record count of
    /// queue.buffering.max.messages, is taken by records not yet
    /// acknowledged (librdkafka's QUEUE_FULL); retriable.
    #[error("the producer's queue ({setting} = {limit} {unit}) is full of records not yet acknowledged: serve or await deliveries, use send_wait (waits up to max.block.ms for room) or raise {setting}")]
    BufferFull {
        limit: usize,
        setting: &'static str,
        /// What `limit` counts: bytes or records.
        unit: &'static str,
    },

    /// A record was not acknowledged within delivery.timeout.ms (Java's
    /// "Expiring N record(s)", librdkafka's `_MSG_TIMED_OUT`).
    #[error("the record was not delivered within delivery.timeout.ms ({} ms): its partition's leader may be unavailable or overloaded; raise delivery.timeout.ms if the cluster is just slow", after.as_millis())]
    DeliveryTimeout { after: Duration },

    #[error("{what} is closed; create a new one")]
    Closed { what: &'static str },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("record batch error: {0}")]
    Record(#[from] RecordError),

    #[error("compression error: {0}")]
    Compression(#[from] CompressionError),
}

impl ClientError {
    /// A Kafka error code from a response, with what was being done.
    pub fn kafka(code: i16, context: impl Into<String>, message: Option<String>) -> ClientError {
        ClientError::Kafka {
            code,
            context: context.into(),
            message,
        }
    }

    /// The error's stable code: Kafka's (positive, or -1
    /// UNKNOWN_SERVER_ERROR) when it is one of Kafka's errors, else one of
    /// the librdkafka-style [`local`] codes (below -100).
    pub fn code(&self) -> i32 {
        match self.kafka_code() {
            Some(code) => i32::from(code),
            None => self.local_code(),
        }
    }

    /// The code's name: Kafka's (`NOT_LEADER_OR_FOLLOWER`) or
    /// librdkafka's for a local code (`_TIMED_OUT`).
    pub fn name(&self) -> &'static str {
        match self.kafka_code() {
            Some(code) => kafka::error_name(code),
            None => local::name(self.local_code()).unwrap_or("_UNKNOWN"),
        }
    }

    /// Kafka's numeric error code, when the error is one of Kafka's.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            ClientError::NoLeader { .. } => Some(kafka::LEADER_NOT_AVAILABLE),
            ClientError::UnsupportedApi { .. } => Some(kafka::UNSUPPORTED_VERSION),
            ClientError::RecordTooLarge { .. } => Some(kafka::MESSAGE_TOO_LARGE),
            ClientError::Authentication { .. } => Some(kafka::SASL_AUTHENTICATION_FAILED),
            ClientError::Record(error) => Some(error.kafka_error_code()),
            _ => None,
        }
    }

    fn local_code(&self) -> i32 {
        match self {
            ClientError::UnknownConfig { .. }
            | ClientError::InvalidConfig { .. }
            | ClientError::InvalidArgument(_) => local::INVALID_ARG,
            ClientError::Unreachable { .. }
            | ClientError::Disconnected { .. }
            | ClientError::Tls { .. } => local::TRANSPORT,
            ClientError::Timeout { .. } => local::TIMED_OUT,
            ClientError::UnknownPartition { .. } => local::UNKNOWN_PARTITION,
            ClientError::DeliveryTimeout { .. } => local::MSG_TIMED_OUT,
            ClientError::NoBrokerAvailable { .. } => local::ALL_BROKERS_DOWN,
            ClientError::BufferFull { .. } => local::QUEUE_FULL,
            ClientError::Closed { .. } => local::DESTROY,
            ClientError::Compression(_) => local::BAD_COMPRESSION,
            ClientError::Protocol { .. }
            | ClientError::Kafka { .. }
            | ClientError::NoLeader { .. }
            | ClientError::UnsupportedApi { .. }
            | ClientError::RecordTooLarge { .. }
            | ClientError::Authentication { .. }
            | ClientError::Record(_) => local::BAD_MSG,
        }
    }

    /// Kafka's name for [`Self::kafka_code`].
    pub fn kafka_name(&self) -> Option<&'static str> {
        self.kafka_code().map(kafka::error_name)
    }

    /// Whether the same request may succeed if sent again later (the Java
    /// client's `RetriableException`).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => kafka::is_retriable(*code),
            ClientError::Unreachable { .. }
            | ClientError::Disconnected { .. }
            | ClientError::Timeout { .. }
            | ClientError::DeliveryTimeout { .. }
            | ClientError::NoBrokerAvailable { .. }
            | ClientError::NoLeader { .. }
            | ClientError::BufferFull { .. } => true,
            _ => false,
        }
    }

    /// Whether the client that returned it cannot go on and must be
    /// replaced (librdkafka's fatal errors): it was closed, or the cluster
    /// fenced it (another producer with its identity, or another
    /// consumer with its group.instance.id, took over).
    pub fn is_fatal(&self) -> bool {
        match self {
            ClientError::Closed { .. } => true,
            ClientError::Kafka { code, .. } => matches!(
                *code,
                kafka::PRODUCER_FENCED
                    | kafka::FENCED_INSTANCE_ID
                    | kafka::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            ),
            _ => false,
        }
    }

    pub(crate) fn invalid_config(key: &str, value: &str, reason: impl Into<String>) -> ClientError {
        ClientError::InvalidConfig {
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Turns a response's error code into `Ok(())` or a [`ClientError::Kafka`].
pub(crate) fn check_code(
    code: i16,
    context: impl FnOnce() -> String,
    message: Option<&str>,
) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::kafka(
            code,
            context(),
            message.map(str::to_string),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_stable_code_and_name() {
        let timeout = ClientError::Timeout {
            what: "x".into(),
            after: Duration::from_secs(1),
            setting: "request.timeout.ms",
        };
        assert_eq!((timeout.code(), timeout.name()), (-185, "_TIMED_OUT"));
        assert!(timeout.is_retriable() && !timeout.is_fatal());
        let full = ClientError::BufferFull {
            limit: 1,
            setting: "buffer.memory",
            unit: "bytes",
        };
        assert_eq!((full.code(), full.name()), (-184, "_QUEUE_FULL"));
        let expired = ClientError::DeliveryTimeout {
            after: Duration::from_secs(1),
        };
        assert_eq!(expired.name(), "_MSG_TIMED_OUT");
        let down = ClientError::NoBrokerAvailable { reason: "x".into() };
        assert_eq!(down.name(), "_ALL_BROKERS_DOWN");
        let not_leader = ClientError::kafka(6, "producing", None);
        assert_eq!(
            (not_leader.code(), not_leader.name()),
            (6, "NOT_LEADER_OR_FOLLOWER")
        );
        assert!(not_leader.is_retriable());
        let fenced = ClientError::kafka(kafka::PRODUCER_FENCED, "producing", None);
        assert!(fenced.is_fatal() && !fenced.is_retriable());
        let closed = ClientError::Closed { what: "producer" };
        assert_eq!(closed.name(), "_DESTROY");
        assert!(closed.is_fatal());
    }

    #[test]
    fn local_codes_are_below_kafkas_and_named_like_librdkafka() {
        for (code, name, _) in local::TABLE {
            assert!(*code < -100, "{name}");
            assert!(name.starts_with('_'), "{name}");
            assert_eq!(local::name(*code), Some(*name));
        }
    }

    #[test]
    fn kafka_errors_say_what_the_code_means() {
        let error = ClientError::kafka(3, "producing to `t`", None);
        let shown = error.to_string();
        assert!(shown.contains("UNKNOWN_TOPIC_OR_PARTITION (3)"), "{shown}");
        assert!(shown.contains(ErrorCode(3).description()), "{shown}");
    }

    #[test]
    fn clones_keep_the_code_and_message() {
        let error = ClientError::Unreachable {
            addr: "127.0.0.1:1".into(),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        };
        let copy = error.clone();
        assert_eq!(copy.to_string(), error.to_string());
        assert_eq!(copy.code(), local::TRANSPORT);
    }
}
