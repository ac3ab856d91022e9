//! The producer's statistics object (see [`crate::statistics`]), built
//! every statistics.interval.ms by a timer task that holds the producer
//! only weakly and ends once the producer is closed or gone.

use std::sync::{Arc, Weak};

use serde_json::{json, Value};

use super::Shared;
use crate::callbacks::CallbackQueue;
use crate::statistics::{self, ClientTotals, Emitter, Instance, PartitionRow};

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
    let config = cluster.config();
    let totals = ClientTotals {
        msg_cnt: shared.outstanding.count(),
        msg_size: shared.memory.used(),
        msg_max: config.buffer_max_records,
        msg_size_max: shared.memory.limit(),
        txmsgs: rows.iter().map(|row| row.txmsgs).sum(),
        txmsg_bytes: rows.iter().map(|row| row.txbytes).sum(),
        rxmsgs: 0,
        rxmsg_bytes: 0,
    };
    let replyq = shared.callbacks.as_ref().map_or(0, CallbackQueue::len);
    let mut object = statistics::document(instance, replyq, cluster, totals, &rows, false);
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
