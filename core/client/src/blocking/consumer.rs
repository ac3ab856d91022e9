//! The blocking consumer and the handle a blocking `commit_async` returns.

use std::future::Future;
use std::time::Duration;

use super::{api_timeout_for, API_TIMEOUT_SETTING};
use crate::callbacks::CallbackQueue;
use crate::config::ClientConfig;
use crate::consumer::{CommitFuture, ConsumerRecord, RebalanceCallback, StartOffset};
use crate::error::{ClientError, Result};
use crate::runtime::ClientRuntime;
use crate::TopicPartition;

/// A blocking [`crate::Consumer`]: the same calls, blocking the calling
/// thread, each bounded by a timeout argument or the api timeout
/// ([`Consumer::set_api_timeout`]). Heartbeats and the fetches prefetched
/// for the next `poll` run on the client runtime's threads between calls,
/// so a slow application loop does not lose its group membership before
/// max.poll.interval.ms.
///
/// Cheap to clone, `Send + Sync`: clones share one consumer, and calls
/// from several threads run one at a time, in the order made; a `poll`
/// waiting for records steps aside for them (see [`crate::Consumer`]).
/// Rebalance callbacks run inside `poll` (and `close`), on the thread that
/// calls it. Call [`Consumer::close`] before dropping the last clone, so
/// the group hands its partitions to the other members at once.
#[derive(Clone)]
pub struct Consumer {
    consumer: crate::Consumer,
    api_timeout: Duration,
    /// request.timeout.ms: what a request started before a deadline may
    /// still take.
    request_timeout: Duration,
    /// The queue given to [`Consumer::with_callback_queue`], served by
    /// [`Consumer::poll`].
    callbacks: Option<CallbackQueue>,
    runtime: ClientRuntime,
}

impl Consumer {
    /// Connects to the cluster (bounded by the larger of
    /// default.api.timeout.ms and request.timeout.ms), on the process's
    /// shared client runtime. Nothing is assigned or subscribed yet.
    pub fn new(config: ClientConfig) -> Result<Consumer> {
        Consumer::with_runtime(config, ClientRuntime::shared()?)
    }

    /// [`Consumer::new`] on the given runtime.
    pub fn with_runtime(config: ClientConfig, runtime: ClientRuntime) -> Result<Consumer> {
        Consumer::build(config, None, runtime)
    }

    /// [`Consumer::new`] with commit callbacks (`commit_async_with`)
    /// handed to `callbacks` and run by [`Consumer::poll`] on the caller's
    /// thread, as librdkafka's `offset_commit_cb` is by
    /// `rd_kafka_consumer_poll`.
    pub fn with_callback_queue(config: ClientConfig, callbacks: CallbackQueue) -> Result<Consumer> {
        Consumer::build(config, Some(callbacks), ClientRuntime::shared()?)
    }

    fn build(
        config: ClientConfig,
        callbacks: Option<CallbackQueue>,
        runtime: ClientRuntime,
    ) -> Result<Consumer> {
        let consumer = runtime.block_on(
            "connecting the consumer",
            api_timeout_for(&config),
            API_TIMEOUT_SETTING,
            crate::Consumer::connect(config.clone(), callbacks.clone()),
        )?;
        Ok(Consumer::from_async(consumer, &config, callbacks, runtime))
    }

    /// The blocking consumer over an async one connected on `runtime`
    /// (with `callbacks`, the queue it was given, if any): for a binding
    /// that connects it in interruptible slices. `config` is the one it
    /// was made with (the api timeout comes from it).
    pub fn from_async(
        consumer: crate::Consumer,
        config: &ClientConfig,
        callbacks: Option<CallbackQueue>,
        runtime: ClientRuntime,
    ) -> Consumer {
        Consumer {
            consumer,
            api_timeout: api_timeout_for(config),
            request_timeout: config.request_timeout,
            callbacks,
            runtime,
        }
    }

    /// The longest a call without a timeout argument waits; by default the
    /// larger of default.api.timeout.ms (60 s) and request.timeout.ms.
    pub fn api_timeout(&self) -> Duration {
        self.api_timeout
    }

    /// Changes the api timeout of this clone.
    pub fn set_api_timeout(&mut self, timeout: Duration) {
        self.api_timeout = timeout;
    }

    /// The async consumer underneath (a clone of the handle), for code
    /// that mixes both.
    pub fn as_async(&self) -> crate::Consumer {
        self.consumer.clone()
    }

    /// The runtime this consumer runs on.
    pub fn runtime(&self) -> &ClientRuntime {
        &self.runtime
    }

    /// Blocks on `future` for at most the api timeout.
    fn call<T>(&self, what: &str, future: impl Future<Output = T>) -> Result<T> {
        let outcome = async { Ok(future.await) };
        self.runtime
            .block_on(what, self.api_timeout, API_TIMEOUT_SETTING, outcome)
    }

    /// Returns up to max.poll.records records, blocking at most `timeout`
    /// for some to arrive (see [`crate::Consumer::poll`]); a rebalance goes
    /// on in the background between polls. With a callback queue, the
    /// commit callbacks that are due run here first.
    pub fn poll(&self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        self.poll_max(timeout, usize::MAX)
    }

    /// [`Consumer::poll`] returning at most `max_records` records (and
    /// never more than max.poll.records); see [`crate::Consumer::poll_max`].
    pub fn poll_max(&self, timeout: Duration, max_records: usize) -> Result<Vec<ConsumerRecord>> {
        if let Some(queue) = &self.callbacks {
            queue.serve(Duration::ZERO);
        }
        // Records already fetched go out without a trip through the
        // runtime (outside one: inside, the rule below applies).
        if tokio::runtime::Handle::try_current().is_err() {
            if let Some(ready) = self.consumer.poll_ready(max_records, &self.runtime) {
                return ready;
            }
        }
        // The async poll keeps its timeout and may be dropped at any point;
        // this backstop (request.timeout.ms more) only guards against a bug
        // there.
        let backstop = timeout.saturating_add(self.request_timeout);
        self.runtime.block_on(
            "polling",
            backstop,
            "the poll timeout",
            self.consumer.poll_max(timeout, max_records),
        )
    }

    /// Client-level errors since the last call (see
    /// [`crate::Producer::take_errors`]).
    pub fn take_errors(&self) -> Vec<ClientError> {
        self.consumer.take_errors()
    }

    /// See [`crate::Consumer::take_partition_eofs`].
    pub fn take_partition_eofs(&self) -> Result<Vec<(TopicPartition, i64)>> {
        self.call(
            "reading partition ends",
            self.consumer.take_partition_eofs(),
        )
    }

    /// Replaces the assignment (see [`crate::Consumer::assign`]).
    pub fn assign(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.call("assigning partitions", self.consumer.assign(partitions))
    }

    /// Replaces the assignment, each partition starting at its
    /// [`StartOffset`] (see [`crate::Consumer::assign_at`]).
    pub fn assign_at(&self, partitions: &[(TopicPartition, StartOffset)]) -> Result<()> {
        self.call("assigning partitions", self.consumer.assign_at(partitions))?
    }

    /// Adds partitions to the assignment (see
    /// [`crate::Consumer::incremental_assign`]).
    pub fn incremental_assign(&self, partitions: &[(TopicPartition, StartOffset)]) -> Result<()> {
        self.call(
            "assigning partitions",
            self.consumer.incremental_assign(partitions),
        )?
    }

    /// Removes partitions from the assignment.
    pub fn incremental_unassign(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.call(
            "unassigning partitions",
            self.consumer.incremental_unassign(partitions),
        )
    }

    /// Moves an assigned partition to `start`.
    pub fn start_at(&self, tp: TopicPartition, start: StartOffset) -> Result<()> {
        self.call("seeking", self.consumer.start_at(tp, start))?
    }

    pub fn assignment(&self) -> Result<Vec<TopicPartition>> {
        self.call("reading the assignment", self.consumer.assignment())
    }

    /// Joins the group subscribed to `topics`; the join happens in `poll`.
    pub fn subscribe(&self, topics: &[&str]) -> Result<()> {
        self.call("subscribing", self.consumer.subscribe(topics))?
    }

    /// Joins the group subscribed to a list in librdkafka's form (see
    /// [`crate::Consumer::subscribe_names_or_patterns`]).
    pub fn subscribe_names_or_patterns(&self, topics: &[&str]) -> Result<()> {
        self.call(
            "subscribing",
            self.consumer.subscribe_names_or_patterns(topics),
        )?
    }

    /// Joins the group subscribed to every topic matching `pattern`.
    pub fn subscribe_pattern(&self, pattern: &str) -> Result<()> {
        self.call("subscribing", self.consumer.subscribe_pattern(pattern))?
    }

    pub fn subscription(&self) -> Result<Vec<String>> {
        self.call("reading the subscription", self.consumer.subscription())
    }

    pub fn subscription_pattern(&self) -> Result<Option<String>> {
        self.call(
            "reading the subscription",
            self.consumer.subscription_pattern(),
        )
    }

    /// Gives up the subscription (committing with auto commit, calling
    /// `on_revoked`, leaving the group); bounded by the api timeout.
    pub fn unsubscribe(&self) -> Result<()> {
        self.call("unsubscribing", self.consumer.unsubscribe())?
    }

    /// See [`crate::Consumer::on_assigned`]; runs on the thread that polls.
    pub fn on_assigned(
        &self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) -> Result<()> {
        self.call(
            "setting a rebalance callback",
            self.consumer.on_assigned(callback),
        )
    }

    /// See [`crate::Consumer::on_revoked`]; runs on the thread that polls.
    pub fn on_revoked(
        &self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) -> Result<()> {
        self.call(
            "setting a rebalance callback",
            self.consumer.on_revoked(callback),
        )
    }

    /// See [`crate::Consumer::on_lost`]; runs on the thread that polls.
    pub fn on_lost(
        &self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) -> Result<()> {
        self.call(
            "setting a rebalance callback",
            self.consumer.on_lost(callback),
        )
    }

    /// See [`crate::Consumer::on_rebalance`]; runs on the thread that
    /// polls, with the consumer in its context.
    pub fn on_rebalance(&self, callback: impl RebalanceCallback) -> Result<()> {
        self.call(
            "setting a rebalance callback",
            self.consumer.on_rebalance(callback),
        )
    }

    pub fn member_id(&self) -> Result<Option<String>> {
        self.call("reading the member id", self.consumer.member_id())
    }

    /// See [`crate::Consumer::fetched_watermarks`].
    pub fn fetched_watermarks(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Option<(i64, i64)>>> {
        self.call(
            "reading the fetched watermarks",
            self.consumer.fetched_watermarks(partitions),
        )
    }

    pub fn generation_id(&self) -> Result<Option<i32>> {
        self.call("reading the generation", self.consumer.generation_id())
    }

    /// See [`crate::Consumer::rebalance_protocol`].
    pub fn rebalance_protocol(&self) -> Result<Option<&'static str>> {
        self.call(
            "reading the rebalance protocol",
            self.consumer.rebalance_protocol(),
        )
    }

    /// See [`crate::Consumer::seek`].
    pub fn seek(&self, tp: TopicPartition, offset: i64) -> Result<()> {
        self.call("seeking", self.consumer.seek(tp, offset))?
    }

    /// See [`crate::Consumer::seek_to_beginning`].
    pub fn seek_to_beginning(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.call("seeking", self.consumer.seek_to_beginning(partitions))?
    }

    /// See [`crate::Consumer::seek_to_end`].
    pub fn seek_to_end(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.call("seeking", self.consumer.seek_to_end(partitions))?
    }

    /// See [`crate::Consumer::position`].
    pub fn position(&self, tp: TopicPartition) -> Result<Option<i64>> {
        self.call("reading a position", self.consumer.position(tp))
    }

    /// See [`crate::Consumer::pause`].
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.call("pausing partitions", self.consumer.pause(partitions))
    }

    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.call("resuming partitions", self.consumer.resume(partitions))
    }

    pub fn paused(&self) -> Result<Vec<TopicPartition>> {
        self.call("reading the paused partitions", self.consumer.paused())
    }

    /// Commits the positions and blocks for the answer (api timeout).
    pub fn commit_sync(&self) -> Result<()> {
        self.call("committing offsets", self.consumer.commit_sync())?
    }

    /// See [`crate::Consumer::commit_sync_offsets`].
    pub fn commit_sync_offsets(&self) -> Result<Vec<(TopicPartition, i64)>> {
        self.call("committing offsets", self.consumer.commit_sync_offsets())?
    }

    /// Commits the given offsets (the next offset to read per partition).
    pub fn commit_offsets(&self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        self.call("committing offsets", self.consumer.commit_offsets(offsets))?
    }

    /// Queues a commit of the positions and returns a handle to wait on.
    pub fn commit_async(&self) -> Result<CommitHandle> {
        let commit = self.call("queueing a commit", self.consumer.commit_async())?;
        Ok(CommitHandle::new(commit, self.runtime.clone()))
    }

    /// `commit_async` with the given offsets.
    pub fn commit_offsets_async(&self, offsets: &[(TopicPartition, i64)]) -> Result<CommitHandle> {
        let commit = self.call(
            "queueing a commit",
            self.consumer.commit_offsets_async(offsets),
        )?;
        Ok(CommitHandle::new(commit, self.runtime.clone()))
    }

    /// `commit_async` whose outcome goes to `callback`, on a client thread.
    pub fn commit_async_with(
        &self,
        callback: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        self.call(
            "queueing a commit",
            self.consumer.commit_async_with(callback),
        )
    }

    /// See [`crate::Consumer::store_offsets`].
    pub fn store_offsets(&self, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        self.call("storing offsets", self.consumer.store_offsets(offsets))?
    }

    /// See [`crate::Consumer::commit_offsets_async_with`].
    pub fn commit_offsets_async_with(
        &self,
        offsets: Option<&[(TopicPartition, i64)]>,
        callback: impl FnOnce(Result<()>, Vec<(TopicPartition, i64)>) + Send + 'static,
    ) -> Result<()> {
        self.call(
            "queueing a commit",
            self.consumer.commit_offsets_async_with(offsets, callback),
        )
    }

    /// The group's committed offset for a partition (api timeout).
    pub fn committed(&self, tp: TopicPartition) -> Result<Option<i64>> {
        self.call("reading a committed offset", self.consumer.committed(tp))?
    }

    /// Commits (auto commit), calls `on_revoked` and leaves the group,
    /// waiting at most `timeout` (plus request.timeout.ms for a request
    /// already sent).
    pub fn close(&self, timeout: Duration) -> Result<()> {
        self.runtime.block_on(
            "closing the consumer",
            timeout.saturating_add(self.request_timeout),
            "the close timeout",
            self.consumer.close(timeout),
        )
    }
}

/// A commit started by [`Consumer::commit_async`]: wait on it as long and
/// as often as you like; dropping it does not cancel the commit.
pub struct CommitHandle {
    state: CommitState,
    runtime: ClientRuntime,
}

enum CommitState {
    Waiting(CommitFuture),
    Known(Result<()>),
}

impl CommitHandle {
    fn new(commit: CommitFuture, runtime: ClientRuntime) -> CommitHandle {
        CommitHandle {
            state: CommitState::Waiting(commit),
            runtime,
        }
    }

    /// Blocks until the commit is answered, at most `timeout`. A
    /// [`ClientError::Timeout`] naming "the wait timeout" means only that
    /// this wait ended; `wait` may be called again.
    pub fn wait(&mut self, timeout: Duration) -> Result<()> {
        let commit = match &mut self.state {
            CommitState::Waiting(commit) => commit,
            CommitState::Known(outcome) => return outcome.clone(),
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
            Some(outcome) => {
                self.state = CommitState::Known(outcome.clone());
                outcome
            }
        }
    }
}
