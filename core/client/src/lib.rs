//! Strom's Kafka client core, async on tokio. It speaks the Kafka protocol
//! through `strom-protocol` and works with any Kafka broker.
//!
//! - [`config`]: `ClientConfig`, parsed from librdkafka/Java setting names.
//! - [`error`]: `ClientError`, with Kafka error codes and retriability.
//! - [`connection`]: one TCP connection with pipelined requests.
//! - [`cluster`]: bootstrap, metadata cache, one connection per broker.
//! - [`admin`], [`producer`], [`consumer`]: the user-facing clients, all
//!   built on a shared [`cluster::Cluster`].

pub mod admin;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod consumer;
pub mod error;
pub mod metadata;
pub mod producer;

pub use admin::AdminClient;
pub use config::ClientConfig;
pub use consumer::{CommitFuture, Consumer, ConsumerRecord, RebalanceCallback, TopicPartition};
pub use error::{ClientError, Result};
pub use producer::{DeliveryFuture, Producer, ProducerRecord, RecordMetadata};
