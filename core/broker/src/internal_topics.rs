//! Kafka's internal topics: written by the broker only, flagged in Metadata,
//! and never deleted or grown by clients.

/// Kafka's `Topic.INTERNAL_TOPICS`; other names starting with `__` are
/// ordinary user topics.
pub const INTERNAL_TOPICS: [&str; 3] = [
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

/// Kafka's `Topic.isInternal`.
pub fn is_internal_topic(name: &str) -> bool {
    INTERNAL_TOPICS.contains(&name)
}
