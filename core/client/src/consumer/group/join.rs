//! The JoinGroup + SyncGroup exchange, run in a task of its own so that
//! `poll` keeps its timeout while the group rebalances: a JoinGroup is
//! parked by the coordinator until every member has rejoined, which may
//! take up to the rebalance timeout and, when several members are polled
//! from one task, may need this very `poll` to return first.
//!
//! `poll` starts the task ([`GroupCoordinator::start_join`]), waits for it
//! at most until its own deadline and applies the result (positions,
//! rebalance callbacks) once it has arrived: the callbacks run on the
//! polling task, never here. The task owns what it needs (the shared
//! member state, the subscription, the assignors, the partitions held),
//! so dropping a `poll` future loses nothing. It also fetches the group's
//! committed offsets for the new assignment, so that applying the result
//! needs no round trip.

use std::sync::Arc;

use strom_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use strom_protocol::messages::{ApiKey, JoinGroupRequest, Response, SyncGroupRequest};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::super::assignors::Assignor;
use super::super::member_data;
use super::super::{CommitFuture, TopicPartition};
use super::{
    coordinator_moved, leader, millis, GroupCoordinator, JoinOutcome, Shared, ILLEGAL_GENERATION,
    MEMBER_ID_REQUIRED, PROTOCOL_TYPE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID,
};
use crate::cluster::unexpected;
use crate::error::{check_code, ClientError, Result};

/// What a join was started with and what it ended with.
#[derive(Debug)]
pub(crate) struct FinishedJoin {
    /// The subscription the member joined with: if it changed meanwhile,
    /// the member joins again.
    pub topics: Vec<String>,
    pub outcome: Result<JoinOutcome>,
}

/// What the JoinGroup + SyncGroup exchange ended with.
enum Joined {
    Synced {
        assignment: Vec<TopicPartition>,
        cooperative: bool,
    },
    /// See [`JoinOutcome::OwnedLost`].
    OwnedLost,
}

/// Where the member's join stands.
pub(super) enum JoinTask {
    Idle,
    Running {
        task: JoinHandle<()>,
        result: oneshot::Receiver<FinishedJoin>,
        topics: Vec<String>,
    },
    /// Received by `poll` but not applied yet (applying awaits a commit,
    /// and a dropped `poll` must find it again).
    Finished(FinishedJoin),
}

/// Marks a join in progress (heartbeats pause) for as long as the join
/// task lives, aborted or not.
struct JoiningFlag(Arc<Shared>);

impl JoiningFlag {
    fn set(shared: Arc<Shared>) -> Self {
        shared.with_state(|s| s.joining = true);
        JoiningFlag(shared)
    }
}

impl Drop for JoiningFlag {
    fn drop(&mut self) {
        self.0.with_state(|s| s.joining = false);
    }
}

impl GroupCoordinator {
    /// Starts joining (or rejoining) the group with `topics`, telling the
    /// leader the partitions this member still holds (`owned`: cooperative
    /// members only). Returns at once; [`Self::finished_join`] has the
    /// result. Also starts the heartbeat task, idle until the join is done.
    pub fn start_join(
        &mut self,
        topics: Vec<String>,
        owned: Vec<TopicPartition>,
        assignors: Vec<Assignor>,
        commits_first: Option<CommitFuture>,
    ) {
        // Set before the task runs, so no heartbeat of the old generation
        // goes out in between.
        let joining = JoiningFlag::set(self.shared.clone());
        let (send, result) = oneshot::channel();
        let shared = self.shared.clone();
        let joined_topics = topics.clone();
        let task = tokio::spawn(async move {
            if let Some(commits) = commits_first {
                // Offsets a rebalance callback committed go in first; a
                // failed commit is the callback's to see, not the join's.
                let _ = commits.await;
            }
            let outcome = shared
                .join_and_fetch_offsets(&topics, &owned, &assignors)
                .await;
            drop(joining);
            // Nobody listens when the consumer gave up the join meanwhile.
            let _ = send.send(FinishedJoin { topics, outcome });
        });
        self.join = JoinTask::Running {
            task,
            result,
            topics: joined_topics,
        };
        if self.heartbeat.is_none() {
            self.heartbeat = Some(tokio::spawn(super::super::heartbeat::heartbeat_loop(
                Arc::downgrade(&self.shared),
                super::super::heartbeat::heartbeat_interval(self.shared.cluster.config()),
            )));
        }
    }

    /// Whether a join task is running and its result not yet received.
    pub fn join_running(&mut self) -> bool {
        self.receive_join_result();
        matches!(self.join, JoinTask::Running { .. })
    }

    /// The result of the last join, once it has arrived and until
    /// [`Self::take_finished_join`] takes it.
    pub fn finished_join(&mut self) -> Option<&FinishedJoin> {
        self.receive_join_result();
        match &self.join {
            JoinTask::Finished(finished) => Some(finished),
            _ => None,
        }
    }

    pub fn take_finished_join(&mut self) -> Option<FinishedJoin> {
        self.receive_join_result();
        match std::mem::replace(&mut self.join, JoinTask::Idle) {
            JoinTask::Finished(finished) => Some(finished),
            other => {
                self.join = other;
                None
            }
        }
    }

    /// Completes once the running join has ended (its result is then kept
    /// for [`Self::finished_join`]); never, when no join is running. Safe
    /// to cancel: the result is stored as soon as it is received.
    pub async fn join_ended(&mut self) {
        let JoinTask::Running { result, topics, .. } = &mut self.join else {
            return std::future::pending().await;
        };
        let finished = match result.await {
            Ok(finished) => finished,
            Err(_) => task_vanished(std::mem::take(topics)),
        };
        self.join = JoinTask::Finished(finished);
    }

    /// Gives up a join in progress (for close and unsubscribe): the task is
    /// aborted and waited for, so it changes the member state no more, and
    /// an unapplied result is dropped. A JoinGroup may still be parked at
    /// the coordinator on its connection, and a broker answers a connection's
    /// requests in order: the connection is dropped so that the LeaveGroup
    /// that follows goes out on a new one instead of queueing behind it.
    pub async fn abandon_join(&mut self) {
        match std::mem::replace(&mut self.join, JoinTask::Idle) {
            JoinTask::Running { task, .. } => {
                task.abort();
                // Cancelled (or finished just before); either way it is done.
                let _ = task.await;
                self.shared.forget_coordinator().await;
            }
            JoinTask::Finished(_) | JoinTask::Idle => {}
        }
    }

    /// Moves a result that has arrived from the channel into `Finished`.
    fn receive_join_result(&mut self) {
        let JoinTask::Running { result, topics, .. } = &mut self.join else {
            return;
        };
        let finished = match result.try_recv() {
            Ok(finished) => finished,
            Err(oneshot::error::TryRecvError::Empty) => return,
            Err(oneshot::error::TryRecvError::Closed) => task_vanished(std::mem::take(topics)),
        };
        self.join = JoinTask::Finished(finished);
    }
}

/// The result of a join task that ended without one: it panicked, which
/// is a bug; `poll` reports it and the next `poll` joins again.
fn task_vanished(topics: Vec<String>) -> FinishedJoin {
    FinishedJoin {
        topics,
        outcome: Err(ClientError::Disconnected {
            addr: "the group coordinator".to_string(),
            reason: "the join task ended without a result".to_string(),
        }),
    }
}

impl Shared {
    /// The join task: joins until synced, then fetches the committed
    /// offsets of the new assignment (a failure there is part of the
    /// outcome: the member has joined, but must not start the new
    /// partitions from auto.offset.reset).
    async fn join_and_fetch_offsets(
        &self,
        topics: &[String],
        owned: &[TopicPartition],
        assignors: &[Assignor],
    ) -> Result<JoinOutcome> {
        match self.join_until_synced(topics, owned, assignors).await? {
            Joined::OwnedLost => Ok(JoinOutcome::OwnedLost),
            Joined::Synced {
                assignment,
                cooperative,
            } => {
                // The whole assignment, so that whatever `poll` finds it
                // does not hold any more when it applies this has an offset.
                let committed = self.fetch_committed(&assignment).await;
                Ok(JoinOutcome::Synced {
                    assignment,
                    cooperative,
                    committed,
                })
            }
        }
    }

    /// Retries through coordinator moves and the rejoin errors until
    /// synced, fenced while holding partitions, or out of time.
    async fn join_until_synced(
        &self,
        topics: &[String],
        owned: &[TopicPartition],
        assignors: &[Assignor],
    ) -> Result<Joined> {
        let config = self.cluster.config();
        let deadline = Instant::now() + config.max_poll_interval + config.request_timeout;
        let (generation, previous) =
            self.with_state(|s| (s.generation_id, s.last_assignment.clone()));
        let protocols = leader::protocol_metadata(topics, owned, &previous, generation, assignors)?;
        loop {
            if let Some(reason) = self.with_state(|s| s.fatal.clone()) {
                return Err(ClientError::InvalidArgument(reason));
            }
            match self.join_and_sync_once(&protocols, assignors, owned).await {
                Ok(Some(outcome)) => return Ok(outcome),
                Ok(None) => {}
                Err(error) if error.is_retriable() && Instant::now() < deadline => {
                    tracing::debug!(group = %self.group_id, "join failed, retrying: {error}");
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
    ) -> Result<Option<Joined>> {
        let config = self.cluster.config();
        let member_id = self.with_state(|s| s.member_id.clone());
        let request = JoinGroupRequest {
            group_id: self.group_id.clone(),
            session_timeout_ms: millis(config.session_timeout),
            rebalance_timeout_ms: millis(config.max_poll_interval),
            member_id,
            group_instance_id: self.instance_id.clone(),
            protocol_type: PROTOCOL_TYPE.to_string(),
            protocols: protocols.to_vec(),
            reason: None,
            ..Default::default()
        };
        let response = self.send(ApiKey::JoinGroup, |_| request.into()).await?;
        let Response::JoinGroup(joined) = response else {
            return Err(unexpected(ApiKey::JoinGroup, &response));
        };
        match joined.error_code {
            0 => {}
            MEMBER_ID_REQUIRED => {
                // KIP-394: the broker names our member id; join again with it.
                self.with_state(|s| s.member_id = joined.member_id.clone());
                return Ok(None);
            }
            UNKNOWN_MEMBER_ID => return Ok(self.fenced_while_joining(UNKNOWN_MEMBER_ID, owned)),
            code if coordinator_moved(code) => {
                self.forget_coordinator().await;
                return Err(ClientError::kafka(code, "joining the group", None));
            }
            code => {
                return Err(ClientError::kafka(
                    code,
                    format!("joining group `{}`", self.group_id),
                    None,
                ))
            }
        }
        self.with_state(|s| s.member_id = joined.member_id.clone());
        let (assignments, assigned_from) = if joined.leader == joined.member_id {
            let (assignments, counts) = self.lead(&joined, assignors).await?;
            (assignments, Some(counts))
        } else {
            (Vec::new(), None)
        };
        let sync = SyncGroupRequest {
            group_id: self.group_id.clone(),
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: self.instance_id.clone(),
            protocol_type: Some(PROTOCOL_TYPE.to_string()),
            protocol_name: joined.protocol_name.clone(),
            assignments,
            ..Default::default()
        };
        let response = self.send(ApiKey::SyncGroup, |_| sync.into()).await?;
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
                self.forget_coordinator().await;
                return Err(ClientError::kafka(code, "syncing the group", None));
            }
            code => {
                check_code(code, || format!("syncing group `{}`", self.group_id), None)?;
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
        // No `last_poll` update: `poll` kept running (and noting itself)
        // during the join, so max.poll.interval.ms counts on unchanged.
        self.with_state(|s| {
            s.generation_id = joined.generation_id;
            s.leader_id = joined.leader.clone();
            s.assigned_from = assigned_from;
            s.rejoin_needed = false;
            s.partitions_lost = false;
            s.cooperative = cooperative;
            s.last_assignment = assignment.clone();
        });
        Ok(Some(Joined::Synced {
            assignment,
            cooperative,
        }))
    }

    /// The group no longer knows this member (UNKNOWN_MEMBER_ID: its id is
    /// forgotten too) or its generation mid-join. With nothing held, just
    /// join again; partitions still held may be someone else's by now: they
    /// are lost, as in Java, and must be given up before the next join.
    fn fenced_while_joining(&self, code: i16, owned: &[TopicPartition]) -> Option<Joined> {
        self.with_state(|s| {
            if code == UNKNOWN_MEMBER_ID {
                s.member_id.clear();
            }
            s.generation_id = -1;
            if owned.is_empty() {
                return None;
            }
            s.partitions_lost = true;
            s.rejoin_needed = true;
            Some(Joined::OwnedLost)
        })
    }
}
