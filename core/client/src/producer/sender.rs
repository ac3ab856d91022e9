//! The sender task: resolves topics, gets a producer id (idempotence),
//! drains ready batches into Produce requests — several per leader in
//! flight, each under max.request.size — and hands them to the leader's
//! driver ([`super::request`]). Responses are settled in
//! [`super::settle`].

use std::collections::HashMap;
use std::sync::Arc;

use strom_protocol::error_codes::{LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION};
use strom_protocol::messages::{ApiKey, InitProducerIdRequest, Response};
use tokio::time::Instant;

use super::accumulator::Accumulator;
use super::partition::{Batch, DrainRules};
use super::request::{Drivers, Outgoing};
use super::settle::{fail_batch, resolve_all, spawn_refresh};
use super::{DeliveryError, Shared};
use crate::error::{ClientError, Result};
use crate::TopicPartition;

/// Room for a Produce request's own fields around the batches (header,
/// acks, timeout, transactional id, array lengths).
const REQUEST_OVERHEAD: usize = 128;
/// Room for one partition's entry besides its batch (topic name aside).
const PARTITION_OVERHEAD: usize = 16;

pub(crate) async fn run(shared: Arc<Shared>) {
    let mut drivers = Drivers::default();
    loop {
        // Only this task holds a strong reference once every producer
        // handle is gone and no request runs: then nothing can send.
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
            Ok(()) => {
                let drained = drain(&shared);
                for (leader, request) in drained.requests {
                    drivers.dispatch(&shared, leader, request);
                }
                for (tp, batch, error) in drained.failed {
                    fail_batch(&shared, &tp, batch, || error.clone());
                }
                for topic in drained.refresh {
                    spawn_refresh(&shared, topic);
                }
                drained.next_wake
            }
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
/// delivery.timeout.ms (metadata waits are not part of max.block.ms here:
/// `send` never blocks on them).
async fn resolve_waiting_topics(shared: &Shared) {
    let topics: Vec<String> = match shared.accumulator.lock() {
        Ok(acc) => acc.waiting.keys().cloned().collect(),
        Err(_) => return,
    };
    if topics.is_empty() {
        return;
    }
    // The Java producer lets the broker auto-create topics it writes to;
    // allow.auto.create.topics=false (librdkafka's) says not to.
    let auto_create = shared.cluster.config().allow_auto_create_topics != Some(false);
    let reported: HashMap<String, i16> = shared
        .cluster
        .request_metadata(Some(topics.clone()), auto_create)
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
                let code = reported
                    .get(&topic)
                    .copied()
                    .filter(|code| *code != 0)
                    .unwrap_or(UNKNOWN_TOPIC_OR_PARTITION);
                // A topic the broker refuses (an invalid name, no
                // authorization) will not appear by waiting: its records
                // fail now, as the Java client's and librdkafka's do.
                let refused = !matches!(code, UNKNOWN_TOPIC_OR_PARTITION | LEADER_NOT_AVAILABLE);
                let (expired, still_waiting): (Vec<_>, Vec<_>) = records
                    .into_iter()
                    .partition(|(_, _, sent)| refused || now >= *sent + delivery_timeout);
                if !still_waiting.is_empty() {
                    acc.waiting.insert(topic.clone(), still_waiting);
                }
                rejected.extend(expired.into_iter().map(|(record, pending, _)| {
                    let error = match refused {
                        true => refused_topic(&topic, code),
                        false => unknown_topic(&topic, code, delivery_timeout),
                    };
                    (pending, Box::new(record), error)
                }));
                continue;
            };
            for (record, pending, _) in records {
                if let Err(refused) = acc.place(record, pending, count) {
                    rejected.push(refused);
                }
            }
        }
    }
    resolve_all(
        shared,
        rejected.into_iter().map(|(pending, record, error)| {
            (pending, Err(DeliveryError::new(error, Some(record))))
        }),
    );
}

/// The error of a record whose topic the broker refused outright.
fn refused_topic(topic: &str, code: i16) -> ClientError {
    ClientError::kafka(
        code,
        format!("producing to topic `{topic}`"),
        Some(
            "the broker refused the topic itself (check its name and your authorization)"
                .to_string(),
        ),
    )
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

/// Gets a producer id when idempotence needs one. An epoch bump asked for
/// by a partition is applied here, locally, as the Java client does for a
/// non-transactional producer (KIP-360); only when the epoch is exhausted
/// is a new producer id requested.
async fn ensure_identity(shared: &Shared) -> Result<()> {
    let config = shared.cluster.config();
    if !config.enable_idempotence {
        return Ok(());
    }
    let needed = match shared.accumulator.lock() {
        Ok(mut acc) => {
            if acc.epoch_bump_requested {
                acc.epoch_bump_requested = false;
                acc.identity = match acc.identity {
                    Some((id, epoch)) if epoch < i16::MAX => Some((id, epoch + 1)),
                    _ => None,
                };
                tracing::debug!("producer epoch bumped to {:?}", acc.identity);
            }
            acc.identity.is_none()
        }
        Err(_) => false,
    };
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

/// What one drain round produced.
#[derive(Default)]
struct Drained {
    /// Produce requests in the order they must be started, per leader.
    requests: Vec<(i32, Vec<Outgoing>)>,
    /// Batches that expired or cannot be built.
    failed: Vec<(TopicPartition, Batch, ClientError)>,
    /// Topics whose leaders are unknown.
    refresh: Vec<String>,
    next_wake: Option<Instant>,
}

/// A Produce request being filled for one leader.
#[derive(Default)]
struct Planned {
    size: usize,
    batches: Vec<Outgoing>,
}

/// Takes every batch that may be sent now, stamps it (idempotence) and
/// packs the batches into requests per leader.
fn drain(shared: &Shared) -> Drained {
    let config = shared.cluster.config();
    let mut drained = Drained::default();
    let Ok(mut guard) = shared.accumulator.lock() else {
        return drained;
    };
    let acc: &mut Accumulator = &mut guard;
    let identity = acc.identity;
    if config.enable_idempotence && identity.is_none() {
        drained.next_wake = Some(Instant::now());
        return drained;
    }
    let now = Instant::now();
    let rules = DrainRules {
        now,
        linger: acc.linger,
        batch_size: acc.batch_size,
        urgent: acc.flushes > 0 || acc.closed,
        max_in_flight: config.max_in_flight_per_connection.max(1),
        idempotent: config.enable_idempotence,
    };
    let mut plans: HashMap<i32, Vec<Planned>> = HashMap::new();
    let mut sent_from = Vec::new();
    let wake_at = |at: Instant, drained: &mut Drained| {
        drained.next_wake = Some(drained.next_wake.map_or(at, |w| w.min(at)));
    };
    for (tp, queue) in acc.partitions.iter_mut() {
        // Expired batches fail before anything else of the partition goes.
        while let Some(front) = queue.batches.front() {
            if now < front.created + config.delivery_timeout {
                break;
            }
            let Some(batch) = queue.batches.pop_front() else {
                break;
            };
            if config.enable_idempotence && batch.stamp.is_some() {
                queue.needs_reset = true;
                acc.epoch_bump_requested = true;
            }
            drained.failed.push((
                tp.clone(),
                batch,
                ClientError::DeliveryTimeout {
                    after: config.delivery_timeout,
                },
            ));
        }
        if queue.batches.is_empty() {
            continue;
        }
        if let Some(identity) = identity.filter(|_| rules.idempotent) {
            if queue.must_restart(identity) {
                if queue.in_flight > 0 || acc.epoch_bump_requested {
                    continue;
                }
                queue.restart_sequences(identity);
            }
        }
        let leader = shared
            .cluster
            .cached_topic(&tp.topic)
            .and_then(|t| t.partition(tp.partition).map(|p| p.leader))
            .filter(|l| *l >= 0);
        let leader_plans = match leader {
            Some(leader) => plans.entry(leader).or_default(),
            None => {
                if queue.front_ready(&rules).is_ok() {
                    queue.retry_at = Some(now + config.retry_backoff);
                    wake_at(now + config.retry_backoff, &mut drained);
                    drained.refresh.push(tp.topic.to_string());
                }
                continue;
            }
        };
        let leader = leader.unwrap_or_default();
        let busy = acc.leader_requests.get(&leader).copied().unwrap_or(0);
        // A partition's batches go in successive requests, in order.
        let mut next_plan = 0;
        loop {
            if let Err(at) = queue.front_ready(&rules) {
                if let Some(at) = at {
                    wake_at(at, &mut drained);
                }
                break;
            }
            let stamp = identity
                .filter(|_| rules.idempotent)
                .and_then(|identity| queue.front_stamp(identity));
            let Some(front) = queue.batches.front() else {
                break;
            };
            let built = match stamp {
                Some(s) => front
                    .builder
                    .build_stamped(s.producer_id, s.epoch, s.base_sequence),
                None => front.builder.build(),
            };
            let bytes = match built {
                Ok(bytes) => bytes,
                Err(error) => {
                    if let Some(batch) = queue.batches.pop_front() {
                        drained.failed.push((tp.clone(), batch, error.into()));
                    }
                    continue;
                }
            };
            let size = bytes.len() + tp.topic.len() + PARTITION_OVERHEAD;
            let fits = |plan: &Planned| {
                plan.batches.is_empty() || plan.size + size <= config.max_request_size
            };
            let slot = match leader_plans[next_plan.min(leader_plans.len())..]
                .iter()
                .position(fits)
            {
                Some(offset) => next_plan + offset,
                None if busy + leader_plans.len() < rules.max_in_flight => {
                    leader_plans.push(Planned {
                        size: REQUEST_OVERHEAD,
                        batches: Vec::new(),
                    });
                    leader_plans.len() - 1
                }
                // Every request this leader may have in flight is taken.
                None => break,
            };
            let Some(batch) = queue.take_front(stamp) else {
                break;
            };
            leader_plans[slot].size += size;
            leader_plans[slot].batches.push(Outgoing {
                tp: tp.clone(),
                batch,
                bytes,
            });
            next_plan = slot + 1;
            sent_from.push(tp.clone());
        }
    }
    for (leader, leader_plans) in plans {
        for plan in leader_plans {
            if plan.batches.is_empty() {
                continue;
            }
            *acc.leader_requests.entry(leader).or_default() += 1;
            drained.requests.push((leader, plan.batches));
        }
    }
    for tp in sent_from {
        acc.rotate_sticky(&tp.topic, tp.partition);
    }
    if acc.epoch_bump_requested {
        drained.next_wake = Some(now);
    }
    drained
}
