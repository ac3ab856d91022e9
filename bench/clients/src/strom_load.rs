//! The loads through the Strom client (`strom-client`).
//!
//! The producer hands each record to `Producer::send_wait_with_callback`
//! (it waits for room in buffer.memory, as the Java client's send()
//! blocks); the callback runs on the client's sender task and notes the
//! record's latency, as librdkafka's delivery reports do on its polling
//! thread in `rdkafka_load.rs`. A semaphore also bounds the records in
//! flight (`ProduceSpec::max_outstanding`, librdkafka's queue limit);
//! waiting for a permit or for buffer room counts in the record's latency.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use strom_client::{ClientConfig, Consumer, Producer, ProducerRecord, TopicPartition};
use tokio::sync::Semaphore;

use crate::error::{BenchError, Result};
use crate::pacer::Pacer;
use crate::report::{ConsumeTally, Failures, Latencies, Produced};
use crate::settings::{payload, ConsumeSpec, ProduceSpec, FLUSH_TIMEOUT};

const POLL_TIMEOUT: Duration = Duration::from_millis(500);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the delivery callbacks have seen.
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
        "buffer.memory": config.buffer_memory,
        "max_outstanding_records": spec.max_outstanding,
    });
    let producer = Producer::new(config).await?;
    let value = Bytes::from(payload(spec.record_size));
    let window = Arc::new(Semaphore::new(spec.max_outstanding.max(1)));
    let collected = Arc::new(Mutex::new(Collected::default()));

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
        let collected = collected.clone();
        let report = move |outcome: strom_client::DeliveryResult| {
            let latency = sent_at.elapsed();
            drop(permit);
            if let Ok(mut collected) = collected.lock() {
                match outcome {
                    Ok(_) => {
                        collected.delivered += 1;
                        collected.latencies.record(latency);
                    }
                    Err(error) => collected.failures.add(format!("{error}")),
                }
            }
        };
        let record = ProducerRecord::new(spec.topic.as_str(), value.clone());
        producer.send_wait_with_callback(record, report).await;
    }
    let flushed = producer.flush(FLUSH_TIMEOUT).await;
    let elapsed = started.elapsed();
    let closed = producer.close(CLOSE_TIMEOUT).await;
    let mut collected = std::mem::take(
        &mut *collected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if let Err(error) = flushed {
        collected.failures.add(format!("flush: {error}"));
    }
    if let Err(error) = closed {
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
    let consumer = Consumer::new(config).await?;
    let partitions: Vec<TopicPartition> = (0..spec.partitions)
        .map(|partition| TopicPartition::new(spec.topic.as_str(), partition))
        .collect();
    let mut tally = ConsumeTally::new(Instant::now());
    consumer.assign(&partitions).await;
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
