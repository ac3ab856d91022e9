//! Produce requests to one leader, kept in order.
//!
//! Each leader has one driver task that starts its requests in the order
//! the sender drained them and then awaits their responses concurrently
//! (up to max.in.flight.requests.per.connection at a time). Starting them
//! in one task matters: the connection writes frames in the order they are
//! queued, so request n+1 of a partition can never overtake request n on
//! the wire. A request whose predecessor failed before it was written is
//! not written either (it fails the same way and is retried behind it):
//! otherwise it could reach the broker on a new connection first.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::task::Poll;

use bytes::Bytes;
use strom_protocol::error_codes::DUPLICATE_SEQUENCE_NUMBER;
use strom_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use strom_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, Request, Response};
use tokio::sync::mpsc;

use super::partition::Batch;
use super::settle::settle;
use super::Shared;
use crate::cluster::group_by_topic;
use crate::config::Acks;
use crate::error::{ClientError, Result};
use crate::TopicPartition;

/// One drained batch and its encoded bytes.
pub(crate) struct Outgoing {
    pub tp: TopicPartition,
    pub batch: Batch,
    pub bytes: Bytes,
}

/// The driver tasks, one per leader, owned by the sender task; dropping
/// it lets each driver finish its requests and end.
#[derive(Default)]
pub(crate) struct Drivers {
    queues: HashMap<i32, mpsc::UnboundedSender<Vec<Outgoing>>>,
}

impl Drivers {
    /// Hands one request's batches to `leader`'s driver, in drain order.
    pub fn dispatch(&mut self, shared: &Arc<Shared>, leader: i32, request: Vec<Outgoing>) {
        let queue = self.queues.entry(leader).or_insert_with(|| {
            let (queue, jobs) = mpsc::unbounded_channel();
            tokio::spawn(drive(Arc::downgrade(shared), leader, jobs));
            queue
        });
        if let Err(mpsc::error::SendError(request)) = queue.send(request) {
            // The driver is gone (its task ended): start a new one.
            let (queue, jobs) = mpsc::unbounded_channel();
            tokio::spawn(drive(Arc::downgrade(shared), leader, jobs));
            let _ = queue.send(request);
            self.queues.insert(leader, queue);
        }
    }
}

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts each request in arrival order and polls all of them from this
/// one task until the sender drops its queue and nothing is left.
async fn drive(
    shared: Weak<Shared>,
    leader: i32,
    mut requests: mpsc::UnboundedReceiver<Vec<Outgoing>>,
) {
    // Counts requests that failed as a whole; a request started before a
    // failure but not yet written must not be written after it.
    let failures = Arc::new(AtomicU64::new(0));
    let mut running: Vec<Job> = Vec::new();
    std::future::poll_fn(|cx| {
        let mut closed = false;
        loop {
            match requests.poll_recv(cx) {
                Poll::Ready(Some(batches)) => {
                    let Some(shared) = shared.upgrade() else {
                        closed = true;
                        break;
                    };
                    let seen = failures.load(Ordering::SeqCst);
                    running.push(Box::pin(produce(
                        shared,
                        leader,
                        batches,
                        failures.clone(),
                        seen,
                    )));
                }
                Poll::Ready(None) => {
                    closed = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        // Oldest first, so new requests are first polled (and queued on the
        // connection) after every earlier one.
        running.retain_mut(|job| job.as_mut().poll(cx).is_pending());
        if closed && running.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Sends one Produce request and settles each of its batches.
async fn produce(
    shared: Arc<Shared>,
    leader: i32,
    batches: Vec<Outgoing>,
    failures: Arc<AtomicU64>,
    failures_seen: u64,
) {
    let config = shared.cluster.config().clone();
    let request = build_request(&batches, &config);
    let outcome = async {
        let connection = shared.cluster.connection(leader).await?;
        if failures.load(Ordering::SeqCst) != failures_seen {
            return Err(ClientError::Disconnected {
                addr: connection.addr().to_string(),
                reason: "an earlier Produce request to this broker failed; sent again in order"
                    .to_string(),
            });
        }
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
    if outcome.is_err() {
        failures.fetch_add(1, Ordering::SeqCst);
    }
    for Outgoing { tp, batch, .. } in batches {
        let result = match &outcome {
            Err(error) => Err(error.clone()),
            Ok(None) => Ok((-1, -1)),
            Ok(Some(response)) => partition_result(response, &tp, leader),
        };
        settle(&shared, tp, batch, result);
    }
    if let Ok(mut accumulator) = shared.accumulator.lock() {
        if let Some(count) = accumulator.leader_requests.get_mut(&leader) {
            *count = count.saturating_sub(1);
        }
    }
    shared.wake.notify_one();
}

fn build_request(batches: &[Outgoing], config: &crate::config::ClientConfig) -> Request {
    let entries = batches.iter().map(|outgoing| {
        let data = PartitionProduceData {
            index: outgoing.tp.partition,
            records: Some(outgoing.bytes.clone()),
            ..Default::default()
        };
        (outgoing.tp.topic.to_string(), data)
    });
    let topic_data: Vec<TopicProduceData> = group_by_topic(entries)
        .into_iter()
        .map(|(name, partition_data)| TopicProduceData {
            name,
            partition_data,
            ..Default::default()
        })
        .collect();
    ProduceRequest {
        transactional_id: None,
        acks: config.acks.wire_value(),
        timeout_ms: i32::try_from(config.request_timeout.as_millis()).unwrap_or(i32::MAX),
        topic_data,
        ..Default::default()
    }
    .into()
}

/// One partition's outcome: (base offset, log append time) or its error.
fn partition_result(
    response: &ProduceResponse,
    tp: &TopicPartition,
    leader: i32,
) -> Result<(i64, i64)> {
    let found = response
        .responses
        .iter()
        .filter(|t| *t.name == *tp.topic)
        .flat_map(|t| &t.partition_responses)
        .find(|p| p.index == tp.partition);
    let Some(partition) = found else {
        return Err(ClientError::Protocol {
            addr: format!("node {leader}"),
            reason: format!(
                "Produce response has no result for `{}` partition {}",
                tp.topic, tp.partition
            ),
        });
    };
    match partition.error_code {
        0 => Ok((partition.base_offset, partition.log_append_time_ms)),
        // Already written by an earlier attempt.
        DUPLICATE_SEQUENCE_NUMBER => Ok((-1, partition.log_append_time_ms)),
        code => Err(ClientError::kafka(
            code,
            format!("producing to {tp}"),
            partition.error_message.clone(),
        )),
    }
}
