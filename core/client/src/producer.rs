//! The producer: `send` queues a record and returns a [`DeliveryFuture`];
//! a background sender task batches records per partition (linger.ms,
//! batch.size), compresses, sends and retries them.
//!
//! - [`accumulator`](self::accumulator): per-partition batches and the partitioner.
//! - [`sender`](self::sender): the task that drains batches into Produce
//!   requests, handles responses, retries, and idempotence.
//!
//! Ordering and idempotence: each partition has at most one batch in
//! flight, and with enable.idempotence (the default) every batch carries
//! the producer id, epoch and sequence it was first sent with, so a retry
//! after a lost response is recognised by the broker as a duplicate.

mod accumulator;
mod sender;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, watch, Notify};

use crate::cluster::Cluster;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use accumulator::Accumulator;

/// A record to send.
#[derive(Debug, Clone, Default)]
pub struct ProducerRecord {
    pub topic: String,
    /// `None`: murmur2 of the key, or the sticky partition for no key.
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; `None` is now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            value: Some(value.into()),
            ..Default::default()
        }
    }

    pub fn with_key(mut self, key: impl Into<Bytes>) -> ProducerRecord {
        self.key = Some(key.into());
        self
    }

    pub fn with_partition(mut self, partition: i32) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }

    pub fn with_header(
        mut self,
        key: impl Into<String>,
        value: impl Into<Bytes>,
    ) -> ProducerRecord {
        self.headers.push((key.into(), Some(value.into())));
        self
    }

    pub fn with_timestamp(mut self, timestamp_ms: i64) -> ProducerRecord {
        self.timestamp = Some(timestamp_ms);
        self
    }
}

/// Where a record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMetadata {
    pub partition: i32,
    /// -1 with acks=0 (the broker does not answer).
    pub offset: i64,
    /// The record's timestamp (log append time when the topic uses it).
    pub timestamp: i64,
}

/// Resolves once the record is acknowledged or has definitely failed.
/// Owned, `Send` and `'static`; dropping it does not cancel the send.
pub struct DeliveryFuture {
    receiver: Result<oneshot::Receiver<Result<RecordMetadata>>, Option<ClientError>>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.receiver {
            Ok(receiver) => Pin::new(receiver)
                .poll(cx)
                .map(|outcome| outcome.unwrap_or(Err(ClientError::Closed { what: "producer" }))),
            Err(error) => Poll::Ready(Err(error
                .take()
                .unwrap_or(ClientError::Closed { what: "producer" }))),
        }
    }
}

/// State shared by the producer handle and its sender task.
pub(crate) struct Shared {
    pub(crate) cluster: Cluster,
    pub(crate) accumulator: Mutex<Accumulator>,
    /// Wakes the sender: a batch filled up, a flush began, a response came.
    pub(crate) wake: Notify,
    /// Records accepted but not yet resolved; flush waits for 0.
    pub(crate) outstanding: watch::Sender<usize>,
}

/// The producer; cheap to clone, all clones share one sender.
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

impl Producer {
    /// Connects to the cluster and starts the sender task.
    pub async fn new(config: ClientConfig) -> Result<Producer> {
        let cluster = Cluster::connect(config).await?;
        Ok(Producer::from_cluster(cluster))
    }

    /// A producer on an existing cluster handle.
    pub fn from_cluster(cluster: Cluster) -> Producer {
        let accumulator = Accumulator::new(cluster.config());
        let shared = Arc::new(Shared {
            cluster,
            accumulator: Mutex::new(accumulator),
            wake: Notify::new(),
            outstanding: watch::channel(0).0,
        });
        tokio::spawn(sender::run(shared.clone()));
        Producer { shared }
    }

    /// Queues a record; the future resolves to where it was written.
    pub fn send(&self, record: ProducerRecord) -> DeliveryFuture {
        let (reply, receiver) = oneshot::channel();
        let queued = match self.shared.accumulator.lock() {
            Ok(mut accumulator) => accumulator.append(&self.shared.cluster, record, reply),
            Err(_) => Err(ClientError::Closed { what: "producer" }),
        };
        match queued {
            Ok(wake_now) => {
                self.shared.outstanding.send_modify(|n| *n += 1);
                if wake_now {
                    self.shared.wake.notify_one();
                }
                DeliveryFuture {
                    receiver: Ok(receiver),
                }
            }
            Err(error) => DeliveryFuture {
                receiver: Err(Some(error)),
            },
        }
    }

    /// Sends everything queued now and waits until every record sent so
    /// far is resolved, or `timeout` passes.
    pub async fn flush(&self, timeout: Duration) -> Result<()> {
        if let Ok(mut accumulator) = self.shared.accumulator.lock() {
            accumulator.flushing = true;
        }
        self.shared.wake.notify_one();
        let mut outstanding = self.shared.outstanding.subscribe();
        let waited = tokio::time::timeout(timeout, outstanding.wait_for(|n| *n == 0)).await;
        if let Ok(mut accumulator) = self.shared.accumulator.lock() {
            accumulator.flushing = false;
        }
        match waited {
            Ok(_) => Ok(()),
            Err(_) => Err(ClientError::Timeout {
                what: "flushing the producer".to_string(),
                after: timeout,
                setting: "the flush timeout",
            }),
        }
    }

    /// Flushes, then stops accepting records; the sender task ends once
    /// nothing is left. Records still unsent after `timeout` fail.
    pub async fn close(&self, timeout: Duration) -> Result<()> {
        let flushed = self.flush(timeout).await;
        let unsent = match self.shared.accumulator.lock() {
            Ok(mut accumulator) => {
                accumulator.closed = true;
                accumulator.take_all()
            }
            Err(_) => Vec::new(),
        };
        for reply in unsent {
            sender::resolve(
                &self.shared,
                reply,
                Err(ClientError::Closed { what: "producer" }),
            );
        }
        self.shared.wake.notify_one();
        flushed
    }
}
