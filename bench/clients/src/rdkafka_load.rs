//! The loads through librdkafka (the `rdkafka` crate, librdkafka built from
//! source into this binary).
//!
//! The producer is a `ThreadedProducer`: librdkafka's delivery reports run
//! on its polling thread, which notes each record's latency from the
//! instant carried in the message's opaque. When librdkafka's own queue is
//! full (queue.buffering.max.messages) the sender polls and retries; that
//! wait counts in the record's latency, as a blocked send() does in Java.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::get_rdkafka_version;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::error::Result;
use crate::pacer::Pacer;
use crate::report::{ConsumeTally, Failures, Latencies, Produced};
use crate::settings::{payload, ConsumeSpec, ProduceSpec, FLUSH_TIMEOUT};

const QUEUE_FULL_POLL: Duration = Duration::from_millis(1);
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// librdkafka's version string, e.g. "2.10.0".
pub fn librdkafka_version() -> String {
    get_rdkafka_version().1
}

/// Receives the delivery reports; the opaque of each message is the
/// nanoseconds from `epoch` to when it was handed to the producer.
struct DeliveryTimer {
    epoch: Instant,
    delivered: AtomicU64,
    latencies: Mutex<Latencies>,
    failures: Mutex<Failures>,
}

impl DeliveryTimer {
    fn stamp(&self) -> usize {
        usize::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(usize::MAX)
    }
}

impl ClientContext for DeliveryTimer {}

impl ProducerContext for DeliveryTimer {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_ns: usize) {
        let sent = Duration::from_nanos(u64::try_from(sent_ns).unwrap_or(u64::MAX));
        let latency = self.epoch.elapsed().saturating_sub(sent);
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut latencies) = self.latencies.lock() {
                    latencies.record(latency);
                }
            }
            Err((error, _)) => {
                if let Ok(mut failures) = self.failures.lock() {
                    failures.add(error.to_string());
                }
            }
        }
    }
}

pub fn produce(spec: &ProduceSpec) -> Result<Value> {
    let mut config = ClientConfig::new();
    for (key, value) in spec.producer_settings() {
        config.set(key, value);
    }
    let timer = DeliveryTimer {
        epoch: Instant::now(),
        delivered: AtomicU64::new(0),
        latencies: Mutex::new(Latencies::default()),
        failures: Mutex::new(Failures::default()),
    };
    let producer: ThreadedProducer<DeliveryTimer> = config.create_with_context(timer)?;
    let client = json!({
        "name": "rdkafka",
        "librdkafka": librdkafka_version(),
        "enable.idempotence": false,
        "max.in.flight.requests.per.connection": 1_000_000,
        "queue.buffering.max.messages": 100_000,
    });
    let value = payload(spec.record_size);
    let mut send_failures = Failures::default();

    let pacer = Pacer::new(spec.rate);
    let started = Instant::now();
    for index in 0..spec.records {
        if let Some(due) = pacer.due_at(index) {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let sent_ns = producer.context().stamp();
        let mut record = BaseRecord::<(), [u8], usize>::with_opaque_to(&spec.topic, sent_ns)
            .payload(value.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    producer.poll(QUEUE_FULL_POLL);
                }
                Err((error, _)) => {
                    send_failures.add(format!("send: {error}"));
                    break;
                }
            }
        }
    }
    if let Err(error) = producer.flush(FLUSH_TIMEOUT) {
        send_failures.add(format!("flush: {error}"));
    }
    let elapsed = started.elapsed();

    let context = producer.context();
    let latencies = context
        .latencies
        .lock()
        .map(|mut latencies| std::mem::take(&mut *latencies))
        .unwrap_or_default();
    let mut failures = context
        .failures
        .lock()
        .map(|mut failures| std::mem::take(&mut *failures))
        .unwrap_or_default();
    failures.merge(send_failures);
    let produced = Produced {
        delivered: context.delivered.load(Ordering::Relaxed),
        record_size: spec.record_size,
        elapsed,
        latencies,
        failures,
    };
    Ok(produced.into_json(client))
}

pub fn consume(spec: &ConsumeSpec) -> Result<Value> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &spec.bootstrap)
        // Required by librdkafka; assign() never joins the group.
        .set("group.id", "client-perf-unused")
        .set("enable.auto.commit", "false")
        .create()?;
    let client = json!({
        "name": "rdkafka",
        "librdkafka": librdkafka_version(),
        "fetch.wait.max.ms": 500,
        "max.partition.fetch.bytes": 1_048_576,
        "queued.min.messages": 100_000,
    });
    let mut partitions = TopicPartitionList::new();
    for partition in 0..spec.partitions {
        partitions.add_partition_offset(&spec.topic, partition, Offset::Beginning)?;
    }
    let mut tally = ConsumeTally::new(Instant::now());
    consumer.assign(&partitions)?;
    while tally.records < spec.records && tally.idle_for() < spec.idle_timeout {
        match consumer.poll(POLL_TIMEOUT) {
            Some(Ok(message)) => {
                let value_len = message.payload().map_or(0, <[u8]>::len);
                tally.add(Instant::now(), value_len);
            }
            Some(Err(error)) => {
                tally.failures.add(format!("poll: {error}"));
                if tally.failures.count > 100 {
                    break;
                }
            }
            None => {}
        }
    }
    Ok(tally.into_json(client))
}
