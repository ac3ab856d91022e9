//! One module per API family. Each handler takes the decoded request and
//! returns the response body; errors become Kafka error codes in it.

pub mod api_versions;
pub mod cluster;
pub mod configs;
pub mod delete_records;
pub mod describe_topic_partitions;
pub mod elect_leaders;
pub mod fetch;
pub mod group_offsets;
pub mod groups;
pub mod init_producer_id;
pub mod leader_epochs;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod quorum;
pub mod reassignments;
pub mod topics;
