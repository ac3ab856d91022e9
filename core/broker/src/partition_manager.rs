//! The partitions this broker holds, opened and closed as the topic table
//! changes (Kafka's `ReplicaManager` applying a metadata delta, Redpanda's
//! partition manager). Applying deltas returns the leadership changes, for
//! the group coordinator to load or unload `__consumer_offsets` partitions.
//!
//! Opening a log can fail (disk full, out of file descriptors), so a broker
//! that creates partitions first opens their logs here ([`Staged`]) and
//! commits the metadata only once they all opened; the deltas then install
//! the staged partitions. Deltas with nothing staged (a topic loaded at
//! start, or later one a replicated metadata log announces) open their
//! logs as they arrive.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use strom_storage::{DirHealth, Log, LogConfig, NewLogSync};
use tokio::sync::Notify;

use crate::clock::now_ms;
use crate::config::{BrokerConfig, EffectiveTopicConfig, FlushPolicy};
use crate::error::BrokerError;
use crate::file_work::on_threads;
use crate::partition::Partition;
use crate::topic_store;
use crate::topic_table::{Delta, PartitionAssignment, Topic};

/// This broker gained or lost the leadership of a partition.
#[derive(Clone)]
pub enum LeadershipChange {
    Gained(Arc<Partition>),
    Lost(Arc<Partition>),
}

/// From this many partitions on, [`PartitionManager::stage`] makes the
/// new logs durable with one `syncfs` of the data directory rather than a
/// fsync of each one's directory. Below it a fsync each is cheaper than a
/// `syncfs`, which also writes back every other log's unsynced appends.
/// Under `strom.flush.policy=page-cache` those may be gigabytes while the
/// broker serves (the kernel writes them back when it chooses): by hand,
/// after 2 GB of appends, a `syncfs` made creating 10 partitions take
/// 1.1 s instead of 0.01 s. So while a page-cache broker serves
/// ([`Staging::Serving`]) it never shares a `syncfs`: a page-cache topic's
/// new logs are not synced at all ([`NewLogSync::Deferred`]: their
/// acknowledged appends are not promised to survive an OS crash either),
/// and an fsync topic's (`flush.messages=1`) get a fsync each.
const SHARED_SYNC_FROM: usize = 8;

/// Logs opened at once when a topic's partitions are created (see
/// [`PartitionManager::open_logs`]). Creating 1,000 partitions on ext4:
/// 0.12-0.16 s one at a time, 0.08-0.11 s four at a time; on a filesystem
/// after many deletions, where ext4 searches longer for each new inode,
/// 1.4-2.1 s and 0.9-1.05 s.
const STAGING_THREADS: usize = 4;

/// Why [`PartitionManager::stage`] opens logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staging {
    /// Loading the topics at start-up, before any append: little is
    /// unsynced (what a clean stop synced, or a crash left).
    Start,
    /// Creating or growing a topic while the broker takes appends.
    Serving,
}

/// How `count` new logs of a topic with `effective` configs, opened
/// together, are made durable: see [`SHARED_SYNC_FROM`].
fn new_log_sync(
    effective: &EffectiveTopicConfig,
    config: &BrokerConfig,
    count: usize,
    staging: Staging,
) -> NewLogSync {
    if staging == Staging::Serving && effective.flush_policy == FlushPolicy::PageCache {
        NewLogSync::Deferred
    } else {
        new_log_sync_of_many(config, count, staging)
    }
}

/// [`new_log_sync`] for logs whose appends are synced: one `syncfs` for
/// many when little else is unsynced (at start-up, or on an fsync broker),
/// otherwise a fsync of each one's directory.
fn new_log_sync_of_many(config: &BrokerConfig, count: usize, staging: Staging) -> NewLogSync {
    let little_unsynced =
        staging == Staging::Start || config.settings().flush_policy == FlushPolicy::Fsync;
    if count >= SHARED_SYNC_FROM && little_unsynced {
        NewLogSync::Shared
    } else {
        NewLogSync::Own
    }
}

/// Logs opened for partitions whose metadata is not committed yet.
#[must_use = "install the staged partitions or discard them"]
pub struct Staged {
    topic: String,
    first: i32,
    logs: VecDeque<Log>,
    /// The partitions whose directories staging created: the only ones a
    /// failure or a discard may remove (at start-up, staging opens logs
    /// that hold records).
    created: Vec<i32>,
}

impl Staged {
    pub fn indexes(&self) -> Range<i32> {
        self.first..self.first + self.logs.len() as i32
    }

    /// The leader epoch the log of partition `index` was last written in.
    pub fn latest_epoch(&self, index: i32) -> Option<i32> {
        let at = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.logs.get(at)?.latest_epoch()
    }
}

/// One topic's partitions held here, in a slot per index up to the
/// highest one held: a fetch looks up each of its partitions, and an index
/// beats a tree walk (partition indexes are dense, from 0).
#[derive(Default)]
struct TopicPartitions {
    slots: Vec<Option<Arc<Partition>>>,
    held: usize,
}

impl TopicPartitions {
    fn get(&self, index: i32) -> Option<&Arc<Partition>> {
        let at = usize::try_from(index).ok()?;
        self.slots.get(at)?.as_ref()
    }

    /// `index` comes from the topic table, never negative.
    fn insert(&mut self, index: i32, partition: Arc<Partition>) {
        let Ok(at) = usize::try_from(index) else {
            tracing::error!(topic = %partition.topic, index, "a negative partition index is not held");
            return;
        };
        if self.slots.len() <= at {
            self.slots.resize(at + 1, None);
        }
        if self.slots[at].replace(partition).is_none() {
            self.held += 1;
        }
    }

    fn remove(&mut self, index: i32) {
        let taken = usize::try_from(index)
            .ok()
            .and_then(|at| self.slots.get_mut(at))
            .and_then(Option::take);
        if taken.is_some() {
            self.held -= 1;
        }
    }

    /// By index.
    fn values(&self) -> impl Iterator<Item = &Arc<Partition>> {
        self.slots.iter().flatten()
    }

    fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// By index.
    fn into_values(self) -> impl Iterator<Item = Arc<Partition>> {
        self.slots.into_iter().flatten()
    }
}

pub struct PartitionManager {
    data_dir: PathBuf,
    dir_health: Arc<DirHealth>,
    node_id: i32,
    /// Each topic's partitions held here (all of them on one node; those
    /// this broker replicates in a cluster), by index.
    partitions: RwLock<HashMap<String, TopicPartitions>>,
    /// Notified whenever a partition starts or stops following, for the
    /// replica fetchers.
    followers_changed: Arc<Notify>,
}

impl PartitionManager {
    /// `fetch_cache_bytes`: the logs' tail cache budget, all together.
    pub fn new(data_dir: PathBuf, node_id: i32, fetch_cache_bytes: usize) -> PartitionManager {
        PartitionManager {
            data_dir,
            // Shared by every log in the data dir: a failed fsync in one
            // stops writes in all (see `strom_storage::DirHealth`).
            dir_health: DirHealth::with_tail_cache_budget(fetch_cache_bytes),
            node_id,
            partitions: RwLock::new(HashMap::new()),
            followers_changed: Arc::new(Notify::new()),
        }
    }

    /// Notified when the set of partitions this broker follows changes.
    pub fn followers_changed(&self) -> &Arc<Notify> {
        &self.followers_changed
    }

    pub fn dir_health(&self) -> &Arc<DirHealth> {
        &self.dir_health
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        let partitions = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        partitions.get(topic)?.get(index).cloned()
    }

    /// Partitions `indexes` of `topic`, in that order (`None` where this
    /// broker holds none): one lock and one hash of the name for all of
    /// them, where a fetch of many partitions would otherwise pay both
    /// per partition.
    pub fn partitions_at(
        &self,
        topic: &str,
        indexes: impl Iterator<Item = i32>,
    ) -> Vec<Option<Arc<Partition>>> {
        let partitions = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        let held = partitions.get(topic);
        indexes
            .map(|index| held.and_then(|held| held.get(index)).cloned())
            .collect()
    }

    /// The partition, or the Kafka error a request for it gets.
    pub fn find(&self, topic: &str, index: i32) -> Result<Arc<Partition>, i16> {
        self.partition(topic, index)
            .ok_or(strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION)
    }

    /// The partitions of `topic` this broker holds, by index.
    pub fn partitions_of(&self, topic: &str) -> Vec<Arc<Partition>> {
        let partitions = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        partitions
            .get(topic)
            .map(|held| held.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every partition this broker holds.
    pub fn all(&self) -> Vec<Arc<Partition>> {
        let partitions = self.partitions.read().unwrap_or_else(|e| e.into_inner());
        partitions
            .values()
            .flat_map(|held| held.values())
            .cloned()
            .collect()
    }

    /// Opens (creating) the logs of partitions `indexes` of `topic`, all
    /// durable on disk when it returns, except new logs of a page-cache
    /// topic created while serving ([`NewLogSync::Deferred`]). If one
    /// fails, those already opened are closed, and the dirs this call
    /// created removed: existing logs (a restart's) are left as they are.
    pub fn stage(
        &self,
        topic: &str,
        indexes: Range<i32>,
        effective: &EffectiveTopicConfig,
        config: &BrokerConfig,
        staging: Staging,
    ) -> Result<Staged, BrokerError> {
        let sync = new_log_sync(effective, config, indexes.len(), staging);
        let mut staged = Staged {
            topic: topic.to_string(),
            first: indexes.start,
            logs: VecDeque::with_capacity(indexes.len()),
            created: Vec::new(),
        };
        let failed = |staged: Staged, e: BrokerError| {
            tracing::error!(
                topic,
                "opening partitions failed, those created now are removed: {e}"
            );
            // All it created, the one that failed too (it holds no log);
            // the logs close before their directories go.
            let Staged { logs, created, .. } = staged;
            drop(logs);
            self.remove_partition_dirs(topic, created);
            e
        };
        staged.created = indexes
            .clone()
            .filter(|&index| !partition_dir(&self.data_dir, topic, index).exists())
            .collect();
        let wanted = indexes
            .clone()
            .map(|index| (topic, index, log_config(effective, config)))
            .collect();
        // A statement of its own: on an error, every log opened is closed
        // before `failed` removes the directories.
        let opened: Result<VecDeque<Log>, BrokerError> =
            self.open_logs(wanted, sync).into_iter().collect();
        match opened {
            Ok(logs) => staged.logs = logs,
            Err(e) => return Err(failed(staged, e)),
        }
        if sync == NewLogSync::Shared {
            if let Err(source) = self.dir_health.sync_new_logs(&self.data_dir) {
                let e = BrokerError::Storage {
                    topic: topic.to_string(),
                    partition: indexes.start,
                    source,
                };
                return Err(failed(staged, e));
            }
        }
        Ok(staged)
    }

    /// Closes staged logs whose metadata was never committed and removes
    /// the dirs that staging created.
    pub fn discard(&self, staged: Staged) {
        // Those taken for installing are not the discard's to remove.
        let held = staged.indexes();
        let created: Vec<i32> = staged
            .created
            .iter()
            .copied()
            .filter(|index| held.contains(index))
            .collect();
        let topic = staged.topic.clone();
        drop(staged);
        self.remove_partition_dirs(&topic, created);
    }

    /// Brings the partitions in line with applied `deltas`, taking logs
    /// from `staged` where it has them. Returns the leadership changes.
    pub fn apply(
        &self,
        deltas: &[Delta],
        mut staged: Option<Staged>,
        config: &BrokerConfig,
    ) -> Vec<LeadershipChange> {
        let mut changes = Vec::new();
        let mut opened = self.open_added(deltas, staged.as_ref(), config);
        let add = |topic: &Topic, index: i32, log: Option<Log>| self.add(topic, index, log, config);
        for delta in deltas {
            match delta {
                Delta::PartitionAdded { topic, index } => {
                    let log = match take_staged(&mut staged, &topic.name, *index) {
                        Some(log) => Some(log),
                        None => match opened.remove(&(topic.name.clone(), *index)) {
                            // It could not be opened (logged): offline here.
                            Some(None) => continue,
                            Some(log) => log,
                            None => None,
                        },
                    };
                    if !self.is_replica(topic, *index) {
                        continue;
                    }
                    if let Some(partition) = add(topic, *index, log) {
                        if partition.is_leader() {
                            changes.push(LeadershipChange::Gained(partition));
                        }
                    }
                }
                Delta::PartitionChanged { topic, index } => {
                    let held = self.partition(&topic.name, *index);
                    match (held, self.is_replica(topic, *index)) {
                        (Some(partition), true) => {
                            let assignment = &topic.partitions[*index as usize];
                            changes.extend(self.take_role(&partition, assignment));
                        }
                        (Some(partition), false) => {
                            // Moved away by a reassignment: this replica's
                            // log is no longer part of the partition.
                            self.remove(&topic.name, *index);
                            if let Err(e) = partition.log.delete_dir() {
                                tracing::warn!(topic = %topic.name, partition = index, "could not delete a moved replica: {e}");
                            }
                            if partition.is_leader() {
                                changes.push(LeadershipChange::Lost(partition));
                            }
                            self.followers_changed.notify_one();
                        }
                        (None, true) => {
                            if let Some(partition) = add(topic, *index, None) {
                                if partition.is_leader() {
                                    changes.push(LeadershipChange::Gained(partition));
                                }
                            }
                        }
                        (None, false) => {}
                    }
                }
                Delta::ConfigsChanged { topic } => {
                    let effective = topic.effective_config(config);
                    let log_config = log_config(&effective, config);
                    for partition in self.partitions_of(&topic.name) {
                        partition.log.update_config(log_config.clone());
                        partition.set_topic_config(effective.clone());
                    }
                }
                Delta::TopicRemoved { topic } => {
                    let removed = self
                        .partitions
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&topic.name)
                        .unwrap_or_default();
                    self.followers_changed.notify_one();
                    for partition in removed.into_values() {
                        if let Err(e) = partition.log.delete_dir() {
                            tracing::warn!(topic = %topic.name, partition = partition.index, "could not delete partition dir: {e}");
                        }
                        if partition.is_leader() {
                            changes.push(LeadershipChange::Lost(partition));
                        }
                    }
                }
            }
        }
        if let Some(left) = staged.filter(|s| !s.logs.is_empty()) {
            tracing::error!(topic = %left.topic, partitions = ?left.indexes(), "staged partitions without metadata: removed");
            self.discard(left);
        }
        changes
    }

    /// The logs of the partitions that `deltas` add here and that no
    /// creator staged (any replica's in a cluster), opened before any of
    /// them is installed when 8 or more would share one `syncfs`
    /// ([`new_log_sync`]), which returns before any of them can take a
    /// write. A cluster's metadata log adds partitions while the broker
    /// serves, so they are opened as [`Staging::Serving`]. `None` for a log
    /// that could not be opened (the error is logged).
    fn open_added(
        &self,
        deltas: &[Delta],
        staged: Option<&Staged>,
        config: &BrokerConfig,
    ) -> HashMap<(String, i32), Option<Log>> {
        let added: Vec<(&Topic, i32, EffectiveTopicConfig)> = deltas
            .iter()
            .filter_map(|delta| match delta {
                Delta::PartitionAdded { topic, index } => Some((&**topic, *index)),
                _ => None,
            })
            .filter(|(topic, index)| {
                self.is_replica(topic, *index)
                    && !staged.is_some_and(|s| s.topic == topic.name && s.indexes().contains(index))
            })
            .map(|(topic, index)| (topic, index, topic.effective_config(config)))
            // Those not synced at all are opened one by one, by `add`.
            .filter(|(_, _, effective)| {
                new_log_sync(effective, config, 1, Staging::Serving) != NewLogSync::Deferred
            })
            .collect();
        if new_log_sync_of_many(config, added.len(), Staging::Serving) != NewLogSync::Shared {
            return HashMap::new();
        }
        let wanted = added
            .iter()
            .map(|(topic, index, effective)| {
                (topic.name.as_str(), *index, log_config(effective, config))
            })
            .collect();
        let logs = self.open_logs(wanted, NewLogSync::Shared);
        let opened = added
            .iter()
            .zip(logs)
            .map(|((topic, index, _), log)| {
                let log = log
                    .inspect_err(|e| tracing::error!("partition offline: {e}"))
                    .ok();
                ((topic.name.clone(), *index), log)
            })
            .collect();
        if let Err(e) = self.dir_health.sync_new_logs(&self.data_dir) {
            // The directory has failed: its logs serve reads but take no
            // write, so nothing unsynced is ever acknowledged.
            tracing::error!("opened partitions not made durable: {e}");
        }
        opened
    }

    /// Installs partition `index` of `topic` with its leadership, opening
    /// its log if none was staged. `None` if the log cannot be opened: the
    /// partition stays offline on this broker (the error is logged).
    fn add(
        &self,
        topic: &Topic,
        index: i32,
        log: Option<Log>,
        config: &BrokerConfig,
    ) -> Option<Arc<Partition>> {
        let effective = topic.effective_config(config);
        let log = match log {
            Some(log) => log,
            None => {
                let log_config = log_config(&effective, config);
                let sync = new_log_sync(&effective, config, 1, Staging::Serving);
                match self.open_log(&topic.name, index, log_config, sync) {
                    Ok(log) => log,
                    Err(e) => {
                        tracing::error!("partition offline: {e}");
                        return None;
                    }
                }
            }
        };
        let partition = Arc::new(Partition::new(
            &topic.name,
            index,
            log,
            self.node_id,
            effective,
        ));
        partition.set_replica_lag_time_max_ms(config.settings().replica_lag_time_max_ms);
        let assignment = topic.partitions.get(usize::try_from(index).ok()?)?;
        let _ = self.take_role(&partition, assignment);
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(topic.name.clone())
            .or_default()
            .insert(index, partition.clone());
        if !partition.is_leader() {
            self.followers_changed.notify_one();
        }
        Some(partition)
    }

    fn remove(&self, topic: &str, index: i32) {
        let mut partitions = self.partitions.write().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = partitions.get_mut(topic) {
            held.remove(index);
            if held.is_empty() {
                partitions.remove(topic);
            }
        }
    }

    /// Whether this broker holds a replica of partition `index`.
    fn is_replica(&self, topic: &Topic, index: i32) -> bool {
        usize::try_from(index)
            .ok()
            .and_then(|i| topic.partitions.get(i))
            .is_some_and(|a| a.replicas.contains(&self.node_id))
    }

    /// Brings a held partition in line with its assignment: a new leader
    /// or epoch makes it lead or follow anew; the same leader and epoch
    /// with another ISR or replica set only updates those.
    fn take_role(
        &self,
        partition: &Arc<Partition>,
        assignment: &PartitionAssignment,
    ) -> Option<LeadershipChange> {
        let PartitionAssignment {
            replicas,
            isr,
            leader,
            leader_epoch,
            ..
        } = assignment.clone();
        let before = partition.leadership();
        let same_term = before.leader == leader && before.leader_epoch == leader_epoch;
        if same_term {
            partition.update_replicas(replicas, isr);
            return None;
        }
        let was_leader = before.leader == self.node_id;
        if leader == self.node_id {
            partition.make_leader(leader_epoch, replicas, isr);
            self.followers_changed.notify_one();
            (!was_leader).then(|| LeadershipChange::Gained(partition.clone()))
        } else {
            partition.make_follower(leader, leader_epoch, replicas, isr);
            self.followers_changed.notify_one();
            was_leader.then(|| LeadershipChange::Lost(partition.clone()))
        }
    }

    /// Opens (creating) the logs of `wanted`, [`STAGING_THREADS`] at a
    /// time: a new log is a directory and a segment file, and the filesystem
    /// serializes creations only within one directory. In `wanted`'s order.
    fn open_logs(
        &self,
        wanted: Vec<(&str, i32, LogConfig)>,
        sync: NewLogSync,
    ) -> Vec<Result<Log, BrokerError>> {
        let slots: Vec<_> = wanted
            .into_iter()
            .map(|want| (want, Mutex::new(None)))
            .collect();
        on_threads(&slots, STAGING_THREADS, |((topic, index, config), slot)| {
            let log = self.open_log(topic, *index, config.clone(), sync);
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(log);
        });
        // Every slot is filled: `on_threads` works through every item (on
        // this thread alone if no other starts), and a panic in one ends
        // the call.
        slots
            .into_iter()
            .filter_map(|(_, slot)| slot.into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect()
    }

    fn open_log(
        &self,
        topic: &str,
        index: i32,
        config: LogConfig,
        sync: NewLogSync,
    ) -> Result<Log, BrokerError> {
        let dir = partition_dir(&self.data_dir, topic, index);
        Log::open_with(dir, config, self.dir_health.clone(), sync).map_err(|source| {
            BrokerError::Storage {
                topic: topic.to_string(),
                partition: index,
                source,
            }
        })
    }

    /// Removes the dirs of partitions `indexes` of `topic`, if they exist.
    fn remove_partition_dirs(&self, topic: &str, indexes: Vec<i32>) {
        for index in indexes {
            let dir = partition_dir(&self.data_dir, topic, index);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "cannot remove a partition dir: {e}")
                }
            }
        }
    }

    /// Partition dirs no topic claims are what a creation, a partition
    /// increase or a deletion left when the broker stopped halfway: the
    /// topic's file, written last on creation and removed first on
    /// deletion, says they are not part of any topic. Empty ones are
    /// removed. One that holds records may be data someone still wants (a
    /// topic file lost by hand, another program's log dir), so it is
    /// renamed aside, never deleted, and never reopened by a new topic of
    /// that name.
    pub fn remove_leftover_partitions(&self, claimed: impl Fn(&str, i32) -> bool) {
        let Ok(entries) = std::fs::read_dir(&self.data_dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Some((topic, index)) = file_name.rsplit_once('-') else {
                continue;
            };
            let Ok(index) = index.parse::<i32>() else {
                continue;
            };
            if claimed(topic, index)
                || topic_store::validate_topic_name(topic).is_err()
                || !entry.file_type().is_ok_and(|t| t.is_dir())
            {
                continue;
            }
            let dir = entry.path();
            if holds_records(&dir) {
                let aside = self
                    .data_dir
                    .join(format!("{file_name}.{}-stray", now_ms()));
                match std::fs::rename(&dir, &aside) {
                    Ok(()) => tracing::warn!(
                        dir = %dir.display(),
                        kept_as = %aside.display(),
                        "a partition dir no topic claims holds records: moved aside; delete it once it is not needed"
                    ),
                    Err(e) => tracing::warn!(
                        dir = %dir.display(),
                        "cannot move aside a partition dir no topic claims: {e}"
                    ),
                }
                continue;
            }
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => tracing::warn!(
                    dir = %dir.display(),
                    "removed an empty partition dir no topic claims (left by a topic change that did not complete)"
                ),
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    "cannot remove a partition dir no topic claims: {e}"
                ),
            }
        }
    }
}

fn take_staged(staged: &mut Option<Staged>, topic: &str, index: i32) -> Option<Log> {
    let staged = staged.as_mut()?;
    if staged.topic != topic || staged.first != index || staged.logs.is_empty() {
        return None;
    }
    staged.first += 1;
    staged.logs.pop_front()
}

pub fn log_config(effective: &EffectiveTopicConfig, broker: &BrokerConfig) -> LogConfig {
    LogConfig {
        segment_bytes: effective.segment_bytes.max(0) as u64,
        segment_ms: effective.segment_ms,
        retention_ms: effective.retention_ms,
        retention_bytes: effective.retention_bytes,
        index_interval_bytes: effective.index_interval_bytes.max(0) as u64,
        segment_index_bytes: effective.segment_index_bytes.max(0) as u64,
        producer_id_expiration_ms: i64::from(broker.settings().producer_id_expiration_ms),
        flush: match effective.flush_policy {
            FlushPolicy::Fsync => strom_storage::FlushPolicy::Fsync,
            FlushPolicy::PageCache => strom_storage::FlushPolicy::PageCache,
        },
        cleanup_policy: strom_storage::CleanupPolicy {
            delete: effective.cleanup_policy.delete,
            compact: effective.cleanup_policy.compact,
        },
        delete_retention_ms: effective.delete_retention_ms,
        min_cleanable_dirty_ratio: effective.min_cleanable_dirty_ratio,
        min_compaction_lag_ms: effective.min_compaction_lag_ms,
        max_compaction_lag_ms: effective.max_compaction_lag_ms,
    }
}

fn partition_dir(data_dir: &Path, topic: &str, index: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{index}"))
}

/// Whether any segment in `dir` has bytes (or cannot be read, to be safe).
fn holds_records(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".log"))
            && entry.metadata().map_or(true, |m| m.len() > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topics_partitions_are_found_by_index_however_sparse() {
        let dir = tempfile::tempdir().expect("temp dir");
        let partition = |index: i32| {
            let log = Log::open(dir.path().join(format!("t-{index}")), Default::default())
                .expect("log opens");
            Arc::new(Partition::with_default_config("t", index, log, 1))
        };
        let indexes = |held: &TopicPartitions| held.values().map(|p| p.index).collect::<Vec<_>>();
        // A broker of a cluster holds some of a topic's partitions only.
        let mut held = TopicPartitions::default();
        held.insert(5, partition(5));
        held.insert(2, partition(2));
        held.insert(2, partition(2));
        assert_eq!(indexes(&held), [2, 5]);
        for index in [2, 5] {
            assert_eq!(held.get(index).map(|p| p.index), Some(index));
        }
        for index in [-1, 0, 3, 6, i32::MAX, i32::MIN] {
            assert!(held.get(index).is_none(), "{index} is not held");
        }
        for index in [5, 7, -1] {
            held.remove(index);
        }
        assert_eq!(indexes(&held), [2]);
        assert!(!held.is_empty());
        held.remove(2);
        assert!(
            held.is_empty(),
            "the replaced and removed partitions were counted once"
        );
    }
}
