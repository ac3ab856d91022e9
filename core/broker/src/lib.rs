//! The Strom broker: one node that speaks the Apache Kafka protocol.
//!
//! - [`server::run`] locks the data dir ([`data_dir_lock`]), binds the
//!   listener, loads topics from the data dir and serves connections until
//!   the shutdown future resolves.
//! - [`connection`] reads length-prefixed frames, refuses oversized or
//!   malformed ones (closing only that connection) and writes responses in
//!   request order, as Kafka does.
//! - [`limits`] bounds what clients together may take: connections
//!   (overall, per IP, file descriptors) and request memory.
//! - [`dispatch`] routes a decoded request to one module of [`handlers`] per
//!   API family; [`fetch_sessions`] turns a fetch of a session (KIP-227)
//!   into the full fetch it stands for, and its answer into what changed.
//! - [`state`] is the broker: [`topic_table`] (topic metadata, changed
//!   only by applying records), [`partition_manager`] (the [`partition`]s
//!   this node holds, each owning a `strom_storage::Log`, its leadership
//!   and high watermark; opened and closed as the table changes), the
//!   producer-id allocator and the group coordinator.
//! - [`group`] is the coordinator of Kafka's classic consumer-group
//!   protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, static membership)
//!   and of committed offsets, kept in the internal topic
//!   `__consumer_offsets` in Kafka's record format and replayed at start;
//!   [`handlers::groups`] and [`handlers::group_offsets`] are its APIs.
//! - [`security`]: TLS listeners, SASL logins and SCRAM credentials.
//! - [`config`] and [`topic_store`] are Kafka's settings and their persisted
//!   form.

pub mod access;
mod answer_sink;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod data_dir_lock;
pub mod dispatch;
pub mod error;
pub mod fetch_sessions;
mod file_work;
pub mod followers;
pub mod group;
pub mod handlers;
pub mod http;
pub mod internal_topics;
pub mod limits;
pub mod metrics;
pub mod partition;
pub mod partition_manager;
pub mod quotas;
pub mod security;
pub mod server;
pub mod state;
pub mod topic_store;
pub mod topic_table;
pub mod versions;

pub use error::BrokerError;
