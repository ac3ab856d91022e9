//! The loads through the Strom client (`strom-client`).
//!
//! The producer hands each record to `Producer::send` and passes the
//! returned `DeliveryFuture` to a collector task, which awaits them all
//! (in whatever order they complete) and notes each one's latency when it
//! resolves. A semaphore bounds the records in flight (see
//! `ProduceSpec::max_outstanding`); waiting for a permit counts in the
//! record's latency, as a blocked send() does in the Java client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};
use strom_client::{ClientConfig, Consumer, DeliveryFuture, Producer, ProducerRecord};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::error::{BenchError, Result};
use crate::pacer::Pacer;
use crate::report::{ConsumeTally, Failures, Latencies, Produced};
use crate::settings::{payload, ConsumeSpec, ProduceSpec, FLUSH_TIMEOUT};

const POLL_TIMEOUT: Duration = Duration::from_millis(500);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A record handed to the producer, not yet acknowledged.
struct InFlight {
    sent_at: Instant,
    delivery: DeliveryFuture,
    _permit: OwnedSemaphorePermit,
}

#[derive(Default)]
struct Collected {
    delivered: u64,
    latencies: Latencies,
    failures: Failures,
}

pub async fn produce(spec: &ProduceSpec) -> Result<Value> {
    let config = ClientConfig::from_pairs(spec.producer_settings())?;
    let client = json!({
        "name": "strom",
        "enable.idempotence": config.enable_idempotence,
        "max.in.flight.requests.per.connection": config.max_in_flight_per_connection,
        "max_outstanding_records": spec.max_outstanding,
    });
    let producer = Producer::new(config).await?;
    let value = Bytes::from(payload(spec.record_size));
    let window = Arc::new(Semaphore::new(spec.max_outstanding.max(1)));
    let (in_flight, receiver) = mpsc::unbounded_channel();
    let collector = tokio::spawn(collect(receiver));

    let pacer = Pacer::new(spec.rate);
    let started = Instant::now();
    for index in 0..spec.records {
        if let Some(due) = pacer.due_at(index) {
            tokio::time::sleep_until(due.into()).await;
        }
        let sent_at = Instant::now();
        let permit = window
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| BenchError::WindowClosed)?;
        let delivery = producer.send(ProducerRecord::new(spec.topic.as_str(), value.clone()));
        let record = InFlight {
            sent_at,
            delivery,
            _permit: permit,
        };
        if in_flight.send(record).is_err() {
            break; // the collector ended early; its JoinError says why
        }
    }
    drop(in_flight);
    let flushed = producer.flush(FLUSH_TIMEOUT).await;
    let elapsed = started.elapsed();
    let mut collected = collector.await?;
    if let Err(error) = flushed {
        collected.failures.add(format!("flush: {error}"));
    }
    if let Err(error) = producer.close(CLOSE_TIMEOUT).await {
        collected.failures.add(format!("close: {error}"));
    }
    let produced = Produced {
        delivered: collected.delivered,
        record_size: spec.record_size,
        elapsed,
        latencies: collected.latencies,
        failures: collected.failures,
    };
    Ok(produced.into_json(client))
}

/// Awaits every delivery as it completes, until the sender is done and
/// nothing is pending.
async fn collect(mut receiver: mpsc::UnboundedReceiver<InFlight>) -> Collected {
    let mut pending = FuturesUnordered::new();
    let mut collected = Collected::default();
    let mut sending = true;
    loop {
        tokio::select! {
            Some((latency, outcome)) = pending.next(), if !pending.is_empty() => match outcome {
                Ok(_) => {
                    collected.delivered += 1;
                    collected.latencies.record(latency);
                }
                Err(error) => collected.failures.add(format!("{error}")),
            },
            next = receiver.recv(), if sending => match next {
                Some(record) => pending.push(resolve(record)),
                None => sending = false,
            },
            else => break,
        }
    }
    collected
}

async fn resolve(
    record: InFlight,
) -> (Duration, strom_client::Result<strom_client::RecordMetadata>) {
    let outcome = record.delivery.await;
    (record.sent_at.elapsed(), outcome)
}

pub async fn consume(spec: &ConsumeSpec) -> Result<Value> {
    let config = ClientConfig::from_pairs([
        ("bootstrap.servers", spec.bootstrap.as_str()),
        ("auto.offset.reset", "earliest"),
    ])?;
    let client = json!({
        "name": "strom",
        "max.poll.records": config.max_poll_records,
        "fetch.max.wait.ms": config.fetch_max_wait.as_millis() as u64,
        "max.partition.fetch.bytes": config.max_partition_fetch_bytes,
    });
    let mut consumer = Consumer::new(config).await?;
    let partitions: Vec<(&str, i32)> = (0..spec.partitions)
        .map(|partition| (spec.topic.as_str(), partition))
        .collect();
    let mut tally = ConsumeTally::new(Instant::now());
    consumer.assign(&partitions);
    while tally.records < spec.records && tally.idle_for() < spec.idle_timeout {
        match consumer.poll(POLL_TIMEOUT).await {
            Ok(records) => {
                let now = Instant::now();
                for record in &records {
                    tally.add(now, record.value.as_ref().map_or(0, Bytes::len));
                }
            }
            Err(error) => {
                tally.failures.add(format!("poll: {error}"));
                if tally.failures.count > 100 {
                    break;
                }
            }
        }
    }
    if let Err(error) = consumer.close(CLOSE_TIMEOUT).await {
        tally.failures.add(format!("close: {error}"));
    }
    Ok(tally.into_json(client))
}
