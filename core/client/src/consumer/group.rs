//! Classic consumer group membership: the coordinator connection, the
//! JoinGroup/SyncGroup round trip (run in a task of its own so `poll` keeps
//! its timeout, in `group/join.rs`; the leader runs the assignor, in
//! `group/leader.rs`) and LeaveGroup (`group/leave.rs`). The heartbeat,
//! which also enforces max.poll.interval.ms, is in [`super::heartbeat`].
//!
//! A member joins with the partitions it still holds (none under the eager
//! protocol, which revokes everything first; its kept partitions under the
//! cooperative one) and the generation they are from. Which protocol a
//! rebalance follows is the group's choice: the coordinator picks the
//! assignor every member lists, and `cooperative-sticky` means cooperative.
//!
//! As in the Java client, the coordinator gets its own connection: a broker
//! serves one request per connection at a time, and a JoinGroup parked
//! until the rest of the group rejoins must not hold up fetches.

mod join;
mod leader;
mod leave;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strom_protocol::error_codes::{
    FENCED_INSTANCE_ID, ILLEGAL_GENERATION, MEMBER_ID_REQUIRED, REBALANCE_IN_PROGRESS,
    UNKNOWN_MEMBER_ID,
};
use strom_protocol::messages::{ApiKey, Request, Response};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::TopicPartition;
use crate::admin::AdminClient;
use crate::cluster::Cluster;
use crate::connection::{Connection, ConnectionSettings};
use crate::error::{ClientError, Result};
use join::JoinTask;

const PROTOCOL_TYPE: &str = "consumer";

/// Coordinator errors after which the coordinator is looked up again.
pub(crate) fn coordinator_moved(code: i16) -> bool {
    matches!(code, 14..=16)
}

/// What the consumer and the heartbeat task both know about membership.
#[derive(Debug)]
pub(crate) struct MemberState {
    pub member_id: String,
    /// -1 while not a member of a stable generation.
    pub generation_id: i32,
    /// The member the coordinator made leader of the generation joined
    /// (it assigns the partitions); empty before a join.
    pub leader_id: String,
    pub rejoin_needed: bool,
    /// The coordinator fenced this member: its partitions may already be
    /// someone else's, so they are "lost" (no commit, `on_lost`).
    pub partitions_lost: bool,
    /// A join is in progress; heartbeats pause meanwhile.
    pub joining: bool,
    /// Set when the group refuses this member for good.
    pub fatal: Option<String>,
    /// As leader: the partition count of every topic the group subscribes
    /// to (`None`: no such topic) that the last assignment was made from.
    /// A change calls for a new assignment, as in the Java client.
    pub assigned_from: Option<BTreeMap<String, Option<i32>>>,
    /// Whether the last generation joined follows the cooperative protocol:
    /// then the next rebalance keeps the partitions instead of revoking.
    pub cooperative: bool,
    /// This member's assignment in the last generation it joined: what the
    /// eager sticky assignor's user data remembers.
    pub last_assignment: Vec<TopicPartition>,
    /// When the application last called `poll` (joins run in the
    /// background, so a poll waiting for one returns and counts); the
    /// heartbeat task leaves the group once it is max.poll.interval.ms old.
    pub last_poll: Instant,
    /// The group's committed offset of each partition, as this member
    /// last committed or read it (the statistics' `committed_offset`).
    pub committed: HashMap<TopicPartition, i64>,
}

/// What a join ended with.
#[derive(Debug)]
pub(crate) enum JoinOutcome {
    /// A new generation and this member's assignment in it, with the
    /// group's committed offsets for it (fetched after SyncGroup; a
    /// partition without one is absent).
    Synced {
        assignment: Vec<TopicPartition>,
        cooperative: bool,
        committed: Result<HashMap<TopicPartition, i64>>,
    },
    /// The coordinator no longer knows this member while it still held
    /// partitions: they are lost (`partitions_lost` is set); join again
    /// once they are given up.
    OwnedLost,
}

pub(crate) struct Shared {
    pub group_id: String,
    pub instance_id: Option<String>,
    pub cluster: Cluster,
    admin: AdminClient,
    pub state: Mutex<MemberState>,
    coordinator: tokio::sync::Mutex<Option<Connection>>,
    /// Where finding the coordinator stands, for the statistics.
    coordinator_state: AtomicU8,
}

const COORDINATOR_WAIT: u8 = 0;
const COORDINATOR_QUERY: u8 = 1;
const COORDINATOR_UP: u8 = 2;

/// The consumer's side of its group; owned by the `ConsumerState`.
pub(crate) struct GroupCoordinator {
    pub shared: Arc<Shared>,
    heartbeat: Option<JoinHandle<()>>,
    /// The join running in its own task, or its result not yet applied.
    join: JoinTask,
}

impl Drop for GroupCoordinator {
    fn drop(&mut self) {
        self.stop_heartbeat();
        if let JoinTask::Running { task, .. } = &self.join {
            task.abort();
        }
    }
}

impl Shared {
    pub fn with_state<T>(&self, f: impl FnOnce(&mut MemberState) -> T) -> T {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// The connection to the group's coordinator, found and opened on demand.
    async fn coordinator(&self) -> Result<Connection> {
        let mut slot = self.coordinator.lock().await;
        if let Some(connection) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(connection.clone());
        }
        let state = &self.coordinator_state;
        state.store(COORDINATOR_QUERY, Ordering::Release);
        let connection = self.connect_coordinator().await;
        let now = if connection.is_ok() {
            COORDINATOR_UP
        } else {
            COORDINATOR_WAIT
        };
        state.store(now, Ordering::Release);
        let connection = connection?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Finds the group's coordinator and opens a connection to it.
    async fn connect_coordinator(&self) -> Result<Connection> {
        let node = self.admin.find_coordinator(&self.group_id).await?;
        let address = self
            .cluster
            .metadata()
            .brokers
            .get(&node)
            .map(|b| b.address())
            .ok_or_else(|| ClientError::NoBrokerAvailable {
                reason: format!("coordinator node {node} is not in the cluster metadata"),
            })?;
        let config = self.cluster.config();
        let mut settings = ConnectionSettings::from(config);
        // JoinGroup may be parked for the whole rebalance timeout; the
        // Java client waits that long plus 5 s.
        settings.request_timeout = settings
            .request_timeout
            .max(config.max_poll_interval + Duration::from_secs(5));
        let stats = self.cluster.broker_stats(node, &address);
        Connection::connect(&address, settings, stats).await
    }

    /// librdkafka's consumer group state, for the statistics: `up` with a
    /// coordinator connection open, `query-coord` while looking for it,
    /// `wait-coord` before the first look and after one failed or the
    /// connection was lost.
    pub fn coordinator_state(&self) -> &'static str {
        // A connection that closed since is noticed when free to look.
        let lost = || {
            self.coordinator
                .try_lock()
                .is_ok_and(|slot| slot.as_ref().is_none_or(Connection::is_closed))
        };
        match self.coordinator_state.load(Ordering::Acquire) {
            COORDINATOR_UP if lost() => "wait-coord",
            COORDINATOR_UP => "up",
            COORDINATOR_QUERY => "query-coord",
            _ => "wait-coord",
        }
    }

    pub async fn forget_coordinator(&self) {
        *self.coordinator.lock().await = None;
        self.coordinator_state
            .store(COORDINATOR_WAIT, Ordering::Release);
    }

    /// Sends one request to the coordinator; a lost connection makes the
    /// next request look the coordinator up again.
    pub async fn send(&self, api: ApiKey, build: impl FnOnce(i16) -> Request) -> Result<Response> {
        let connection = self.coordinator().await?;
        let result = if api == ApiKey::JoinGroup {
            connection.send(api, build).await
        } else {
            // The connection's own timeout is stretched for JoinGroup; the
            // other group requests keep request.timeout.ms.
            let timeout = self.cluster.config().request_timeout;
            match tokio::time::timeout(timeout, connection.send(api, build)).await {
                Ok(result) => result,
                Err(_) => Err(ClientError::Timeout {
                    what: format!("{} to the group coordinator", api.name()),
                    after: timeout,
                    setting: "request.timeout.ms",
                }),
            }
        };
        if let Err(ClientError::Disconnected { .. } | ClientError::Timeout { .. }) = &result {
            self.forget_coordinator().await;
        }
        result
    }

    /// The generation and member id to put in commits: -1 and "" when not a
    /// member (manual assignment commits as a non-member, as in Java).
    pub fn generation(&self) -> (i32, String) {
        self.with_state(|s| {
            if s.generation_id >= 0 {
                (s.generation_id, s.member_id.clone())
            } else {
                (-1, String::new())
            }
        })
    }

    /// Reacts to a group error code from any group request.
    pub fn note_group_error(&self, code: i16, generation_sent: i32) {
        self.with_state(|s| {
            if s.generation_id != generation_sent {
                return; // the answer is about a generation already left
            }
            match code {
                REBALANCE_IN_PROGRESS => s.rejoin_needed = true,
                ILLEGAL_GENERATION | UNKNOWN_MEMBER_ID => {
                    s.rejoin_needed = true;
                    s.partitions_lost = true;
                    s.generation_id = -1;
                    if code == UNKNOWN_MEMBER_ID {
                        s.member_id.clear();
                    }
                }
                FENCED_INSTANCE_ID => {
                    s.fatal = Some(format!(
                        "another consumer took group.instance.id `{}`",
                        self.instance_id.as_deref().unwrap_or_default()
                    ))
                }
                _ => {}
            }
        });
    }
}

impl GroupCoordinator {
    pub fn new(cluster: Cluster, group_id: String, instance_id: Option<String>) -> Self {
        let shared = Arc::new(Shared {
            group_id,
            instance_id,
            admin: AdminClient::from_cluster(cluster.clone()),
            cluster,
            state: Mutex::new(MemberState {
                member_id: String::new(),
                generation_id: -1,
                leader_id: String::new(),
                rejoin_needed: false,
                partitions_lost: false,
                joining: false,
                fatal: None,
                assigned_from: None,
                cooperative: false,
                last_assignment: Vec::new(),
                last_poll: Instant::now(),
                committed: HashMap::new(),
            }),
            coordinator: tokio::sync::Mutex::new(None),
            coordinator_state: AtomicU8::new(COORDINATOR_WAIT),
        });
        GroupCoordinator {
            shared,
            heartbeat: None,
            join: JoinTask::Idle,
        }
    }

    /// Whether `poll` must (re)join before fetching.
    pub fn needs_join(&self) -> bool {
        self.shared
            .with_state(|s| s.generation_id < 0 || s.rejoin_needed)
    }

    /// As leader, the subscribed topics the last assignment found missing.
    pub fn missing_topics(&self) -> Vec<String> {
        self.shared.with_state(|s| {
            s.assigned_from.as_ref().map_or_else(Vec::new, |snapshot| {
                snapshot
                    .iter()
                    .filter(|(_, count)| count.is_none())
                    .map(|(topic, _)| topic.clone())
                    .collect()
            })
        })
    }

    /// As leader, whether a subscribed topic appeared, vanished or changed
    /// its partition count in the cached metadata since the assignment.
    pub fn metadata_changed(&self) -> bool {
        let Some(snapshot) = self.shared.with_state(|s| s.assigned_from.clone()) else {
            return false;
        };
        snapshot
            .iter()
            .any(|(topic, count)| self.shared.cluster.cached_partition_count(topic) != *count)
    }

    pub fn stop_heartbeat(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }

    /// Leaves the group so the others rebalance at once instead of after
    /// session.timeout.ms. Static members stay (as in Java): their
    /// partitions wait for them to come back. A join in progress is given
    /// up first; the LeaveGroup names the member id it got so far.
    pub async fn leave(&mut self) -> Result<()> {
        self.stop_heartbeat();
        self.abandon_join().await;
        self.shared.leave("the consumer is closing").await
    }
}

/// Completes once the group's running join has ended (see
/// [`GroupCoordinator::join_ended`]); never without a group or a join.
pub(crate) async fn running_join_ended(group: &mut Option<GroupCoordinator>) {
    match group {
        Some(group) => group.join_ended().await,
        None => std::future::pending().await,
    }
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}
