//! `NativeConsumer`: `node/lib/consumer.js` runs kafkajs's consumer (its
//! `run` loop, events and commits) on it.

use napi::bindgen_prelude::{Buffer, Object};
use napi::Env;
use std::sync::{Arc, Mutex};

use napi_derive::napi;
use strom_client::{Consumer, OffsetReset, RebalanceContext, RebalanceEvent, TopicPartition};

use crate::convert::{config, partitions, Partition, PartitionOffset, StatsFn, TokenCallback};
use crate::{client_work, lock, millis, on_client, packed, promise};

#[napi]
pub struct NativeConsumer {
    inner: Consumer,
    /// Rebalance steps the core took inside polls, for the next poll's
    /// answer to carry to JS (kafkajs's REBALANCING event).
    rebalances: Arc<Mutex<Vec<Rebalance>>>,
}

/// A step of a rebalance: partitions assigned, revoked or lost.
#[napi(object)]
pub struct Rebalance {
    /// `assigned`, `revoked` or `lost`.
    pub event: String,
    pub partitions: Vec<Partition>,
}

/// A consumer with `config` (`[name, value]` pairs by librdkafka's or
/// Java's names; `group.id` for a group member).
#[napi]
pub async fn create_consumer(
    config_pairs: Vec<Vec<String>>,
    token_callback: Option<TokenCallback>,
    stats_callback: Option<StatsFn>,
) -> napi::Result<NativeConsumer> {
    let config = config(config_pairs, token_callback, stats_callback)?;
    let rebalances = Arc::new(Mutex::new(Vec::new()));
    let noted = rebalances.clone();
    let inner = on_client(async move {
        let consumer = Consumer::new(config).await?;
        consumer
            .on_rebalance(
                move |event, _: &mut RebalanceContext<'_>, partitions: &[TopicPartition]| {
                    let event = match event {
                        RebalanceEvent::Assigned => "assigned",
                        RebalanceEvent::Revoked => "revoked",
                        RebalanceEvent::Lost => "lost",
                    };
                    let partitions = partitions.iter().cloned().map(Partition::from).collect();
                    lock(&noted).push(Rebalance {
                        event: event.to_string(),
                        partitions,
                    });
                },
            )
            .await;
        Ok(consumer)
    })
    .await?;
    Ok(NativeConsumer { inner, rebalances })
}

#[napi]
impl NativeConsumer {
    /// Subscribes to topic names and regular expressions (written `^...`,
    /// librdkafka's way), replacing the subscription.
    #[napi]
    pub async fn subscribe(&self, topics: Vec<String>) -> napi::Result<()> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let subscribing = self.inner.subscribe_names_or_patterns(&names);
        on_client(subscribing).await
    }

    /// auto.offset.reset (`earliest`, `latest` or `none`) for the topics
    /// `entries` name or match (`^` regular expressions), over the
    /// consumer's own; later calls win where entries overlap.
    #[napi]
    pub async fn set_offset_reset(&self, entries: Vec<String>, reset: String) -> napi::Result<()> {
        let reset = match reset.as_str() {
            "earliest" => OffsetReset::Earliest,
            "latest" => OffsetReset::Latest,
            "none" => OffsetReset::None,
            other => {
                return Err(crate::errors::invalid(format!(
                    "unknown offset reset `{other}`"
                )))
            }
        };
        let entries: Vec<&str> = entries.iter().map(String::as_str).collect();
        on_client(self.inner.set_offset_reset(&entries, reset)).await
    }

    /// Up to `max_records` records, waiting at most `timeout_ms` for the
    /// first, packed into one Buffer (the incoming layout of `packed.rs`);
    /// joins or rejoins the group as needed.
    #[napi(ts_return_type = "Promise<Polled>")]
    pub fn poll_packed<'env>(
        &self,
        env: &'env Env,
        max_records: u32,
        timeout_ms: f64,
    ) -> napi::Result<Object<'env>> {
        let polling = self
            .inner
            .poll_max(millis(timeout_ms), max_records.max(1) as usize);
        let (member, generation, leader) = (
            self.inner.member_id(),
            self.inner.generation_id(),
            self.inner.group_leader_id(),
        );
        let consumer = self.inner.clone();
        let rebalances = self.rebalances.clone();
        promise(env, async move {
            let records = client_work(polling).await?;
            let rebalances = std::mem::take(&mut *lock(&rebalances));
            let partitions = packed::partitions_of(&records);
            let watermarks = consumer.fetched_watermarks(&partitions).await;
            let (topics, packed) = packed::pack(&records);
            Ok(Polled {
                count: records.len() as u32,
                topics,
                records: packed.into(),
                high_watermarks: partitions
                    .into_iter()
                    .zip(watermarks)
                    .filter_map(|(tp, watermark)| {
                        Some(PartitionOffset {
                            topic: tp.topic.to_string(),
                            partition: tp.partition,
                            offset: watermark?.1,
                        })
                    })
                    .collect(),
                rebalances,
                member_id: member.await,
                generation_id: generation.await,
                leader_id: leader.await,
            })
        })
    }

    /// Commits `offsets` (the offsets of the next records to read), or the
    /// positions of everything polled so far.
    #[napi]
    pub async fn commit(&self, offsets: Option<Vec<PartitionOffset>>) -> napi::Result<()> {
        match offsets {
            None => on_client(self.inner.commit_sync()).await.map(drop),
            Some(offsets) => {
                let offsets: Vec<_> = offsets.iter().map(|o| (o.tp(), o.offset)).collect();
                on_client(self.inner.commit_offsets(&offsets)).await
            }
        }
    }

    /// Queues the commit of `offsets` and goes on (polls meanwhile are not
    /// held up; commits land in the order made); resolves with the
    /// coordinator's answer.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit_async<'env>(
        &self,
        env: &'env Env,
        offsets: Vec<PartitionOffset>,
    ) -> napi::Result<Object<'env>> {
        let offsets: Vec<_> = offsets.iter().map(|o| (o.tp(), o.offset)).collect();
        let queuing = self.inner.commit_offsets_async(&offsets);
        promise(env, async move { client_work(queuing.await).await })
    }

    /// The group's committed offsets of `partitions` (-1: none).
    #[napi]
    pub async fn committed(&self, of: Vec<Partition>) -> napi::Result<Vec<PartitionOffset>> {
        let lookups: Vec<_> = partitions(&of)
            .into_iter()
            .map(|tp| (tp.clone(), self.inner.committed(tp)))
            .collect();
        let found = on_client(async move {
            let mut found = Vec::with_capacity(lookups.len());
            for (tp, lookup) in lookups {
                found.push((tp, lookup.await?));
            }
            Ok(found)
        })
        .await?;
        Ok(found
            .into_iter()
            .map(|(tp, offset)| PartitionOffset {
                topic: tp.topic.to_string(),
                partition: tp.partition,
                offset: offset.unwrap_or(-1),
            })
            .collect())
    }

    /// Moves the next fetch of a partition to `offset`.
    #[napi]
    pub async fn seek(&self, topic: String, partition: i32, offset: i64) -> napi::Result<()> {
        let tp = strom_client::TopicPartition::new(topic, partition);
        on_client(self.inner.seek(tp, offset)).await
    }

    #[napi]
    pub async fn pause(&self, of: Vec<Partition>) -> napi::Result<()> {
        let pausing = self.inner.pause(&partitions(&of));
        on_client(async move {
            pausing.await;
            Ok(())
        })
        .await
    }

    #[napi]
    pub async fn resume(&self, of: Vec<Partition>) -> napi::Result<()> {
        let resuming = self.inner.resume(&partitions(&of));
        on_client(async move {
            resuming.await;
            Ok(())
        })
        .await
    }

    #[napi]
    pub async fn paused(&self) -> napi::Result<Vec<Partition>> {
        let paused = self.inner.paused();
        let found = on_client(async move { Ok(paused.await) }).await?;
        Ok(found.into_iter().map(Partition::from).collect())
    }

    #[napi]
    pub async fn assignment(&self) -> napi::Result<Vec<Partition>> {
        let assignment = self.inner.assignment();
        let found = on_client(async move { Ok(assignment.await) }).await?;
        Ok(found.into_iter().map(Partition::from).collect())
    }

    /// Commits (with auto commit on), leaves the group and closes.
    #[napi]
    pub async fn close(&self, timeout_ms: f64) -> napi::Result<()> {
        on_client(self.inner.close(millis(timeout_ms))).await
    }
}

/// Records from one poll, packed.
#[napi(object)]
pub struct Polled {
    pub count: u32,
    /// The topics the records name by index.
    pub topics: Vec<String>,
    pub records: Buffer,
    /// The high watermark of the polled partitions, as their last fetch told.
    pub high_watermarks: Vec<PartitionOffset>,
    /// Rebalance steps since the last poll, in order.
    pub rebalances: Vec<Rebalance>,
    /// The member id and generation after the poll, once joined.
    pub member_id: Option<String>,
    pub generation_id: Option<i32>,
    /// The generation's leader (the member that assigned the partitions).
    pub leader_id: Option<String>,
}
