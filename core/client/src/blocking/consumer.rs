//! The blocking consumer and the handle a blocking `commit_async` returns.

use std::sync::Arc;
use std::time::Duration;

use super::runtime::ClientRuntime;
use super::{api_timeout_for, API_TIMEOUT_SETTING};
use crate::config::ClientConfig;
use crate::consumer::{CommitFuture, ConsumerRecord, TopicPartition};
use crate::error::{ClientError, Result};
use crate::producer::clone_error;

/// A blocking [`crate::Consumer`]: the same calls, with those that talk to
/// the cluster blocking the calling thread, each bounded by a timeout
/// argument or the api timeout ([`Consumer::set_api_timeout`]).
/// Heartbeats and the fetches prefetched for the next `poll` run on the
/// client's own threads between calls, so a slow application loop does
/// not lose its group membership before max.poll.interval.ms.
///
/// Rebalance callbacks run inside `poll` (and `close`), on the thread that
/// calls them. `Send`, not `Sync`: one thread polls at a time, as with the
/// Java consumer. Call [`Consumer::close`] before dropping it, so the group
/// hands its partitions to the other members at once.
pub struct Consumer {
    // Declared before the runtime: dropped while the runtime still runs.
    consumer: crate::Consumer,
    api_timeout: Duration,
    /// request.timeout.ms: what a request started before a deadline may
    /// still take.
    request_timeout: Duration,
    runtime: Arc<ClientRuntime>,
}

impl Consumer {
    /// Connects to the cluster (bounded by the larger of
    /// default.api.timeout.ms and request.timeout.ms). Nothing is assigned or subscribed yet.
    pub fn new(config: ClientConfig) -> Result<Consumer> {
        let runtime = ClientRuntime::start("strom-consumer")?;
        let api_timeout = api_timeout_for(&config);
        let request_timeout = config.request_timeout;
        let consumer = runtime.block_on(
            "connecting the consumer",
            api_timeout,
            API_TIMEOUT_SETTING,
            crate::Consumer::new(config),
        )?;
        Ok(Consumer {
            consumer,
            api_timeout,
            request_timeout,
            runtime,
        })
    }

    /// The longest a call without a timeout argument (`commit_sync`,
    /// `committed`, `unsubscribe`) waits; by default the larger of
    /// default.api.timeout.ms (60 s) and request.timeout.ms.
    pub fn api_timeout(&self) -> Duration {
        self.api_timeout
    }

    pub fn set_api_timeout(&mut self, timeout: Duration) {
        self.api_timeout = timeout;
    }

    /// The async consumer underneath, for code that mixes both.
    pub fn as_async(&mut self) -> &mut crate::Consumer {
        &mut self.consumer
    }

    /// Returns up to max.poll.records records, blocking at most `timeout`
    /// for some to arrive (see [`crate::Consumer::poll`]); a rebalance goes
    /// on in the background between polls.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        // The async poll keeps its timeout and may be dropped at any point;
        // this backstop (request.timeout.ms more) only guards against a bug
        // there.
        let backstop = timeout.saturating_add(self.request_timeout);
        self.runtime.block_on(
            "polling",
            backstop,
            "the poll timeout",
            self.consumer.poll(timeout),
        )
    }

    /// Replaces the assignment (see [`crate::Consumer::assign`]).
    pub fn assign(&mut self, partitions: &[(&str, i32)]) {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.assign(partitions));
    }

    pub fn assignment(&self) -> Vec<(String, i32)> {
        self.consumer.assignment()
    }

    /// Joins the group subscribed to `topics`; the join happens in `poll`.
    pub fn subscribe(&mut self, topics: &[&str]) -> Result<()> {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.subscribe(topics))
    }

    /// Joins the group subscribed to every topic matching `pattern`.
    pub fn subscribe_pattern(&mut self, pattern: &str) -> Result<()> {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.subscribe_pattern(pattern))
    }

    pub fn subscription(&self) -> Vec<String> {
        self.consumer.subscription()
    }

    pub fn subscription_pattern(&self) -> Option<String> {
        self.consumer.subscription_pattern()
    }

    /// Gives up the subscription (committing with auto commit, calling
    /// `on_revoked`, leaving the group); bounded by the api timeout.
    pub fn unsubscribe(&mut self) -> Result<()> {
        self.runtime.block_on(
            "unsubscribing",
            self.api_timeout,
            API_TIMEOUT_SETTING,
            self.consumer.unsubscribe(),
        )
    }

    /// See [`crate::Consumer::on_assigned`]; runs inside `poll`.
    pub fn on_assigned(&mut self, callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static) {
        self.consumer.on_assigned(callback);
    }

    /// See [`crate::Consumer::on_revoked`]; runs inside `poll` or `close`.
    pub fn on_revoked(&mut self, callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static) {
        self.consumer.on_revoked(callback);
    }

    /// See [`crate::Consumer::on_lost`]; runs inside `poll`.
    pub fn on_lost(&mut self, callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static) {
        self.consumer.on_lost(callback);
    }

    pub fn member_id(&self) -> Option<String> {
        self.consumer.member_id()
    }

    /// See [`crate::Consumer::seek`].
    pub fn seek(&mut self, topic: &str, partition: i32, offset: i64) -> Result<()> {
        let consumer = &mut self.consumer;
        self.runtime
            .enter(|| consumer.seek(topic, partition, offset))
    }

    /// See [`crate::Consumer::seek_to_beginning`].
    pub fn seek_to_beginning(&mut self, partitions: &[(&str, i32)]) -> Result<()> {
        let consumer = &mut self.consumer;
        self.runtime
            .enter(|| consumer.seek_to_beginning(partitions))
    }

    /// See [`crate::Consumer::seek_to_end`].
    pub fn seek_to_end(&mut self, partitions: &[(&str, i32)]) -> Result<()> {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.seek_to_end(partitions))
    }

    /// See [`crate::Consumer::position`].
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.consumer.position(topic, partition)
    }

    /// See [`crate::Consumer::pause`].
    pub fn pause(&mut self, partitions: &[(&str, i32)]) {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.pause(partitions));
    }

    /// See [`crate::Consumer::resume`].
    pub fn resume(&mut self, partitions: &[(&str, i32)]) {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.resume(partitions));
    }

    pub fn paused(&self) -> Vec<(String, i32)> {
        self.consumer.paused()
    }

    /// Commits the position of every assigned partition and blocks for the
    /// answer, at most the api timeout.
    pub fn commit_sync(&mut self) -> Result<()> {
        self.runtime.block_on(
            "committing offsets",
            self.api_timeout,
            API_TIMEOUT_SETTING,
            self.consumer.commit_sync(),
        )
    }

    /// Commits the given offsets (the next offset to read) and blocks for
    /// the answer, at most the api timeout.
    pub fn commit_offsets(&mut self, offsets: &[(&str, i32, i64)]) -> Result<()> {
        self.runtime.block_on(
            "committing offsets",
            self.api_timeout,
            API_TIMEOUT_SETTING,
            self.consumer.commit_offsets(offsets),
        )
    }

    /// Starts committing the positions and returns at once; wait on the
    /// handle for the outcome, or drop it (the commit happens anyway).
    pub fn commit_async(&mut self) -> CommitHandle {
        let consumer = &mut self.consumer;
        let commit = self.runtime.enter(|| consumer.commit_async());
        CommitHandle::new(commit, self.runtime.clone())
    }

    /// `commit_async` with the given offsets.
    pub fn commit_offsets_async(&mut self, offsets: &[(&str, i32, i64)]) -> CommitHandle {
        let consumer = &mut self.consumer;
        let commit = self
            .runtime
            .enter(|| consumer.commit_offsets_async(offsets));
        CommitHandle::new(commit, self.runtime.clone())
    }

    /// `commit_async` whose outcome goes to `callback`, called once on one
    /// of the client's threads; it must not block.
    pub fn commit_async_with(&mut self, callback: impl FnOnce(Result<()>) + Send + 'static) {
        let consumer = &mut self.consumer;
        self.runtime.enter(|| consumer.commit_async_with(callback));
    }

    /// The group's committed offset for a partition, `None` when nothing
    /// was committed; bounded by the api timeout.
    pub fn committed(&self, topic: &str, partition: i32) -> Result<Option<i64>> {
        self.runtime.block_on(
            "reading a committed offset",
            self.api_timeout,
            API_TIMEOUT_SETTING,
            self.consumer.committed(topic, partition),
        )
    }

    /// Commits (with auto commit), calls `on_revoked` and leaves the group,
    /// within `timeout` (plus request.timeout.ms for a request already
    /// on its way). Later polls fail with [`ClientError::Closed`].
    pub fn close(&mut self, timeout: Duration) -> Result<()> {
        self.runtime.block_on(
            "closing the consumer",
            timeout.saturating_add(self.request_timeout),
            "the close timeout",
            self.consumer.close(timeout),
        )
    }
}

/// The outcome of a blocking [`Consumer::commit_async`]: owned,
/// `Send + 'static`, no lifetimes. Dropping it does not cancel the commit.
pub struct CommitHandle {
    state: CommitState,
    runtime: Arc<ClientRuntime>,
}

enum CommitState {
    Waiting(CommitFuture),
    Committed,
    /// The first `wait` that saw it returned it; later waits get a copy.
    Failed(ClientError),
}

impl CommitHandle {
    fn new(commit: CommitFuture, runtime: Arc<ClientRuntime>) -> CommitHandle {
        CommitHandle {
            state: CommitState::Waiting(commit),
            runtime,
        }
    }

    /// Blocks until the commit landed or failed, at most `timeout`. A
    /// [`ClientError::Timeout`] naming "the wait timeout" only ends this
    /// wait: call it again. Fails with [`ClientError::InvalidArgument`]
    /// inside a tokio runtime.
    pub fn wait(&mut self, timeout: Duration) -> Result<()> {
        let commit = match &mut self.state {
            CommitState::Waiting(commit) => commit,
            CommitState::Committed => return Ok(()),
            CommitState::Failed(error) => return Err(clone_error(error)),
        };
        let outcome = self
            .runtime
            .block_on_within("waiting for a commit", timeout, commit)?;
        match outcome {
            None => Err(ClientError::Timeout {
                what: "waiting for a commit".to_string(),
                after: timeout,
                setting: "the wait timeout",
            }),
            Some(Ok(())) => {
                self.state = CommitState::Committed;
                Ok(())
            }
            Some(Err(error)) => {
                self.state = CommitState::Failed(clone_error(&error));
                Err(error)
            }
        }
    }
}
