//! Classic consumer group membership: the coordinator connection, the
//! JoinGroup/SyncGroup round trip (the leader runs the assignor, in
//! `group/leader.rs`) and LeaveGroup. The heartbeat, which also enforces
//! max.poll.interval.ms, is in [`super::heartbeat`].
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

mod leader;
mod leave;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strom_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use strom_protocol::messages::{ApiKey, JoinGroupRequest, Request, Response, SyncGroupRequest};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::assignors::Assignor;
use super::member_data;
use super::TopicPartition;
use crate::admin::AdminClient;
use crate::cluster::{unexpected, Cluster};
use crate::connection::{Connection, ConnectionSettings};
use crate::error::{check_code, ClientError, Result};

pub(crate) const ILLEGAL_GENERATION: i16 = 22;
pub(crate) const UNKNOWN_MEMBER_ID: i16 = 25;
pub(crate) const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;
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
    /// When the application last called `poll` (or a join completed); the
    /// heartbeat task leaves the group once it is max.poll.interval.ms old.
    pub last_poll: Instant,
}

/// What a join ended with.
#[derive(Debug)]
pub(crate) enum JoinOutcome {
    /// A new generation and this member's assignment in it.
    Synced {
        assignment: Vec<TopicPartition>,
        cooperative: bool,
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
}

/// Marks a join in progress (heartbeats pause) for its lifetime.
struct JoiningFlag<'a>(&'a Shared);

impl<'a> JoiningFlag<'a> {
    fn set(shared: &'a Shared) -> Self {
        shared.with_state(|s| s.joining = true);
        JoiningFlag(shared)
    }
}

impl Drop for JoiningFlag<'_> {
    fn drop(&mut self) {
        self.0.with_state(|s| s.joining = false);
    }
}

/// The consumer's side of its group; owned by the `Consumer`.
pub(crate) struct GroupCoordinator {
    pub shared: Arc<Shared>,
    heartbeat: Option<JoinHandle<()>>,
}

impl Drop for GroupCoordinator {
    fn drop(&mut self) {
        self.stop_heartbeat();
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
        let connection = Connection::connect(&address, settings).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    pub async fn forget_coordinator(&self) {
        *self.coordinator.lock().await = None;
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
                rejoin_needed: false,
                partitions_lost: false,
                joining: false,
                fatal: None,
                assigned_from: None,
                cooperative: false,
                last_assignment: Vec::new(),
                last_poll: Instant::now(),
            }),
            coordinator: tokio::sync::Mutex::new(None),
        });
        GroupCoordinator {
            shared,
            heartbeat: None,
        }
    }

    /// Whether `poll` must (re)join before fetching.
    pub fn needs_join(&self) -> bool {
        self.shared
            .with_state(|s| s.generation_id < 0 || s.rejoin_needed)
    }

    /// Joins (or rejoins) the group with `topics`, telling the leader the
    /// partitions this member still holds (`owned`: cooperative members
    /// only), and returns this member's assignment. Retries through
    /// coordinator moves and the rejoin errors.
    pub async fn join(
        &mut self,
        topics: &[String],
        owned: &[TopicPartition],
        assignors: &[Assignor],
    ) -> Result<JoinOutcome> {
        // Cleared on drop too: a caller may cancel `poll` mid-join.
        let _joining = JoiningFlag::set(&self.shared);
        let result = self.join_until_synced(topics, owned, assignors).await;
        drop(_joining);
        if result.is_ok() && self.heartbeat.is_none() {
            self.heartbeat = Some(tokio::spawn(super::heartbeat::heartbeat_loop(
                Arc::downgrade(&self.shared),
                super::heartbeat::heartbeat_interval(self.shared.cluster.config()),
            )));
        }
        result
    }

    async fn join_until_synced(
        &self,
        topics: &[String],
        owned: &[TopicPartition],
        assignors: &[Assignor],
    ) -> Result<JoinOutcome> {
        let config = self.shared.cluster.config();
        let deadline = Instant::now() + config.max_poll_interval + config.request_timeout;
        let (generation, previous) = self
            .shared
            .with_state(|s| (s.generation_id, s.last_assignment.clone()));
        let protocols = leader::protocol_metadata(topics, owned, &previous, generation, assignors)?;
        loop {
            if let Some(reason) = self.shared.with_state(|s| s.fatal.clone()) {
                return Err(ClientError::InvalidArgument(reason));
            }
            match self.join_and_sync_once(&protocols, assignors, owned).await {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) => {}
                Err(error) if error.is_retriable() && Instant::now() < deadline => {
                    tracing::debug!(group = %self.shared.group_id, "join failed, retrying: {error}");
                    tokio::time::sleep(config.retry_backoff).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One JoinGroup + SyncGroup; `Ok(None)` means "join again now".
    async fn join_and_sync_once(
        &self,
        protocols: &[JoinGroupRequestProtocol],
        assignors: &[Assignor],
        owned: &[TopicPartition],
    ) -> Result<Option<JoinOutcome>> {
        let shared = &self.shared;
        let config = shared.cluster.config();
        let member_id = shared.with_state(|s| s.member_id.clone());
        let request = JoinGroupRequest {
            group_id: shared.group_id.clone(),
            session_timeout_ms: millis(config.session_timeout),
            rebalance_timeout_ms: millis(config.max_poll_interval),
            member_id,
            group_instance_id: shared.instance_id.clone(),
            protocol_type: PROTOCOL_TYPE.to_string(),
            protocols: protocols.to_vec(),
            reason: None,
            ..Default::default()
        };
        let response = shared.send(ApiKey::JoinGroup, |_| request.into()).await?;
        let Response::JoinGroup(joined) = response else {
            return Err(unexpected(ApiKey::JoinGroup, &response));
        };
        match joined.error_code {
            0 => {}
            MEMBER_ID_REQUIRED => {
                // KIP-394: the broker names our member id; join again with it.
                shared.with_state(|s| s.member_id = joined.member_id.clone());
                return Ok(None);
            }
            UNKNOWN_MEMBER_ID => return Ok(self.fenced_while_joining(UNKNOWN_MEMBER_ID, owned)),
            code if coordinator_moved(code) => {
                shared.forget_coordinator().await;
                return Err(ClientError::kafka(code, "joining the group", None));
            }
            code => {
                return Err(ClientError::kafka(
                    code,
                    format!("joining group `{}`", shared.group_id),
                    None,
                ))
            }
        }
        shared.with_state(|s| s.member_id = joined.member_id.clone());
        let (assignments, assigned_from) = if joined.leader == joined.member_id {
            let (assignments, counts) = self.lead(&joined, assignors).await?;
            (assignments, Some(counts))
        } else {
            (Vec::new(), None)
        };
        let sync = SyncGroupRequest {
            group_id: shared.group_id.clone(),
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: shared.instance_id.clone(),
            protocol_type: Some(PROTOCOL_TYPE.to_string()),
            protocol_name: joined.protocol_name.clone(),
            assignments,
            ..Default::default()
        };
        let response = shared.send(ApiKey::SyncGroup, |_| sync.into()).await?;
        let Response::SyncGroup(synced) = response else {
            return Err(unexpected(ApiKey::SyncGroup, &response));
        };
        match synced.error_code {
            0 => {}
            REBALANCE_IN_PROGRESS => return Ok(None),
            code @ (ILLEGAL_GENERATION | UNKNOWN_MEMBER_ID) => {
                return Ok(self.fenced_while_joining(code, owned))
            }
            code if coordinator_moved(code) => {
                shared.forget_coordinator().await;
                return Err(ClientError::kafka(code, "syncing the group", None));
            }
            code => {
                check_code(
                    code,
                    || format!("syncing group `{}`", shared.group_id),
                    None,
                )?;
            }
        }
        let assignment = member_data::decode_assignment(&synced.assignment)?;
        // The protocol the group chose decides; SyncGroup v5+ repeats it.
        let protocol = synced
            .protocol_name
            .as_ref()
            .or(joined.protocol_name.as_ref());
        let cooperative = protocol
            .and_then(|name| Assignor::from_config_name(name))
            .is_some_and(Assignor::is_cooperative);
        shared.with_state(|s| {
            s.generation_id = joined.generation_id;
            s.assigned_from = assigned_from;
            s.rejoin_needed = false;
            s.partitions_lost = false;
            s.cooperative = cooperative;
            s.last_assignment = assignment.clone();
            s.last_poll = Instant::now();
        });
        Ok(Some(JoinOutcome::Synced {
            assignment,
            cooperative,
        }))
    }

    /// The group no longer knows this member (UNKNOWN_MEMBER_ID: its id is
    /// forgotten too) or its generation mid-join. With nothing held, just
    /// join again; partitions still held may be someone else's by now: they
    /// are lost, as in Java, and must be given up before the next join.
    fn fenced_while_joining(&self, code: i16, owned: &[TopicPartition]) -> Option<JoinOutcome> {
        self.shared.with_state(|s| {
            if code == UNKNOWN_MEMBER_ID {
                s.member_id.clear();
            }
            s.generation_id = -1;
            if owned.is_empty() {
                return None;
            }
            s.partitions_lost = true;
            s.rejoin_needed = true;
            Some(JoinOutcome::OwnedLost)
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
    /// partitions wait for them to come back.
    pub async fn leave(&mut self) -> Result<()> {
        self.stop_heartbeat();
        self.shared.leave("the consumer is closing").await
    }
}

fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}
