//! One partition as this broker holds it: its log and its place in the
//! replica set (leader or follower, leader epoch, replicas, ISR), and the
//! high watermark that follows from them. Handlers ask a `Partition`; they
//! never compute its state (Kafka's `cluster.Partition`: `makeLeader`,
//! `makeFollower`, `appendRecordsToLeader`, `maybeIncrementLeaderHW`).
//!
//! Fetches that wait for data register with the partitions they read and
//! are woken when the high watermark of one of them moves, not by appends
//! anywhere else.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use strom_storage::{AppendBytes, AppendOptions, AppendOutcome, Log};
use tokio::sync::Notify;

use crate::clock::now_ms;
use crate::config::EffectiveTopicConfig;
use crate::error::PartitionError;
use crate::followers::Followers;
use crate::metrics::Traffic;

/// Kafka's "no epoch given" (`RecordBatch.NO_PARTITION_LEADER_EPOCH`): a
/// request that sends it skips the leader-epoch check.
pub const NO_LEADER_EPOCH: i32 = -1;

/// Who leads the partition, in which epoch, and who replicates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leadership {
    /// Node id of the leader; -1 while there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    /// Every assigned replica, the preferred leader first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas: those an `acks=all` write waits for.
    pub isr: Vec<i32>,
}

pub struct Partition {
    pub topic: String,
    pub index: i32,
    pub log: Log,
    /// This broker's node id.
    local: i32,
    leadership: RwLock<Leadership>,
    /// While leading: how far each follower has fetched.
    followers: Mutex<Followers>,
    /// This broker's log end as far as it counts toward the high
    /// watermark: durable, under the fsync policy.
    local_end: AtomicI64,
    /// Serialises high-watermark advances: the log's setter is not
    /// monotonic, and two writes finishing together must not move it back.
    high_watermark_advance: Mutex<()>,
    waiting_fetches: Mutex<FetchWaiters>,
    /// Followers' fetches, woken when the log end moves.
    waiting_replicas: Mutex<FetchWaiters>,
    /// `replica.lag.time.max.ms`: an in-sync follower not caught up for
    /// this long does not count toward `min.insync.replicas`.
    max_lag_ms: AtomicI64,
    /// What producers wrote and consumers read here, for the metrics.
    pub traffic: Traffic,
    /// The topic's settings after overrides and broker defaults, resolved
    /// when the partition opens and again when they change, rather than
    /// parsed anew by every produce.
    topic_config: RwLock<Arc<EffectiveTopicConfig>>,
}

impl Partition {
    /// A partition whose log is open but which neither leads nor follows
    /// until [`Partition::make_leader`] or [`Partition::make_follower`].
    pub fn new(
        topic: &str,
        index: i32,
        log: Log,
        local: i32,
        topic_config: EffectiveTopicConfig,
    ) -> Partition {
        Partition {
            topic: topic.to_string(),
            index,
            log,
            local,
            leadership: RwLock::new(Leadership {
                leader: -1,
                leader_epoch: NO_LEADER_EPOCH,
                replicas: Vec::new(),
                isr: Vec::new(),
            }),
            followers: Mutex::new(Followers::default()),
            local_end: AtomicI64::new(0),
            high_watermark_advance: Mutex::new(()),
            waiting_fetches: Mutex::new(FetchWaiters::default()),
            waiting_replicas: Mutex::new(FetchWaiters::default()),
            max_lag_ms: AtomicI64::new(30_000),
            traffic: Traffic::default(),
            topic_config: RwLock::new(Arc::new(topic_config)),
        }
    }

    /// [`Partition::new`] for a topic with the built-in settings.
    #[cfg(test)]
    pub(crate) fn with_default_config(topic: &str, index: i32, log: Log, local: i32) -> Partition {
        let broker = crate::config::BrokerConfig::from_pairs(&[]).expect("the defaults are valid");
        let topic_config = crate::config::TopicConfigs::default().effective(&broker);
        Partition::new(topic, index, log, local, topic_config)
    }

    /// The topic's effective settings, as of its last change.
    pub fn topic_config(&self) -> Arc<EffectiveTopicConfig> {
        self.topic_config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The topic's settings changed.
    pub fn set_topic_config(&self, config: EffectiveTopicConfig) {
        *self.topic_config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
    }

    /// This broker leads the partition from `leader_epoch` on. Records
    /// written from now on carry that epoch, which starts at the log end
    /// in the leader-epoch cache at once (Kafka's `makeLeader`), not at
    /// the first write: a follower asking where its own newer-looking
    /// epoch ends (OffsetForLeaderEpoch) before then would otherwise get
    /// UNDEFINED and keep records this leader does not have. Seen: a
    /// batch the last leader wrote in epoch 7, retried by the producer
    /// and written again by this one at the same offset in epoch 8, stayed
    /// on the followers with epoch 7 (same offsets and records, another
    /// leader epoch in its header and their epoch caches).
    pub fn make_leader(&self, leader_epoch: i32, replicas: Vec<i32>, isr: Vec<i32>) {
        if let Err(e) = self.log.begin_leader_epoch(leader_epoch) {
            // Only a closed log refuses it, and refuses every write too.
            tracing::error!(topic = %self.topic, partition = self.index, leader_epoch, "cannot record the new leader epoch: {e}");
        }
        let followers = replicas.iter().copied().filter(|&id| id != self.local);
        self.lock_followers().reset(followers, now_ms());
        *self.leadership.write().unwrap_or_else(|e| e.into_inner()) = Leadership {
            leader: self.local,
            leader_epoch,
            replicas,
            isr,
        };
        // The log as recovered is this leader's: once the ISR has caught
        // up to it, it is committed. With this broker as the whole ISR
        // that is at once; a high watermark restored from the last clean
        // checkpoint would otherwise hide writes acknowledged after it.
        self.local_end
            .store(self.log.log_end_offset(), Ordering::Release);
        self.maybe_advance_high_watermark();
        self.wake_waiters();
    }

    /// Another broker leads the partition in `leader_epoch`; this one
    /// serves no produce and no consumer fetch for it.
    pub fn make_follower(&self, leader: i32, leader_epoch: i32, replicas: Vec<i32>, isr: Vec<i32>) {
        self.lock_followers().reset([], now_ms());
        *self.leadership.write().unwrap_or_else(|e| e.into_inner()) = Leadership {
            leader,
            leader_epoch,
            replicas,
            isr,
        };
        // Writes waiting for the ISR learn that this broker no longer leads.
        self.wake_waiters();
    }

    pub fn set_replica_lag_time_max_ms(&self, max_lag_ms: i64) {
        self.max_lag_ms.store(max_lag_ms, Ordering::Relaxed);
    }

    /// The same leader in the same epoch, with another ISR or replica set
    /// (an ISR shrink or expand, a reassignment in progress).
    pub fn update_replicas(&self, replicas: Vec<i32>, isr: Vec<i32>) {
        {
            let mut leadership = self.leadership.write().unwrap_or_else(|e| e.into_inner());
            if leadership.leader == self.local {
                let followers = replicas.iter().copied().filter(|&id| id != self.local);
                self.lock_followers().retain_and_add(followers, now_ms());
            }
            leadership.replicas = replicas;
            leadership.isr = isr;
        }
        // A smaller ISR may let the high watermark move.
        if self.is_leader() {
            self.maybe_advance_high_watermark();
        }
        self.wake_waiters();
    }

    fn lock_followers(&self) -> std::sync::MutexGuard<'_, Followers> {
        self.followers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A follower fetched from `fetch_offset`: it holds everything below
    /// it, which may move the high watermark.
    pub fn record_follower_fetch(
        &self,
        replica: i32,
        fetch_offset: i64,
        now_ms: i64,
    ) -> Result<(), PartitionError> {
        self.check_leader(NO_LEADER_EPOCH)?;
        let leader_end = self.log.log_end_offset();
        // A follower cannot hold what the leader never had: counting such
        // an offset would move the high watermark over unreplicated data.
        if fetch_offset > leader_end {
            return Err(PartitionError::FollowerAhead {
                topic: self.topic.clone(),
                partition: self.index,
                replica,
                fetch_offset,
                leader_end,
            });
        }
        if !self
            .lock_followers()
            .record_fetch(replica, fetch_offset, leader_end, now_ms)
        {
            return Err(PartitionError::NotAFollower {
                topic: self.topic.clone(),
                partition: self.index,
                replica,
            });
        }
        self.maybe_advance_high_watermark();
        Ok(())
    }

    pub fn leadership(&self) -> Leadership {
        self.leadership
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The leader's node id and its epoch, without copying the replica
    /// lists as [`Partition::leadership`] does (a fetch asks per partition).
    pub fn leader_and_epoch(&self) -> (i32, i32) {
        let leadership = self.leadership.read().unwrap_or_else(|e| e.into_inner());
        (leadership.leader, leadership.leader_epoch)
    }

    /// Whether this broker leads the partition.
    pub fn is_leader(&self) -> bool {
        self.leadership
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .leader
            == self.local
    }

    /// The leader epoch, if this broker leads the partition and the
    /// client's `current_leader_epoch` (if it sent one) is the same: the
    /// check Kafka makes before a produce, a consumer fetch or an offset
    /// lookup, so a client with stale metadata is told to refresh it.
    pub fn check_leader(&self, current_leader_epoch: i32) -> Result<i32, PartitionError> {
        let leadership = self.leadership.read().unwrap_or_else(|e| e.into_inner());
        let current = leadership.leader_epoch;
        if current_leader_epoch != NO_LEADER_EPOCH && current_leader_epoch < current {
            return Err(PartitionError::FencedLeaderEpoch {
                topic: self.topic.clone(),
                partition: self.index,
                requested: current_leader_epoch,
                current,
            });
        }
        if current_leader_epoch > current {
            return Err(PartitionError::UnknownLeaderEpoch {
                topic: self.topic.clone(),
                partition: self.index,
                requested: current_leader_epoch,
                current,
            });
        }
        if leadership.leader != self.local {
            return Err(PartitionError::NotLeader {
                topic: self.topic.clone(),
                partition: self.index,
                local: self.local,
                leader: leadership.leader,
            });
        }
        Ok(current)
    }

    /// Appends validated batches as the leader, stamping its epoch. Blocking
    /// file work: call it off the async threads. The records become visible
    /// to consumers only through [`Partition::wait_committed`].
    ///
    /// An `acks=all` write passes its topic's `min.insync.replicas`: with
    /// fewer replicas in sync, nothing is appended (Kafka's
    /// NOT_ENOUGH_REPLICAS), as the write could not be as durable as asked.
    pub fn append_as_leader(
        &self,
        batches: impl AppendBytes + AsMut<[u8]>,
        log_append_time_ms: Option<i64>,
        min_insync_replicas: Option<i32>,
    ) -> Result<AppendOutcome, PartitionError> {
        let options = self.leader_append_options(log_append_time_ms, min_insync_replicas)?;
        let outcome = self.log.append(batches, options)?;
        self.wake_replicas();
        Ok(outcome)
    }

    /// [`Partition::append_as_leader`] when the append only writes to the
    /// active segment, the page-cache write an async thread may do:
    /// `Ok(None)`, with nothing appended, when it would roll the segment or
    /// persist a new leader epoch ([`Log::append_without_file_work`]).
    pub fn append_as_leader_without_file_work(
        &self,
        batches: impl AppendBytes + AsMut<[u8]>,
        log_append_time_ms: Option<i64>,
        min_insync_replicas: Option<i32>,
    ) -> Result<Option<AppendOutcome>, PartitionError> {
        let options = self.leader_append_options(log_append_time_ms, min_insync_replicas)?;
        let outcome = self.log.append_without_file_work(batches, options)?;
        if outcome.is_some() {
            self.wake_replicas();
        }
        Ok(outcome)
    }

    /// The epoch a leader append stamps, once this broker leads and enough
    /// replicas are in sync.
    fn leader_append_options(
        &self,
        log_append_time_ms: Option<i64>,
        min_insync_replicas: Option<i32>,
    ) -> Result<AppendOptions, PartitionError> {
        let leader_epoch = self.check_leader(NO_LEADER_EPOCH)?;
        if let Some(required) = min_insync_replicas {
            // The ISR as committed, less the followers this leader already
            // knows have fallen behind: with the controller unreachable
            // the ISR cannot shrink, and a write that cannot reach enough
            // replicas is refused at once instead of waiting to time out.
            let in_sync = {
                let leadership = self.leadership.read().unwrap_or_else(|e| e.into_inner());
                let max_lag = self.max_lag_ms.load(Ordering::Relaxed);
                let lagging = self
                    .lock_followers()
                    .lagging(&leadership.isr, now_ms(), max_lag);
                leadership.isr.len() - lagging.len()
            };
            if i32::try_from(in_sync).unwrap_or(i32::MAX) < required {
                return Err(PartitionError::NotEnoughReplicas {
                    topic: self.topic.clone(),
                    partition: self.index,
                    in_sync,
                    required,
                });
            }
        }
        Ok(AppendOptions {
            leader_epoch,
            log_append_time_ms,
        })
    }

    fn wake_replicas(&self) {
        self.waiting_replicas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_all();
    }

    /// Appends batches read from the leader, keeping their offsets and
    /// epochs. Blocking file work. Returns the new log end; the caller
    /// waits until it is durable before its next fetch reports it.
    ///
    /// `fetched_in` is the leader epoch the fetch was sent in. A response
    /// that arrives after the leadership moved on is dropped: the old
    /// leader may have sent records the new one never had, and the
    /// fetcher of the new epoch may already have truncated this log to
    /// the new leader's, so appending them would make this replica
    /// diverge (and give it producer state no other replica has).
    pub fn append_as_follower(
        &self,
        batches: &mut [u8],
        fetched_in: i32,
    ) -> Result<i64, PartitionError> {
        let leadership = self.leadership.read().unwrap_or_else(|e| e.into_inner());
        if leadership.leader == self.local {
            return Err(PartitionError::NotAFollower {
                topic: self.topic.clone(),
                partition: self.index,
                replica: self.local,
            });
        }
        if leadership.leader_epoch != fetched_in {
            return Err(PartitionError::StaleFetch {
                topic: self.topic.clone(),
                partition: self.index,
                fetched_in,
                current: leadership.leader_epoch,
            });
        }
        // Appended under the read lock: a promotion to leader waits for it,
        // so a leader never has a follower append land under its own.
        let outcome = self.log.append_replicated(batches)?;
        Ok(outcome.last_offset + 1)
    }

    /// A follower's high watermark: the leader's, as far as this replica's
    /// log reaches.
    pub fn follow_high_watermark(&self, leader_high_watermark: i64) {
        let target = leader_high_watermark.min(self.log.log_end_offset());
        let _advancing = self
            .high_watermark_advance
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if self.log.high_watermark() < target {
            self.log.set_high_watermark(target);
        }
    }

    /// While leading: the ISR this leader wants, if it differs from the
    /// current one. In-sync followers not caught up within
    /// `replica.lag.time.max.ms` leave it; followers whose log reaches the
    /// high watermark join it.
    pub fn wanted_isr(&self, now_ms: i64) -> Option<(Leadership, Vec<i32>)> {
        let max_lag_ms = self.max_lag_ms.load(Ordering::Relaxed);
        let leadership = self.leadership();
        if leadership.leader != self.local {
            return None;
        }
        let followers = self.lock_followers();
        let lagging = followers.lagging(&leadership.isr, now_ms, max_lag_ms);
        let joining = followers.caught_up(
            &leadership.isr,
            self.log.high_watermark(),
            now_ms,
            max_lag_ms,
        );
        drop(followers);
        if lagging.is_empty() && joining.is_empty() {
            return None;
        }
        let mut isr: Vec<i32> = leadership
            .isr
            .iter()
            .copied()
            .filter(|id| !lagging.contains(id))
            .chain(joining)
            .collect();
        isr.sort_by_key(|id| leadership.replicas.iter().position(|r| r == id));
        (isr != leadership.isr).then_some((leadership, isr))
    }

    /// Waits until the records below `end` are committed: durable here (as
    /// the flush policy promises) and held by every in-sync replica, so
    /// the high watermark covers them. With this broker as the whole ISR
    /// that is as soon as they are durable.
    ///
    /// Called right after the append: the write counts only if it commits
    /// in the leader epoch it was appended in. A leader demoted meanwhile
    /// (even one that leads again since) answers NOT_LEADER_OR_FOLLOWER:
    /// the new leader's records at these offsets may not be this write's.
    pub async fn wait_committed(&self, end: i64) -> Result<(), PartitionError> {
        self.wait_committed_within(end, None).await
    }

    /// [`Partition::wait_committed`], giving up on the other replicas
    /// after `timeout` (a Produce's `timeout_ms`, as Kafka's delayed
    /// produce expires): REQUEST_TIMED_OUT. The wait for this broker's own
    /// write (its fsync) does not count: Kafka's does not wait for one.
    pub async fn wait_committed_within(
        &self,
        end: i64,
        timeout: Option<Duration>,
    ) -> Result<(), PartitionError> {
        let appended_in = self.check_leader(NO_LEADER_EPOCH)?;
        self.wait_written(end).await?;
        // The usual case, and always with this broker as the whole ISR:
        // nothing to wait for, so no waiter to register.
        if self.committed_in(appended_in, end)? {
            return Ok(());
        }
        let replicated = async {
            loop {
                // Registered before the check, so an advance in between wakes it.
                let waiter = Arc::new(Notify::new());
                self.wake_on_new_data(&waiter);
                if self.committed_in(appended_in, end)? {
                    return Ok(());
                }
                waiter.notified().await;
            }
        };
        let Some(timeout) = timeout else {
            return replicated.await;
        };
        tokio::time::timeout(timeout, replicated)
            .await
            .unwrap_or_else(|_| {
                Err(PartitionError::ReplicationTimedOut {
                    topic: self.topic.clone(),
                    partition: self.index,
                    timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                })
            })
    }

    /// Whether the high watermark covers `end` while this broker still
    /// leads in `epoch`; NOT_LEADER once it does not. Checked under the
    /// leadership lock, which a demotion takes to change it.
    fn committed_in(&self, epoch: i32, end: i64) -> Result<bool, PartitionError> {
        let leadership = self.leadership.read().unwrap_or_else(|e| e.into_inner());
        if leadership.leader != self.local || leadership.leader_epoch != epoch {
            return Err(PartitionError::NotLeader {
                topic: self.topic.clone(),
                partition: self.index,
                local: self.local,
                leader: leadership.leader,
            });
        }
        Ok(self.log.high_watermark() >= end)
    }

    /// An `acks=1` write: waits until the records below `end` are durable
    /// here (as the flush policy promises), not for the other replicas.
    pub async fn wait_written(&self, end: i64) -> Result<(), PartitionError> {
        self.log.wait_durable(end).await?;
        self.local_end.fetch_max(end, Ordering::AcqRel);
        self.maybe_advance_high_watermark();
        Ok(())
    }

    /// An `acks=0` write: nobody waits for it and it promises no
    /// durability, so, as on a Kafka leader that is its own ISR, its
    /// records are visible at once (a request that follows on the same
    /// connection sees them) while the flush policy syncs them later.
    pub fn commit_unacknowledged(&self, end: i64) {
        self.local_end.fetch_max(end, Ordering::AcqRel);
        self.maybe_advance_high_watermark();
    }

    /// Kafka's `maybeIncrementLeaderHW`: the high watermark becomes the
    /// smallest log end among the in-sync replicas (this broker's counted
    /// as far as it is durable). It only moves forward, and waiting
    /// fetches and writes are woken when it does.
    fn maybe_advance_high_watermark(&self) {
        let advanced = {
            let _advancing = self
                .high_watermark_advance
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            // Leadership is read before the followers are locked, here as
            // everywhere, so the two locks cannot deadlock.
            let followers_end = {
                let leadership = self.leadership.read().unwrap_or_else(|e| e.into_inner());
                // A follower's watermark is the leader's (follow_high_watermark):
                // one that was just demoted must not count its own log end,
                // which may hold writes the new leader never had.
                if leadership.leader != self.local {
                    return;
                }
                self.lock_followers().min_in_sync_log_end(&leadership.isr)
            };
            let local_end = self.local_end.load(Ordering::Acquire);
            let target = followers_end
                .map_or(local_end, |end| end.min(local_end))
                .min(self.log.log_end_offset());
            let advanced = self.log.high_watermark() < target;
            if advanced {
                self.log.set_high_watermark(target);
            }
            advanced
        };
        if advanced {
            self.wake_waiters();
        }
    }

    fn wake_waiters(&self) {
        self.waiting_fetches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_all();
        self.waiting_replicas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake_all();
    }

    /// Has a follower's fetch `waiter` notified (once) the next time the
    /// log end moves.
    pub fn wake_on_append(&self, waiter: &Arc<Notify>) {
        self.waiting_replicas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .register(waiter);
    }

    /// Has `waiter` notified (once) the next time the high watermark moves.
    /// Register before reading, so data that arrives between the read and
    /// the wait is not missed (`Notify` keeps the permit).
    pub fn wake_on_new_data(&self, waiter: &Arc<Notify>) {
        self.waiting_fetches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .register(waiter);
    }
}

/// The fetches parked on one partition. Entries are weak: a fetch that
/// answered (timed out, or had data from another partition) just drops its
/// `Notify`, and dead entries are swept when the list has doubled.
#[derive(Default)]
struct FetchWaiters {
    waiters: Vec<Weak<Notify>>,
    sweep_at: usize,
}

impl FetchWaiters {
    const MIN_SWEEP: usize = 16;

    fn register(&mut self, waiter: &Arc<Notify>) {
        if self.waiters.len() >= self.sweep_at.max(Self::MIN_SWEEP) {
            self.waiters.retain(|w| w.strong_count() > 0);
            self.sweep_at = self.waiters.len() * 2;
        }
        self.waiters.push(Arc::downgrade(waiter));
    }

    fn wake_all(&mut self) {
        for waiter in self.waiters.drain(..) {
            if let Some(waiter) = waiter.upgrade() {
                waiter.notify_one();
            }
        }
        self.sweep_at = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strom_protocol::error_codes;

    fn partition(dir: &tempfile::TempDir) -> Partition {
        let log = Log::open(dir.path().join("t-0"), Default::default()).expect("log opens");
        Partition::with_default_config("t", 0, log, 1)
    }

    fn one_record_batch() -> Vec<u8> {
        let mut batch = strom_protocol::records::RecordBatchBuilder::new(
            strom_protocol::records::CompressionType::None,
        );
        batch.append(0, None, Some(b"v"), &[]).expect("record");
        batch.build().expect("batch").to_vec()
    }

    fn code(result: Result<i32, PartitionError>) -> i16 {
        result.map_or_else(|e| e.kafka_error_code(), |_| error_codes::NONE)
    }

    #[test]
    fn only_the_leader_in_the_current_epoch_serves_clients() {
        let dir = tempfile::tempdir().expect("tempdir");
        let partition = partition(&dir);
        assert_eq!(
            code(partition.check_leader(NO_LEADER_EPOCH)),
            error_codes::NOT_LEADER_OR_FOLLOWER,
            "neither leader nor follower yet"
        );
        partition.make_leader(5, vec![1, 2], vec![1, 2]);
        assert_eq!(partition.check_leader(NO_LEADER_EPOCH).ok(), Some(5));
        // The epoch is the log's at once, before any write: a follower
        // whose last epoch is 4 learns that its records end at 0 here.
        assert_eq!(partition.log.end_offset_for_epoch(5), Some((5, 0)));
        assert_eq!(partition.log.end_offset_for_epoch(4), Some((4, 0)));
        assert_eq!(partition.check_leader(5).ok(), Some(5));
        assert_eq!(
            code(partition.check_leader(4)),
            error_codes::FENCED_LEADER_EPOCH
        );
        assert_eq!(
            code(partition.check_leader(6)),
            error_codes::UNKNOWN_LEADER_EPOCH
        );

        partition.make_follower(2, 6, vec![1, 2], vec![1, 2]);
        assert_eq!(
            code(partition.check_leader(6)),
            error_codes::NOT_LEADER_OR_FOLLOWER
        );
        assert_eq!(
            code(partition.check_leader(5)),
            error_codes::FENCED_LEADER_EPOCH
        );
        let mut bytes = one_record_batch();
        assert!(
            matches!(
                partition.append_as_leader(&mut bytes, None, None),
                Err(PartitionError::NotLeader { leader: 2, .. })
            ),
            "a follower takes no client writes"
        );
        assert_eq!(partition.log.log_end_offset(), 0);
    }

    #[test]
    fn a_fetch_answer_from_an_earlier_leader_epoch_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let partition = partition(&dir);
        partition.make_follower(2, 6, vec![1, 2, 3], vec![1, 2, 3]);
        let mut bytes = one_record_batch();
        assert!(
            matches!(
                partition.append_as_follower(&mut bytes, 5),
                Err(PartitionError::StaleFetch {
                    fetched_in: 5,
                    current: 6,
                    ..
                })
            ),
            "sent to the leader of epoch 5, answered after epoch 6 began"
        );
        assert_eq!(partition.log.log_end_offset(), 0, "nothing appended");
        let mut bytes = one_record_batch();
        assert_eq!(partition.append_as_follower(&mut bytes, 6).ok(), Some(1));
    }

    #[tokio::test]
    async fn records_become_visible_once_committed_and_wake_waiting_fetches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let partition = partition(&dir);
        partition.make_leader(0, vec![1], vec![1]);
        let waiter = Arc::new(Notify::new());
        partition.wake_on_new_data(&waiter);
        let mut bytes = one_record_batch();
        let outcome = partition
            .append_as_leader(&mut bytes, None, None)
            .expect("append");
        assert_eq!(partition.log.high_watermark(), 0, "not committed yet");
        partition
            .wait_committed(outcome.last_offset + 1)
            .await
            .expect("commit");
        assert_eq!(partition.log.high_watermark(), 1);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter.notified())
            .await
            .expect("the waiting fetch is woken");
    }

    #[tokio::test]
    async fn with_a_follower_in_sync_a_write_commits_once_it_has_fetched_past_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let partition = Arc::new(partition(&dir));
        partition.make_leader(3, vec![1, 2], vec![1, 2]);
        let mut bytes = one_record_batch();
        let outcome = partition
            .append_as_leader(&mut bytes, None, Some(2))
            .expect("two in sync: acks=all may write");
        let end = outcome.last_offset + 1;
        let committing = partition.clone();
        let waiting = tokio::spawn(async move { committing.wait_committed(end).await });

        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "follower 2 has not fetched it yet");
        assert_eq!(
            partition
                .record_follower_fetch(2, end + 100, 1)
                .map_err(|e| e.kafka_error_code()),
            Err(error_codes::OFFSET_OUT_OF_RANGE),
            "a fetch past the leader's end is refused"
        );
        assert!(!waiting.is_finished(), "and moves nothing");
        partition
            .record_follower_fetch(2, 0, 1)
            .expect("a follower");
        assert_eq!(partition.log.high_watermark(), 0);
        partition
            .record_follower_fetch(2, end, 2)
            .expect("a follower");
        waiting.await.expect("joins").expect("committed");
        assert_eq!(partition.log.high_watermark(), end);

        assert_eq!(
            partition
                .record_follower_fetch(7, end, 3)
                .map_err(|e| e.kafka_error_code()),
            Err(error_codes::NOT_LEADER_OR_FOLLOWER),
            "7 is not a replica"
        );
    }

    #[tokio::test]
    async fn a_write_waiting_for_the_isr_fails_when_leadership_moves() {
        let dir = tempfile::tempdir().expect("tempdir");
        let partition = Arc::new(partition(&dir));
        partition.make_leader(0, vec![1, 2], vec![1, 2]);
        let mut bytes = one_record_batch();
        let outcome = partition
            .append_as_leader(&mut bytes, None, None)
            .expect("append");
        let committing = partition.clone();
        let end = outcome.last_offset + 1;
        let waiting = tokio::spawn(async move { committing.wait_committed(end).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        partition.make_follower(2, 1, vec![1, 2], vec![1, 2]);
        let result = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("woken")
            .expect("joins");
        assert!(
            matches!(result, Err(PartitionError::NotLeader { leader: 2, .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_demoted_leader_does_not_commit_its_own_unreplicated_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let partition = partition(&dir);
        partition.make_leader(0, vec![1, 2], vec![1, 2]);
        let mut bytes = one_record_batch();
        let outcome = partition
            .append_as_leader(&mut bytes, None, None)
            .expect("append");
        let end = outcome.last_offset + 1;
        // Demoted while the write waits for its sync: once durable here,
        // it still is not committed, and the write is not acknowledged.
        partition.make_follower(2, 1, vec![1, 2], vec![1, 2]);
        partition.wait_written(end).await.expect("durable");
        assert_eq!(partition.log.high_watermark(), 0, "follower 2 never had it");
        assert!(matches!(
            partition.wait_committed(end).await,
            Err(PartitionError::NotLeader { leader: 2, .. })
        ));
    }

    #[test]
    fn dead_waiters_are_swept_so_an_idle_partition_does_not_grow_without_bound() {
        let mut waiters = FetchWaiters::default();
        let live = Arc::new(Notify::new());
        waiters.register(&live);
        for _ in 0..10_000 {
            let gone = Arc::new(Notify::new());
            waiters.register(&gone);
        }
        assert!(waiters.waiters.len() <= 2 * FetchWaiters::MIN_SWEEP);
        assert!(waiters.waiters.iter().any(|w| w.strong_count() > 0));
    }

    #[tokio::test]
    async fn a_registered_waiter_is_woken_once_even_if_it_waits_late() {
        let mut waiters = FetchWaiters::default();
        let waiter = Arc::new(Notify::new());
        waiters.register(&waiter);
        waiters.register(&waiter);
        waiters.wake_all();
        // The permit was stored before anyone waited.
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter.notified())
            .await
            .expect("woken");
        assert!(waiters.waiters.is_empty());
    }
}
