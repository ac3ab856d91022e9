//! The blocking producer and the handle a blocking `send` returns.

use std::sync::Arc;
use std::time::Duration;

use super::runtime::ClientRuntime;
use super::{api_timeout_for, API_TIMEOUT_SETTING};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::producer::{clone_error, DeliveryFuture, ProducerRecord, RecordMetadata};

/// A blocking [`crate::Producer`]. `send` never blocks (it queues, as the
/// async `send` does); [`Producer::send_wait`], [`DeliveryHandle::wait`],
/// [`Producer::flush`] and [`Producer::close`] block, each bounded by a
/// timeout. The sender keeps batching and sending on the client's own
/// threads between calls. `Send + Sync`: share it between threads.
///
/// Call [`Producer::close`] before dropping it. Dropping it without
/// closing does not wait: records not yet sent fail at once with
/// [`ClientError::Closed`] (their callbacks run inside the drop), records
/// already sent are still reported while a [`DeliveryHandle`] keeps the
/// client's threads alive, and fail with `Closed` when the threads stop
/// (within a couple of seconds of the last handle's drop).
pub struct Producer {
    // Declared before the runtime: dropped while the runtime still runs.
    producer: crate::Producer,
    /// max.block.ms, which bounds `send_wait`.
    max_block: Duration,
    runtime: Arc<ClientRuntime>,
}

impl Producer {
    /// Connects to the cluster (bounded by the larger of
    /// default.api.timeout.ms and request.timeout.ms) and starts the sender.
    pub fn new(config: ClientConfig) -> Result<Producer> {
        let runtime = ClientRuntime::start("strom-producer")?;
        let api_timeout = api_timeout_for(&config);
        let max_block = config.max_block;
        let producer = runtime.block_on(
            "connecting the producer",
            api_timeout,
            API_TIMEOUT_SETTING,
            crate::Producer::new(config),
        )?;
        Ok(Producer {
            producer,
            max_block,
            runtime,
        })
    }

    /// The async producer underneath, for code that mixes both. Its
    /// sender runs on this client's threads: closing or dropping this
    /// blocking producer closes it (and its clones) too.
    pub fn as_async(&self) -> &crate::Producer {
        &self.producer
    }

    /// Queues a record without blocking (see [`crate::Producer::send`]):
    /// wait on the handle for where it was written. A record refused at
    /// once (too large, buffer.memory full) shows up as the handle's
    /// error. May be called from any thread, delivery callbacks included.
    pub fn send(&self, record: ProducerRecord) -> DeliveryHandle {
        let delivery = self.runtime.enter(|| self.producer.send(record));
        DeliveryHandle::new(delivery, self.runtime.clone())
    }

    /// Like `send`, but when buffer.memory is full blocks up to
    /// max.block.ms for room (the Java client's `send`). The record is
    /// queued, in order, when this returns `Ok`.
    pub fn send_wait(&self, record: ProducerRecord) -> Result<DeliveryHandle> {
        let max_block = self.max_block;
        let delivery = self.runtime.block_on(
            "waiting for room in buffer.memory",
            // send_wait gives up after max.block.ms itself; this bound
            // only backs it up.
            max_block.saturating_add(max_block),
            "max.block.ms",
            self.producer.send_wait(record),
        )?;
        Ok(DeliveryHandle::new(delivery, self.runtime.clone()))
    }

    /// Queues a record without blocking; `callback` gets the outcome,
    /// exactly once, on one of the client's threads (never inside this
    /// call). It must not block: see [`crate::Producer::send_with_callback`].
    pub fn send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(Result<RecordMetadata>) + Send + 'static,
    ) {
        self.runtime
            .enter(|| self.producer.send_with_callback(record, callback));
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
        callback: impl FnOnce(Result<RecordMetadata>) + Send + 'static,
    ) -> Result<()> {
        let max_block = self.max_block;
        // send_wait_with_callback gives up after max.block.ms itself (and
        // calls back); this bound only backs it up (dropping the future
        // calls back with Closed).
        self.runtime.block_on_within(
            "waiting for room in buffer.memory",
            max_block.saturating_add(max_block),
            self.producer.send_wait_with_callback(record, callback),
        )?;
        Ok(())
    }

    /// Sends everything queued and blocks until every record sent so far
    /// is delivered or failed, at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.runtime.block_on(
            "flushing the producer",
            timeout,
            "the flush timeout",
            self.producer.flush(timeout),
        )
    }

    /// Flushes for at most `timeout`, then stops accepting records; what
    /// is still unsent fails with [`ClientError::Closed`] (callbacks of
    /// those records run inside this call). Call it once, before drop.
    pub fn close(&self, timeout: Duration) -> Result<()> {
        self.runtime.block_on(
            "closing the producer",
            // close = flush(timeout) + failing the rest, which does not
            // wait: the bound is a backstop for the flush's own timeout.
            timeout.saturating_add(timeout),
            "the close timeout",
            self.producer.close(timeout),
        )
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let producer = &self.producer;
        self.runtime.enter(|| producer.stop_accepting());
    }
}

/// Where a record sent with [`Producer::send`] went: wait on it for as
/// long as you like, as many times as you like. Owned, `Send + 'static`,
/// no lifetimes: a binding can keep it in a Python object or a C pointer.
/// Dropping it does not cancel the delivery. It keeps the producer's
/// threads alive until it is dropped.
pub struct DeliveryHandle {
    state: DeliveryState,
    runtime: Arc<ClientRuntime>,
}

enum DeliveryState {
    Waiting(DeliveryFuture),
    Delivered(RecordMetadata),
    /// The first `wait` that saw it returned it; later waits get a copy.
    Failed(ClientError),
}

impl DeliveryHandle {
    fn new(delivery: DeliveryFuture, runtime: Arc<ClientRuntime>) -> DeliveryHandle {
        DeliveryHandle {
            state: DeliveryState::Waiting(delivery),
            runtime,
        }
    }

    /// Blocks until the record is delivered or failed, at most `timeout`.
    /// A [`ClientError::Timeout`] naming "the wait timeout" means only that
    /// this wait ended: the record may still be delivered, and `wait` may
    /// be called again. Once known, the outcome is returned by every later
    /// `wait`. Fails with [`ClientError::InvalidArgument`] when called
    /// inside a tokio runtime (a delivery callback included).
    pub fn wait(&mut self, timeout: Duration) -> Result<RecordMetadata> {
        let DeliveryState::Waiting(delivery) = &mut self.state else {
            return self.known_outcome();
        };
        // Polled by reference: a wait that ends leaves the future ready to
        // be waited on again.
        let outcome = self
            .runtime
            .block_on_within("waiting for a delivery", timeout, delivery)?;
        match outcome {
            None => Err(ClientError::Timeout {
                what: "waiting for a delivery".to_string(),
                after: timeout,
                setting: "the wait timeout",
            }),
            Some(Ok(metadata)) => {
                self.state = DeliveryState::Delivered(metadata);
                Ok(metadata)
            }
            Some(Err(error)) => {
                self.state = DeliveryState::Failed(clone_error(&error));
                Err(error)
            }
        }
    }

    fn known_outcome(&self) -> Result<RecordMetadata> {
        match &self.state {
            DeliveryState::Delivered(metadata) => Ok(*metadata),
            DeliveryState::Failed(error) => Err(clone_error(error)),
            DeliveryState::Waiting(_) => Err(ClientError::InvalidArgument(
                "the delivery is still pending".into(),
            )),
        }
    }
}
