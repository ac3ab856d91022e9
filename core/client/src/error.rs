//! The client's one error type. Every error says whether retrying may help
//! ([`ClientError::is_retriable`]), carries Kafka's error code where the
//! broker sent one ([`ClientError::kafka_code`]), and its message tells a
//! person what to check.

use std::time::Duration;

use strom_protocol::compression::CompressionError;
use strom_protocol::records::RecordError;
use thiserror::Error;

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
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
        source: std::io::Error,
    },

    #[error("connection to broker at {addr} was lost ({reason}); the request may or may not have been processed")]
    Disconnected { addr: String, reason: String },

    #[error("{what} timed out after {} ms: the broker may be overloaded or unreachable; raise {setting} if it is just slow", after.as_millis())]
    Timeout {
        what: String,
        after: Duration,
        setting: &'static str,
    },

    #[error("{context}: broker answered {} ({code}){}", error_name(*code), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        code: i16,
        context: String,
        message: Option<String>,
    },

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

    /// A record the producer refused before sending: bigger than a limit of
    /// its own (max.request.size, buffer.memory). Kafka's MESSAGE_TOO_LARGE.
    #[error("the record is {size} bytes when serialized, larger than {setting} ({limit} bytes), so the producer did not send it: send smaller records or raise {setting} (and the topic's max.message.bytes)")]
    RecordTooLarge {
        size: usize,
        limit: usize,
        setting: &'static str,
    },

    /// `Producer::send` while buffer.memory is taken by records not yet
    /// acknowledged (librdkafka's QUEUE_FULL); retriable.
    #[error("the producer's buffer (buffer.memory = {limit} bytes) is full of records not yet acknowledged: await deliveries, use send_wait (waits up to max.block.ms for room) or raise buffer.memory")]
    BufferFull { limit: usize },

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

    /// Kafka's numeric error code, when there is one (the bindings expose it).
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            ClientError::Timeout { .. } => Some(7), // REQUEST_TIMED_OUT
            ClientError::Unreachable { .. } | ClientError::Disconnected { .. } => Some(13), // NETWORK_EXCEPTION
            ClientError::NoLeader { .. } => Some(5), // LEADER_NOT_AVAILABLE
            ClientError::UnsupportedApi { .. } => Some(35), // UNSUPPORTED_VERSION
            ClientError::RecordTooLarge { .. } => Some(10), // MESSAGE_TOO_LARGE
            ClientError::Record(error) => Some(error.kafka_error_code()),
            _ => None,
        }
    }

    /// Kafka's name for [`Self::kafka_code`].
    pub fn kafka_name(&self) -> Option<&'static str> {
        self.kafka_code().map(error_name)
    }

    /// Whether the same request may succeed if sent again later.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => is_retriable_code(*code),
            ClientError::Unreachable { .. }
            | ClientError::Disconnected { .. }
            | ClientError::Timeout { .. }
            | ClientError::NoBrokerAvailable { .. }
            | ClientError::NoLeader { .. }
            | ClientError::BufferFull { .. } => true,
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

// Kafka's error codes: name and whether the Java client retries them
// (`RetriableException` subclasses in `org.apache.kafka.common.errors`).
// Retriability is a client policy, so the table lives here.

/// One row: code, Kafka's constant name, retriable.
type Row = (i16, &'static str, bool);

const TABLE: &[Row] = &[
    (-1, "UNKNOWN_SERVER_ERROR", false),
    (0, "NONE", false),
    (1, "OFFSET_OUT_OF_RANGE", false),
    (2, "CORRUPT_MESSAGE", true),
    (3, "UNKNOWN_TOPIC_OR_PARTITION", true),
    (4, "INVALID_FETCH_SIZE", false),
    (5, "LEADER_NOT_AVAILABLE", true),
    (6, "NOT_LEADER_OR_FOLLOWER", true),
    (7, "REQUEST_TIMED_OUT", true),
    (8, "BROKER_NOT_AVAILABLE", false),
    (9, "REPLICA_NOT_AVAILABLE", true),
    (10, "MESSAGE_TOO_LARGE", false),
    (11, "STALE_CONTROLLER_EPOCH", false),
    (12, "OFFSET_METADATA_TOO_LARGE", false),
    (13, "NETWORK_EXCEPTION", true),
    (14, "COORDINATOR_LOAD_IN_PROGRESS", true),
    (15, "COORDINATOR_NOT_AVAILABLE", true),
    (16, "NOT_COORDINATOR", true),
    (17, "INVALID_TOPIC_EXCEPTION", false),
    (18, "RECORD_LIST_TOO_LARGE", false),
    (19, "NOT_ENOUGH_REPLICAS", true),
    (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true),
    (21, "INVALID_REQUIRED_ACKS", false),
    (22, "ILLEGAL_GENERATION", false),
    (23, "INCONSISTENT_GROUP_PROTOCOL", false),
    (24, "INVALID_GROUP_ID", false),
    (25, "UNKNOWN_MEMBER_ID", false),
    (26, "INVALID_SESSION_TIMEOUT", false),
    (27, "REBALANCE_IN_PROGRESS", false),
    (28, "INVALID_COMMIT_OFFSET_SIZE", false),
    (29, "TOPIC_AUTHORIZATION_FAILED", false),
    (30, "GROUP_AUTHORIZATION_FAILED", false),
    (31, "CLUSTER_AUTHORIZATION_FAILED", false),
    (32, "INVALID_TIMESTAMP", false),
    (33, "UNSUPPORTED_SASL_MECHANISM", false),
    (34, "ILLEGAL_SASL_STATE", false),
    (35, "UNSUPPORTED_VERSION", false),
    (36, "TOPIC_ALREADY_EXISTS", false),
    (37, "INVALID_PARTITIONS", false),
    (38, "INVALID_REPLICATION_FACTOR", false),
    (39, "INVALID_REPLICA_ASSIGNMENT", false),
    (40, "INVALID_CONFIG", false),
    (41, "NOT_CONTROLLER", true),
    (42, "INVALID_REQUEST", false),
    (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false),
    (44, "POLICY_VIOLATION", false),
    (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false),
    (46, "DUPLICATE_SEQUENCE_NUMBER", false),
    (47, "INVALID_PRODUCER_EPOCH", false),
    (48, "INVALID_TXN_STATE", false),
    (49, "INVALID_PRODUCER_ID_MAPPING", false),
    (50, "INVALID_TRANSACTION_TIMEOUT", false),
    (51, "CONCURRENT_TRANSACTIONS", true),
    (52, "TRANSACTION_COORDINATOR_FENCED", false),
    (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false),
    (54, "SECURITY_DISABLED", false),
    (55, "OPERATION_NOT_ATTEMPTED", false),
    (56, "KAFKA_STORAGE_ERROR", true),
    (57, "LOG_DIR_NOT_FOUND", false),
    (58, "SASL_AUTHENTICATION_FAILED", false),
    (59, "UNKNOWN_PRODUCER_ID", false),
    (60, "REASSIGNMENT_IN_PROGRESS", false),
    (61, "DELEGATION_TOKEN_AUTH_DISABLED", false),
    (62, "DELEGATION_TOKEN_NOT_FOUND", false),
    (63, "DELEGATION_TOKEN_OWNER_MISMATCH", false),
    (64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false),
    (65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false),
    (66, "DELEGATION_TOKEN_EXPIRED", false),
    (67, "INVALID_PRINCIPAL_TYPE", false),
    (68, "NON_EMPTY_GROUP", false),
    (69, "GROUP_ID_NOT_FOUND", false),
    (70, "FETCH_SESSION_ID_NOT_FOUND", true),
    (71, "INVALID_FETCH_SESSION_EPOCH", true),
    (72, "LISTENER_NOT_FOUND", true),
    (73, "TOPIC_DELETION_DISABLED", false),
    (74, "FENCED_LEADER_EPOCH", true),
    (75, "UNKNOWN_LEADER_EPOCH", true),
    (76, "UNSUPPORTED_COMPRESSION_TYPE", false),
    (77, "STALE_BROKER_EPOCH", false),
    (78, "OFFSET_NOT_AVAILABLE", true),
    (79, "MEMBER_ID_REQUIRED", false),
    (80, "PREFERRED_LEADER_NOT_AVAILABLE", true),
    (81, "GROUP_MAX_SIZE_REACHED", false),
    (82, "FENCED_INSTANCE_ID", false),
    (83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true),
    (84, "ELECTION_NOT_NEEDED", true),
    (85, "NO_REASSIGNMENT_IN_PROGRESS", false),
    (86, "GROUP_SUBSCRIBED_TO_TOPIC", false),
    (87, "INVALID_RECORD", false),
    (88, "UNSTABLE_OFFSET_COMMIT", true),
    (89, "THROTTLING_QUOTA_EXCEEDED", true),
    (90, "PRODUCER_FENCED", false),
    (91, "RESOURCE_NOT_FOUND", false),
    (92, "DUPLICATE_RESOURCE", false),
    (93, "UNACCEPTABLE_CREDENTIAL", false),
    (94, "INCONSISTENT_VOTER_SET", false),
    (95, "INVALID_UPDATE_VERSION", false),
    (96, "FEATURE_UPDATE_FAILED", false),
    (97, "PRINCIPAL_DESERIALIZATION_FAILURE", false),
    (98, "SNAPSHOT_NOT_FOUND", false),
    (99, "POSITION_OUT_OF_RANGE", false),
    (100, "UNKNOWN_TOPIC_ID", true),
    (101, "DUPLICATE_BROKER_REGISTRATION", false),
    (102, "BROKER_ID_NOT_REGISTERED", false),
    (103, "INCONSISTENT_TOPIC_ID", true),
    (104, "INCONSISTENT_CLUSTER_ID", false),
    (105, "TRANSACTIONAL_ID_NOT_FOUND", false),
    (106, "FETCH_SESSION_TOPIC_ID_ERROR", true),
    (107, "INELIGIBLE_REPLICA", false),
    (108, "NEW_LEADER_ELECTED", false),
    (109, "OFFSET_MOVED_TO_TIERED_STORAGE", false),
    (110, "FENCED_MEMBER_EPOCH", false),
    (111, "UNRELEASED_INSTANCE_ID", false),
    (112, "UNSUPPORTED_ASSIGNOR", false),
    (113, "STALE_MEMBER_EPOCH", false),
    (114, "MISMATCHED_ENDPOINT_TYPE", false),
    (115, "UNSUPPORTED_ENDPOINT_TYPE", false),
    (116, "UNKNOWN_CONTROLLER_ID", false),
    (117, "UNKNOWN_SUBSCRIPTION_ID", false),
    (118, "TELEMETRY_TOO_LARGE", false),
    (119, "INVALID_REGISTRATION", false),
    (120, "TRANSACTION_ABORTABLE", false),
];

fn row(code: i16) -> Option<&'static Row> {
    // The table is sorted by code, so index from -1 when the slot matches.
    let index = usize::try_from(i32::from(code) + 1).ok()?;
    TABLE.get(index).filter(|row| row.0 == code)
}

/// Kafka's name for an error code, or `UNKNOWN_ERROR_CODE` for a code this
/// client does not know (a newer broker may send one).
pub fn error_name(code: i16) -> &'static str {
    row(code).map_or("UNKNOWN_ERROR_CODE", |row| row.1)
}

/// Whether the Java client treats the code as retriable.
pub fn is_retriable_code(code: i16) -> bool {
    row(code).is_some_and(|row| row.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_dense_and_sorted_so_lookup_by_index_works() {
        for (index, row) in TABLE.iter().enumerate() {
            assert_eq!(i32::from(row.0) + 1, index as i32, "row {row:?}");
        }
    }

    #[test]
    fn names_and_retriability_follow_kafka() {
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert!(is_retriable_code(6));
        assert_eq!(error_name(36), "TOPIC_ALREADY_EXISTS");
        assert!(!is_retriable_code(36));
        assert_eq!(error_name(9999), "UNKNOWN_ERROR_CODE");
        assert!(!is_retriable_code(9999));
        assert!(!is_retriable_code(i16::MIN));
    }
}
