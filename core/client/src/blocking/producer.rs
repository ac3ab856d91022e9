//! The blocking producer and the handle a blocking `send` returns.

use std::sync::Arc;
use std::time::Duration;

use super::{api_timeout_for, API_TIMEOUT_SETTING};
use crate::callbacks::CallbackQueue;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::producer::{DeliveryError, DeliveryFuture, DeliveryResult, ProducerRecord, RecordRef};
use crate::runtime::ClientRuntime;

/// A blocking [`crate::Producer`]. `send` never blocks (it queues, as the
/// async `send` does); [`Producer::send_wait`], [`DeliveryHandle::wait`],
/// [`Producer::flush`] and [`Producer::close`] block, each bounded by a
/// timeout. The sender keeps batching and sending on the client runtime's
/// threads between calls. `Send + Sync` and cheap to clone: clones share
/// one producer, so share it between threads.
///
/// Call [`Producer::close`] before dropping the last clone. Dropping it
/// without closing does not wait: records not yet sent fail at once with
/// [`ClientError::Closed`] (their callbacks run inside the drop), records
/// already sent are still reported.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

struct Inner {
    producer: crate::Producer,
    /// max.block.ms, which bounds `send_wait`.
    max_block: Duration,
    /// The queue given to [`Producer::with_callback_queue`], served by
    /// [`Producer::poll`].
    callbacks: Option<CallbackQueue>,
    /// queue.buffering.max.messages, which with a callback queue counts
    /// the delivery reports not yet served too.
    queue_limit: usize,
    runtime: ClientRuntime,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let producer = &self.producer;
        // A runtime already gone (shut down, or the parent's after a
        // fork) has nothing left to stop.
        let _ = self.runtime.enter(|| producer.stop_accepting());
    }
}

impl Producer {
    /// Connects to the cluster (bounded by the larger of
    /// default.api.timeout.ms and request.timeout.ms) and starts the
    /// sender, on the process's shared client runtime.
    pub fn new(config: ClientConfig) -> Result<Producer> {
        Producer::build(config, None, ClientRuntime::shared()?)
    }

    /// [`Producer::new`] on the given runtime.
    pub fn with_runtime(config: ClientConfig, runtime: ClientRuntime) -> Result<Producer> {
        Producer::build(config, None, runtime)
    }

    /// [`Producer::new`] with delivery callbacks handed to `callbacks`:
    /// they run in [`Producer::poll`] (or whoever serves the queue), on
    /// the caller's thread, as librdkafka's delivery reports do.
    pub fn with_callback_queue(config: ClientConfig, callbacks: CallbackQueue) -> Result<Producer> {
        Producer::build(config, Some(callbacks), ClientRuntime::shared()?)
    }

    fn build(
        config: ClientConfig,
        callbacks: Option<CallbackQueue>,
        runtime: ClientRuntime,
    ) -> Result<Producer> {
        let api_timeout = api_timeout_for(&config);
        let connecting = match callbacks.clone() {
            Some(queue) => {
                let future = crate::Producer::with_callback_queue(config.clone(), queue);
                runtime.block_on(
                    "connecting the producer",
                    api_timeout,
                    API_TIMEOUT_SETTING,
                    future,
                )
            }
            None => runtime.block_on(
                "connecting the producer",
                api_timeout,
                API_TIMEOUT_SETTING,
                crate::Producer::new(config.clone()),
            ),
        };
        Ok(Producer::from_async(
            connecting?,
            &config,
            callbacks,
            runtime,
        ))
    }

    /// The blocking producer over an async one connected on `runtime`
    /// (with `callbacks`, the queue it was given, if any): for a binding
    /// that connects it in interruptible slices. `config` is the one it
    /// was made with (max.block.ms bounds `send_wait`).
    pub fn from_async(
        producer: crate::Producer,
        config: &ClientConfig,
        callbacks: Option<CallbackQueue>,
        runtime: ClientRuntime,
    ) -> Producer {
        Producer {
            inner: Arc::new(Inner {
                producer,
                max_block: config.max_block,
                callbacks,
                queue_limit: config.buffer_max_records,
                runtime,
            }),
        }
    }

    /// The async producer underneath, for code that mixes both. Closing
    /// or dropping the last clone of this blocking producer closes it too.
    pub fn as_async(&self) -> &crate::Producer {
        &self.inner.producer
    }

    /// The runtime this producer runs on.
    pub fn runtime(&self) -> &ClientRuntime {
        &self.inner.runtime
    }

    /// Queues a record without blocking (see [`crate::Producer::send`]):
    /// wait on the handle for where it was written. A record refused at
    /// once (too large, buffer.memory full) shows up as the handle's
    /// error. May be called from any thread, delivery callbacks included.
    pub fn send(&self, record: ProducerRecord) -> DeliveryHandle {
        let producer = &self.inner.producer;
        match self.inner.runtime.enter(|| producer.send(record)) {
            Ok(delivery) => DeliveryHandle::new(delivery, self.inner.runtime.clone()),
            Err(error) => {
                DeliveryHandle::failed(DeliveryError::new(error, None), self.inner.runtime.clone())
            }
        }
    }

    /// Like `send`, but when buffer.memory is full blocks up to
    /// max.block.ms for room (the Java client's `send`). The record is
    /// queued, in order, when this returns `Ok`; a refusal hands the
    /// record back.
    pub fn send_wait(
        &self,
        record: ProducerRecord,
    ) -> std::result::Result<DeliveryHandle, DeliveryError> {
        let max_block = self.inner.max_block;
        let waiting = self.inner.producer.send_wait(record);
        let waited = self.inner.runtime.block_on(
            "waiting for room in buffer.memory",
            // send_wait gives up after max.block.ms itself; this bound
            // only backs it up.
            max_block.saturating_add(max_block),
            "max.block.ms",
            async { Ok(waiting.await) },
        );
        match waited {
            Ok(delivery) => Ok(DeliveryHandle::new(delivery?, self.inner.runtime.clone())),
            Err(error) => Err(DeliveryError::new(error, None)),
        }
    }

    /// Queues a record without blocking; `callback` gets the outcome,
    /// exactly once, never inside this call: on a client thread, or, with
    /// [`Producer::with_callback_queue`], in [`Producer::poll`]. It must
    /// not block: see [`crate::Producer::send_with_callback`].
    pub fn send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> Result<()> {
        let producer = &self.inner.producer;
        self.inner
            .runtime
            .enter(|| producer.send_with_callback(record, callback))
    }

    /// Like `send_with_callback`, but when buffer.memory is full blocks up
    /// to max.block.ms for room (the Java client's `send(record,
    /// callback)`). Once this returns `Ok`, the callback is called exactly
    /// once, also when the record was refused (too large, no room in
    /// time). `Err` (and no callback) only when the call itself is refused:
    /// inside an async context, or after the producer's runtime is gone.
    pub fn send_wait_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> Result<()> {
        let max_block = self.inner.max_block;
        // send_wait_with_callback gives up after max.block.ms itself (and
        // calls back); this bound only backs it up (dropping the future
        // calls back with Closed).
        self.inner.runtime.block_on_within(
            "waiting for room in buffer.memory",
            max_block.saturating_add(max_block),
            self.inner
                .producer
                .send_wait_with_callback(record, callback),
        )?;
        Ok(())
    }

    /// [`crate::Producer::try_send`]: queues a record nobody waits for;
    /// a record refused at once comes back as the error. Never blocks.
    pub fn try_send(&self, record: ProducerRecord) -> std::result::Result<(), DeliveryError> {
        if let Err(error) = self.check_usable() {
            return Err(DeliveryError::new(error, Some(Box::new(record))));
        }
        self.inner.producer.try_send(record)
    }

    /// [`crate::Producer::try_send_with_callback`]: a record refused at
    /// once comes back as the error, its callback uncalled. Never blocks.
    pub fn try_send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> std::result::Result<(), DeliveryError> {
        if let Err(error) = self.check_usable() {
            return Err(DeliveryError::new(error, Some(Box::new(record))));
        }
        self.inner.producer.try_send_with_callback(record, callback)
    }

    /// [`crate::Producer::try_send_ref`]: [`Producer::try_send`] of a
    /// borrowed record, encoded without an owned copy first.
    pub fn try_send_ref(&self, record: RecordRef<'_>) -> std::result::Result<(), DeliveryError> {
        if let Err(error) = self.check_usable() {
            return Err(DeliveryError::new(
                error,
                Some(Box::new(record.to_owned_record())),
            ));
        }
        self.inner.producer.try_send_ref(record)
    }

    /// [`crate::Producer::try_send_ref_with_callback`]:
    /// [`Producer::try_send_with_callback`] of a borrowed record.
    pub fn try_send_ref_with_callback(
        &self,
        record: RecordRef<'_>,
        callback: impl FnOnce(DeliveryResult) + Send + 'static,
    ) -> std::result::Result<(), DeliveryError> {
        if let Err(error) = self.check_usable() {
            return Err(DeliveryError::new(
                error,
                Some(Box::new(record.to_owned_record())),
            ));
        }
        self.inner
            .producer
            .try_send_ref_with_callback(record, callback)
    }

    /// The per-record calls queue without entering the runtime (nothing
    /// they do needs its context) and check it without a system call.
    /// With a callback queue, a delivery report not yet served counts
    /// against queue.buffering.max.messages as its record did, as in
    /// librdkafka: an application that produces without serving reports
    /// gets QUEUE_FULL instead of a queue of reports that grows without
    /// bound.
    fn check_usable(&self) -> Result<()> {
        self.inner.runtime.check_usable()?;
        let Some(queue) = &self.inner.callbacks else {
            return Ok(());
        };
        if self.inner.producer.in_flight() + queue.len() < self.inner.queue_limit {
            return Ok(());
        }
        Err(ClientError::BufferFull {
            limit: self.inner.queue_limit,
            setting: "queue.buffering.max.messages",
            unit: "records and delivery reports not yet served",
        })
    }

    /// Client-level errors since the last call (see
    /// [`crate::Producer::take_errors`]).
    pub fn take_errors(&self) -> Vec<ClientError> {
        self.inner.producer.take_errors()
    }

    /// Records not yet delivered or failed plus delivery callbacks not yet
    /// served: librdkafka's `outq_len`, what `len(producer)` is in
    /// confluent-kafka. Zero once a flush has returned and been served.
    pub fn outq_len(&self) -> usize {
        let queued = self.inner.callbacks.as_ref().map_or(0, CallbackQueue::len);
        self.inner.producer.in_flight() + queued
    }

    /// Runs the delivery callbacks that are due, on the calling thread,
    /// waiting up to `timeout` for the first (librdkafka's `rd_kafka_poll`);
    /// returns how many ran. Only for a producer made with
    /// [`Producer::with_callback_queue`]: otherwise callbacks run on their
    /// own and this returns 0 at once.
    pub fn poll(&self, timeout: Duration) -> usize {
        match &self.inner.callbacks {
            Some(queue) => queue.serve(timeout),
            None => 0,
        }
    }

    /// Sends everything queued and blocks until every record sent so far
    /// is delivered or failed, at most `timeout`. With a callback queue,
    /// the callbacks that became due are served here too, as librdkafka's
    /// `rd_kafka_flush` does.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        let flushed = self.inner.runtime.block_on(
            "flushing the producer",
            timeout,
            "the flush timeout",
            self.inner.producer.flush(timeout),
        );
        self.poll(Duration::ZERO);
        flushed
    }

    /// Flushes for at most `timeout`, then stops accepting records; what
    /// is still unsent fails with [`ClientError::Closed`] (callbacks of
    /// those records run inside this call, or are queued). Later sends
    /// from any clone fail with `Closed`.
    pub fn close(&self, timeout: Duration) -> Result<()> {
        let closed = self.inner.runtime.block_on(
            "closing the producer",
            // close = flush(timeout) + failing the rest, which does not
            // wait: the bound is a backstop for the flush's own timeout.
            timeout.saturating_add(timeout),
            "the close timeout",
            self.inner.producer.close(timeout),
        );
        self.poll(Duration::ZERO);
        closed
    }
}

/// Where a record sent with [`Producer::send`] went: wait on it for as
/// long as you like, as many times as you like. Owned, `Send + 'static`,
/// no lifetimes: a binding can keep it in a Python object or a C pointer.
/// Dropping it does not cancel the delivery.
pub struct DeliveryHandle {
    state: DeliveryState,
    runtime: ClientRuntime,
}

enum DeliveryState {
    Waiting(DeliveryFuture),
    /// The first `wait` that saw it returned it; later waits get a copy.
    Known(DeliveryResult),
}

impl DeliveryHandle {
    fn new(delivery: DeliveryFuture, runtime: ClientRuntime) -> DeliveryHandle {
        DeliveryHandle {
            state: DeliveryState::Waiting(delivery),
            runtime,
        }
    }

    fn failed(error: DeliveryError, runtime: ClientRuntime) -> DeliveryHandle {
        DeliveryHandle {
            state: DeliveryState::Known(Err(error)),
            runtime,
        }
    }

    /// Blocks until the record is delivered or failed, at most `timeout`.
    /// A [`ClientError::Timeout`] naming "the wait timeout" (with no
    /// record) means only that this wait ended: the record may still be
    /// delivered, and `wait` may be called again. Once known, the outcome
    /// is returned by every later `wait`; a failure hands the record back.
    /// Fails with [`ClientError::InvalidArgument`] when called inside a
    /// tokio runtime (a delivery callback included).
    pub fn wait(&mut self, timeout: Duration) -> DeliveryResult {
        let DeliveryState::Waiting(delivery) = &mut self.state else {
            return self.known_outcome();
        };
        // Polled by reference: a wait that ends leaves the future ready to
        // be waited on again.
        let outcome = self
            .runtime
            .block_on_within("waiting for a delivery", timeout, delivery)
            .map_err(|error| DeliveryError::new(error, None))?;
        match outcome {
            None => Err(DeliveryError::new(
                ClientError::Timeout {
                    what: "waiting for a delivery".to_string(),
                    after: timeout,
                    setting: "the wait timeout",
                },
                None,
            )),
            Some(outcome) => {
                self.state = DeliveryState::Known(outcome.clone());
                outcome
            }
        }
    }

    fn known_outcome(&self) -> DeliveryResult {
        match &self.state {
            DeliveryState::Known(outcome) => outcome.clone(),
            DeliveryState::Waiting(_) => Err(DeliveryError::new(
                ClientError::InvalidArgument("the delivery is still pending".into()),
                None,
            )),
        }
    }
}
