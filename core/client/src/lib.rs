//! Strom's Kafka client core, async on tokio. It speaks the Kafka protocol
//! through `strom-protocol` and works with any Kafka broker.
//!
//! - [`config`]: `ClientConfig`, parsed from librdkafka/Java setting names.
//! - [`error`]: `ClientError`, with Kafka error codes and retriability.
//! - [`connection`]: one TCP connection with pipelined requests.
//! - [`cluster`]: bootstrap, metadata cache, one connection per broker.
//! - [`admin`], [`producer`], [`consumer`]: the user-facing clients, all
//!   built on a shared [`cluster::Cluster`]. Their futures are owned,
//!   `Send + 'static` and safe to drop.
//! - [`blocking`]: the same three clients with blocking calls, each
//!   owning a small runtime, for C and synchronous Python; its docs say
//!   when to use which.
//!
//! The README's quickstart, kept compiling here:
//!
//! ```no_run
//! # async fn quickstart() -> strom_client::Result<()> {
//! use std::time::Duration;
//! use strom_client::{ClientConfig, Consumer, Producer, ProducerRecord};
//!
//! let producer = Producer::new(ClientConfig::from_pairs([("bootstrap.servers", "127.0.0.1:9092")])?).await?;
//! let delivered = producer
//!     .send(ProducerRecord::new("orders", "42 apples").with_key("order-1").with_header("source", "web"))
//!     .await?;
//! println!("partition {} offset {}", delivered.partition, delivered.offset);
//! producer.close(Duration::from_secs(10)).await?;
//!
//! let mut consumer = Consumer::new(ClientConfig::from_pairs([
//!     ("bootstrap.servers", "127.0.0.1:9092"),
//!     ("group.id", "billing"),
//!     ("partition.assignment.strategy", "cooperative-sticky"),
//!     ("auto.offset.reset", "earliest"),
//! ])?)
//! .await?;
//! consumer.subscribe(&["orders"])?;
//! for record in consumer.poll(Duration::from_secs(5)).await? {
//!     println!("{}/{}: {:?}", record.partition, record.offset, record.value);
//! }
//! consumer.close(Duration::from_secs(10)).await?; // commits (auto commit) and leaves the group
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod blocking;
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
