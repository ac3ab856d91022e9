//! The consumer's statistics object (see [`crate::statistics`]). The
//! handle's timer task (`handle.rs`) takes its turn on the state once per
//! statistics.interval.ms, like any other call (a waiting poll steps
//! aside), and builds the object here from what the state keeps.

use serde_json::{json, Value};

use super::ConsumerState;
use crate::callbacks::CallbackQueue;
use crate::config::IsolationLevel;
use crate::statistics::{self, count, ClientTotals, Instance, PartitionRow, OFFSET_INVALID};

impl ConsumerState {
    /// The statistics now; `None` once the consumer is closed.
    pub(crate) fn statistics(&self, instance: &Instance) -> Option<String> {
        if self.closed {
            return None;
        }
        let cluster = &self.cluster;
        let config = cluster.config();
        let committed = self
            .group
            .as_ref()
            .map(|group| group.shared.with_state(|s| s.committed.clone()))
            .unwrap_or_default();
        let consumed = self.fetcher.consumed();
        let mut rows = Vec::with_capacity(self.positions.len());
        for (tp, position) in &self.positions {
            let leader = cluster.cached_leader(&tp.topic, tp.partition);
            let mut row = PartitionRow::new(tp.topic.clone(), tp.partition, leader);
            let position = position.unwrap_or(OFFSET_INVALID);
            row.fetch_state = if position < 0 {
                "offset-query"
            } else if self.paused.contains(tp) {
                "stopped"
            } else {
                "active"
            };
            // This consumer fetches each partition from its position.
            row.next_offset = position;
            row.app_offset = position;
            row.stored_offset = if config.enable_auto_offset_store {
                position
            } else {
                self.stored_offsets
                    .get(tp)
                    .copied()
                    .unwrap_or(OFFSET_INVALID)
            };
            row.committed_offset = committed.get(tp).copied().unwrap_or(OFFSET_INVALID);
            row.eof_offset = self.fetcher.eof_offset(tp).unwrap_or(OFFSET_INVALID);
            if let Some((low, high)) = self.fetcher.watermarks(tp) {
                row.lo_offset = if low < 0 { OFFSET_INVALID } else { low };
                row.hi_offset = high;
            }
            row.ls_offset = self
                .fetcher
                .last_stable_offset(tp)
                .filter(|offset| *offset >= 0)
                .unwrap_or(OFFSET_INVALID);
            if let Some((records, bytes)) = consumed.per_partition.get(tp) {
                row.rxmsgs = *records;
                row.rxbytes = *bytes;
                row.msgs = *records;
            }
            rows.push(row);
        }
        let read_committed = config.isolation_level == IsolationLevel::ReadCommitted;
        let totals = ClientTotals {
            msg_cnt: 0,
            msg_size: 0,
            msg_max: config.buffer_max_records,
            msg_size_max: config.buffer_memory,
            txmsgs: 0,
            txmsg_bytes: 0,
            rxmsgs: consumed.records,
            rxmsg_bytes: consumed.bytes,
        };
        let replyq = self.callback_queue.as_ref().map_or(0, CallbackQueue::len);
        let mut object =
            statistics::document(instance, replyq, cluster, totals, &rows, read_committed);
        if let Some(group) = &self.group {
            let join_state = group.shared.with_state(|s| {
                if s.fatal.is_some() {
                    "term"
                } else if s.joining {
                    "wait-join"
                } else if s.generation_id >= 0 && !s.rejoin_needed {
                    "steady"
                } else {
                    "init"
                }
            });
            let rebalance_age = self.last_rebalance.map_or(0, |at| at.elapsed().as_millis());
            let cgrp = json!({
                "state": group.shared.coordinator_state(),
                "join_state": join_state,
                "rebalance_age": u64::try_from(rebalance_age).unwrap_or(u64::MAX),
                "rebalance_cnt": self.rebalances,
                "assignment_size": count(self.positions.len()),
            });
            object.insert("cgrp".to_string(), cgrp);
        }
        Some(Value::Object(object).to_string())
    }
}
