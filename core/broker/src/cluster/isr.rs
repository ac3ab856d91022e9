//! ISR upkeep on the partitions this broker leads (Kafka's
//! `maybeShrinkIsr` / `maybeExpandIsr`): a follower that has not caught up
//! within `replica.lag.time.max.ms` leaves the ISR, one whose log reaches
//! the high watermark joins it again. The controller commits each change
//! (AlterPartition); the partition takes it when the record is applied.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::requests::ControllerRequest;
use super::ClusterNode;
use crate::clock::now_ms;
use crate::state::Broker;

pub async fn maintain(broker: Weak<Broker>, node: Arc<ClusterNode>) {
    loop {
        let Some(b) = broker.upgrade() else {
            return;
        };
        let max_lag = b.config.settings().replica_lag_time_max_ms;
        // Kafka checks at half the lag time; joins are checked at least
        // every 250 ms so a returning follower is back in sync quickly.
        let period = Duration::from_millis((max_lag / 2).clamp(50, 250) as u64);
        let now = now_ms();
        let wanted: Vec<_> = b
            .partitions
            .all()
            .into_iter()
            .filter_map(|p| {
                let (leadership, isr) = p.wanted_isr(now)?;
                let topic_id = b.topic(&p.topic)?.id;
                Some((p, leadership, isr, topic_id))
            })
            .collect();
        drop(b);
        for (partition, leadership, isr, topic_id) in wanted {
            tracing::info!(
                topic = %partition.topic,
                partition = partition.index,
                from = ?leadership.isr,
                to = ?isr,
                "changing the ISR"
            );
            let request = ControllerRequest::AlterIsr {
                topic_id: topic_id.0,
                index: partition.index,
                leader: leadership.leader,
                leader_epoch: leadership.leader_epoch,
                isr,
            };
            if let Err(e) = node.ask(request).await {
                tracing::warn!(topic = %partition.topic, partition = partition.index, "ISR change refused: {}", e.message);
            }
        }
        tokio::time::sleep(period).await;
    }
}
