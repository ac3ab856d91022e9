//! Committed offsets of the consumer's group: OffsetCommit with the
//! member's generation, OffsetFetch for the positions a new assignment
//! starts from, and the consumer's `commit_*` / `committed` calls.
//!
//! `commit_async` hands its offsets to a queue task that commits them one
//! after another, so commits land in the order they were made; once that
//! queue exists, `commit_sync` and `commit_offsets` go through it too and
//! cannot be overtaken by an earlier async commit.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use strom_protocol::error_codes::{REBALANCE_IN_PROGRESS, UNSTABLE_OFFSET_COMMIT};
use strom_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use strom_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetFetchRequest, Response};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::group::{coordinator_moved, Shared};
use super::{ConsumerState, TopicPartition};
use crate::admin::{first_commit_error, offset_commit_topics};
use crate::callbacks::Queued;
use crate::cluster::{group_by_topic, unexpected};
use crate::error::{ClientError, Result};

impl Shared {
    /// Commits `offsets` (the next offset to read, per partition) for the
    /// group, retrying while the coordinator moves, until request.timeout.ms.
    pub(crate) async fn commit(&self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let topics = offset_commit_topics(offsets);
        let deadline = Instant::now() + self.cluster.config().request_timeout;
        loop {
            let (generation_id, member_id) = self.generation();
            let request = OffsetCommitRequest {
                group_id: self.group_id.clone(),
                generation_id_or_member_epoch: generation_id,
                member_id,
                group_instance_id: self.instance_id.clone().filter(|_| generation_id >= 0),
                retention_time_ms: -1,
                topics: topics.clone(),
                ..Default::default()
            };
            let code = match self.send(ApiKey::OffsetCommit, |_| request.into()).await {
                Ok(Response::OffsetCommit(response)) => first_commit_error(&response),
                Ok(other) => return Err(unexpected(ApiKey::OffsetCommit, &other)),
                Err(error) if error.is_retriable() && Instant::now() < deadline => {
                    tokio::time::sleep(self.cluster.config().retry_backoff).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if code == 0 {
                self.with_state(|s| s.committed.extend(offsets.iter().cloned()));
                return Ok(());
            }
            if coordinator_moved(code) && Instant::now() < deadline {
                self.forget_coordinator().await;
                tokio::time::sleep(self.cluster.config().retry_backoff).await;
                continue;
            }
            // REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID:
            // the commit is refused; the next poll rejoins (Java's
            // CommitFailedException).
            self.note_group_error(code, generation_id);
            return Err(ClientError::kafka(
                code,
                format!("committing offsets for group `{}`", self.group_id),
                None,
            ));
        }
    }

    /// The group's committed offsets for `partitions`; partitions without a
    /// committed offset are absent from the map.
    pub(crate) async fn fetch_committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        if partitions.is_empty() {
            return Ok(HashMap::new());
        }
        let entries = partitions
            .iter()
            .map(|tp| (tp.topic.to_string(), tp.partition));
        let topics: Vec<OffsetFetchRequestTopic> = group_by_topic(entries)
            .into_iter()
            .map(|(name, partition_indexes)| OffsetFetchRequestTopic {
                name,
                partition_indexes,
                ..Default::default()
            })
            .collect();
        let deadline = Instant::now() + self.cluster.config().request_timeout;
        loop {
            let request = OffsetFetchRequest {
                group_id: self.group_id.clone(),
                topics: Some(topics.clone()),
                // Wait out pending transactional commits (KIP-447).
                require_stable: true,
                ..Default::default()
            };
            let result = self.send(ApiKey::OffsetFetch, |_| request.into()).await;
            let response = match result {
                Ok(Response::OffsetFetch(response)) => response,
                Ok(other) => return Err(unexpected(ApiKey::OffsetFetch, &other)),
                Err(error) if error.is_retriable() && Instant::now() < deadline => {
                    tokio::time::sleep(self.cluster.config().retry_backoff).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            let code = std::iter::once(response.error_code)
                .chain(
                    response
                        .topics
                        .iter()
                        .flat_map(|t| &t.partitions)
                        .map(|p| p.error_code),
                )
                .find(|c| *c != 0)
                .unwrap_or(0);
            let retriable = coordinator_moved(code) || code == UNSTABLE_OFFSET_COMMIT;
            if retriable && Instant::now() < deadline {
                if coordinator_moved(code) {
                    self.forget_coordinator().await;
                }
                tokio::time::sleep(self.cluster.config().retry_backoff).await;
                continue;
            }
            if code != 0 {
                return Err(ClientError::kafka(
                    code,
                    format!("reading committed offsets of group `{}`", self.group_id),
                    None,
                ));
            }
            let mut committed = HashMap::new();
            for topic in response.topics {
                let name: Arc<str> = topic.name.into();
                for p in topic.partitions {
                    if p.committed_offset >= 0 {
                        let tp = TopicPartition::new(name.clone(), p.partition_index);
                        committed.insert(tp, p.committed_offset);
                    }
                }
            }
            self.with_state(|s| {
                s.committed
                    .extend(committed.iter().map(|(tp, offset)| (tp.clone(), *offset)))
            });
            return Ok(committed);
        }
    }
}

/// Called with the outcome of an async commit.
/// A commit callback told which offsets the commit was for.
pub(crate) type CommitReport =
    Box<dyn FnOnce(Result<()>, Vec<(TopicPartition, i64)>) + Send + 'static>;

pub(crate) type CommitCallback = Box<dyn FnOnce(Result<()>) + Send + 'static>;

/// Offsets to commit and who to tell.
struct CommitJob {
    offsets: Vec<(TopicPartition, i64)>,
    done: CommitCallback,
}

/// The task that runs commits in the order they were queued. Dropping the
/// queue lets the task finish the commits already queued, then end.
pub(crate) struct CommitQueue {
    jobs: mpsc::UnboundedSender<CommitJob>,
}

impl CommitQueue {
    fn start(shared: Arc<Shared>) -> CommitQueue {
        let (jobs, mut queue) = mpsc::unbounded_channel::<CommitJob>();
        tokio::spawn(async move {
            while let Some(job) = queue.recv().await {
                let result = shared.commit(&job.offsets).await;
                (job.done)(result);
            }
        });
        CommitQueue { jobs }
    }

    fn push(&self, offsets: Vec<(TopicPartition, i64)>, done: CommitCallback) {
        if let Err(mpsc::error::SendError(job)) = self.jobs.send(CommitJob { offsets, done }) {
            (job.done)(Err(ClientError::Closed {
                what: "consumer's commit queue",
            }));
        }
    }
}

/// The outcome of an async commit: owned, `Send + 'static`, so it can be
/// awaited anywhere or dropped (the commit still happens).
pub struct CommitFuture {
    outcome: oneshot::Receiver<Result<()>>,
}

impl CommitFuture {
    fn pair() -> (CommitFuture, CommitCallback) {
        let (reply, outcome) = oneshot::channel();
        let done: CommitCallback = Box::new(move |result| {
            // Nobody waiting is fine: the future was dropped.
            let _ = reply.send(result);
        });
        (CommitFuture { outcome }, done)
    }
}

impl Future for CommitFuture {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.outcome).poll(cx).map(|received| {
            received.unwrap_or(Err(ClientError::Closed {
                what: "consumer's commit queue",
            }))
        })
    }
}

impl ConsumerState {
    /// Commits the position of every assigned partition: the offset after
    /// the last record `poll` returned. Waits for the coordinator's answer
    /// (after any `commit_async` still queued lands).
    pub(crate) async fn commit_sync(&mut self) -> Result<Vec<(TopicPartition, i64)>> {
        let offsets = self.consumed_offsets();
        self.commit_in_order(offsets.clone()).await?;
        Ok(offsets)
    }

    /// Commits the given offsets (the next offset to read, as in Java's
    /// `commitSync(Map)`), for assigned partitions or not.
    pub(crate) async fn commit_offsets(
        &mut self,
        offsets: Vec<(TopicPartition, i64)>,
    ) -> Result<()> {
        self.commit_in_order(offsets).await
    }

    /// Starts committing the position of every assigned partition, as
    /// `commit_sync` would, and returns at once; `poll` goes on meanwhile.
    /// Commits land in the order they are made. Await the future for the
    /// outcome, or drop it: the commit happens either way.
    pub(crate) fn commit_async(&mut self) -> CommitFuture {
        let offsets = self.consumed_offsets();
        let (future, done) = CommitFuture::pair();
        self.queue_commit(offsets, done);
        future
    }

    /// `commit_async` with the given offsets (the next offset to read).
    pub(crate) fn commit_offsets_async(
        &mut self,
        offsets: Vec<(TopicPartition, i64)>,
    ) -> CommitFuture {
        let (future, done) = CommitFuture::pair();
        self.queue_commit(offsets, done);
        future
    }

    /// `commit_async` (the positions) that calls `callback` with the
    /// outcome, on a background task, as Java's `commitAsync(callback)`.
    pub(crate) fn commit_async_with(&mut self, callback: CommitCallback) {
        self.commit_reporting(None, Box::new(move |outcome, _| callback(outcome)));
    }

    /// Commits `offsets` (the positions for `None`) and calls `callback`
    /// with the outcome and the offsets it was for: on a background task,
    /// or queued on the consumer's callback queue.
    pub(crate) fn commit_reporting(
        &mut self,
        offsets: Option<Vec<(TopicPartition, i64)>>,
        report: CommitReport,
    ) {
        let offsets = offsets.unwrap_or_else(|| self.consumed_offsets());
        let reported = offsets.clone();
        let callback: CommitCallback = Box::new(move |outcome| report(outcome, reported));
        let callback = match &self.callback_queue {
            Some(queue) => {
                let queue = queue.clone();
                Box::new(move |outcome| {
                    let call = Box::new(move || callback(outcome));
                    queue.push_all(vec![Queued::Call(call)]);
                }) as CommitCallback
            }
            None => callback,
        };
        self.queue_commit(offsets, callback);
    }

    pub(crate) fn queue_commit(
        &mut self,
        offsets: Vec<(TopicPartition, i64)>,
        done: CommitCallback,
    ) {
        if let Err(error) = self.not_rebalancing() {
            return done(Err(error));
        }
        let shared = match self.group_shared_arc() {
            Ok(shared) => shared,
            Err(error) => return done(Err(error)),
        };
        self.commit_queue
            .get_or_insert_with(|| CommitQueue::start(shared))
            .push(offsets, done);
    }

    /// Commits behind the async commits still queued, if any, so an
    /// earlier `commit_async` cannot land after it. Every commit of
    /// positions should go through here.
    pub(crate) async fn commit_in_order(
        &mut self,
        offsets: Vec<(TopicPartition, i64)>,
    ) -> Result<()> {
        self.not_rebalancing()?;
        let shared = self.group_shared_arc()?;
        match &self.commit_queue {
            Some(queue) => {
                let (future, done) = CommitFuture::pair();
                queue.push(offsets, done);
                future.await
            }
            None => shared.commit(&offsets).await,
        }
    }

    /// The group's committed offset for a partition, `None` when nothing
    /// was committed.
    pub(crate) fn committed(
        &self,
        tp: TopicPartition,
    ) -> impl Future<Output = Result<Option<i64>>> + Send + 'static {
        let shared = self.group_shared_arc();
        async move {
            let mut committed = shared?.fetch_committed(std::slice::from_ref(&tp)).await?;
            Ok(committed.remove(&tp))
        }
    }

    /// The offset to commit per assigned partition with a known position:
    /// its position, the offset after the last record `poll` returned.
    /// What a commit without offsets commits: the positions, or with
    /// enable.auto.offset.store=false the offsets stored with
    /// `store_offsets` (of partitions still assigned).
    pub(crate) fn consumed_offsets(&self) -> Vec<(TopicPartition, i64)> {
        if !self.cluster.config().enable_auto_offset_store {
            return self
                .stored_offsets
                .iter()
                .filter(|(tp, _)| self.positions.contains_key(*tp))
                .map(|(tp, offset)| (tp.clone(), *offset))
                .collect();
        }
        self.positions
            .iter()
            .filter_map(|(tp, position)| position.map(|next| (tp.clone(), next)))
            .collect()
    }

    /// Stores offsets (the next offset to read) for the next commit
    /// without offsets, automatic or not (librdkafka's `offsets_store`).
    /// Needs enable.auto.offset.store=false, and partitions assigned.
    pub(crate) fn store_offsets(&mut self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        if self.cluster.config().enable_auto_offset_store {
            return Err(ClientError::InvalidArgument(
                "store_offsets needs enable.auto.offset.store=false (with it true, commits take the positions)".into(),
            ));
        }
        if let Some((tp, _)) = offsets
            .iter()
            .find(|(tp, _)| !self.positions.contains_key(tp))
        {
            return Err(ClientError::InvalidArgument(format!(
                "cannot store an offset for {}-{}: the partition is not assigned to this consumer",
                tp.topic, tp.partition
            )));
        }
        for (tp, offset) in offsets {
            self.stored_offsets.insert(tp.clone(), *offset);
        }
        Ok(())
    }

    /// Refuses a commit while this member's join runs, as the Java client
    /// does (RebalanceInProgressException): the partitions may be about to
    /// move, and the commit would wait behind the JoinGroup the
    /// coordinator holds until every member rejoined.
    fn not_rebalancing(&self) -> Result<()> {
        let joining = self
            .group
            .as_ref()
            .is_some_and(|g| g.shared.with_state(|s| s.joining));
        if joining {
            return Err(ClientError::kafka(
                REBALANCE_IN_PROGRESS,
                "committing offsets while this consumer's group rebalances",
                Some("call poll to complete the rebalance, then commit the positions again".into()),
            ));
        }
        Ok(())
    }

    fn group_shared_arc(&self) -> Result<Arc<Shared>> {
        self.group
            .as_ref()
            .map(|g| g.shared.clone())
            .ok_or_else(no_group)
    }
}

fn no_group() -> ClientError {
    ClientError::InvalidArgument(
        "offsets are committed for a group: set group.id in the consumer config".to_string(),
    )
}
