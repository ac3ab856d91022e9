//! The sender task: turns ready batches into Produce requests, one per
//! leader, and settles each batch from its partition's response: deliver,
//! retry (same sequence, after a metadata refresh when leaders moved), or
//! fail. With idempotence it first gets a producer id (InitProducerId) and,
//! on OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID, bumps the epoch
//! locally as the Java client does, restarting that partition's sequences.

use std::collections::HashMap;
use std::sync::Arc;

use strom_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use strom_protocol::messages::{ApiKey, InitProducerIdRequest, ProduceRequest, Request, Response};
use tokio::time::Instant;

use super::accumulator::{Batch, Reply, TopicPartition};
use super::{RecordMetadata, Shared};
use crate::cluster::group_by_topic;
use crate::config::Acks;
use crate::error::{ClientError, Result};
use crate::metadata::invalidates_metadata;

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
const UNKNOWN_PRODUCER_ID: i16 = 59;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// Resolves one record's future and counts it as settled.
pub(crate) fn resolve(shared: &Shared, reply: Reply, outcome: Result<RecordMetadata>) {
    let _ = reply.send(outcome);
    shared.outstanding.send_modify(|n| *n = n.saturating_sub(1));
}

pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        // Only the task holds the last strong reference once every
        // producer handle is gone: then nothing can send anymore.
        let abandoned = Arc::strong_count(&shared) == 1;
        let (closed, idle) = match shared.accumulator.lock() {
            Ok(acc) => (acc.closed, acc.is_idle()),
            Err(_) => return,
        };
        if (closed || abandoned) && idle {
            return;
        }
        let wake = shared.wake.notified();
        resolve_waiting_topics(&shared).await;
        let next_wake = match ensure_identity(&shared).await {
            Ok(()) => send_ready(&shared),
            Err(error) => {
                tracing::debug!("InitProducerId failed, retrying: {error}");
                Some(Instant::now() + shared.cluster.config().retry_backoff)
            }
        };
        let sleep_until = next_wake.unwrap_or_else(|| {
            Instant::now()
                + shared
                    .cluster
                    .config()
                    .linger
                    .max(std::time::Duration::from_millis(100))
        });
        tokio::select! {
            _ = wake => {}
            _ = tokio::time::sleep_until(sleep_until) => {}
        }
    }
}

/// Fetches metadata for topics with waiting records, then partitions them
/// in order. Records of topics still unknown fail once they have waited
/// delivery.timeout.ms (the producer's `send` never blocks, so Java's
/// max.block.ms wait for metadata is folded into the delivery timeout).
async fn resolve_waiting_topics(shared: &Shared) {
    let topics: Vec<String> = match shared.accumulator.lock() {
        Ok(acc) => acc.waiting.keys().cloned().collect(),
        Err(_) => return,
    };
    if topics.is_empty() {
        return;
    }
    // The Java producer lets the broker auto-create topics it writes to.
    let reported: HashMap<String, i16> = shared
        .cluster
        .request_metadata(Some(topics.clone()), true)
        .await
        .map(|response| {
            response
                .topics
                .into_iter()
                .filter_map(|t| Some((t.name?, t.error_code)))
                .collect()
        })
        .unwrap_or_default();
    let _ = shared.cluster.refresh_metadata(&topics).await;
    let delivery_timeout = shared.cluster.config().delivery_timeout;
    let now = Instant::now();
    let mut rejected = Vec::new();
    if let Ok(mut acc) = shared.accumulator.lock() {
        for topic in topics {
            let Some(records) = acc.waiting.remove(&topic) else {
                continue;
            };
            let Some(count) = shared.cluster.cached_partition_count(&topic) else {
                let (expired, still_waiting): (Vec<_>, Vec<_>) = records
                    .into_iter()
                    .partition(|(_, _, sent)| now >= *sent + delivery_timeout);
                if !still_waiting.is_empty() {
                    acc.waiting.insert(topic.clone(), still_waiting);
                }
                let code = reported
                    .get(&topic)
                    .copied()
                    .filter(|code| *code != 0)
                    .unwrap_or(UNKNOWN_TOPIC_OR_PARTITION);
                rejected.extend(
                    expired.into_iter().map(|(_, reply, _)| {
                        (reply, unknown_topic(&topic, code, delivery_timeout))
                    }),
                );
                continue;
            };
            for (record, reply, _) in records {
                if let Err(refused) = acc.place(record, reply, count) {
                    rejected.push(refused);
                }
            }
        }
    }
    for (reply, error) in rejected {
        resolve(shared, reply, Err(error));
    }
}

/// The error of a record whose topic never showed up in the metadata.
fn unknown_topic(topic: &str, code: i16, waited: std::time::Duration) -> ClientError {
    ClientError::kafka(
        code,
        format!("producing to topic `{topic}`"),
        Some(format!(
            "the topic was not found in the cluster metadata within delivery.timeout.ms ({} ms): \
             create it, or enable auto.create.topics.enable on the broker",
            waited.as_millis()
        )),
    )
}

async fn ensure_identity(shared: &Shared) -> Result<()> {
    let config = shared.cluster.config();
    let needed = config.enable_idempotence
        && shared
            .accumulator
            .lock()
            .is_ok_and(|acc| acc.identity.is_none());
    if !needed {
        return Ok(());
    }
    let response = shared
        .cluster
        .send_to_any(ApiKey::InitProducerId, |_| {
            InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: -1,
                producer_id: -1,
                producer_epoch: -1,
                ..Default::default()
            }
            .into()
        })
        .await?;
    let Response::InitProducerId(response) = response else {
        return Err(crate::cluster::unexpected(
            ApiKey::InitProducerId,
            &response,
        ));
    };
    crate::error::check_code(
        response.error_code,
        || "getting a producer id (InitProducerId)".into(),
        None,
    )?;
    if let Ok(mut acc) = shared.accumulator.lock() {
        acc.identity = Some((response.producer_id, response.producer_epoch));
    }
    Ok(())
}

/// Drains ready batches, assigns sequences and spawns one request per
/// leader. Returns when the sender should look again.
fn send_ready(shared: &Arc<Shared>) -> Option<Instant> {
    let config = shared.cluster.config();
    let now = Instant::now();
    let mut expired = Vec::new();
    let mut by_leader: HashMap<i32, Vec<(TopicPartition, Batch, Vec<u8>)>> = HashMap::new();
    let next_wake = {
        let Ok(mut acc) = shared.accumulator.lock() else {
            return None;
        };
        let (ready, next_wake) = acc.drain_ready(now);
        let identity = acc.identity;
        for (tp, mut batch) in ready {
            if now >= batch.created + config.delivery_timeout {
                acc.finished(&tp);
                expired.push(batch);
                continue;
            }
            let leader = shared
                .cluster
                .cached_topic(&tp.0)
                .and_then(|t| t.partition(tp.1).map(|p| p.leader))
                .filter(|l| *l >= 0);
            let Some(leader) = leader else {
                acc.requeue(tp.clone(), batch, now + config.retry_backoff);
                spawn_refresh(shared, tp.0.clone());
                continue;
            };
            let builder = match (config.enable_idempotence, identity) {
                (true, Some((id, epoch))) => {
                    let queue = acc.partitions.entry(tp.clone()).or_default();
                    let sequence = match batch.sequence {
                        Some((batch_epoch, sequence)) if batch_epoch == epoch => sequence,
                        _ => {
                            if queue.sequence_epoch != epoch {
                                queue.sequence_epoch = epoch;
                                queue.next_sequence = 0;
                            }
                            let sequence = queue.next_sequence;
                            queue.next_sequence =
                                sequence.wrapping_add(batch.builder.record_count()) & i32::MAX;
                            sequence
                        }
                    };
                    batch.sequence = Some((epoch, sequence));
                    batch.builder.clone().with_producer(id, epoch, sequence)
                }
                _ => batch.builder.clone(),
            };
            match builder.build() {
                Ok(bytes) => by_leader
                    .entry(leader)
                    .or_default()
                    .push((tp, batch, bytes.to_vec())),
                Err(error) => {
                    acc.finished(&tp);
                    let message = error.to_string();
                    fail_batch(shared, batch, || {
                        ClientError::InvalidArgument(format!(
                            "cannot build the record batch: {message}"
                        ))
                    });
                }
            }
        }
        next_wake
    };
    for batch in expired {
        fail_batch(shared, batch, || ClientError::Timeout {
            what: "delivering a record".into(),
            after: config.delivery_timeout,
            setting: "delivery.timeout.ms",
        });
    }
    for (leader, batches) in by_leader {
        tokio::spawn(send_to_leader(shared.clone(), leader, batches));
    }
    next_wake
}

fn spawn_refresh(shared: &Shared, topic: String) {
    let cluster = shared.cluster.clone();
    tokio::spawn(async move {
        let _ = cluster.refresh_metadata(&[topic]).await;
    });
}

async fn send_to_leader(
    shared: Arc<Shared>,
    leader: i32,
    batches: Vec<(TopicPartition, Batch, Vec<u8>)>,
) {
    let config = shared.cluster.config().clone();
    let entries = batches.iter().map(|((topic, partition), _, bytes)| {
        let data = PartitionProduceData {
            index: *partition,
            records: Some(bytes.clone().into()),
            ..Default::default()
        };
        (topic.clone(), data)
    });
    let topic_data: Vec<TopicProduceData> = group_by_topic(entries)
        .into_iter()
        .map(|(name, partition_data)| TopicProduceData {
            name,
            partition_data,
            ..Default::default()
        })
        .collect();
    let request: Request = ProduceRequest {
        transactional_id: None,
        acks: config.acks.wire_value(),
        timeout_ms: i32::try_from(config.request_timeout.as_millis()).unwrap_or(i32::MAX),
        topic_data,
        ..Default::default()
    }
    .into();
    let outcome = async {
        let connection = shared.cluster.connection(leader).await?;
        let version = connection.version_for(ApiKey::Produce)?;
        if config.acks == Acks::None {
            connection.send_without_response(version, request).await?;
            return Ok(None);
        }
        match connection.send_at(version, request).await? {
            Response::Produce(response) => Ok(Some(response)),
            other => Err(crate::cluster::unexpected(ApiKey::Produce, &other)),
        }
    }
    .await;
    for (tp, batch, _) in batches {
        let result = match &outcome {
            Err(error) => Err(clone_transport_error(error)),
            Ok(None) => Ok((-1, -1)),
            Ok(Some(response)) => response
                .responses
                .iter()
                .filter(|t| t.name == tp.0)
                .flat_map(|t| &t.partition_responses)
                .find(|p| p.index == tp.1)
                .map_or_else(
                    || {
                        Err(ClientError::Protocol {
                            addr: format!("node {leader}"),
                            reason: format!(
                                "Produce response has no result for `{}` partition {}",
                                tp.0, tp.1
                            ),
                        })
                    },
                    |p| match p.error_code {
                        0 => Ok((p.base_offset, p.log_append_time_ms)),
                        // Already written by an earlier attempt.
                        DUPLICATE_SEQUENCE_NUMBER => Ok((-1, p.log_append_time_ms)),
                        code => Err(ClientError::kafka(
                            code,
                            format!("producing to `{}` partition {}", tp.0, tp.1),
                            p.error_message.clone(),
                        )),
                    },
                ),
        };
        settle(&shared, tp, batch, result);
    }
    shared.wake.notify_one();
}

/// Delivers, retries or fails one batch from its partition's outcome.
fn settle(shared: &Arc<Shared>, tp: TopicPartition, mut batch: Batch, result: Result<(i64, i64)>) {
    let config = shared.cluster.config();
    let error = match result {
        Ok((base_offset, log_append_time)) => {
            if let Ok(mut acc) = shared.accumulator.lock() {
                acc.finished(&tp);
            }
            for (index, (reply, timestamp)) in batch.replies.into_iter().enumerate() {
                let offset = if base_offset >= 0 {
                    base_offset + index as i64
                } else {
                    -1
                };
                let timestamp = if log_append_time >= 0 {
                    log_append_time
                } else {
                    timestamp
                };
                resolve(
                    shared,
                    reply,
                    Ok(RecordMetadata {
                        partition: tp.1,
                        offset,
                        timestamp,
                    }),
                );
            }
            return;
        }
        Err(error) => error,
    };
    let code = error.kafka_code().unwrap_or(-1);
    let sequence_lost = config.enable_idempotence
        && matches!(code, OUT_OF_ORDER_SEQUENCE_NUMBER | UNKNOWN_PRODUCER_ID);
    let within_deadline = Instant::now() < batch.created + config.delivery_timeout;
    let may_retry = (error.is_retriable() || sequence_lost)
        && batch.attempts < config.retries
        && within_deadline;
    let Ok(mut acc) = shared.accumulator.lock() else {
        return;
    };
    if !may_retry {
        acc.finished(&tp);
        drop(acc);
        tracing::debug!("batch for {tp:?} failed: {error}");
        fail_batch(shared, batch, || clone_transport_error(&error));
        return;
    }
    if sequence_lost {
        // The broker lost track of this producer's sequence for the
        // partition (KIP-360): bump the epoch so sequences restart at 0.
        acc.identity = match acc.identity {
            Some((id, epoch)) if epoch < i16::MAX => Some((id, epoch + 1)),
            _ => None,
        };
        batch.sequence = None;
    }
    if invalidates_metadata(code) {
        spawn_refresh(shared, tp.0.clone());
    }
    batch.attempts += 1;
    acc.requeue(tp, batch, Instant::now() + config.retry_backoff);
}

fn fail_batch(shared: &Shared, batch: Batch, error: impl Fn() -> ClientError) {
    for (reply, _) in batch.replies {
        resolve(shared, reply, Err(error()));
    }
}

/// A copy of a request-level error for each batch of the request.
fn clone_transport_error(error: &ClientError) -> ClientError {
    match error {
        ClientError::Kafka {
            code,
            context,
            message,
        } => ClientError::kafka(*code, context.clone(), message.clone()),
        ClientError::Timeout {
            what,
            after,
            setting,
        } => ClientError::Timeout {
            what: what.clone(),
            after: *after,
            setting,
        },
        ClientError::Unreachable { addr, source } => ClientError::Disconnected {
            addr: addr.clone(),
            reason: source.to_string(),
        },
        ClientError::Disconnected { addr, reason } => ClientError::Disconnected {
            addr: addr.clone(),
            reason: reason.clone(),
        },
        ClientError::NoLeader { topic, partition } => ClientError::NoLeader {
            topic: topic.clone(),
            partition: *partition,
        },
        ClientError::NoBrokerAvailable { reason } => ClientError::NoBrokerAvailable {
            reason: reason.clone(),
        },
        other => ClientError::Protocol {
            addr: String::new(),
            reason: other.to_string(),
        },
    }
}
