//! The producer: `send` queues a record and returns a [`DeliveryFuture`];
//! a background sender task batches records per partition (linger.ms,
//! batch.size), compresses, sends and retries them.
//!
//! - [`accumulator`](self::accumulator): per-partition batches and the partitioner.
//! - [`partition`](self::partition): one partition's queue, in-flight count
//!   and sequence bookkeeping.
//! - [`sender`](self::sender): the task that drains batches into Produce
//!   requests (up to max.request.size each).
//! - [`request`](self::request): one driver per leader that starts requests
//!   in order and keeps up to max.in.flight.requests.per.connection going.
//! - [`settle`](self::settle): deliver, retry, split or fail a sent batch.
//! - [`memory`](self::memory): buffer.memory and the record size limits.
//!
//! Ordering and idempotence: up to max.in.flight.requests.per.connection
//! batches per partition are in flight. With enable.idempotence (the
//! default) every batch carries the producer id, epoch and the sequence it
//! was first sent with, so a retry after a lost response is recognised by
//! the broker as a duplicate, and retries go out in sequence order: records
//! of one partition are written once each, in send order. Without
//! idempotence a retried batch may land after a later one (as in the Java
//! client); set max.in.flight.requests.per.connection=1 to prevent that.
//!
//! Memory: accepted records hold buffer.memory until they resolve. When it
//! is used up, [`Producer::send`] fails at once (like librdkafka's
//! QUEUE_FULL) and [`Producer::send_wait`] waits up to max.block.ms for room
//! (like the Java client's blocking `send`). `send` stays synchronous and
//! never blocks so that it can be called from any thread or callback
//! (bindings included); a record is accepted, and ordered, when `send`
//! returns or when `send_wait` resolves.

mod accumulator;
pub(crate) mod memory;
mod partition;
pub mod partitioner;
mod record;
mod request;
mod sender;
pub(crate) mod settle;
mod stats;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{oneshot, Notify};

use crate::admin::AdminClient;
use crate::callbacks::CallbackQueue;
use crate::cluster::Cluster;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::metadata::PartitionInfo;
use accumulator::Accumulator;
use memory::{BufferMemory, Outstanding};
use partition::Pending;
pub use record::RecordRef;
use record::SendRecord;
use settle::Reply;
use strom_protocol::error_codes::{LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION};

/// A record refused before it was queued: its reply, the record and the
/// reason.
type Rejection = (Reply, Box<ProducerRecord>, ClientError);

/// The error a `try_send` returns for a refused record: the record comes
/// back, and its callback is dropped uncalled.
fn refused((reply, record, error): Rejection) -> DeliveryError {
    reply.disarm();
    DeliveryError::new(error, Some(record))
}

/// A record to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// A record that was not delivered: why, and the record itself, so the
/// application (or a binding's delivery callback) can report, log or
/// resend it (as rust-rdkafka's `(KafkaError, OwnedMessage)`).
#[derive(Debug, Clone)]
pub struct DeliveryError {
    pub error: ClientError,
    /// The record as it was sent. A record refused before it was queued
    /// comes back untouched; one that failed later comes back as the
    /// producer queued it, with the partition and timestamp it was given
    /// (as librdkafka's delivery report message has them). `None` only
    /// when the producer was torn down under it (its runtime shut down)
    /// before it could be resolved. Boxed: failures
    /// are rare, and a `Result` with this error stays small.
    pub record: Option<Box<ProducerRecord>>,
}

impl DeliveryError {
    pub(crate) fn new(error: ClientError, record: Option<Box<ProducerRecord>>) -> DeliveryError {
        DeliveryError { error, record }
    }

    /// The producer went away before the record was resolved.
    pub(crate) fn closed() -> DeliveryError {
        DeliveryError::new(ClientError::Closed { what: "producer" }, None)
    }
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for DeliveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// `?` on a delivery in code that returns [`ClientError`]s.
impl From<DeliveryError> for ClientError {
    fn from(failure: DeliveryError) -> ClientError {
        failure.error
    }
}

/// Where a record was written, or why it was not (with the record).
pub type DeliveryResult = std::result::Result<RecordMetadata, DeliveryError>;

/// Resolves once the record is acknowledged or has definitely failed.
/// Owned, `Send` and `'static`; dropping it does not cancel the send, and
/// awaiting it is cancellation-safe (a timed-out await can be repeated).
pub struct DeliveryFuture {
    receiver: std::result::Result<oneshot::Receiver<DeliveryResult>, Option<DeliveryError>>,
}

impl DeliveryFuture {
    pub(crate) fn failed(error: DeliveryError) -> DeliveryFuture {
        DeliveryFuture {
            receiver: Err(Some(error)),
        }
    }
}

impl Future for DeliveryFuture {
    type Output = DeliveryResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.receiver {
            Ok(receiver) => Pin::new(receiver)
                .poll(cx)
                .map(|outcome| outcome.unwrap_or_else(|_| Err(DeliveryError::closed()))),
            Err(error) => Poll::Ready(Err(error.take().unwrap_or_else(DeliveryError::closed))),
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
    pub(crate) outstanding: Outstanding,
    /// buffer.memory: room for records accepted but not yet resolved (with
    /// a callback queue: whose callbacks were not yet served).
    pub(crate) memory: Arc<BufferMemory>,
    /// The runtime the producer was made on, where callbacks of records
    /// refused at once are called (`send_with_callback` itself may run on
    /// any thread).
    pub(crate) runtime: tokio::runtime::Handle,
    /// Where delivery callbacks go to be served on a thread of the
    /// application's choosing; `None`: they run on the sender task.
    pub(crate) callbacks: Option<CallbackQueue>,
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
        Ok(Producer::from_cluster(cluster, None))
    }

    /// [`Producer::new`] with delivery callbacks (`send_with_callback`)
    /// handed to `callbacks`, to be run by whichever thread serves it
    /// ([`CallbackQueue::serve`]) instead of on the producer's own thread.
    pub async fn with_callback_queue(
        config: ClientConfig,
        callbacks: CallbackQueue,
    ) -> Result<Producer> {
        let cluster = Cluster::connect(config).await?;
        Ok(Producer::from_cluster(cluster, Some(callbacks)))
    }

    /// A producer sharing the admin client's connections and metadata.
    pub fn from_admin(admin: &AdminClient) -> Producer {
        Producer::from_cluster(admin.cluster().clone(), None)
    }

    fn from_cluster(cluster: Cluster, callbacks: Option<CallbackQueue>) -> Producer {
        let accumulator = Accumulator::new(cluster.config());
        let memory = BufferMemory::new(cluster.config().buffer_memory, cluster.config().max_block);
        let shared = Arc::new(Shared {
            cluster,
            accumulator: Mutex::new(accumulator),
            wake: Notify::new(),
            outstanding: Outstanding::default(),
            memory: Arc::new(memory),
            runtime: tokio::runtime::Handle::current(),
            callbacks,
        });
        tokio::spawn(sender::run(shared.clone()));
        stats::start(&shared, shared.callbacks.clone());
        Producer { shared }
    }

    /// Queues a record without ever blocking; the future resolves to where
    /// it was written. A record that can never be sent (bigger than
    /// max.request.size or buffer.memory) fails at once with
    /// [`ClientError::RecordTooLarge`] (MESSAGE_TOO_LARGE), and any record
    /// while buffer.memory is full of unacknowledged records with
    /// [`ClientError::BufferFull`] (retriable): use [`Producer::send_wait`]
    /// to wait for room instead.
    pub fn send(&self, record: ProducerRecord) -> DeliveryFuture {
        let (reply, receiver) = oneshot::channel();
        match self.accept(record, Reply::Future(reply)) {
            Ok(()) => DeliveryFuture {
                receiver: Ok(receiver),
            },
            Err((_, record, error)) => {
                DeliveryFuture::failed(DeliveryError::new(error, Some(record)))
            }
        }
    }

    /// Like [`Producer::send`], but the outcome goes to `callback` instead
    /// of a future (Java's `send(record, callback)`): for bindings that
    /// hand deliveries to a Python callable, a JS function or a C function
    /// pointer, and for code that does not want to hold a future per record.
    ///
    /// The callback is called exactly once, with where the record was
    /// written or why it failed (a failure hands the record back):
    /// - with a [`CallbackQueue`] ([`Producer::with_callback_queue`]): by
    ///   whichever thread serves the queue, in send order per partition;
    /// - otherwise never inside this call: a record refused at once (too
    ///   large, buffer.memory full, producer closed) gets its error from a
    ///   task on the producer's runtime; the others are called from the
    ///   producer's sender task (a tokio worker thread), in send order per
    ///   partition, or, for records still unsent when [`Producer::close`]
    ///   gives up, from inside `close`;
    /// - if the producer's runtime shuts down first, with
    ///   [`ClientError::Closed`] (and no record) on the thread that shuts it
    ///   down.
    ///
    /// Without a queue it runs on the thread that delivers every other
    /// record: it must return quickly and never block (no waiting on a
    /// lock held across a `flush`, no blocking I/O, no blocking `wait` on
    /// another delivery); hand heavy work to a channel, or use a queue. A
    /// panic in it is caught and logged. No task is spawned per record.
    pub fn send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) {
        if let Err((reply, record, error)) =
            self.accept(record, Reply::callback(Box::new(callback)))
        {
            self.report_later(reply, DeliveryError::new(error, Some(record)));
        }
    }

    /// Like [`Producer::send_with_callback`], but a record refused at once
    /// (bigger than max.request.size, buffer.memory full, producer closed)
    /// comes back here, with its error, and `callback` is dropped uncalled:
    /// librdkafka's `produce` returning `_QUEUE_FULL`, which confluent-kafka
    /// raises as `BufferError`. Once accepted, the callback is called
    /// exactly once as `send_with_callback` describes.
    pub fn try_send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> std::result::Result<(), DeliveryError> {
        self.accept(record, Reply::callback(Box::new(callback)))
            .map_err(refused)
    }

    /// Queues a record whose outcome nobody waits for (librdkafka's
    /// `produce` without a delivery-report callback); a record refused at
    /// once comes back here, as in [`Producer::try_send_with_callback`].
    /// `flush` still waits for it.
    pub fn try_send(&self, record: ProducerRecord) -> std::result::Result<(), DeliveryError> {
        self.accept(record, Reply::Discard).map_err(refused)
    }

    /// [`Producer::try_send`] of a borrowed record: its bytes are encoded
    /// into the open batch in this call, without an owned copy first
    /// (the binding's hot path). A record refused comes back owned.
    pub fn try_send_ref(&self, record: RecordRef<'_>) -> std::result::Result<(), DeliveryError> {
        self.accept(record, Reply::Discard).map_err(refused)
    }

    /// [`Producer::try_send_with_callback`] of a borrowed record, as
    /// [`Producer::try_send_ref`] takes it.
    pub fn try_send_ref_with_callback(
        &self,
        record: RecordRef<'_>,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> std::result::Result<(), DeliveryError> {
        self.accept(record, Reply::callback(Box::new(callback)))
            .map_err(refused)
    }

    /// The topic's partitions. Like the Java producer's `partitionsFor`, a
    /// missing topic is asked for with auto-creation allowed, and asked
    /// again until it appears or max.block.ms passes: a broker with
    /// `auto.create.topics.enable` creates it (Strom at once; Kafka in the
    /// background, answering UNKNOWN_TOPIC_OR_PARTITION or
    /// LEADER_NOT_AVAILABLE meanwhile). After max.block.ms the broker's last
    /// error is returned.
    pub async fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionInfo>> {
        let cluster = &self.shared.cluster;
        let deadline = tokio::time::Instant::now() + cluster.config().max_block;
        loop {
            if let Some(info) = cluster.cached_topic(topic) {
                return Ok(info.partitions);
            }
            let response = cluster
                .request_metadata(
                    Some(vec![topic.to_string()]),
                    cluster.config().allow_auto_create_topics != Some(false),
                )
                .await?;
            let code = response
                .topics
                .iter()
                .find(|t| t.name.as_deref() == Some(topic))
                .map_or(UNKNOWN_TOPIC_OR_PARTITION, |t| t.error_code);
            match code {
                0 => cluster.refresh_metadata(&[topic.to_string()]).await?,
                LEADER_NOT_AVAILABLE | UNKNOWN_TOPIC_OR_PARTITION
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(cluster.config().retry_backoff).await;
                }
                code => {
                    return Err(ClientError::kafka(
                        code,
                        format!("looking up topic `{topic}`"),
                        None,
                    ))
                }
            }
        }
    }

    /// Client-level errors since the last call, oldest first (librdkafka's
    /// `error_cb` events): a broker that cannot be reached (once per
    /// outage), all brokers down, a subscribed topic that does not exist.
    /// Calls still fail with their own errors; these tell what the client
    /// meets in the background. At most the last 64 are kept.
    pub fn take_errors(&self) -> Vec<ClientError> {
        self.shared.cluster.take_errors()
    }

    /// How many records are accepted and not yet delivered or failed
    /// (librdkafka's `outq_len`, less the callbacks waiting in a queue).
    pub fn in_flight(&self) -> usize {
        self.shared.outstanding.count()
    }

    /// [`Producer::send_wait`] with the outcome going to `callback`, as
    /// [`Producer::send_with_callback`] describes (Java's blocking
    /// `send(record, callback)`): waits up to max.block.ms for room in
    /// buffer.memory, then queues the record and returns. The callback is
    /// called exactly once, also when the record is refused (too large, no
    /// room in time: never inside this call) or when this future is
    /// dropped before the record was queued (with [`ClientError::Closed`];
    /// nothing is sent then).
    pub async fn send_wait_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) {
        let reply = Reply::callback(Box::new(callback));
        let queued = match self.reserve_room(&record).await {
            Ok(size) => self.enqueue(record, size, reply),
            Err(error) => Err((reply, Box::new(record), error)),
        };
        if let Err((reply, record, error)) = queued {
            self.report_later(reply, DeliveryError::new(error, Some(record)));
        }
    }

    /// Reports a refused record's error to its callback from a task of the
    /// producer's runtime, not on the caller's stack: the caller may hold a
    /// lock the callback takes. Should the runtime be gone, the dropped
    /// task drops the reply, which reports Closed instead.
    fn report_later(&self, reply: Reply, error: DeliveryError) {
        let shared = self.shared.clone();
        self.shared
            .runtime
            .spawn(async move { settle::deliver_one(&shared, reply, Err(error)) });
    }

    /// Checks the record's size and waits up to max.block.ms for its room
    /// in buffer.memory; returns the bytes taken.
    async fn reserve_room(&self, record: &ProducerRecord) -> Result<usize> {
        let max_request_size = self.shared.cluster.config().max_request_size;
        let size = memory::check_record_size(record, max_request_size)?;
        self.shared.memory.reserve(size).await?;
        Ok(size)
    }

    /// Like [`Producer::send`], but when buffer.memory is full waits up to
    /// max.block.ms for earlier records to resolve (the Java client's
    /// blocking `send`). The record is queued, in order, when this returns
    /// `Ok`; the returned future then resolves to where it was written.
    /// Dropping this future before it completes queues nothing.
    ///
    /// Errors, with the record: [`ClientError::RecordTooLarge`] for a
    /// record bigger than max.request.size or buffer.memory;
    /// [`ClientError::Timeout`] naming max.block.ms when no room came in
    /// time.
    pub fn send_wait(
        &self,
        record: ProducerRecord,
    ) -> impl Future<Output = std::result::Result<DeliveryFuture, DeliveryError>> + Send + 'static
    {
        let producer = self.clone();
        async move {
            let size = match producer.reserve_room(&record).await {
                Ok(size) => size,
                Err(error) => return Err(DeliveryError::new(error, Some(Box::new(record)))),
            };
            let (reply, receiver) = oneshot::channel();
            Ok(match producer.enqueue(record, size, Reply::Future(reply)) {
                Ok(()) => DeliveryFuture {
                    receiver: Ok(receiver),
                },
                Err((_, record, error)) => {
                    DeliveryFuture::failed(DeliveryError::new(error, Some(record)))
                }
            })
        }
    }

    /// Checks the record's size, takes its buffer.memory room without
    /// waiting and queues it; or gives the reply back with the error.
    fn accept(&self, record: impl SendRecord, reply: Reply) -> std::result::Result<(), Rejection> {
        let config = self.shared.cluster.config();
        let reserved = memory::check_record_size(&record, config.max_request_size)
            .and_then(|size| {
                memory::check_record_count(&self.shared.outstanding, config).map(|()| size)
            })
            .and_then(|size| self.shared.memory.try_reserve(size).map(|()| size));
        match reserved {
            Ok(size) => self.enqueue(record, size, reply),
            Err(error) => Err((reply, Box::new(record.into_owned()), error)),
        }
    }

    /// Queues a record whose `reserved` bytes of buffer.memory are taken.
    fn enqueue(
        &self,
        record: impl SendRecord,
        reserved: usize,
        reply: Reply,
    ) -> std::result::Result<(), Rejection> {
        let pending = Pending { reply, reserved };
        // Counted before it is queued: once in the accumulator the sender
        // may send and settle it before this thread runs on, and a settle
        // that came first would be lost (the count cannot go below zero),
        // leaving flush waiting for a record that was long delivered.
        self.shared.outstanding.accepted();
        let queued = match self.shared.accumulator.lock() {
            Ok(mut accumulator) => accumulator.append(&self.shared.cluster, record, pending),
            Err(_) => Err((
                pending,
                Box::new(record.into_owned()),
                ClientError::Closed { what: "producer" },
            )),
        };
        match queued {
            Ok(wake_now) => {
                if wake_now {
                    self.shared.wake.notify_one();
                }
                Ok(())
            }
            Err((pending, record, error)) => {
                // Not queued after all: the error goes straight back to
                // the caller, and the record is no longer outstanding.
                self.shared.outstanding.settled(1);
                self.shared.memory.release(pending.reserved);
                Err((pending.reply, record, error))
            }
        }
    }

    /// Sends everything queued now and waits until every record sent so
    /// far is resolved, or `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> impl Future<Output = Result<()>> + Send + 'static {
        let shared = self.shared.clone();
        async move { flush(&shared, timeout).await }
    }

    /// Flushes, then stops accepting records; the sender task ends once
    /// nothing is left. Records still unsent after `timeout` fail.
    pub fn close(&self, timeout: Duration) -> impl Future<Output = Result<()>> + Send + 'static {
        let producer = self.clone();
        async move {
            let flushed = flush(&producer.shared, timeout).await;
            producer.stop_accepting();
            flushed
        }
    }

    /// Stops accepting records and fails those not yet sent with
    /// [`ClientError::Closed`] (their callbacks run here); batches already
    /// sent resolve when the broker answers. The sender task ends once
    /// nothing is left. Does not wait.
    pub(crate) fn stop_accepting(&self) {
        let unsent = match self.shared.accumulator.lock() {
            Ok(mut accumulator) => {
                accumulator.closed = true;
                accumulator.take_all()
            }
            Err(_) => Vec::new(),
        };
        let closed = |record| {
            Err(DeliveryError::new(
                ClientError::Closed { what: "producer" },
                record,
            ))
        };
        settle::resolve_all(
            &self.shared,
            unsent
                .into_iter()
                .map(|(pending, record)| (pending, closed(record))),
        );
        self.shared.wake.notify_one();
    }
}

/// See [`Producer::flush`]. Flushes from several clones at once each wait
/// for their own records and timeout; batches skip linger.ms while any
/// flush runs.
async fn flush(shared: &Shared, timeout: Duration) -> Result<()> {
    /// Counts a flush as running until it ends or is dropped.
    struct Flushing<'a>(&'a Shared);
    impl Drop for Flushing<'_> {
        fn drop(&mut self) {
            if let Ok(mut accumulator) = self.0.accumulator.lock() {
                accumulator.flushes = accumulator.flushes.saturating_sub(1);
            }
        }
    }
    if let Ok(mut accumulator) = shared.accumulator.lock() {
        accumulator.flushes += 1;
    }
    let flushing = Flushing(shared);
    shared.wake.notify_one();
    let waited = tokio::time::timeout(timeout, shared.outstanding.none_left()).await;
    drop(flushing);
    match waited {
        Ok(_) => Ok(()),
        Err(_) => Err(ClientError::Timeout {
            what: "flushing the producer".to_string(),
            after: timeout,
            setting: "the flush timeout",
        }),
    }
}
