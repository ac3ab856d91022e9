//! Produce: validate each partition's batch, append it, and answer once the
//! data is as durable as `acks` and the flush policy promise.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strom_protocol::error_codes;
use strom_protocol::messages::produce_response::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use strom_protocol::messages::{ProduceRequest, ProduceResponse};
use strom_protocol::records::{
    validate_produce_batches, TimestampType as RecordTimestampType, ValidationOptions,
};
use strom_storage::AppendOutcome;
use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::config::TimestampType;
use crate::error::{ApiError, PartitionError};
use crate::internal_topics::is_internal_topic;
use crate::partition::Partition;
use crate::state::Broker;

use super::leader_hints::{leadership_moved, LeaderHints};
use super::produce_records::{cut_records, StagedBytes};

/// Answers acks=0 too: the connection decides what an acks=0 client gets
/// (nothing, or a closed connection when a partition failed).
pub async fn handle(
    broker: &Arc<Broker>,
    request: ProduceRequest,
    version: i16,
) -> ProduceResponse {
    append(broker, request, version, Bytes::new())
        .await
        .finish()
        .await
}

/// A produce whose batches are appended (or refused) and whose answer
/// waits for them to be committed as `acks` asks.
pub struct PendingProduce {
    broker: Arc<Broker>,
    version: i16,
    responses: Vec<TopicProduceResponse>,
    /// The commit waits, when they did not end at once.
    commits: JoinSet<Answers>,
}

/// Each partition's answer and where it goes in the response.
type Answers = Vec<(Slot, PartitionProduceResponse)>;

/// Validates and appends every partition's batch, returning once all are
/// in their logs (or refused): the next produce on the connection may then
/// append after them, in order, while this one waits for its commit.
///
/// Every partition's batch is validated here, then all of them are
/// appended in turn ([`append_all`]: on this worker while that is a
/// page-cache write, else in one hop to a blocking thread), as a Kafka
/// request handler thread appends a request's partitions: a hop per
/// partition cost more in thread wake-ups than the writes themselves (a
/// Java producer's request carries about six 16 KiB batches). Written
/// together, they share one `syncfs` ([`wait_for_commits`]): a request for
/// six partitions costs one sync, not six.
///
/// `frame`: the request's body as read, whose slices `request` holds;
/// handing it over lets the batches be cut out of it instead of copied
/// ([`cut_records`]). An empty one costs a copy of each batch.
pub async fn append(
    broker: &Arc<Broker>,
    mut request: ProduceRequest,
    version: i16,
    frame: Bytes,
) -> PendingProduce {
    let acks = request.acks;
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    let refusal = if !matches!(acks, -1..=1) {
        Some(ApiError::new(
            error_codes::INVALID_REQUIRED_ACKS,
            format!("acks must be -1, 0 or 1, not {acks}"),
        ))
    } else if request.transactional_id.is_some() {
        Some(ApiError::new(
            error_codes::UNSUPPORTED_FOR_MESSAGE_FORMAT,
            "transactions are not supported by this broker yet",
        ))
    } else {
        None
    };
    let mut records = cut_records(&mut request, frame).into_iter();
    let mut responses = Vec::with_capacity(request.topic_data.len());
    let mut staged = Vec::new();
    for (topic_slot, topic) in request.topic_data.into_iter().enumerate() {
        let mut partition_responses = Vec::with_capacity(topic.partition_data.len());
        for (partition_slot, data) in topic.partition_data.into_iter().enumerate() {
            let index = data.index;
            let records = records.next().flatten();
            let refused = match &refusal {
                Some(refusal) => Err(refusal.clone()),
                None => stage(broker, &topic.name, index, records, acks, version),
            };
            partition_responses.push(match refused {
                Ok(append) => {
                    let slot = Slot {
                        topic_slot,
                        partition_slot,
                        index,
                    };
                    staged.push((slot, append));
                    failed(
                        index,
                        ApiError::new(error_codes::UNKNOWN_SERVER_ERROR, "not produced"),
                    )
                }
                Err(e) => failed(index, e),
            });
        }
        responses.push(TopicProduceResponse {
            name: topic.name,
            partition_responses,
            ..Default::default()
        });
    }
    let mut waiting = Vec::new();
    for (slot, appended) in append_all(staged).await {
        let response = &mut responses[slot.topic_slot].partition_responses[slot.partition_slot];
        let (partition, outcome) = match appended {
            Ok(appended) => appended,
            Err(e) => {
                *response = failed(slot.index, e);
                continue;
            }
        };
        if acks == 0 {
            partition.commit_unacknowledged(outcome.last_offset + 1);
            *response = answer(slot.index, &outcome);
            continue;
        }
        waiting.push((slot, partition, outcome));
    }
    let mut pending = PendingProduce {
        broker: broker.clone(),
        version,
        responses,
        commits: JoinSet::new(),
    };
    // Writes to the page cache, on a broker that is its partitions' only
    // in-sync replica, are committed already: answered without a task.
    // Otherwise one task waits (the connection reads on meanwhile); the
    // first poll registered nothing a later poll does not check again.
    let mut commits = Box::pin(wait_for_commits(acks, timeout, waiting));
    match commits
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(answers) => pending.fill(answers),
        Poll::Pending => {
            pending.commits.spawn(commits);
        }
    }
    pending
}

/// Waits for every partition's commit at once, in this one task. Their
/// appends were written together, so one `syncfs` round (and, in a
/// cluster, the same follower fetches) covers them all; each partition's
/// answer is settled when its own commit is, as Kafka's delayed produce
/// settles each partition once it is acknowledged.
async fn wait_for_commits(
    acks: i16,
    timeout: Duration,
    waiting: Vec<(Slot, Arc<Partition>, AppendOutcome)>,
) -> Answers {
    let mut answers = Vec::with_capacity(waiting.len());
    let mut waits: Vec<_> = waiting
        .into_iter()
        .map(|(slot, partition, outcome)| {
            Box::pin(wait_for_commit(acks, timeout, slot, partition, outcome))
        })
        .collect();
    std::future::poll_fn(|cx| {
        waits.retain_mut(|wait| match wait.as_mut().poll(cx) {
            Poll::Ready(answer) => {
                answers.push(answer);
                false
            }
            Poll::Pending => true,
        });
        if waits.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    answers
}

/// One partition's commit: written here for acks=1; for acks=all, taken
/// by the in-sync replicas within the request's `timeout_ms`.
async fn wait_for_commit(
    acks: i16,
    timeout: Duration,
    slot: Slot,
    partition: Arc<Partition>,
    outcome: AppendOutcome,
) -> (Slot, PartitionProduceResponse) {
    let end = outcome.last_offset + 1;
    let waited = match acks {
        1 => partition.wait_written(end).await,
        _ => partition.wait_committed_within(end, Some(timeout)).await,
    };
    let response = match waited {
        Ok(()) => answer(slot.index, &outcome),
        Err(e) => failed(slot.index, partition_error(&partition, e)),
    };
    (slot, response)
}

/// A validated batch, ready to append to its partition's log.
struct StagedAppend {
    partition: Arc<Partition>,
    /// Rewritten in place by the log (offsets, epoch), whose tail cache
    /// may then keep them.
    batches: StagedBytes,
    log_append_time_ms: Option<i64>,
    min_insync_replicas: Option<i32>,
}

/// Where a partition's answer goes in the response.
#[derive(Clone, Copy)]
struct Slot {
    topic_slot: usize,
    partition_slot: usize,
    index: i32,
}

type Appended = Result<(Arc<Partition>, AppendOutcome), ApiError>;

/// Appends every staged batch, in request order. Page-cache writes of a
/// producer's usual request run here, on the async worker: the hop to a
/// blocking thread and back cost more than the writes (under a Java
/// producer, by `perf`, thread switches were a quarter of the broker's
/// CPU, and the hop made about 2.6 of the 4 context switches per request).
/// What may block longer still hops, from the first batch that needs it
/// on: a request over [`INLINE_APPEND_MAX_BYTES`] or
/// [`INLINE_APPEND_MAX_PARTITIONS`], an append that would roll a segment
/// or persist a leader epoch, and every append for a while after one here
/// was slow ([`InlineAppends`]).
async fn append_all(staged: Vec<(Slot, StagedAppend)>) -> Vec<(Slot, Appended)> {
    let bytes: usize = staged
        .iter()
        .map(|(_, append)| append.batches.bytes.len())
        .sum();
    let mut appended = Vec::with_capacity(staged.len());
    let mut staged = staged.into_iter();
    let mut needs_thread = None;
    let small = bytes <= INLINE_APPEND_MAX_BYTES && staged.len() <= INLINE_APPEND_MAX_PARTITIONS;
    if small && INLINE_APPENDS.allowed(now_ms()) {
        let started = Instant::now();
        for (slot, append) in staged.by_ref() {
            match append.append_without_file_work() {
                Ok(done) => appended.push((slot, done)),
                Err(append) => {
                    needs_thread = Some((slot, append));
                    break;
                }
            }
        }
        INLINE_APPENDS.took(started.elapsed(), now_ms());
    }
    let rest: Vec<_> = needs_thread.into_iter().chain(staged).collect();
    appended.extend(append_on_blocking_thread(rest).await);
    appended
}

/// The largest request whose batches are appended on the async worker:
/// above a Java producer's (six 16 KiB batches) and librdkafka's usual
/// requests, and a write of about 0.1 ms; and at most this many partitions
/// (each costs a lock and a `pwrite`, a few µs).
const INLINE_APPEND_MAX_BYTES: usize = 256 * 1024;
const INLINE_APPEND_MAX_PARTITIONS: usize = 128;

/// An append on the async worker that took longer than this...
///
/// Above what a busy machine's scheduler takes from a thread now and then
/// (a few ms: with a producer on the same 2 cores, 2 ms was passed within
/// seconds), below how long the kernel pauses the writers of a disk that
/// falls behind (tens to 200 ms per write once dirty pages pass their
/// limit).
const SLOW_INLINE_APPEND: Duration = Duration::from_millis(20);
/// ...sends every append to a blocking thread for this long: a throttled
/// disk, or a log lock held by slow work, must not stall the other
/// connections the worker serves; at worst one slow append in this time
/// stalls them.
const BLOCKING_AFTER_SLOW_MS: i64 = 30_000;

static INLINE_APPENDS: InlineAppends = InlineAppends::new();

/// When appends may run on the async worker: not until
/// [`BLOCKING_AFTER_SLOW_MS`] after one took over [`SLOW_INLINE_APPEND`].
/// One for the process: a slow disk anywhere makes every broker in it
/// careful, which costs only speed.
struct InlineAppends {
    /// Wall-clock ms before which appends hop to a blocking thread.
    blocking_until_ms: AtomicI64,
}

impl InlineAppends {
    const fn new() -> Self {
        InlineAppends {
            blocking_until_ms: AtomicI64::new(0),
        }
    }

    fn allowed(&self, now_ms: i64) -> bool {
        now_ms >= self.blocking_until_ms.load(Ordering::Relaxed)
    }

    fn took(&self, elapsed: Duration, now_ms: i64) {
        if elapsed > SLOW_INLINE_APPEND {
            let until = self
                .blocking_until_ms
                .fetch_max(now_ms + BLOCKING_AFTER_SLOW_MS, Ordering::Relaxed);
            // At info once per window (a slow disk is worth an operator's
            // notice), the appends that were already running at debug.
            if until <= now_ms {
                tracing::info!(
                    ?elapsed,
                    "an append on the async worker was slow (a disk that falls behind?): appends use a blocking thread for {BLOCKING_AFTER_SLOW_MS} ms"
                );
            } else {
                tracing::debug!(?elapsed, "another slow append on the async worker");
            }
        }
    }
}

/// Appends the batches, in order, in one hop to a blocking thread.
async fn append_on_blocking_thread(staged: Vec<(Slot, StagedAppend)>) -> Vec<(Slot, Appended)> {
    if staged.is_empty() {
        return Vec::new();
    }
    let slots: Vec<Slot> = staged.iter().map(|(slot, _)| *slot).collect();
    let appending = tokio::task::spawn_blocking(move || {
        staged
            .into_iter()
            .map(|(slot, append)| (slot, append.append()))
            .collect::<Vec<_>>()
    });
    match appending.await {
        Ok(appended) => appended,
        // A panic in the log: no partition's append is known to be done.
        Err(join) => slots
            .into_iter()
            .map(|slot| (slot, Err(ApiError::storage(join.to_string()))))
            .collect(),
    }
}

impl StagedAppend {
    fn append(mut self) -> Appended {
        let bytes = self.batches.bytes.len();
        let outcome = self
            .partition
            .append_as_leader(
                &mut self.batches,
                self.log_append_time_ms,
                self.min_insync_replicas,
            )
            .map_err(|e| partition_error(&self.partition, e))?;
        self.appended(outcome, bytes)
    }

    /// [`StagedAppend::append`] unless it needs file work: then `Err`
    /// gives the batch back, nothing appended, for a blocking thread.
    fn append_without_file_work(mut self) -> Result<Appended, StagedAppend> {
        let bytes = self.batches.bytes.len();
        let outcome = match self.partition.append_as_leader_without_file_work(
            &mut self.batches,
            self.log_append_time_ms,
            self.min_insync_replicas,
        ) {
            Ok(Some(outcome)) => outcome,
            Ok(None) => return Err(self),
            Err(e) => return Ok(Err(partition_error(&self.partition, e))),
        };
        Ok(self.appended(outcome, bytes))
    }

    /// `bytes`: the batches' size, counted before the append (the log may
    /// have taken them: see `AppendBytes`).
    fn appended(self, outcome: AppendOutcome, bytes: usize) -> Appended {
        let records_written =
            u64::try_from(outcome.last_offset - outcome.base_offset + 1).unwrap_or(0);
        self.partition
            .traffic
            .produced(records_written, bytes as u64);
        Ok((self.partition, outcome))
    }
}

impl PendingProduce {
    fn fill(&mut self, answers: Answers) {
        for (slot, response) in answers {
            self.responses[slot.topic_slot].partition_responses[slot.partition_slot] = response;
        }
    }

    /// The answer, once every partition's batch is committed (or failed).
    pub async fn finish(mut self) -> ProduceResponse {
        while let Some(joined) = self.commits.join_next().await {
            match joined {
                Ok(answers) => self.fill(answers),
                // The slots keep their UNKNOWN_SERVER_ERROR answer.
                Err(e) => tracing::error!("produce task failed: {e}"),
            }
        }
        let node_endpoints = if self.version >= 10 {
            point_to_leaders(&self.broker, &mut self.responses)
        } else {
            Vec::new()
        };
        ProduceResponse {
            responses: self.responses,
            node_endpoints,
            ..Default::default()
        }
    }
}

/// KIP-951 (see [`super::leader_hints`]).
fn point_to_leaders(broker: &Broker, responses: &mut [TopicProduceResponse]) -> Vec<NodeEndpoint> {
    let mut hints = LeaderHints::default();
    for topic in responses.iter_mut() {
        for partition in &mut topic.partition_responses {
            if !leadership_moved(partition.error_code) {
                continue;
            }
            if let Some((leader_id, leader_epoch)) =
                hints.leader_of(broker, &topic.name, partition.index)
            {
                partition.current_leader = LeaderIdAndEpoch {
                    leader_id,
                    leader_epoch,
                    ..Default::default()
                };
            }
        }
    }
    hints
        .endpoints(broker)
        .into_iter()
        .map(|b| NodeEndpoint {
            node_id: b.id,
            host: b.host,
            port: b.port,
            rack: None,
            ..Default::default()
        })
        .collect()
}

fn failed(index: i32, error: ApiError) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: error.code,
        base_offset: -1,
        log_append_time_ms: -1,
        log_start_offset: -1,
        error_message: Some(error.message),
        ..Default::default()
    }
}

/// Checks a partition's batch against the topic's config and this
/// broker's leadership, ready to append.
fn stage(
    broker: &Broker,
    topic_name: &str,
    index: i32,
    records: Option<StagedBytes>,
    acks: i16,
    version: i16,
) -> Result<StagedAppend, ApiError> {
    if is_internal_topic(topic_name) {
        // Kafka's ReplicaManager refuses client appends to internal topics.
        return Err(ApiError::new(
            error_codes::INVALID_TOPIC_EXCEPTION,
            format!("Cannot append to internal topic {topic_name}"),
        ));
    }
    let partition = broker.partition(topic_name, index).map_err(|code| {
        ApiError::new(
            code,
            format!("{topic_name}-{index} does not exist on this broker"),
        )
    })?;
    let config = partition.topic_config();
    let records = records.ok_or_else(|| {
        ApiError::new(
            error_codes::INVALID_RECORD,
            "produce request without records",
        )
    })?;
    let now = now_ms();
    let log_append_time = config.message_timestamp_type == TimestampType::LogAppendTime;
    let options = ValidationOptions {
        produce_version: version,
        max_message_bytes: config.max_message_bytes.max(0) as usize,
        timestamp_type: if log_append_time {
            RecordTimestampType::LogAppendTime
        } else {
            RecordTimestampType::CreateTime
        },
        timestamp_before_max_ms: config.message_timestamp_before_max_ms,
        timestamp_after_max_ms: config.message_timestamp_after_max_ms,
        compacted_topic: config.cleanup_policy.compact,
        ..ValidationOptions::new(now)
    };
    validate_produce_batches(&records.bytes, &options)
        .map_err(|e| ApiError::new(e.kafka_error_code(), e.to_string()))?;

    Ok(StagedAppend {
        partition,
        batches: records,
        log_append_time_ms: log_append_time.then_some(now),
        min_insync_replicas: (acks == -1).then_some(config.min_insync_replicas),
    })
}

fn answer(index: i32, outcome: &AppendOutcome) -> PartitionProduceResponse {
    PartitionProduceResponse {
        index,
        error_code: error_codes::NONE,
        base_offset: outcome.base_offset,
        log_append_time_ms: outcome.log_append_time,
        log_start_offset: outcome.log_start_offset,
        ..Default::default()
    }
}

fn partition_error(partition: &Partition, error: PartitionError) -> ApiError {
    let code = error.kafka_error_code();
    let PartitionError::Storage(storage) = &error else {
        return ApiError::new(code, error.to_string());
    };
    if storage.is_disk_full() {
        // Every write fails while the disk is full: one line every ten
        // seconds says so without flooding the log.
        static LAST_LOGGED_MS: AtomicI64 = AtomicI64::new(0);
        if strom_storage::once_every(&LAST_LOGGED_MS, 10_000) {
            tracing::error!(topic = %partition.topic, partition = partition.index, "disk full: writes are refused until space returns; reads go on ({error})");
        }
    } else if code == error_codes::KAFKA_STORAGE_ERROR {
        tracing::error!(topic = %partition.topic, partition = partition.index, "append failed: {error}");
    } else if code == error_codes::OUT_OF_ORDER_SEQUENCE_NUMBER {
        // Fatal to most idempotent producers, and the client's log rarely
        // says what the broker expected: this line does (rate-limited, a
        // misbehaving client cannot flood the log).
        static LAST_LOGGED_MS: AtomicI64 = AtomicI64::new(0);
        if strom_storage::once_every(&LAST_LOGGED_MS, 10_000) {
            tracing::warn!(topic = %partition.topic, partition = partition.index, "produce refused: {error}");
        }
    }
    ApiError::new(code, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_append_on_the_worker_sends_appends_to_a_thread_for_a_while() {
        let appends = InlineAppends::new();
        let now = 1_000_000;
        assert!(appends.allowed(now));
        appends.took(Duration::from_micros(300), now);
        assert!(appends.allowed(now), "a quick append changes nothing");

        appends.took(SLOW_INLINE_APPEND + Duration::from_millis(1), now);
        assert!(!appends.allowed(now));
        assert!(!appends.allowed(now + BLOCKING_AFTER_SLOW_MS - 1));
        assert!(appends.allowed(now + BLOCKING_AFTER_SLOW_MS));

        // An earlier slow append, noted late, does not shorten the wait.
        appends.took(SLOW_INLINE_APPEND * 2, now + 10);
        appends.took(SLOW_INLINE_APPEND * 2, now);
        assert!(!appends.allowed(now + BLOCKING_AFTER_SLOW_MS + 5));
    }
}
