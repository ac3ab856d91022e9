//! The consumer: partitions either assigned by hand (`assign`, `seek`) or
//! by the consumer group (`subscribe`, in `consumer/subscription.rs`;
//! `subscribe_pattern`, in `consumer/pattern.rs`), read with `poll`.
//!
//! Fetching is in `consumer/fetcher.rs`: Fetch requests to every leader at
//! once, sent again before `poll` returns so the next records arrive while
//! the application works, and decoded lazily, only as far as `poll`
//! returns records. As in Java, a partition's position is the offset of the
//! next record `poll` returns; `position` and commits use it. The struct
//! keeps the assignment and positions separate from how they were chosen.
//!
//! With group.id set, offsets are committed to the group (`consumer/commit.rs`):
//! by hand (`commit_sync`, `commit_async`) or every auto.commit.interval.ms
//! (enable.auto.commit).

mod assignors;
mod commit;
mod fetcher;
mod group;
mod handle;
mod heartbeat;
mod member_data;
mod pattern;
mod rebalance_context;
mod start;
mod stats;
mod sticky;
mod subscription;
#[cfg(test)]
mod test_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::admin::{AdminClient, OffsetSpec};
use crate::callbacks::CallbackQueue;
use crate::cluster::Cluster;
use crate::config::{ClientConfig, OffsetReset};
use crate::error::{ClientError, Result};
pub use crate::TopicPartition;
use assignors::Assignor;
use fetcher::Fetcher;
use group::GroupCoordinator;
use strom_protocol::error_codes::OFFSET_OUT_OF_RANGE;
use subscription::Callbacks;

pub use commit::CommitFuture;
pub use handle::Consumer;
pub use rebalance_context::{RebalanceCallback, RebalanceContext, RebalanceEvent};
pub use start::StartOffset;

/// A record as the consumer returns it; owned. The records of one
/// partition share their topic name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The leader epoch stamped on the record's batch (`None` for batches
    /// written without one, e.g. by old brokers).
    pub leader_epoch: Option<i32>,
}

/// Decoded record headers as the client's records carry them: keys as
/// text (lossily: Kafka allows any bytes), values as they are.
pub(crate) fn header_pairs(
    headers: Vec<strom_protocol::records::RecordHeader>,
) -> Vec<(String, Option<Bytes>)> {
    headers
        .into_iter()
        .map(|h| (String::from_utf8_lossy(&h.key).into_owned(), h.value))
        .collect()
}

pub(crate) struct ConsumerState {
    cluster: Cluster,
    admin: AdminClient,
    /// Assigned partitions and their position: the offset of the next
    /// record `poll` returns, which is also what commits commit (`None`:
    /// to be looked up by the next poll, per a `seek_to_beginning` /
    /// `seek_to_end` or else auto.offset.reset).
    positions: BTreeMap<TopicPartition, Option<i64>>,
    /// Offsets stored by `store_offsets` (enable.auto.offset.store=false):
    /// what commits without offsets commit.
    stored_offsets: BTreeMap<TopicPartition, i64>,
    /// Fetches in flight and fetched data not yet returned by `poll`.
    fetcher: Fetcher,
    /// Ends of partitions reached, not yet taken (enable.partition.eof).
    partition_eofs: Vec<(TopicPartition, i64)>,
    /// Where `seek_to_beginning` / `seek_to_end` asked a partition whose
    /// position is `None` to start; looked up by the next poll.
    pending_resets: BTreeMap<TopicPartition, OffsetSpec>,
    /// auto.offset.reset per topic (librdkafka's topic-level setting,
    /// kafkajs's `fromBeginning` per subscribe): the last entry matching a
    /// topic wins over the consumer-wide setting.
    topic_resets: Vec<(pattern::TopicMatcher, OffsetReset)>,
    /// The group of group.id, when set.
    group: Option<GroupCoordinator>,
    /// Subscribed topics, sorted; empty when partitions are assigned by hand.
    subscription: Vec<String>,
    /// With `subscribe_pattern`: the pattern that `subscription` follows.
    pattern: Option<pattern::PatternSubscription>,
    assignors: Vec<Assignor>,
    callbacks: Callbacks,
    /// Assigned partitions `poll` neither fetches nor returns for now.
    paused: BTreeSet<TopicPartition>,
    /// The queue that runs commits one after another, started by the first
    /// `commit_async`; `None` until then.
    commit_queue: Option<commit::CommitQueue>,
    next_auto_commit: Instant,
    /// When the leader next asks about subscribed topics its assignment
    /// found missing (one being created appears within a second, not at
    /// the next metadata.max.age.ms refresh).
    next_missing_topics_check: Instant,
    /// A rebalance callback queued a commit that the next rejoin or
    /// LeaveGroup must wait for.
    commits_before_rejoin: bool,
    /// Where commit callbacks go to be served on a thread of the
    /// application's choosing; `None`: they run on a client task.
    callback_queue: Option<CallbackQueue>,
    /// Until when a blocking caller's poll may hand out records already
    /// fetched without looking after the group first ([`Self::poll_ready`]).
    maintained_until: Instant,
    closed: bool,
    /// Rebalance events (assignments, revocations, losses) so far, and
    /// when the last one was (the statistics' `rebalance_cnt` and
    /// `rebalance_age`).
    rebalances: u64,
    last_rebalance: Option<Instant>,
}

/// How long after the group was looked after (rebalance, auto commit,
/// pattern and metadata checks) a poll may skip doing it again: short
/// next to any rebalance or commit interval, long next to handing out one
/// record.
const MAINTENANCE_SLACK: Duration = Duration::from_millis(1);

impl ConsumerState {
    pub(crate) async fn new(
        config: ClientConfig,
        callback_queue: Option<CallbackQueue>,
    ) -> Result<ConsumerState> {
        let group = config
            .group_id
            .clone()
            .map(|group_id| (group_id, config.group_instance_id.clone()));
        let next_auto_commit = Instant::now() + config.auto_commit_interval;
        let cluster = Cluster::connect(config).await?;
        Ok(ConsumerState {
            admin: AdminClient::from_cluster(cluster.clone()),
            group: group.map(|(group_id, instance_id)| {
                GroupCoordinator::new(cluster.clone(), group_id, instance_id)
            }),
            fetcher: Fetcher::new(cluster.clone()),
            partition_eofs: Vec::new(),
            cluster,
            positions: BTreeMap::new(),
            stored_offsets: BTreeMap::new(),
            pending_resets: BTreeMap::new(),
            topic_resets: Vec::new(),
            subscription: Vec::new(),
            pattern: None,
            assignors: Vec::new(),
            callbacks: Callbacks::default(),
            paused: BTreeSet::new(),
            commit_queue: None,
            next_auto_commit,
            next_missing_topics_check: Instant::now(),
            commits_before_rejoin: false,
            callback_queue,
            maintained_until: Instant::now(),
            closed: false,
            rebalances: 0,
            last_rebalance: None,
        })
    }

    /// Replaces the assignment. New partitions start per auto.offset.reset
    /// unless `seek` sets a position; partitions that stay keep theirs.
    pub(crate) fn assign(&mut self, partitions: &[TopicPartition]) {
        let old = std::mem::take(&mut self.positions);
        for tp in partitions {
            let position = old.get(tp).copied().flatten();
            self.positions.insert(tp.clone(), position);
        }
        // Fetched data, pauses and pending resets stay only for partitions
        // still assigned.
        let positions = &self.positions;
        self.fetcher.retain(|key| positions.contains_key(key));
        self.paused.retain(|key| positions.contains_key(key));
        self.pending_resets
            .retain(|key, _| positions.contains_key(key));
        self.stored_offsets
            .retain(|key, _| positions.contains_key(key));
    }

    pub(crate) fn assignment(&self) -> Vec<TopicPartition> {
        self.positions.keys().cloned().collect()
    }

    /// Sets the next offset `poll` returns for an assigned partition.
    /// Records already fetched from another offset are dropped.
    pub(crate) fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        let position = self.positions.get_mut(tp).ok_or_else(|| not_assigned(tp))?;
        if *position != Some(offset) {
            *position = Some(offset);
            self.fetcher.retain(|fetched| fetched != tp);
        }
        self.pending_resets.remove(tp);
        Ok(())
    }

    /// Moves assigned partitions (all of them when `partitions` is empty,
    /// as in Java) to their first offset (`OffsetSpec::Earliest`) or end
    /// (`OffsetSpec::Latest`, the offset the next record produced gets).
    /// Lazy, as in Java: the offset is looked up by the next `poll`, and
    /// `position` is `None` until then. Fails, changing nothing, if a
    /// partition is not assigned.
    pub(crate) fn seek_to(
        &mut self,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<()> {
        let keys: Vec<TopicPartition> = if partitions.is_empty() {
            self.positions.keys().cloned().collect()
        } else {
            if let Some(tp) = partitions
                .iter()
                .find(|tp| !self.positions.contains_key(*tp))
            {
                return Err(not_assigned(tp));
            }
            partitions.to_vec()
        };
        for key in keys {
            self.fetcher.retain(|fetched| *fetched != key);
            self.positions.insert(key.clone(), None);
            self.pending_resets.insert(key, spec);
        }
        Ok(())
    }

    /// The offset of the next record `poll` returns for an assigned
    /// partition: the last record it returned plus one (or the offset set
    /// by `seek`, the committed offset, or the reset offset). `None` until
    /// known: after `seek_to_beginning`/`seek_to_end` or for a new
    /// partition without a committed offset, the next `poll` looks it up.
    pub(crate) fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.positions.get(tp).copied().flatten()
    }

    /// Stops returning records of the given assigned partitions, and
    /// fetching more of them, until `resume`. Records already fetched are
    /// kept (as in Java) and returned after `resume`; the position does not
    /// move meanwhile. Unassigned partitions are ignored. A rebalance
    /// forgets the pauses of the partitions it takes away.
    pub(crate) fn pause(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            if self.positions.contains_key(tp) {
                self.paused.insert(tp.clone());
            }
        }
    }

    pub(crate) fn resume(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.paused.remove(tp);
        }
    }

    /// The paused partitions, sorted.
    pub(crate) fn paused(&self) -> Vec<TopicPartition> {
        self.paused.iter().cloned().collect()
    }

    /// The log start offset (-1: not told) and high watermark of each
    /// partition as its last fetch response told them (`None` before one).
    pub(crate) fn fetched_watermarks(
        &self,
        partitions: &[TopicPartition],
    ) -> Vec<Option<(i64, i64)>> {
        partitions
            .iter()
            .map(|tp| self.fetcher.watermarks(tp))
            .collect()
    }

    /// Returns up to `max_records` records, waiting at most `timeout`
    /// for some to arrive. With `subscribe`, this is also where the
    /// consumer joins and rejoins its group and runs the rebalance
    /// callbacks; with auto commit, where offsets are committed.
    ///
    /// A rebalance does not hold `poll` beyond `timeout`: the JoinGroup /
    /// SyncGroup exchange runs in the background, `poll` returns (empty,
    /// or under the cooperative protocol with records of the partitions
    /// kept) when it is not done in time, and a later `poll` takes on the
    /// new assignment and runs the callbacks.
    ///
    /// Before it returns records, the next fetches are sent for every
    /// partition with nothing fetched left, so they run while the
    /// application works. Dropping the future (e.g. in `select!` or
    /// `timeout`) loses no record, no join result, and leaves the
    /// positions consistent.
    ///
    /// `step_aside` ends the wait for records early, with `None`: the
    /// handle's poll then lets a waiting call have the state (see
    /// `consumer/handle.rs`). It only ends waits, never work in progress
    /// (a commit, a rebalance step, an offset lookup), so a stream of
    /// calls cannot keep a poll from making progress.
    /// Keeps the ends of partitions just reached (enable.partition.eof);
    /// whether there were any.
    fn note_partition_eofs(&mut self) -> bool {
        if !self.cluster.config().enable_partition_eof {
            return false;
        }
        let ends = self.fetcher.partition_eofs(&self.positions, &self.paused);
        let reached = !ends.is_empty();
        self.partition_eofs.extend(ends);
        reached
    }

    /// The partition ends reached since the last call, with the offset of
    /// each (the next record written there gets it).
    pub(crate) fn take_partition_eofs(&mut self) -> Vec<(TopicPartition, i64)> {
        std::mem::take(&mut self.partition_eofs)
    }

    pub(crate) async fn poll(
        &mut self,
        timeout: Duration,
        max_records: usize,
        mut step_aside: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    ) -> Result<Option<Vec<ConsumerRecord>>> {
        if self.closed {
            return Err(ClientError::Closed { what: "consumer" });
        }
        let deadline = Instant::now() + timeout;
        let max_records = max_records.max(1);
        let retry_backoff = self.cluster.config().retry_backoff;
        loop {
            self.maintain_group().await?;
            self.maintained_until = Instant::now() + MAINTENANCE_SLACK;
            // From here to `return Ok(records)` nothing awaits, so a
            // dropped poll cannot lose records taken from the fetcher.
            self.fetcher.apply_arrived(&mut self.positions);
            let records =
                self.fetcher
                    .take_records(max_records, &mut self.positions, &self.paused)?;
            let reached_end = self.note_partition_eofs();
            if !records.is_empty() {
                self.fetcher.send_fetches(&self.positions, &self.paused);
                return Ok(Some(records));
            }
            if reached_end {
                // An end reached is news for the caller, as a record is.
                self.fetcher.send_fetches(&self.positions, &self.paused);
                return Ok(Some(Vec::new()));
            }
            if let Some(error) = self.fetcher.take_error() {
                return Err(error);
            }
            if self.positions.keys().all(|key| self.paused.contains(key)) {
                let subscribed = !self.subscription.is_empty() || self.pattern.is_some();
                let now = Instant::now();
                if now >= deadline || (!subscribed && self.positions.is_empty()) {
                    return Ok(Some(Vec::new()));
                }
                // Nothing to fetch: wait for a resume or, for a member with
                // no partitions, the next rebalance or the running join.
                tokio::select! {
                    () = tokio::time::sleep_until(deadline.min(now + retry_backoff)) => {}
                    () = group::running_join_ended(&mut self.group) => {}
                    () = step_aside.as_mut() => return Ok(None),
                }
                continue;
            }
            self.reset_unknown_positions().await?;
            self.fetcher
                .look_up_missing_leaders(&self.positions, &self.paused)
                .await?;
            self.fetcher.send_fetches(&self.positions, &self.paused);
            let now = Instant::now();
            if now >= deadline {
                return Ok(Some(Vec::new()));
            }
            // With nothing in flight (no leader yet, or backing off after
            // an error), look again after retry.backoff.ms.
            let wake = match (self.fetcher.is_fetching(), self.fetcher.next_retry()) {
                (_, Some(retry)) => retry.max(now),
                (true, None) => deadline,
                (false, None) => now + retry_backoff,
            };
            // A running join (cooperative: the kept partitions are fetched
            // meanwhile) ends the wait too, so its result is applied at once.
            tokio::select! {
                () = self.fetcher.wait_for_outcome(wake.min(deadline), &mut self.positions) => {}
                () = group::running_join_ended(&mut self.group) => {}
                () = step_aside.as_mut() => return Ok(None),
            }
        }
    }

    /// Records already fetched, taken without awaiting anything, for a
    /// blocking caller that hands out one record per call: only while the
    /// group was looked after less than [`MAINTENANCE_SLACK`] ago. `None`
    /// when the full `poll` must run (the group is due, nothing is
    /// fetched, the consumer is closed). The caller sends the next fetches
    /// ([`Self::send_fetches`]) when [`Self::fetches_due`] says so.
    pub(crate) fn poll_ready(&mut self, max_records: usize) -> Option<Result<Vec<ConsumerRecord>>> {
        if self.closed || Instant::now() >= self.maintained_until {
            return None;
        }
        self.fetcher.apply_arrived(&mut self.positions);
        let records =
            match self
                .fetcher
                .take_records(max_records.max(1), &mut self.positions, &self.paused)
            {
                Ok(records) => records,
                Err(error) => return Some(Err(error)),
            };
        if records.is_empty() {
            return None;
        }
        self.note_partition_eofs();
        Some(Ok(records))
    }

    /// Whether a partition waits for a fetch to be sent.
    pub(crate) fn fetches_due(&self) -> bool {
        self.fetcher.fetches_due(&self.positions, &self.paused)
    }

    /// Sends the fetches due (it spawns them: call it inside the runtime).
    pub(crate) fn send_fetches(&mut self) {
        self.fetcher.send_fetches(&self.positions, &self.paused);
    }

    /// A call changed the consumer: the next poll looks after the group
    /// before it hands out records.
    pub(crate) fn maintenance_due(&mut self) {
        self.maintained_until = Instant::now();
    }

    /// Looks up the positions that are `None`: per `seek_to_beginning` /
    /// `seek_to_end`, else per auto.offset.reset. Positions change only
    /// after the lookup has answered, so a dropped poll changes nothing.
    async fn reset_unknown_positions(&mut self) -> Result<()> {
        let positions = &self.positions;
        self.pending_resets
            .retain(|key, _| matches!(positions.get(key), Some(None)));
        let spec_of = |reset| match reset {
            OffsetReset::Earliest => Some(OffsetSpec::Earliest),
            OffsetReset::Latest => Some(OffsetSpec::Latest),
            OffsetReset::None => None,
        };
        let default_reset = self.cluster.config().auto_offset_reset;
        let mut queries: Vec<(TopicPartition, OffsetSpec)> = Vec::new();
        let mut without_reset: Vec<&TopicPartition> = Vec::new();
        for (key, position) in &self.positions {
            if position.is_some() {
                continue;
            }
            let reset = self
                .topic_resets
                .iter()
                .rev()
                .find(|(matcher, _)| matcher.matches(&key.topic))
                .map_or(default_reset, |(_, reset)| *reset);
            match self.pending_resets.get(key).copied().or(spec_of(reset)) {
                Some(spec) => queries.push((key.clone(), spec)),
                None => without_reset.push(key),
            }
        }
        if !without_reset.is_empty() {
            return Err(ClientError::kafka(
                OFFSET_OUT_OF_RANGE,
                format!(
                    "no position for {} and auto.offset.reset=none; call seek",
                    list(without_reset.iter().copied())
                ),
                None,
            ));
        }
        if queries.is_empty() {
            return Ok(());
        }
        let listed = self.admin.list_offsets(&queries).await?;
        for listed in listed {
            let key = listed.tp;
            if let Some(position @ None) = self.positions.get_mut(&key) {
                *position = Some(listed.offset);
            }
            self.pending_resets.remove(&key);
        }
        Ok(())
    }

    /// Forgets records fetched but not yet returned by `poll` for these
    /// partitions (for every partition with `None`), e.g. when a rebalance
    /// takes them away, and any `seek_to_beginning`/`seek_to_end` not yet
    /// looked up for them. Kept partitions are fetched again from their
    /// position; fetches in flight are dropped when they arrive unless the
    /// partition's position is still the offset they were sent for.
    pub(crate) fn discard_fetched(&mut self, partitions: Option<&[TopicPartition]>) {
        let Some(partitions) = partitions else {
            self.fetcher.retain(|_| false);
            self.pending_resets.clear();
            return;
        };
        let listed = |key: &TopicPartition| partitions.contains(key);
        self.fetcher.retain(|key| !listed(key));
        self.pending_resets.retain(|key, _| !listed(key));
    }
}

fn not_assigned(tp: &TopicPartition) -> ClientError {
    ClientError::InvalidArgument(format!(
        "{tp} is not assigned to this consumer: assign it, or subscribe and wait for the group to assign it"
    ))
}

/// `a[0], b[1]` for messages.
pub(crate) fn list<'a>(partitions: impl IntoIterator<Item = &'a TopicPartition>) -> String {
    let shown: Vec<String> = partitions.into_iter().map(ToString::to_string).collect();
    shown.join(", ")
}
