//! The producer's statistics object (see [`crate::statistics`]), built
//! every statistics.interval.ms by a timer task that holds the producer
//! only weakly and ends once the producer is closed or gone.

use std::sync::{Arc, Weak};

use serde_json::{json, Value};

use super::Shared;
use crate::callbacks::CallbackQueue;
use crate::statistics::{self, count, Emitter, Instance, PartitionRow};

/// Starts the statistics timer of a new producer, if its config asks for
/// statistics (an interval and a callback).
pub(crate) fn start(shared: &Arc<Shared>, callbacks: Option<CallbackQueue>) {
    let config = shared.cluster.config();
    // Numbered whether or not it reports, as librdkafka numbers handles.
    let instance = Instance::new(&config.client_id, "producer");
    let interval = config.statistics_interval;
    let Some(emitter) = Emitter::new(interval, config.stats_callback.as_ref(), callbacks) else {
        return;
    };
    let producer = Arc::downgrade(shared);
    tokio::spawn(async move {
        let mut ticks = statistics::ticks(interval);
        loop {
            ticks.tick().await;
            let Some(json) = snapshot(&producer, &instance) else {
                return;
            };
            emitter.emit(json);
        }
    });
}

/// The statistics now; `None` once the producer is closed or gone.
fn snapshot(producer: &Weak<Shared>, instance: &Instance) -> Option<String> {
    let shared = producer.upgrade()?;
    let cluster = &shared.cluster;
    let mut rows = Vec::new();
    let identity;
    {
        let accumulator = shared.accumulator.lock().ok()?;
        if accumulator.closed {
            return None;
        }
        identity = accumulator.identity;
        for (tp, queue) in &accumulator.partitions {
            let mut row = PartitionRow::new(
                tp.topic.clone(),
                tp.partition,
                cluster.cached_leader(&tp.topic, tp.partition),
            );
            row.msgq_cnt = queue.batches.iter().map(|b| b.records.len()).sum();
            row.msgq_bytes = queue.batches.iter().map(|b| b.payload_bytes).sum();
            row.msgs = queue.msgs;
            row.txmsgs = queue.txmsgs;
            row.txbytes = queue.txbytes;
            rows.push(row);
        }
        // Records of topics whose partitions are not known yet wait in
        // librdkafka's "unassigned" partition, -1.
        for (topic, waiting) in &accumulator.waiting {
            let mut row = PartitionRow::new(topic.as_str().into(), -1, -1);
            row.msgq_cnt = waiting.len();
            row.msgq_bytes = waiting
                .iter()
                .map(|(record, _, _)| {
                    let key = record.key.as_ref().map_or(0, |k| k.len());
                    (key + record.value.as_ref().map_or(0, |v| v.len())) as u64
                })
                .sum();
            row.msgs = waiting.len() as u64;
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    let txmsgs: u64 = rows.iter().map(|row| row.txmsgs).sum();
    let txmsg_bytes: u64 = rows.iter().map(|row| row.txbytes).sum();
    let config = cluster.config();
    let (topics, toppars) = statistics::topics_json(&rows, false);
    let (brokers, [tx, tx_bytes, rx, rx_bytes]) =
        statistics::brokers_json(&cluster.brokers_for_stats(), &toppars);
    let replyq = shared.callbacks.as_ref().map_or(0, CallbackQueue::len);
    let mut object = instance.header(replyq);
    let fields = [
        ("msg_cnt", json!(count(shared.outstanding.count()))),
        ("msg_size", json!(count(shared.memory.used()))),
        ("msg_max", json!(count(config.buffer_max_records))),
        ("msg_size_max", json!(count(shared.memory.limit()))),
        ("tx", json!(tx)),
        ("tx_bytes", json!(tx_bytes)),
        ("rx", json!(rx)),
        ("rx_bytes", json!(rx_bytes)),
        ("txmsgs", json!(txmsgs)),
        ("txmsg_bytes", json!(txmsg_bytes)),
        ("rxmsgs", json!(0)),
        ("rxmsg_bytes", json!(0)),
        (
            "metadata_cache_cnt",
            json!(count(cluster.cached_topic_count())),
        ),
        ("brokers", brokers),
        ("topics", topics),
    ];
    for (key, value) in fields {
        object.insert(key.to_string(), value);
    }
    if config.enable_idempotence {
        let (producer_id, epoch) = identity.unwrap_or((-1, -1));
        let state = if identity.is_some() {
            "Assigned"
        } else {
            "RequestPID"
        };
        let eos = json!({
            "idemp_state": state,
            "producer_id": producer_id,
            "producer_epoch": epoch,
        });
        object.insert("eos".to_string(), eos);
    }
    Some(Value::Object(object).to_string())
}
