//! Fetch: whole batches from each partition's log, bounded by the request's
//! `max_bytes` (capped by the broker's `fetch.max.bytes`) and each
//! partition's `partition_max_bytes`, waiting up to
//! `max_wait_ms` for `min_bytes` to accumulate (long polling). From v13
//! topics are named by id; from v16 a partition whose leader moved points
//! to the new one (KIP-951).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_protocol::messages::fetch_request::FetchPartition;
use strom_protocol::messages::fetch_response::{
    FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use strom_protocol::messages::{FetchRequest, FetchResponse};
use strom_protocol::records::{batches, BatchHeader, BATCH_HEADER_LEN};
use strom_storage::StorageError;
use tokio::sync::Notify;

use super::leader_hints::{leadership_moved, LeaderHints};
use crate::clock::now_ms;
use crate::partition::Partition;
use crate::state::Broker;

/// The first version naming topics by id instead of by name.
const TOPIC_IDS_FROM: i16 = 13;
/// The first version carrying the endpoints of moved leaders (KIP-951).
const NODE_ENDPOINTS_FROM: i16 = 16;

/// The request's own `max_bytes` is capped by the broker's `fetch.max.bytes`.
pub async fn handle(broker: &Arc<Broker>, request: FetchRequest, version: i16) -> FetchResponse {
    let cap = broker.config.settings().fetch_max_bytes.max(0) as usize;
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    // Woken by the partitions this fetch reads when their high watermark
    // moves; each read registers it again before reading, so an append
    // between the read and the wait is not missed. A fetch that will not
    // wait (max_wait_ms 0, or the last read after the deadline) does not
    // register.
    let waiter = Arc::new(Notify::new());
    let may_wait = (request.max_wait_ms > 0).then_some(&waiter);
    let request = Arc::new(Named::resolve(broker, request, version));
    let response = loop {
        let (response, bytes) = read(broker, cap, &request, may_wait).await;
        let has_error = response.error_code != error_codes::NONE
            || response
                .responses
                .iter()
                .flat_map(|t| &t.partitions)
                .any(|p| p.error_code != error_codes::NONE);
        if bytes >= request.request.min_bytes.max(1) as usize
            || has_error
            || tokio::time::Instant::now() >= deadline
        {
            break response;
        }
        if tokio::time::timeout_at(deadline, waiter.notified())
            .await
            .is_err()
        {
            // Deadline passed with nothing new: answer with what there is.
            break read(broker, cap, &request, None).await.0;
        }
    };
    if fetching_replica(&request.request) < 0 {
        count_consumed(broker, &request.names, &response);
    }
    point_to_leaders(broker, &request, response, version)
}

/// Adds what a consumer's fetch hands out to its partitions' traffic
/// (`names`: the topics' names, in the response's order).
fn count_consumed(broker: &Broker, names: &[Option<String>], response: &FetchResponse) {
    for (topic, name) in response.responses.iter().zip(names) {
        let Some(name) = name else {
            continue;
        };
        for data in &topic.partitions {
            let bytes = served_bytes(data) as u64;
            if bytes == 0 {
                continue;
            }
            if let Ok(partition) = broker.partition(name, data.partition_index) {
                partition.traffic.consumed(bytes);
            }
        }
    }
}

/// A fetch request with each topic's name looked up (v13+ name topics by
/// id only): `None` for an id no topic has.
struct Named {
    request: FetchRequest,
    names: Vec<Option<String>>,
}

impl Named {
    fn resolve(broker: &Broker, mut request: FetchRequest, version: i16) -> Named {
        // A partition named twice is read and answered once, as Kafka's
        // fetch map does; otherwise each repeat would add a full read.
        let mut topic_numbers: HashMap<(String, Uuid), usize> = HashMap::new();
        let mut seen = HashSet::new();
        for topic in &mut request.topics {
            let next = topic_numbers.len();
            let number = *topic_numbers
                .entry((topic.topic.clone(), topic.topic_id))
                .or_insert(next);
            topic
                .partitions
                .retain(|wanted| seen.insert((number, wanted.partition)));
        }
        let names = request
            .topics
            .iter()
            .map(|t| {
                if version >= TOPIC_IDS_FROM {
                    broker
                        .topic_by_id(t.topic_id)
                        .map(|topic| topic.name.clone())
                } else {
                    Some(t.topic.clone())
                }
            })
            .collect();
        Named { request, names }
    }

    /// The partitions to read, looked up anew for each read of a fetch
    /// that waits, as they may move or go meanwhile.
    fn held(&self, broker: &Broker) -> Held {
        self.request
            .topics
            .iter()
            .zip(&self.names)
            .map(|(topic, name)| {
                let indexes = topic.partitions.iter().map(|wanted| wanted.partition);
                match name {
                    Some(name) => broker.partitions_at(name, indexes),
                    None => indexes
                        .map(|_| Err(error_codes::UNKNOWN_TOPIC_ID))
                        .collect(),
                }
            })
            .collect()
    }
}

/// Each requested partition, by topic in the request's order, or the
/// error code its answer carries.
type Held = Vec<Vec<Result<Arc<Partition>, i16>>>;

/// KIP-951 for the partitions refused because their leader moved.
fn point_to_leaders(
    broker: &Broker,
    named: &Named,
    mut response: FetchResponse,
    version: i16,
) -> FetchResponse {
    let mut hints = LeaderHints::default();
    for (topic, name) in response.responses.iter_mut().zip(&named.names) {
        let Some(name) = name else { continue };
        for partition in &mut topic.partitions {
            if !leadership_moved(partition.error_code) {
                continue;
            }
            if let Some((leader_id, leader_epoch)) =
                hints.leader_of(broker, name, partition.partition_index)
            {
                partition.current_leader = LeaderIdAndEpoch {
                    leader_id,
                    leader_epoch,
                    ..Default::default()
                };
            }
        }
    }
    if version >= NODE_ENDPOINTS_FROM {
        response.node_endpoints = hints
            .endpoints(broker)
            .into_iter()
            .map(|b| NodeEndpoint {
                node_id: b.id,
                host: b.host,
                port: b.port,
                rack: None,
                ..Default::default()
            })
            .collect();
    }
    response
}

/// [`read_once`] on the blocking pool, as reads are file I/O; on this
/// thread when there is nothing to read from the files ([`caught_up`]).
async fn read(
    broker: &Broker,
    cap: usize,
    request: &Arc<Named>,
    waiter: Option<&Arc<Notify>>,
) -> (FetchResponse, usize) {
    let held = request.held(broker);
    if caught_up(request, &held) {
        return read_once(cap, request, &held, waiter);
    }
    let (request, waiter) = (request.clone(), waiter.cloned());
    match tokio::task::spawn_blocking(move || read_once(cap, &request, &held, waiter.as_ref()))
        .await
    {
        Ok(result) => result,
        Err(e) => {
            tracing::error!("fetch read task failed: {e}");
            (
                FetchResponse {
                    error_code: strom_protocol::error_codes::UNKNOWN_SERVER_ERROR,
                    ..Default::default()
                },
                0,
            )
        }
    }
}

/// Whether a consumer's fetch asks only for partitions it has read to
/// their high watermark: the usual fetch of a consumer at the tail, which
/// parks until data comes. Such a read answers from memory, so it runs on
/// the async worker rather than paying a blocking thread's two wake-ups.
/// (An append that lands between this check and the read makes that read
/// copy the new batch: data just written, from the page cache.)
fn caught_up(named: &Named, held: &Held) -> bool {
    if fetching_replica(&named.request) >= 0 {
        return false;
    }
    named.request.topics.iter().zip(held).all(|(topic, held)| {
        topic
            .partitions
            .iter()
            .zip(held)
            .all(|(wanted, partition)| {
                partition
                    .as_ref()
                    .is_ok_and(|p| wanted.fetch_offset == p.log.high_watermark())
            })
    })
}

/// The broker id of the follower sending the fetch, or a negative id for
/// a consumer (the field moved into `ReplicaState` in v15).
pub(crate) fn fetching_replica(request: &FetchRequest) -> i32 {
    if request.replica_id != CONSUMER {
        request.replica_id
    } else {
        request.replica_state.replica_id
    }
}

/// `replica_id` of a fetch from a consumer.
const CONSUMER: i32 = -1;

/// One pass over every requested partition; returns the response and the
/// number of record bytes in it.
fn read_once(
    cap: usize,
    named: &Named,
    held: &Held,
    waiter: Option<&Arc<Notify>>,
) -> (FetchResponse, usize) {
    let request = &named.request;
    let mut budget = (request.max_bytes.max(0) as usize).min(cap);
    let replica = fetching_replica(request);
    let mut total = 0usize;
    let mut responses = Vec::with_capacity(request.topics.len());
    for ((topic, name), held) in request.topics.iter().zip(&named.names).zip(held) {
        let mut answered = Vec::with_capacity(topic.partitions.len());
        for (wanted, partition) in topic.partitions.iter().zip(held) {
            // KIP-74: the first partition with data returns at least one whole
            // batch even when it exceeds the limits, so consumers never stall.
            let read = Read {
                budget,
                min_one: total == 0,
                replica,
                waiter,
            };
            let data = match (name, partition) {
                (Some(name), Ok(partition)) => read_partition(partition, name, wanted, read),
                (_, Err(code)) => refused(wanted.partition, *code),
                (None, Ok(_)) => refused(wanted.partition, error_codes::UNKNOWN_TOPIC_ID),
            };
            let len = served_bytes(&data);
            budget = budget.saturating_sub(len);
            total += len;
            answered.push(data);
        }
        responses.push(FetchableTopicResponse {
            topic: topic.topic.clone(),
            topic_id: topic.topic_id,
            partitions: answered,
            ..Default::default()
        });
    }
    let response = FetchResponse {
        responses,
        ..Default::default()
    };
    (response, total)
}

/// How one partition is read within a fetch.
struct Read<'a> {
    /// Bytes the response may still take.
    budget: usize,
    /// Return a whole first batch even past the budget (KIP-74).
    min_one: bool,
    /// [`fetching_replica`].
    replica: i32,
    /// Registered with the partition before it is read, if the fetch may
    /// wait for data.
    waiter: Option<&'a Arc<Notify>>,
}

/// A partition's answer carrying only `error_code`.
pub(crate) fn refused(partition_index: i32, error_code: i16) -> PartitionData {
    PartitionData {
        partition_index,
        error_code,
        high_watermark: -1,
        last_stable_offset: -1,
        log_start_offset: -1,
        preferred_read_replica: -1,
        aborted_transactions: None,
        records: Some(Bytes::new()),
        ..Default::default()
    }
}

fn read_partition(
    partition: &Partition,
    topic: &str,
    wanted: &FetchPartition,
    read: Read<'_>,
) -> PartitionData {
    let mut data = refused(wanted.partition, error_codes::NONE);
    (
        data.current_leader.leader_id,
        data.current_leader.leader_epoch,
    ) = partition.leader_and_epoch();
    if let Err(e) = partition.check_leader(wanted.current_leader_epoch) {
        data.error_code = e.kafka_error_code();
        return data;
    }
    let log = &partition.log;
    // A consumer reads up to the high watermark; a follower up to the log
    // end, and its fetch offset tells the leader how far it has come.
    if read.replica >= 0 {
        if let Err(e) = partition.record_follower_fetch(read.replica, wanted.fetch_offset, now_ms())
        {
            data.error_code = e.kafka_error_code();
            return data;
        }
    }
    if let Some(waiter) = read.waiter {
        if read.replica >= 0 {
            partition.wake_on_append(waiter);
        } else {
            partition.wake_on_new_data(waiter);
        }
    }
    // Read after registering (and after the follower's fetch may have
    // moved the high watermark).
    let offsets = log.offsets();
    let visible_end = if read.replica >= 0 {
        offsets.log_end
    } else {
        offsets.high_watermark
    };
    data.high_watermark = offsets.high_watermark;
    data.last_stable_offset = offsets.high_watermark;
    data.log_start_offset = offsets.log_start;

    let max_bytes = (wanted.partition_max_bytes.max(0) as usize).min(read.budget);
    if max_bytes == 0 && !read.min_one {
        return data;
    }
    let place = (topic, wanted.partition);
    match read_records(
        log,
        place,
        wanted.fetch_offset,
        max_bytes,
        (visible_end, offsets.log_end),
        read.min_one,
    ) {
        Ok(Served::Memory(records)) => data.records = Some(records),
        Ok(Served::Held(records)) => data.held_records = Some(records),
        Err(e) => {
            data.error_code = e.kafka_error_code();
            if data.error_code == error_codes::KAFKA_STORAGE_ERROR {
                tracing::error!(topic, partition = wanted.partition, "fetch failed: {e}");
            }
        }
    }
    data
}

/// The record bytes a partition's answer carries, in one buffer or where
/// the broker holds them.
pub(crate) fn served_bytes(data: &PartitionData) -> usize {
    match &data.held_records {
        Some(held) => held.len(),
        None => data.records.as_ref().map_or(0, Bytes::len),
    }
}

/// Reads at least this large are sent from where they lie: from the
/// segment files with `sendfile` (the broker reads them only through a
/// small window, to find their batches and check their CRCs), or from the
/// tail cache's pieces without joining them. Smaller ones are copied,
/// which takes fewer system calls.
const SEND_AS_HELD_MIN: u64 = strom_protocol::splice::SPLICE_MIN_BYTES as u64;

/// Record data for an answer: in one buffer, or where the broker holds
/// it (segment files, the tail cache's pieces), to be sent from there.
enum Served {
    Memory(Bytes),
    Held(strom_protocol::splice::HeldBytes),
}

thread_local! {
    /// Where reads are checked a window at a time (see
    /// `Log::read_checked`), one per thread reading.
    static VERIFY_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn read_records(
    log: &strom_storage::Log,
    place: (&str, i32),
    offset: i64,
    max_bytes: usize,
    (visible_end, log_end): (i64, i64),
    min_one: bool,
) -> Result<Served, StorageError> {
    // Offsets between the visible end (a consumer's high watermark, a
    // follower's log end) and the log end exist but are not readable by
    // this fetcher yet: an empty answer, not an error.
    if offset >= visible_end && offset <= log_end {
        // A reader waiting here reads the next appends: worth keeping.
        log.note_tail_read();
        return Ok(Served::Memory(Bytes::new()));
    }
    let max_bytes = u32::try_from(max_bytes).unwrap_or(u32::MAX);
    let mut from = offset;
    loop {
        let (read, intact) = read_checked(log, from, max_bytes, visible_end, min_one)?;
        if intact && read.total_len() >= SEND_AS_HELD_MIN {
            return Ok(Served::Held(read.held_bytes()));
        }
        if intact {
            // Checked already: copied without a second check.
            return Ok(Served::Memory(read.read_bytes()?));
        }
        if read.total_len() > u64::from(max_bytes) && read.base_offset_fixes.is_empty() {
            // Only KIP-74's first batch makes a read longer than
            // `max_bytes`, and this one failed its CRC check. Its length
            // came from the file and may be what was damaged (up to the
            // rest of the segment), so only its header is read, to step
            // past it.
            let next = read
                .read_head(BATCH_HEADER_LEN)?
                .get(..BATCH_HEADER_LEN)
                .and_then(|head| BatchHeader::parse(head).ok())
                .map(|header| {
                    report_damaged_batch(log, place, &header);
                    header.last_offset().saturating_add(1)
                });
            match next {
                Some(next) if next > from && next < visible_end => {
                    from = next;
                    continue;
                }
                _ => return Ok(Served::Memory(Bytes::new())),
            }
        }
        match without_damaged_batches(read.read_bytes()?, log, place) {
            // Only damaged batches: read on past them, so a consumer is
            // not stuck asking for them again.
            Intact::None { next } if next > from && next < visible_end => from = next,
            Intact::None { .. } => return Ok(Served::Memory(Bytes::new())),
            Intact::Some(records) => return Ok(Served::Memory(records)),
        }
    }
}

/// [`strom_storage::Log::read_checked`] through this thread's scratch
/// buffer, which keeps no more than one window between reads.
fn read_checked(
    log: &strom_storage::Log,
    from: i64,
    max_bytes: u32,
    visible_end: i64,
    min_one: bool,
) -> Result<(strom_storage::LogReadResult, bool), StorageError> {
    VERIFY_SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let read = log.read_checked(from, max_bytes, visible_end, min_one, &mut scratch);
        if scratch.capacity() as u64 > strom_storage::VERIFY_WINDOW {
            *scratch = Vec::new();
        }
        read
    })
}

/// The batches of a read that may be served.
enum Intact {
    Some(Bytes),
    /// All were damaged; `next` is the offset after the last of them.
    None {
        next: i64,
    },
}

/// Logs a batch that is not served because its CRC does not match (at
/// most once every 10 s: a damaged spot is met by every reader).
fn report_damaged_batch(log: &strom_storage::Log, place: (&str, i32), header: &BatchHeader<'_>) {
    static LAST_LOGGED_MS: AtomicI64 = AtomicI64::new(0);
    if strom_storage::once_every(&LAST_LOGGED_MS, 10_000) {
        tracing::error!(
            topic = place.0,
            partition = place.1,
            dir = %log.dir().display(),
            "damaged batch (CRC32C mismatch) at offsets {}..{} is not served; consumers skip it. `strom storage check` shows every damaged spot",
            header.base_offset(),
            header.last_offset()
        );
    }
}

/// Drops batches whose CRC32C does not match (data damaged on disk after
/// it was written), so a consumer gets the batches around them (an offset
/// gap) instead of bytes it must refuse forever. Reads that are intact,
/// the usual case, come back untouched; the check runs on bytes already
/// copied for the response.
fn without_damaged_batches(records: Bytes, log: &strom_storage::Log, place: (&str, i32)) -> Intact {
    let mut kept: Option<BytesMut> = None;
    let mut next = -1;
    let mut at = 0;
    for batch in batches(records.clone()).map_while(Result::ok) {
        let len = batch.as_bytes().len();
        if batch.verify_crc().is_ok() {
            if let Some(kept) = kept.as_mut() {
                kept.extend_from_slice(batch.as_bytes());
            }
        } else {
            let header = batch.header();
            report_damaged_batch(log, place, &header);
            kept.get_or_insert_with(|| BytesMut::from(&records[..at]));
            next = header.last_offset().saturating_add(1);
        }
        at += len;
    }
    match kept {
        None => Intact::Some(records),
        Some(kept) if kept.is_empty() => Intact::None { next },
        Some(kept) => Intact::Some(kept.freeze()),
    }
}
