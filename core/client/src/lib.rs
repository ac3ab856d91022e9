//! Strom's Kafka client core, async on tokio. It speaks the Kafka protocol
//! through `strom-protocol` and works with any Kafka broker.
//!
//! - [`config`]: `ClientConfig`, parsed from librdkafka/Java setting names.
//! - [`error`]: `ClientError`: a stable Kafka or librdkafka-style code,
//!   name, retriability and fatality for every error.
//! - [`admin`], [`producer`], [`consumer`]: the user-facing clients. Each
//!   is a handle, cheap to clone and `Send + Sync`, and every call returns
//!   an owned `Send + 'static` future that is safe to drop. Inside, they
//!   share a cluster handle (bootstrap, metadata cache, one pipelined
//!   connection per broker), which is not public API.
//! - [`TopicPartition`]: the one way partitions are named.
//! - [`runtime`]: the process-wide runtime for callers without one.
//! - [`CallbackQueue`]: delivery callbacks run on a thread of the caller's
//!   choosing.
//! - [`blocking`]: the same three clients with blocking calls, for C and
//!   synchronous Python; its docs say when to use which.
//! - [`statistics`]: librdkafka's statistics JSON, every
//!   statistics.interval.ms, to the config's [`StatsCallback`].
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
//! let consumer = Consumer::new(ClientConfig::from_pairs([
//!     ("bootstrap.servers", "127.0.0.1:9092"),
//!     ("group.id", "billing"),
//!     ("partition.assignment.strategy", "cooperative-sticky"),
//!     ("auto.offset.reset", "earliest"),
//! ])?)
//! .await?;
//! consumer.subscribe(&["orders"]).await?;
//! for record in consumer.poll(Duration::from_secs(5)).await? {
//!     println!("{}/{}: {:?}", record.partition, record.offset, record.value);
//! }
//! consumer.close(Duration::from_secs(10)).await?; // commits (auto commit) and leaves the group
//! # Ok(())
//! # }
//! ```
//!
//! # Writing a binding
//!
//! The Python, Node and C packages wrap this crate and hold no Kafka logic
//! of their own: what a user of one of them needs goes here, so all three
//! get it. Each binding does the same four things.
//!
//! **Handles.** Wrap [`Producer`], [`Consumer`] and [`AdminClient`] (or
//! their [`blocking`] twins) in the host object. They are `Clone + Send +
//! Sync` and hold no lifetimes; every method takes `&self` and returns a
//! future that owns what it needs (`Send + 'static`), so it can be handed
//! to `pyo3-async-runtimes`' `future_into_py` or returned from a napi-rs
//! `async fn` as is. The consumer serialises calls made from several
//! threads (one state, FIFO), and a `poll` waiting for records steps aside
//! for them (see [`consumer::Consumer`]); the producer and admin client
//! take calls from any number of threads at once.
//!
//! **Runtime.** Spawn futures on [`ClientRuntime::shared`]: one
//! multi-threaded runtime per process with
//! [`runtime::WORKER_THREADS`] workers, started on first use, started
//! anew in a child after `fork()`, however many clients exist. The
//! blocking clients use it by default. Stop it at exit with
//! [`ClientRuntime::shutdown_shared`] (Python `atexit`, Node
//! `process.on('exit')`, C `strom_shutdown`), after closing the clients.
//! A blocking call made from inside a tokio runtime returns an error
//! instead of blocking it.
//!
//! **Callbacks.** Delivery callbacks ([`Producer::send_with_callback`])
//! run on the producer's sender task unless the producer was made with a
//! [`CallbackQueue`] ([`Producer::with_callback_queue`],
//! [`blocking::Producer::with_callback_queue`]): then they wait in the
//! queue until a thread serves it. For C and synchronous Python
//! (librdkafka's model) that is `poll()`/`flush()` on the application's
//! thread ([`blocking::Producer::poll`]); for asyncio and Node, make the
//! queue with [`CallbackQueue::with_wake`] and have the wake schedule
//! [`CallbackQueue::serve`] on the event loop (`call_soon_threadsafe`, a
//! napi threadsafe function): one wake per batch of deliveries, no task or
//! channel per record. A consumer made with a queue
//! ([`Consumer::with_callback_queue`]) hands it its commit callbacks the
//! same way; the blocking consumer's `poll` serves them, as librdkafka's
//! `rd_kafka_consumer_poll` serves `offset_commit_cb`. Statistics
//! ([`ClientConfig::stats_callback`], every statistics.interval.ms) go
//! through a client's queue too, so a binding's `stats_cb` runs inside
//! `poll`/`flush` as librdkafka's does. A failed delivery
//! hands the record back
//! ([`DeliveryError::record`]) for the callback's `msg` argument.
//! Rebalance callbacks run inside `poll`, on the thread that drives it,
//! and the rebalance waits for them: with the blocking consumer, the
//! application's thread (C, synchronous Python). Register one with
//! [`Consumer::on_rebalance`] (librdkafka's `rebalance_cb`): it gets the
//! event and a [`RebalanceContext`], the consumer itself, to read
//! positions, seek, pause and commit from inside the callback (a call
//! through the handle would wait for the poll that runs the callback);
//! commits made there land before the member rejoins or leaves. Python
//! calls its callable right there, on the polling thread, with the GIL
//! (asyncio included: drive [`blocking::Consumer::poll`] from an executor
//! thread). Node drives the blocking `poll` from a worker thread (a napi
//! `AsyncTask`); the JS callback runs on the event loop while the worker
//! blocks in the Rust callback, carrying out the context calls the JS
//! callback sends it until the JS callback returns. Never block a client
//! runtime thread that way: the async `poll` runs there.
//!
//! **Errors.** Map [`ClientError`] by [`ClientError::code`] and
//! [`ClientError::name`]: Kafka's codes (`UNKNOWN_TOPIC_OR_PARTITION`,
//! 3) or librdkafka's local ones ([`error::local`]: `_TIMED_OUT`, -185;
//! `_QUEUE_FULL`, -184; ...), so confluent-kafka's `KafkaError.code()`,
//! kafkajs's `KafkaJSError` and librdkafka's `rd_kafka_resp_err_t` line
//! up; carry [`ClientError::is_retriable`] and [`ClientError::is_fatal`]
//! across, and show the message: it says what to do. `ClientError` is
//! `Clone`, so one failure can go to many callbacks.

pub mod admin;
pub mod blocking;
mod callbacks;
mod cluster;
pub mod config;
mod connection;
pub mod consumer;
pub mod error;
mod login;
pub mod metadata;
pub mod producer;
pub mod runtime;
pub mod security;
pub mod statistics;
mod topic_partition;

pub use admin::AdminClient;
pub use callbacks::CallbackQueue;
pub use config::{ClientConfig, OffsetReset};
pub use consumer::{
    CommitFuture, Consumer, ConsumerRecord, RebalanceCallback, RebalanceContext, RebalanceEvent,
    StartOffset,
};
pub use error::{ClientError, Result};
pub use producer::{
    DeliveryError, DeliveryFuture, DeliveryResult, Producer, ProducerRecord, RecordMetadata,
    RecordRef,
};
pub use runtime::ClientRuntime;
pub use statistics::StatsCallback;
pub use topic_partition::{tps, TopicPartition};
