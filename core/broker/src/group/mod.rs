//! The group coordinator for Kafka's classic consumer-group protocol
//! (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and committed offsets,
//! persisted in the internal topic `__consumer_offsets`.
//!
//! - [`GroupCoordinator`] (this file): the groups of this broker, which
//!   partitions of `__consumer_offsets` are still loading, and the checks
//!   every group request starts with (valid group id, coordinator loaded,
//!   this broker leads the group's partition).
//! - `classic` and `member`: one group's state (Empty, PreparingRebalance,
//!   CompletingRebalance, Stable, Dead), its members, protocol vote and
//!   generations, behind a `std::sync::Mutex` held only for in-memory work.
//! - `join`, `sync`: the rebalance protocol, as Kafka's GroupCoordinator
//!   runs it. Parked JoinGroup/SyncGroup requests wait on oneshot channels
//!   outside the lock, so they never block other groups or connections.
//! - `static_member`: KIP-345 rejoins of a known group.instance.id.
//! - `timers`: tokio tasks for session expiry, rebalance and initial-delay
//!   deadlines, and the SyncGroup deadline after a join completes.
//! - `offsets`: OffsetCommit/OffsetFetch/OffsetDelete, DeleteGroups and
//!   offset retention, and dropping the offsets of a deleted topic.
//! - `records`, `store`, `load`: Kafka's record formats, the write path (one
//!   batch per change, acknowledged once durable) and the replay of
//!   `__consumer_offsets` at startup.
//!
//! Choices where Kafka leaves room:
//! - `__consumer_offsets` is created when a client first needs a
//!   coordinator (FindCoordinator or any group request), as Kafka does, with
//!   `offsets.topic.num.partitions` partitions and `cleanup.policy=compact`.
//!   A group's partition is `abs(hashCode(group_id)) % partitions` over the
//!   topic's actual partition count.
//! - On startup, groups are restored with their members, as Kafka does:
//!   members that resume heartbeating keep their assignment; the others
//!   expire after their session timeout, and the group rebalances.

mod admin;
mod classic;
mod join;
mod load;
mod member;
mod offsets;
pub mod records;
mod static_member;
mod store;
mod sync;
mod timers;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

pub use admin::{
    delete_groups, describe, list, offset_delete, DeleteGroupResult, DescribedMember,
    GroupDescription, ListedGroup,
};
pub use classic::{ClassicGroup, GroupState};
pub use join::{join, JoinParams, JoinResult, JoinedMember};
pub use load::start;
pub(crate) use offsets::remove_topic_offsets;
pub use offsets::{commit, fetch, CommitParams, CommitPartition, FetchedOffset};
pub(crate) use store::ensure_offsets_topic;
pub use store::{offsets_topic_configs, OFFSETS_TOPIC};
pub use sync::{heartbeat, leave, sync, LeavingMember, SyncParams, SyncResult};

use strom_protocol::error_codes;
use tokio::sync::Notify;

use crate::partition::Partition;
use crate::partition_manager::LeadershipChange;
use crate::state::Broker;

/// The group APIs, for the checks that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupApi {
    Join,
    Sync,
    Heartbeat,
    Leave,
    OffsetCommit,
    OffsetFetch,
    Describe,
    Delete,
    OffsetDelete,
}

impl GroupApi {
    /// Kafka accepts an empty group id only where a group need not be
    /// joined: offsets of "simple" consumers, describe and delete.
    fn accepts_empty_group_id(self) -> bool {
        matches!(
            self,
            GroupApi::OffsetCommit | GroupApi::OffsetFetch | GroupApi::Describe | GroupApi::Delete
        )
    }
}

/// A group's lock. A poisoned lock is taken over: every mutation leaves
/// the group consistent before anything that could panic.
pub(crate) type GroupRef = Arc<Mutex<ClassicGroup>>;

pub(crate) fn lock(group: &GroupRef) -> MutexGuard<'_, ClassicGroup> {
    group.lock().unwrap_or_else(|e| e.into_inner())
}

/// One broker's groups and the load state of its offsets partitions.
#[derive(Default)]
pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, GroupRef>>,
    /// Partitions of `__consumer_offsets` being replayed: their groups
    /// answer COORDINATOR_LOAD_IN_PROGRESS meanwhile.
    loading: Mutex<HashSet<i32>>,
    /// Partitions gained and not yet replayed, for `load::load_loop`.
    to_load: Mutex<VecDeque<Arc<Partition>>>,
    load_wanted: Notify,
}

impl GroupCoordinator {
    /// Follows the partition manager: a gained `__consumer_offsets`
    /// partition is replayed before its groups are served (at once if it
    /// holds nothing), a lost one takes its groups away (Kafka's
    /// `onElection` / `onResignation`).
    pub fn on_leadership_changes(&self, changes: &[LeadershipChange]) {
        for change in changes {
            match change {
                LeadershipChange::Gained(partition) if partition.topic == OFFSETS_TOPIC => {
                    let log = &partition.log;
                    if log.high_watermark() <= log.log_start_offset() {
                        continue;
                    }
                    self.lock_loading().insert(partition.index);
                    self.lock_to_load().push_back(partition.clone());
                    self.load_wanted.notify_one();
                }
                LeadershipChange::Lost(partition) if partition.topic == OFFSETS_TOPIC => {
                    let index = partition.index;
                    self.lock_loading().remove(&index);
                    self.lock_to_load().retain(|p| p.index != index);
                    self.map().retain(|_, group| lock(group).partition != index);
                }
                _ => {}
            }
        }
    }

    fn lock_loading(&self) -> MutexGuard<'_, HashSet<i32>> {
        self.loading.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_to_load(&self) -> MutexGuard<'_, VecDeque<Arc<Partition>>> {
        self.to_load.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The partitions waiting to be replayed; waits while there are none.
    pub(crate) async fn next_to_load(&self) -> Vec<Arc<Partition>> {
        loop {
            let queued: Vec<_> = self.lock_to_load().drain(..).collect();
            if !queued.is_empty() {
                return queued;
            }
            // notify_one keeps a permit: a push after the drain wakes us.
            self.load_wanted.notified().await;
        }
    }

    /// True while partition `partition` of `__consumer_offsets` is loading.
    pub fn is_loading(&self, partition: i32) -> bool {
        self.loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&partition)
    }

    /// True while any partition is loading.
    pub fn any_loading(&self) -> bool {
        !self
            .loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    pub(crate) fn finish_loading(&self, partition: i32) {
        self.loading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&partition);
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, GroupRef>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, group_id: &str) -> Option<GroupRef> {
        self.map().get(group_id).cloned()
    }

    pub(crate) fn get_or_create(&self, group_id: &str, partition: i32) -> GroupRef {
        self.map()
            .entry(group_id.to_string())
            .or_insert_with(|| {
                Arc::new(Mutex::new(ClassicGroup::new(
                    group_id.to_string(),
                    partition,
                )))
            })
            .clone()
    }

    pub(crate) fn insert(&self, group: ClassicGroup) -> GroupRef {
        let id = group.group_id.clone();
        let group = Arc::new(Mutex::new(group));
        self.map().insert(id, group.clone());
        group
    }

    /// Forgets a group that went Dead, unless the map already holds a newer
    /// group of the same id.
    pub(crate) fn remove_if_same(&self, group_id: &str, group: &GroupRef) {
        let mut map = self.map();
        if map.get(group_id).is_some_and(|g| Arc::ptr_eq(g, group)) {
            map.remove(group_id);
        }
    }

    /// Every group, for listing and periodic expiry.
    pub(crate) fn all(&self) -> Vec<GroupRef> {
        self.map().values().cloned().collect()
    }

    /// The checks every group request starts with; the group's partition
    /// of `__consumer_offsets` when they pass, else the Kafka error code.
    pub async fn check(
        &self,
        broker: &Arc<Broker>,
        group_id: &str,
        api: GroupApi,
    ) -> Result<i32, i16> {
        if group_id.is_empty() && !api.accepts_empty_group_id() {
            return Err(error_codes::INVALID_GROUP_ID);
        }
        let partitions = store::ensure_offsets_topic(broker).await?;
        self.check_partition(broker, partition_for(group_id, partitions))
    }

    /// COORDINATOR_LOAD_IN_PROGRESS while loading; NOT_COORDINATOR when
    /// this broker does not lead the partition (a single broker leads all
    /// of them once the topic exists).
    fn check_partition(&self, broker: &Broker, partition: i32) -> Result<i32, i16> {
        if self.is_loading(partition) {
            return Err(error_codes::COORDINATOR_LOAD_IN_PROGRESS);
        }
        match broker.partition(OFFSETS_TOPIC, partition) {
            Ok(_) => Ok(partition),
            Err(_) => Err(error_codes::NOT_COORDINATOR),
        }
    }
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_string_hash(value: &str) -> i32 {
    value.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs(groupId.hashCode) % partitions`: the partition of
/// `__consumer_offsets` that holds a group, whose leader coordinates it.
pub fn partition_for(group_id: &str, partitions: i32) -> i32 {
    let hash = java_string_hash(group_id);
    // Utils.abs maps Integer.MIN_VALUE to 0 rather than overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_match_kafkas_hashing() {
        // Values of Java's "...".hashCode().
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("my-group"), -1_906_497_762);
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("hello", 50), 22);
        // A negative hash: "polygenelubricants" hashes to Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        assert_eq!(partition_for("zzzzzzzzzz", 50), 36);
    }
}

#[cfg(test)]
mod coordinator_tests {
    use super::*;
    use strom_protocol::records::{CompressionType, RecordBatchBuilder};

    /// Partition `index` of `__consumer_offsets`, led here, holding
    /// `records` committed records.
    async fn offsets_partition(
        dir: &tempfile::TempDir,
        index: i32,
        records: usize,
    ) -> Arc<Partition> {
        let log =
            strom_storage::Log::open(dir.path().join(format!("o-{index}")), Default::default())
                .expect("log opens");
        let partition = Arc::new(Partition::with_default_config(OFFSETS_TOPIC, index, log, 1));
        partition.make_leader(0, vec![1], vec![1]);
        if records > 0 {
            let mut batch = RecordBatchBuilder::new(CompressionType::None);
            for _ in 0..records {
                batch
                    .append(0, Some(b"k"), Some(b"v"), &[])
                    .expect("record");
            }
            let mut bytes = batch.build().expect("batch").to_vec();
            let outcome = partition
                .append_as_leader(&mut bytes, None, None)
                .expect("append");
            partition
                .wait_committed(outcome.last_offset + 1)
                .await
                .expect("committed");
        }
        partition
    }

    #[tokio::test]
    async fn gained_offsets_partitions_load_and_lost_ones_take_their_groups_away() {
        let dir = tempfile::tempdir().expect("tempdir");
        let coordinator = GroupCoordinator::default();
        let (empty, full) = (
            offsets_partition(&dir, 1, 0).await,
            offsets_partition(&dir, 3, 2).await,
        );
        coordinator.on_leadership_changes(&[
            LeadershipChange::Gained(empty.clone()),
            LeadershipChange::Gained(full.clone()),
        ]);
        assert!(
            !coordinator.is_loading(1),
            "nothing to replay: served at once"
        );
        assert!(coordinator.is_loading(3) && coordinator.any_loading());
        let queued = coordinator.next_to_load().await;
        assert_eq!(queued.iter().map(|p| p.index).collect::<Vec<_>>(), vec![3]);
        coordinator.finish_loading(3);
        assert!(!coordinator.any_loading());

        coordinator.get_or_create("stays", 1);
        coordinator.get_or_create("goes", 3);
        coordinator.on_leadership_changes(&[LeadershipChange::Lost(full.clone())]);
        assert!(
            coordinator.get("goes").is_none(),
            "its partition moved away"
        );
        assert!(coordinator.get("stays").is_some());

        // Lost before its turn: never replayed here.
        coordinator.on_leadership_changes(&[LeadershipChange::Gained(full.clone())]);
        coordinator.on_leadership_changes(&[LeadershipChange::Lost(full)]);
        assert!(!coordinator.is_loading(3));
        assert!(coordinator.lock_to_load().is_empty());
    }
}
