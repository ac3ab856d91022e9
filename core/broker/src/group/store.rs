//! The write path to `__consumer_offsets`: one record batch per change,
//! appended while the group's lock is held (so records land in the order
//! the changes happened) and acknowledged only once durable and below the
//! high watermark, like an acks=all produce.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use strom_protocol::error_codes;
use strom_protocol::records::{CompressionType, RecordBatchBuilder};

use super::records::{encode_group_key, encode_group_value, GroupMetadataValue};
use super::GroupRef;
use crate::clock::now_ms;
use crate::config::BrokerSettings;
use crate::error::PartitionError;
use crate::partition::Partition;
use crate::state::Broker;

/// Kafka's internal topic for committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// What state-machine code needs besides the locked group: the broker
/// (settings, the offsets log) and the group's handle (for timers).
pub(crate) struct Env<'a> {
    pub broker: &'a Arc<Broker>,
    pub group: &'a GroupRef,
}

/// Records appended but not yet known to be durable.
pub(crate) struct Appended {
    partition: Arc<Partition>,
    /// Offset of the first record of the batch.
    pub base_offset: i64,
    end: i64,
}

/// Topic configs of `__consumer_offsets`, as Kafka creates it.
pub fn offsets_topic_configs(settings: &BrokerSettings) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("cleanup.policy".to_string(), "compact".to_string()),
        (
            "segment.bytes".to_string(),
            settings.offsets_topic_segment_bytes.to_string(),
        ),
        ("compression.type".to_string(), "producer".to_string()),
    ])
}

/// Creates `__consumer_offsets` if it does not exist; its partition count.
pub(crate) async fn ensure_offsets_topic(broker: &Arc<Broker>) -> Result<i32, i16> {
    if let Some(topic) = broker.topic(OFFSETS_TOPIC) {
        return Ok(topic.partition_count());
    }
    match broker.auto_create_topic(OFFSETS_TOPIC).await {
        Ok(_) => {}
        Err(e) => {
            tracing::error!("cannot create {OFFSETS_TOPIC}: {}", e.message);
            return Err(error_codes::COORDINATOR_NOT_AVAILABLE);
        }
    }
    broker
        .topic(OFFSETS_TOPIC)
        .map(|topic| topic.partition_count())
        .ok_or(error_codes::COORDINATOR_NOT_AVAILABLE)
}

/// Appends `records` (key, value; `None` is a tombstone) as one batch to
/// partition `partition` of `__consumer_offsets`.
pub(crate) fn append(
    broker: &Broker,
    partition: i32,
    records: &[(Bytes, Option<Bytes>)],
) -> Result<Appended, i16> {
    let partition = broker
        .partition(OFFSETS_TOPIC, partition)
        .map_err(|_| error_codes::NOT_COORDINATOR)?;
    let now = now_ms();
    let mut builder = RecordBatchBuilder::new(CompressionType::None);
    for (key, value) in records {
        builder
            .append(now, Some(key), value.as_deref(), &[])
            .map_err(|e| {
                tracing::error!("cannot build a {OFFSETS_TOPIC} record: {e}");
                error_codes::UNKNOWN_SERVER_ERROR
            })?;
    }
    let built = builder.build().map_err(|e| {
        tracing::error!("cannot build a {OFFSETS_TOPIC} batch: {e}");
        error_codes::UNKNOWN_SERVER_ERROR
    })?;
    let mut bytes = BytesMut::from(&built[..]);
    let outcome = partition
        .append_as_leader(&mut bytes, None, None)
        .map_err(|e| storage_failure(&partition, e))?;
    Ok(Appended {
        partition,
        base_offset: outcome.base_offset,
        end: outcome.last_offset + 1,
    })
}

/// A group's metadata record, or its tombstone when `value` is `None`.
pub(crate) fn append_group(
    broker: &Broker,
    partition: i32,
    group_id: &str,
    value: Option<&GroupMetadataValue>,
) -> Result<Appended, i16> {
    let record = (encode_group_key(group_id), value.map(encode_group_value));
    append(broker, partition, &[record])
}

/// Waits until the batch is durable (per the flush policy) and visible
/// below the high watermark.
pub(crate) async fn wait(appended: Appended) -> Result<(), i16> {
    let partition = appended.partition;
    partition
        .wait_committed(appended.end)
        .await
        .map_err(|e| storage_failure(&partition, e))
}

/// [`wait`] for writes nobody answers on: failures are logged.
pub(crate) async fn wait_logged(appended: Appended) {
    let _ = wait(appended).await;
}

/// Kafka answers a failed coordinator write with NOT_COORDINATOR for a
/// storage failure, so the client finds the coordinator again and retries.
fn storage_failure(partition: &Partition, error: PartitionError) -> i16 {
    tracing::error!(
        topic = %partition.topic,
        partition = partition.index,
        "coordinator write failed: {error}"
    );
    error_codes::NOT_COORDINATOR
}
