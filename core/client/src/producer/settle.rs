//! What happens to a batch once its partition answered: deliver, retry,
//! split, or fail — and, with idempotence, what that means for the
//! partition's sequences (see [`super::partition`]).

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use strom_protocol::records::{add_sequence, CompressionType, RecordBatch, RecordBatchBuilder};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::partition::{Batch, Pending, Stamp};
use super::{DeliveryError, DeliveryResult, ProducerRecord, RecordMetadata, Shared};
use crate::callbacks::Queued;
use crate::consumer::header_pairs;
use crate::error::{ClientError, Result};
use crate::metadata::error_invalidates_metadata;
use crate::TopicPartition;

use strom_protocol::error_codes::{
    MESSAGE_TOO_LARGE, OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
};

/// The boxed form of a `send_with_callback` callback.
pub(crate) type DeliveryCallback = Box<dyn FnOnce(DeliveryResult) + Send + 'static>;

/// Where a record's outcome goes: the [`super::DeliveryFuture`] that `send`
/// returned, or the callback given to `send_with_callback`. Holding the
/// callback here, rather than a task awaiting a future per record, costs
/// nothing per record beyond the box.
pub(crate) enum Reply {
    Future(oneshot::Sender<DeliveryResult>),
    Callback(CallbackSlot),
    /// Nobody asked (`try_send`): a failure is logged at debug level.
    Discard,
}

impl Reply {
    pub(crate) fn callback(callback: DeliveryCallback) -> Reply {
        Reply::Callback(CallbackSlot(Some(callback)))
    }

    /// Drops the reply without resolving it: a callback is dropped
    /// uncalled, for a refusal that goes back to the caller instead.
    pub(crate) fn disarm(self) {
        if let Reply::Callback(mut slot) = self {
            slot.0.take();
        }
    }

    /// Hands the outcome over: to the future (nobody waiting is fine: the
    /// future was dropped and the record is still delivered), or to the
    /// callback: into `queued` when the producer has a callback queue,
    /// else called here, on the current thread.
    fn deliver(self, outcome: DeliveryResult, queued: Option<&mut Vec<Queued>>) {
        match (self, queued) {
            (Reply::Future(sender), _) => {
                let _ = sender.send(outcome);
            }
            (Reply::Callback(slot), Some(queued)) => queued.push(Queued::Delivery(slot, outcome)),
            (Reply::Callback(mut slot), None) => slot.call(outcome),
            (Reply::Discard, _) => {
                if let Err(failed) = outcome {
                    tracing::debug!("a record sent without a callback failed: {}", failed.error);
                }
            }
        }
    }
}

/// A callback that is called exactly once: with the outcome, or, if the
/// record is dropped unresolved (the producer's runtime shut down under
/// it), with [`ClientError::Closed`] when the slot is dropped.
pub(crate) struct CallbackSlot(Option<DeliveryCallback>);

impl CallbackSlot {
    pub(crate) fn call(&mut self, outcome: DeliveryResult) {
        let Some(callback) = self.0.take() else {
            return;
        };
        // A panicking callback must not take the sender task (and every
        // later record) down with it.
        let called = panic::catch_unwind(AssertUnwindSafe(move || callback(outcome)));
        if called.is_err() {
            tracing::error!("a producer delivery callback panicked; the producer goes on");
        }
    }
}

impl Drop for CallbackSlot {
    fn drop(&mut self) {
        self.call(Err(DeliveryError::closed()));
    }
}

/// Resolves records' futures or callbacks, frees their buffer room and
/// counts them as settled: once for all of them, not per record (both
/// touch state the sending threads share).
pub(crate) fn resolve_all(
    shared: &Shared,
    outcomes: impl IntoIterator<Item = (Pending, DeliveryResult)>,
) {
    let (mut reserved, mut held, mut count) = (0, 0, 0);
    let mut queued = shared.callbacks.as_ref().map(|_| Vec::new());
    for (pending, outcome) in outcomes {
        let is_callback = matches!(pending.reply, Reply::Callback(_));
        pending.reply.deliver(outcome, queued.as_mut());
        if is_callback && queued.is_some() {
            held += pending.reserved;
        } else {
            reserved += pending.reserved;
        }
        count += 1;
    }
    if let (Some(queue), Some(mut queued)) = (&shared.callbacks, queued) {
        // Records whose callbacks wait in the queue keep their room in
        // buffer.memory until served, as librdkafka counts a message until
        // its delivery report is served: a producer whose application
        // never serves the queue fills up (QUEUE_FULL) instead of growing
        // the queue without bound.
        if held > 0 {
            queued.push(Queued::Release(shared.memory.clone(), held));
        }
        queue.push_all(queued);
    }
    shared.memory.release(reserved);
    shared.outstanding.settled(count);
}

/// Resolves a record that was never queued (nothing to release or count):
/// to its future, its callback, or the producer's callback queue.
pub(crate) fn deliver_one(shared: &Shared, reply: Reply, outcome: DeliveryResult) {
    match &shared.callbacks {
        Some(queue) => {
            let mut queued = Vec::with_capacity(1);
            reply.deliver(outcome, Some(&mut queued));
            queue.push_all(queued);
        }
        None => reply.deliver(outcome, None),
    }
}

/// Fails every record of `batch` with `error`, handing each its record.
pub(crate) fn fail_batch(
    shared: &Shared,
    tp: &TopicPartition,
    batch: Batch,
    error: impl Fn() -> ClientError,
) {
    let records = records_of(tp, &batch);
    let outcomes = batch
        .records
        .into_iter()
        .zip(records)
        .map(|((pending, _), record)| (pending, Err(DeliveryError::new(error(), record))));
    resolve_all(shared, outcomes);
}

/// The records of a batch as the application sent them (with the
/// partition they were given), one per record in the batch: `None` where
/// the batch cannot be read back. Decoded only when records fail, so the
/// producer keeps no copy of what it has already encoded.
pub(crate) fn records_of(tp: &TopicPartition, batch: &Batch) -> Vec<Option<Box<ProducerRecord>>> {
    let decoded = batch
        .builder
        .build()
        .map_err(ClientError::from)
        .and_then(|bytes| {
            let view = RecordBatch::new(bytes)?;
            let records = view.records(batch.builder.uncompressed_size())?;
            records
                .map(|record| {
                    let record = record?;
                    Ok(Box::new(ProducerRecord {
                        topic: tp.topic.to_string(),
                        partition: Some(tp.partition),
                        key: record.key,
                        value: record.value,
                        headers: header_pairs(record.headers),
                        timestamp: Some(record.timestamp),
                    }))
                })
                .collect::<Result<Vec<_>>>()
        });
    let mut records: Vec<Option<Box<ProducerRecord>>> = match decoded {
        Ok(records) => records.into_iter().map(Some).collect(),
        Err(error) => {
            tracing::warn!("cannot read back the records of a failed batch for {tp}: {error}");
            Vec::new()
        }
    };
    records.resize(batch.records.len(), None);
    records
}

/// Delivers, retries, splits or fails one sent batch from its partition's
/// outcome: (base offset, log append time) or the error.
pub(crate) fn settle(
    shared: &Arc<Shared>,
    tp: TopicPartition,
    mut batch: Batch,
    result: Result<(i64, i64)>,
) {
    let config = shared.cluster.config();
    let Ok(mut acc) = shared.accumulator.lock() else {
        return;
    };
    let queue = acc.partitions.entry(tp.clone()).or_default();
    queue.returned();
    let error = match result {
        Ok((base_offset, log_append_time)) => {
            queue.acked(&batch);
            drop(acc);
            deliver(shared, tp.partition, batch, base_offset, log_append_time);
            return;
        }
        Err(error) => error,
    };
    let code = error.kafka_code().unwrap_or(-1);
    let now = Instant::now();
    if code == MESSAGE_TOO_LARGE && batch.record_count() > 1 {
        // The broker's limit is below this batch (Java splits too): send
        // the records again in two halves, same order, same sequences.
        match split_records(&batch, config.compression) {
            Ok((builders, first_payload)) => {
                for half in split(batch, builders, first_payload).into_iter().rev() {
                    queue.requeue(half, now);
                }
                return;
            }
            Err(split_error) => {
                tracing::debug!("cannot split a batch for {tp:?}: {split_error}");
            }
        }
    }
    let stamp = batch.stamp.filter(|_| config.enable_idempotence);
    let mut sequence_error = false;
    if let Some(stamp) = stamp {
        match code {
            // The batch right after the last acknowledged one is out of
            // sequence: the broker lost batches we thought written (or its
            // state). Otherwise an earlier batch is being retried and this
            // one just follows it again.
            OUT_OF_ORDER_SEQUENCE_NUMBER => {
                sequence_error = true;
                if stamp.base_sequence == queue.expected_sequence() {
                    queue.needs_reset = true;
                }
            }
            UNKNOWN_PRODUCER_ID => {
                sequence_error = true;
                queue.needs_reset = true;
            }
            _ => {}
        }
    }
    let may_retry = (error.is_retriable() || sequence_error)
        && batch.attempts < config.retries
        && now < batch.created + config.delivery_timeout;
    if may_retry {
        if error_invalidates_metadata(&error) {
            spawn_refresh(shared, tp.topic.to_string());
        }
        batch.attempts += 1;
        queue.requeue(batch, now + config.retry_backoff);
    } else {
        if stamp.is_some() {
            // Its sequences will never be written: later batches of the
            // partition need a fresh sequence space.
            queue.needs_reset = true;
        }
        let reset = queue.needs_reset;
        acc.epoch_bump_requested |= reset;
        drop(acc);
        tracing::debug!("batch for {tp:?} failed: {error}");
        fail_batch(shared, &tp, batch, || error.clone());
        return;
    }
    let reset = queue.needs_reset;
    acc.epoch_bump_requested |= reset;
}

fn deliver(shared: &Shared, partition: i32, batch: Batch, base_offset: i64, log_append_time: i64) {
    let outcomes = batch
        .records
        .into_iter()
        .enumerate()
        .map(|(index, (pending, timestamp))| {
            // A broker could answer a base offset near i64::MAX: report -1
            // (unknown) rather than overflow.
            let offset = i64::try_from(index)
                .ok()
                .filter(|_| base_offset >= 0)
                .and_then(|index| base_offset.checked_add(index))
                .unwrap_or(-1);
            let timestamp = if log_append_time >= 0 {
                log_append_time
            } else {
                timestamp
            };
            let metadata = RecordMetadata {
                partition,
                offset,
                timestamp,
            };
            (pending, Ok(metadata))
        });
    resolve_all(shared, outcomes);
}

/// The records of `batch` rebuilt as two batches: the first half and the
/// rest, in order; with the key and value bytes of the first half.
fn split_records(
    batch: &Batch,
    compression: CompressionType,
) -> Result<([RecordBatchBuilder; 2], u64)> {
    let count = batch.records.len();
    let view = RecordBatch::new(batch.builder.build()?)?;
    // Our own batch: its records section is at most this large.
    let records = view
        .records(batch.builder.uncompressed_size())?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if records.len() != count {
        return Err(ClientError::InvalidArgument(
            "a batch to split does not hold its records".into(),
        ));
    }
    let first_len = count.div_ceil(2);
    let mut halves = [
        RecordBatchBuilder::new(compression),
        RecordBatchBuilder::new(compression),
    ];
    let mut first_payload = 0u64;
    for (index, record) in records.iter().enumerate() {
        if index < first_len {
            let payload = record.key.as_ref().map_or(0, |k| k.len())
                + record.value.as_ref().map_or(0, |v| v.len());
            first_payload += payload as u64;
        }
        let headers: Vec<(&[u8], Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|h| (&h.key[..], h.value.as_deref()))
            .collect();
        halves[usize::from(index >= first_len)].append(
            record.timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            &headers,
        )?;
    }
    Ok((halves, first_payload))
}

/// Splits a batch in two with `builders` (from [`split_records`]); the
/// pieces keep the batch's place in the send order and its sequences.
fn split(mut batch: Batch, builders: [RecordBatchBuilder; 2], first_payload: u64) -> [Batch; 2] {
    let [first_builder, second_builder] = builders;
    let first_len = first_builder.record_count();
    let second_records = batch
        .records
        .split_off(usize::try_from(first_len).unwrap_or(0));
    let (major, minor) = batch.order.unwrap_or((0, 0));
    let second_stamp = batch.stamp.map(|stamp| Stamp {
        base_sequence: add_sequence(stamp.base_sequence, first_len),
        ..stamp
    });
    let first = Batch {
        builder: first_builder,
        records: batch.records,
        created: batch.created,
        attempts: batch.attempts,
        stamp: batch.stamp,
        order: Some((major, minor.saturating_mul(2))),
        payload_bytes: first_payload,
    };
    let second = Batch {
        builder: second_builder,
        records: second_records,
        created: batch.created,
        attempts: batch.attempts,
        stamp: second_stamp,
        order: Some((major, minor.saturating_mul(2).saturating_add(1))),
        payload_bytes: batch.payload_bytes.saturating_sub(first_payload),
    };
    [first, second]
}

pub(crate) fn spawn_refresh(shared: &Shared, topic: String) {
    let cluster = shared.cluster.clone();
    tokio::spawn(async move {
        let _ = cluster.refresh_metadata(&[topic]).await;
    });
}
