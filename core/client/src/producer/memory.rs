//! buffer.memory: the bytes of records accepted but not yet resolved, and
//! the record-size checks made before a record is accepted.
//!
//! Every accepted record reserves an upper bound of its serialized size and
//! gives it back when its delivery future resolves (delivered or failed),
//! as the Java client frees a batch's buffer only once the batch is done.
//! The reservation is a tokio semaphore: fair (waiters get room in the
//! order they asked) and cancellation-safe (a dropped wait holds nothing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use strom_protocol::records::BATCH_HEADER_LEN;
use tokio::sync::{Notify, Semaphore};

use super::record::SendRecord;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};

/// The producer's record buffer.
pub(crate) struct BufferMemory {
    limit: usize,
    max_block: Duration,
    available: Semaphore,
}

impl BufferMemory {
    pub fn new(limit: usize, max_block: Duration) -> BufferMemory {
        let limit = limit.min(Semaphore::MAX_PERMITS);
        BufferMemory {
            limit,
            max_block,
            available: Semaphore::new(limit),
        }
    }

    /// Takes `bytes` now, or fails with the buffer-full error.
    pub fn try_reserve(&self, bytes: usize) -> Result<()> {
        let permits = self.permits(bytes)?;
        match self.available.try_acquire_many(permits) {
            Ok(permit) => {
                permit.forget();
                Ok(())
            }
            Err(_) => Err(ClientError::BufferFull {
                limit: self.limit,
                setting: "buffer.memory",
                unit: "bytes",
            }),
        }
    }

    /// Waits up to max.block.ms for `bytes` of room.
    pub async fn reserve(&self, bytes: usize) -> Result<()> {
        let permits = self.permits(bytes)?;
        let waited =
            tokio::time::timeout(self.max_block, self.available.acquire_many(permits)).await;
        match waited {
            Ok(Ok(permit)) => {
                permit.forget();
                Ok(())
            }
            // The semaphore is never closed while the producer exists.
            Ok(Err(_)) => Err(ClientError::Closed { what: "producer" }),
            Err(_) => Err(ClientError::Timeout {
                what: format!(
                    "waiting for room in the producer's buffer (buffer.memory = {} bytes) \
                     while earlier records are not yet acknowledged",
                    self.limit
                ),
                after: self.max_block,
                setting: "max.block.ms (or buffer.memory)",
            }),
        }
    }

    /// The bytes taken now (the statistics' `msg_size`).
    pub fn used(&self) -> usize {
        self.limit
            .saturating_sub(self.available.available_permits())
    }

    /// buffer.memory (the statistics' `msg_size_max`).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Gives back the room of a resolved record.
    pub fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.available.add_permits(bytes);
        }
    }

    fn permits(&self, bytes: usize) -> Result<u32> {
        match u32::try_from(bytes) {
            Ok(permits) if bytes <= self.limit => Ok(permits),
            _ => Err(too_large(bytes, "buffer.memory", self.limit)),
        }
    }
}

/// The count of records accepted but not yet resolved, which `flush`
/// waits to see at zero. An atomic counter: the send path pays one atomic
/// add, and only the last record to resolve wakes the flushers.
#[derive(Default)]
pub(crate) struct Outstanding {
    count: AtomicUsize,
    drained: Notify,
}

impl Outstanding {
    pub fn accepted(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    /// How many records are accepted and not yet resolved.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    pub fn settled(&self, records: usize) {
        if records == 0 {
            return;
        }
        let before = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(records))
            })
            .unwrap_or_default();
        if before <= records {
            self.drained.notify_waiters();
        }
    }

    /// Returns once no record is outstanding.
    pub async fn none_left(&self) {
        loop {
            // Registered before the check, so a wake between the check and
            // the wait is not missed.
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            drained.await;
        }
    }
}

/// An upper bound of the bytes `record` takes inside a record batch
/// (Java's `estimateSizeInBytesUpperBound`): every varint at its widest.
pub(crate) fn record_size_upper_bound(record: &impl SendRecord) -> usize {
    const VARINT: usize = 5;
    const VARLONG: usize = 10;
    let headers: usize = record
        .headers()
        .map(|(key, value)| 2 * VARINT + key.len() + value.map_or(0, <[u8]>::len))
        .sum();
    let body = 1 // attributes
        + VARLONG // timestamp delta
        + VARINT // offset delta
        + VARINT + record.key().map_or(0, <[u8]>::len)
        + VARINT + record.value().map_or(0, <[u8]>::len)
        + VARINT // header count
        + headers;
    VARINT + body
}

/// Checks that `record` can ever be sent, returning the bytes it reserves.
pub(crate) fn check_record_size(
    record: &impl SendRecord,
    max_request_size: usize,
) -> Result<usize> {
    let size = record_size_upper_bound(record);
    let in_own_batch = BATCH_HEADER_LEN + size;
    if in_own_batch > max_request_size {
        return Err(too_large(
            in_own_batch,
            "max.request.size",
            max_request_size,
        ));
    }
    Ok(size)
}

/// Checks that one more record fits under queue.buffering.max.messages.
/// (Checked, then counted when queued: concurrent senders may pass it by
/// a record or two each, which a soft limit allows.)
pub(crate) fn check_record_count(outstanding: &Outstanding, config: &ClientConfig) -> Result<()> {
    if outstanding.count() >= config.buffer_max_records {
        return Err(ClientError::BufferFull {
            limit: config.buffer_max_records,
            setting: "queue.buffering.max.messages",
            unit: "records",
        });
    }
    Ok(())
}

/// The error of a record that is bigger than a limit of this producer.
pub(crate) fn too_large(size: usize, setting: &'static str, limit: usize) -> ClientError {
    ClientError::RecordTooLarge {
        size,
        limit,
        setting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProducerRecord;

    #[test]
    fn an_oversized_record_names_the_setting() {
        let record = ProducerRecord::new("t", vec![0u8; 2000]);
        let error = check_record_size(&record, 1000).unwrap_err();
        assert_eq!(error.kafka_name(), Some("MESSAGE_TOO_LARGE"));
        assert!(error.to_string().contains("max.request.size (1000 bytes)"));
        assert!(check_record_size(&record, 4000).is_ok());
    }

    #[tokio::test]
    async fn flush_waits_for_the_last_outstanding_record() {
        let outstanding = std::sync::Arc::new(Outstanding::default());
        outstanding.none_left().await; // nothing outstanding: at once
        outstanding.accepted();
        outstanding.accepted();
        let waiter = tokio::spawn({
            let outstanding = outstanding.clone();
            async move { outstanding.none_left().await }
        });
        outstanding.settled(1);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "one record is still outstanding");
        outstanding.settled(1);
        waiter.await.unwrap();
    }

    #[tokio::test]
    async fn a_full_buffer_fails_fast_and_frees_room_on_release() {
        let memory = BufferMemory::new(100, Duration::from_millis(10));
        memory.try_reserve(80).unwrap();
        let full = memory.try_reserve(30).unwrap_err();
        assert!(
            full.to_string().contains("buffer.memory = 100 bytes"),
            "{full}"
        );
        let waited = memory.reserve(30).await.unwrap_err();
        assert!(waited.to_string().contains("max.block.ms"), "{waited}");
        memory.release(80);
        memory.try_reserve(100).unwrap();
        assert!(memory.try_reserve(101).is_err());
    }
}
