//! Replica fetchers: this broker follows partitions by fetching from their
//! leaders over the Kafka protocol, as a Kafka follower does (Fetch with
//! its broker id as `replica_id`). One task per leader broker fetches all
//! the partitions this broker follows from it.
//!
//! Before fetching a partition in a new leader epoch, the follower asks
//! the leader where its own latest epoch ends (OffsetForLeaderEpoch,
//! KIP-101/279) and truncates what the leader never had: records that
//! were never committed. Each fetch reports how far this replica's log is
//! durable (the fetch offset), which is what moves the leader's high
//! watermark.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rustls_pki_types::ServerName;
use strom_protocol::error_codes;
use strom_protocol::frame::{decode_response, encode_request, frame_length};
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use strom_protocol::messages::offset_for_leader_epoch_response::EpochEndOffset;
use strom_protocol::messages::{
    ApiKey, FetchRequest, OffsetForLeaderEpochRequest, Request, RequestHeader, Response,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use super::stall::StallReport;
use crate::error::PartitionError;
use crate::limits::DropGuard;
use crate::partition::Partition;
use crate::state::Broker;

const FETCH_VERSION: i16 = 12;
const EPOCH_VERSION: i16 = 4;
/// How long a fetcher waits before retrying a leader it cannot reach.
const RETRY: Duration = Duration::from_millis(200);
/// Largest response frame a fetcher reads.
const MAX_RESPONSE: usize = 128 * 1024 * 1024;
/// Time limit for reaching a leader (the TCP connection, then TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps one fetcher task per leader this broker follows partitions of,
/// started and stopped as leaderships change.
/// With `tls` (`security.inter.broker.protocol=SSL`), fetchers dial the
/// leaders' first listener over TLS and show this broker's certificate.
pub async fn run(broker: Weak<Broker>, tls: Option<Arc<rustls::ClientConfig>>) {
    let mut fetchers: HashMap<i32, JoinHandle<()>> = HashMap::new();
    loop {
        let Some(b) = broker.upgrade() else {
            return;
        };
        let changed = b.partitions.followers_changed().clone();
        let notified = changed.notified();
        let leaders: Vec<i32> = {
            let mut leaders: Vec<i32> = b
                .partitions
                .all()
                .iter()
                .map(|p| p.leadership().leader)
                .filter(|&leader| leader >= 0 && leader != b.node_id)
                .collect();
            leaders.sort_unstable();
            leaders.dedup();
            leaders
        };
        drop(b);
        fetchers.retain(|leader, task| {
            let keep = leaders.contains(leader) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for leader in leaders {
            fetchers
                .entry(leader)
                .or_insert_with(|| tokio::spawn(fetch_from(broker.clone(), leader, tls.clone())));
        }
        // Also look again now and then: a fetcher that stopped on an error
        // is restarted.
        let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
    }
}

/// The partitions this broker follows from `leader`, by topic and index.
pub(super) fn followed(broker: &Broker, leader: i32) -> BTreeMap<(String, i32), Arc<Partition>> {
    broker
        .partitions
        .all()
        .into_iter()
        .filter(|p| p.leadership().leader == leader)
        .map(|p| ((p.topic.clone(), p.index), p))
        .collect()
}

/// Fetches from `leader` until it leads nothing this broker follows.
async fn fetch_from(broker: Weak<Broker>, leader: i32, tls: Option<Arc<rustls::ClientConfig>>) {
    // The epoch each partition was last reconciled with the leader in.
    let mut reconciled: HashMap<(String, i32), i32> = HashMap::new();
    let stalls = StallReport::default();
    let watcher = tokio::spawn(stalls.clone().watch(broker.clone(), leader));
    // The watcher ends with its fetcher, however the fetcher ends.
    let _watcher = DropGuard(|| watcher.abort());
    loop {
        let Some(b) = broker.upgrade() else {
            return;
        };
        let endpoint = b
            .table()
            .broker(leader)
            .map(|info| (info.host.clone(), info.port));
        drop(b);
        let Some((host, port)) = endpoint else {
            stalls.failed(format!("broker {leader} is not in the cluster's metadata"));
            tokio::time::sleep(RETRY).await;
            continue;
        };
        stalls.waiting_for(Some("connect"));
        let connected = connect(&host, port, tls.as_ref()).await;
        stalls.waiting_for(None);
        match connected {
            Ok(stream) => {
                let mut peer = Peer {
                    stream,
                    correlation: 0,
                };
                let fetched =
                    fetch_loop(&broker, leader, &mut peer, &mut reconciled, &stalls).await;
                stalls.waiting_for(None);
                if let Err(e) = fetched {
                    tracing::debug!(leader, "replica fetcher: {e}");
                    stalls.failed(e);
                }
            }
            Err(e) => {
                if tls.is_some() {
                    tracing::warn!(leader, %host, port, "replica fetcher cannot connect: {e}")
                } else {
                    tracing::debug!(leader, %host, port, "replica fetcher cannot connect: {e}")
                }
                stalls.failed(format!("cannot connect to {host}:{port}: {e}"));
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn fetch_loop(
    broker: &Weak<Broker>,
    leader: i32,
    peer: &mut Peer,
    reconciled: &mut HashMap<(String, i32), i32>,
    stalls: &StallReport,
) -> Result<(), String> {
    loop {
        let Some(b) = broker.upgrade() else {
            return Ok(());
        };
        let node_id = b.node_id;
        let settings = b.config.settings().clone();
        let partitions = followed(&b, leader);
        drop(b);
        if partitions.is_empty() {
            return Ok(());
        }
        reconciled.retain(|key, _| partitions.contains_key(key));
        let stale: Vec<&Arc<Partition>> = partitions
            .iter()
            .filter(|(key, p)| reconciled.get(*key) != Some(&p.leadership().leader_epoch))
            .map(|(_, p)| p)
            .collect();
        if !stale.is_empty() {
            stalls.waiting_for(Some("OffsetForLeaderEpoch"));
            truncate_to_leader(peer, node_id, &stale, reconciled).await?;
            stalls.waiting_for(None);
            for p in &stale {
                let key = (p.topic.clone(), p.index);
                if reconciled.get(&key) != Some(&p.leadership().leader_epoch) {
                    stalls.partition_failed(
                        &key,
                        "the leader's OffsetForLeaderEpoch answer did not settle where the logs agree",
                    );
                }
            }
        }
        let fetchable: Vec<&Arc<Partition>> = partitions
            .iter()
            .filter(|(key, p)| reconciled.get(*key) == Some(&p.leadership().leader_epoch))
            .map(|(_, p)| p)
            .collect();
        if fetchable.is_empty() {
            tokio::time::sleep(RETRY).await;
            continue;
        }
        let request = fetch_request(node_id, &settings, &fetchable);
        stalls.waiting_for(Some("Fetch"));
        let answer = peer.call(Request::Fetch(request), FETCH_VERSION).await?;
        stalls.waiting_for(None);
        let Response::Fetch(response) = answer else {
            return Err("the leader answered Fetch with another API".into());
        };
        let mut refused = false;
        for topic in response.responses {
            for data in topic.partitions {
                let key = (topic.topic.clone(), data.partition_index);
                let Some(partition) = partitions.get(&key) else {
                    continue;
                };
                // The epoch this partition was fetched in: `reconciled`
                // does not change between the request and its response.
                let fetched_in = reconciled.get(&key).copied().unwrap_or(-1);
                match data.error_code {
                    error_codes::NONE => {
                        let records = data.records.unwrap_or_default();
                        match append(partition, records, data.high_watermark, fetched_in).await {
                            Ok(()) => stalls.fetched(&key),
                            Err(Appended::Stale(e)) => {
                                tracing::debug!(topic = %key.0, partition = key.1, "{e}");
                                stalls.partition_failed(&key, e.to_string());
                                reconciled.remove(&key);
                                refused = true;
                            }
                            Err(Appended::Failed(e)) => return Err(e),
                        }
                    }
                    code => {
                        // The leadership moved, or this log does not fit
                        // the leader's: reconcile again once metadata says
                        // who leads now.
                        tracing::debug!(topic = %key.0, partition = key.1, code, "replica fetch refused");
                        stalls.partition_failed(
                            &key,
                            format!("the leader refused a fetch with error code {code}"),
                        );
                        reconciled.remove(&key);
                        refused = true;
                    }
                }
            }
        }
        if refused {
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// Why [`append`] did not take a fetched answer.
enum Appended {
    /// The leadership moved on while the fetch was out: the answer is
    /// dropped and the partition reconciled with whoever leads now.
    Stale(PartitionError),
    /// The log refused it: this connection starts over.
    Failed(String),
}

/// Appends what the leader sent (keeping its offsets and epochs), waits
/// until it is durable here, then takes the leader's high watermark.
async fn append(
    partition: &Arc<Partition>,
    records: Bytes,
    leader_high_watermark: i64,
    fetched_in: i32,
) -> Result<(), Appended> {
    let failed = |e: &dyn std::fmt::Display| {
        Appended::Failed(format!("{}-{}: {e}", partition.topic, partition.index))
    };
    if !records.is_empty() {
        let target = partition.clone();
        let end = tokio::task::spawn_blocking(move || {
            let mut bytes = BytesMut::from(&records[..]);
            target.append_as_follower(&mut bytes, fetched_in)
        })
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| match e {
            PartitionError::StaleFetch { .. } | PartitionError::NotAFollower { .. } => {
                Appended::Stale(e)
            }
            other => failed(&other),
        })?;
        partition
            .log
            .wait_durable(end)
            .await
            .map_err(|e| failed(&e))?;
    }
    partition.follow_high_watermark(leader_high_watermark);
    Ok(())
}

fn fetch_request(
    node_id: i32,
    settings: &crate::config::BrokerSettings,
    partitions: &[&Arc<Partition>],
) -> FetchRequest {
    let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    for p in partitions {
        topics.entry(&p.topic).or_default().push(FetchPartition {
            partition: p.index,
            current_leader_epoch: p.leadership().leader_epoch,
            fetch_offset: p.log.log_end_offset(),
            last_fetched_epoch: p.log.latest_epoch().unwrap_or(-1),
            log_start_offset: p.log.log_start_offset(),
            partition_max_bytes: settings.replica_fetch_max_bytes,
            ..Default::default()
        });
    }
    FetchRequest {
        replica_id: node_id,
        max_wait_ms: settings.replica_fetch_wait_max_ms,
        min_bytes: 1,
        max_bytes: settings.fetch_max_bytes,
        isolation_level: 0,
        session_id: 0,
        session_epoch: -1,
        topics: topics
            .into_iter()
            .map(|(topic, partitions)| FetchTopic {
                topic: topic.to_string(),
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Asks the leader where each partition's latest local epoch ends and
/// drops whatever this log holds past that point.
async fn truncate_to_leader(
    peer: &mut Peer,
    node_id: i32,
    partitions: &[&Arc<Partition>],
    reconciled: &mut HashMap<(String, i32), i32>,
) -> Result<(), String> {
    let mut by_topic: BTreeMap<&str, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
    for p in partitions {
        by_topic
            .entry(&p.topic)
            .or_default()
            .push(OffsetForLeaderPartition {
                partition: p.index,
                current_leader_epoch: p.leadership().leader_epoch,
                leader_epoch: p.log.latest_epoch().unwrap_or(-1),
                ..Default::default()
            });
    }
    let request = OffsetForLeaderEpochRequest {
        replica_id: node_id,
        topics: by_topic
            .into_iter()
            .map(|(topic, partitions)| OffsetForLeaderTopic {
                topic: topic.to_string(),
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let Response::OffsetForLeaderEpoch(response) = peer
        .call(Request::OffsetForLeaderEpoch(request), EPOCH_VERSION)
        .await?
    else {
        return Err("the leader answered OffsetForLeaderEpoch with another API".into());
    };
    for topic in response.topics {
        for answer in topic.partitions {
            let Some(partition) = partitions
                .iter()
                .find(|p| p.topic == topic.topic && p.index == answer.partition)
            else {
                continue;
            };
            if answer.error_code != error_codes::NONE {
                continue;
            }
            let epoch = partition.leadership().leader_epoch;
            let target = (*partition).clone();
            let (settled, cut) =
                tokio::task::spawn_blocking(move || cut_to_leader(&target.log, &answer))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            if let Some((from, to)) = cut {
                tracing::info!(
                    topic = %partition.topic,
                    partition = partition.index,
                    from,
                    to,
                    "truncated records the leader does not have"
                );
            }
            // Not settled: ask again next round, with the epoch our log
            // now ends in.
            if settled {
                reconciled.insert((partition.topic.clone(), partition.index), epoch);
            }
        }
    }
    Ok(())
}

/// Cuts `log` to where it agrees with the leader's `answer` to
/// OffsetForLeaderEpoch for the log's latest epoch. Returns whether the
/// logs agree now (if not, ask again with the epoch the log now ends in)
/// and, if records went, the log end before and after. Blocking: a cut
/// rewrites files.
fn cut_to_leader(
    log: &strom_storage::Log,
    answer: &EpochEndOffset,
) -> Result<(bool, Option<(i64, i64)>), strom_storage::StorageError> {
    let before = log.log_end_offset();
    // No epoch of ours is known to the leader (or our log is empty):
    // nothing to compare; an end of -1 means the same.
    let (end, agreed) = match log.latest_epoch() {
        Some(ours) if answer.end_offset >= 0 => divergence(log, ours, answer),
        _ => (before, true),
    };
    // Also when `end` is the log end: an epoch this broker began there as
    // leader and never wrote in goes (see `Log::truncate_to`). Kept, it
    // would be our latest epoch though the leader's records follow, and
    // every answer would send us back here: a follower that never
    // fetches again.
    log.truncate_to(end)?;
    let after = log.log_end_offset();
    Ok((agreed, (after < before).then_some((before, after))))
}

/// Where a follower's log must end, given the leader's answer for the
/// follower's latest epoch `ours` (KIP-101 with KIP-279's rule), and
/// whether the logs then agree. The leader answers with the largest epoch
/// it has at or below `ours` and where that epoch ends on its log. When
/// that epoch is older than ours, our log may hold the same offsets under
/// a later epoch of our own (a retried batch written by two leaders in
/// turn), so we end no later than our own end of the leader's epoch; if we
/// do not have that epoch either, we cut to where our older epoch ends and
/// ask again.
fn divergence(log: &strom_storage::Log, ours: i32, answer: &EpochEndOffset) -> (i64, bool) {
    if answer.leader_epoch < 0 || answer.leader_epoch >= ours {
        return (answer.end_offset, true);
    }
    match log.end_offset_for_epoch(answer.leader_epoch) {
        Some((epoch, own_end)) if epoch == answer.leader_epoch => {
            (answer.end_offset.min(own_end), true)
        }
        Some((_, own_end)) => (own_end, false),
        None => (answer.end_offset, true),
    }
}

/// A connection to a leader, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Dials a leader's first listener, over TLS when `tls` is set (the
/// leader's certificate must name `host`).
async fn connect(
    host: &str,
    port: i32,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> std::io::Result<Box<dyn Stream>> {
    let port = u16::try_from(port)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no such port"))?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port)))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connecting timed out"))??;
    stream.set_nodelay(true)?;
    let Some(tls) = tls else {
        return Ok(Box::new(stream));
    };
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let handshake = TlsConnector::from(tls.clone()).connect(name, stream);
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
        })??;
    Ok(Box::new(stream))
}

/// One connection to a leader's Kafka listener.
struct Peer {
    stream: Box<dyn Stream>,
    correlation: i32,
}

impl Peer {
    async fn call(&mut self, request: Request, version: i16) -> Result<Response, String> {
        self.correlation = self.correlation.wrapping_add(1);
        let api_key: ApiKey = request.api_key();
        let header = RequestHeader {
            request_api_key: api_key as i16,
            request_api_version: version,
            correlation_id: self.correlation,
            client_id: Some("strom-replica-fetcher".into()),
            ..Default::default()
        };
        let mut frame = BytesMut::new();
        encode_request(&header, &request, &mut frame).map_err(|e| e.to_string())?;
        let exchange = async {
            self.stream.write_all(&frame).await?;
            let mut prefix = [0u8; 4];
            self.stream.read_exact(&mut prefix).await?;
            let len = frame_length(prefix, MAX_RESPONSE)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
            let mut body = vec![0u8; len];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        };
        let body = tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .map_err(|_| "the leader did not answer within 30 s".to_string())?
            .map_err(|e| e.to_string())?;
        let (header, response) =
            decode_response(Bytes::from(body), api_key, version).map_err(|e| e.to_string())?;
        if header.correlation_id != self.correlation {
            return Err("the leader answered out of order".into());
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use strom_protocol::records::{CompressionType, RecordBatchBuilder};
    use strom_storage::{AppendOptions, Log, LogConfig};

    use super::*;

    /// A log with `records` records written in each of `epochs`, in turn.
    fn log_with(dir: &std::path::Path, epochs: &[(i32, usize)]) -> Log {
        let log = Log::open(dir, LogConfig::default()).expect("opens");
        for &(leader_epoch, records) in epochs {
            let mut builder = RecordBatchBuilder::new(CompressionType::None);
            for _ in 0..records {
                builder
                    .append(1_000, None, Some(b"v"), &[])
                    .expect("appends");
            }
            let mut batch = builder.build().expect("builds").to_vec();
            let options = AppendOptions {
                leader_epoch,
                log_append_time_ms: None,
            };
            log.append(&mut batch, options).expect("appends");
        }
        log
    }

    fn answer(leader_epoch: i32, end_offset: i64) -> EpochEndOffset {
        EpochEndOffset {
            leader_epoch,
            end_offset,
            ..Default::default()
        }
    }

    #[test]
    fn a_batch_written_again_by_a_later_leader_is_cut_back_to_where_the_logs_agree() {
        // Ours: epoch 7 up to 10, then our epoch 9 rewrote 10..20. The
        // leader never had 9: its epoch 8 holds 10..20.
        let dir = tempfile::tempdir().expect("tempdir");
        let log = log_with(dir.path(), &[(7, 10), (9, 10)]);
        // We do not have epoch 8 either: cut to the end of our 7, ask again.
        assert_eq!(divergence(&log, 9, &answer(8, 20)), (10, false));
        log.truncate_to(10).expect("truncates");
        assert_eq!(divergence(&log, 7, &answer(7, 10)), (10, true));
    }

    /// The follower's side of the exchange: asks `leader` where its own
    /// latest epoch ends, cuts, and repeats until the logs agree. The
    /// rounds it took.
    fn reconcile(leader: &Log, follower: &Log) -> usize {
        for round in 1..=5 {
            let ours = follower.latest_epoch().expect("an epoch");
            let (leader_epoch, end_offset) = leader.end_offset_for_epoch(ours).unwrap_or((-1, -1));
            let (agreed, _) =
                cut_to_leader(follower, &answer(leader_epoch, end_offset)).expect("cuts");
            if agreed {
                return round;
            }
        }
        panic!("no agreement in 5 rounds: the follower would never fetch again")
    }

    #[test]
    fn an_epoch_begun_as_leader_and_never_written_in_is_dropped_when_following() {
        // We led in epoch 8 from offset 5 but wrote nothing before the
        // other broker took over; its epoch 7 (which we never had) runs
        // from 5 to 8. Seen in a cluster test: kept, our epoch 8 sent us
        // back to offset 5 (our end already) round after round.
        let (leader_dir, follower_dir) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let leader = log_with(leader_dir.path(), &[(6, 5), (7, 3), (9, 2)]);
        let follower = log_with(follower_dir.path(), &[(6, 5)]);
        follower.begin_leader_epoch(8).expect("begins");
        assert_eq!(reconcile(&leader, &follower), 2);
        assert_eq!(follower.log_end_offset(), 5, "nothing of ours was cut");
        assert_eq!(follower.latest_epoch(), Some(6));

        // A leader that has no epoch as new as ours answers UNDEFINED: the
        // empty epoch goes too, or the leader's epoch 7 records would
        // follow it unrecorded in our epoch cache.
        let (leader_dir, follower_dir) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let leader = log_with(leader_dir.path(), &[(6, 5), (7, 3)]);
        let follower = log_with(follower_dir.path(), &[(6, 5)]);
        follower.begin_leader_epoch(8).expect("begins");
        assert_eq!(leader.end_offset_for_epoch(8), None);
        assert_eq!(reconcile(&leader, &follower), 1);
        assert_eq!(follower.latest_epoch(), Some(6));
        assert_eq!(follower.log_end_offset(), 5);
    }

    #[test]
    fn records_the_leader_never_had_are_cut() {
        let (leader_dir, follower_dir) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let leader = log_with(leader_dir.path(), &[(6, 5), (8, 2)]);
        let follower = log_with(follower_dir.path(), &[(6, 5), (7, 4)]);
        let (agreed, cut) = cut_to_leader(&follower, &answer(6, 5)).expect("cuts");
        assert!(agreed);
        assert_eq!(cut, Some((9, 5)));
        assert_eq!(reconcile(&leader, &follower), 1);
        assert_eq!(follower.log_end_offset(), 5);
    }

    #[test]
    fn a_shared_older_epoch_ends_where_the_first_of_us_ends_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = log_with(dir.path(), &[(7, 10), (8, 5), (9, 5)]);
        // The leader's epoch 8 runs to 18, ours to 15: cut at 15.
        assert_eq!(divergence(&log, 9, &answer(8, 18)), (15, true));
        // The leader has our latest epoch: its end is the answer.
        assert_eq!(divergence(&log, 9, &answer(9, 17)), (17, true));
    }
}
