//! [`Consumer`], the handle: cheap to clone, `Send + Sync`, and every call
//! returns an owned `Send + 'static` future, so a binding can hold it in a
//! Python awaitable, a JS promise or a C call on any thread.
//!
//! # Design: one state, one call at a time, polls step aside
//!
//! The consumer's state ([`ConsumerState`]: assignment, positions, fetched
//! data, group membership) sits behind one fair (FIFO) async mutex that
//! every clone shares. Each call takes it, does its work and lets go, so
//! calls made from several threads run one after another in the order
//! they were made, as if one thread had made them.
//!
//! A `poll` may wait up to its timeout for records, and must not hold up
//! a `pause`, `seek` or `commit` made meanwhile from another thread (a
//! kafkajs `eachMessage` handler pausing its topic, an asyncio task
//! committing). So a call that finds the state taken asks the running
//! poll to step aside: when the poll next waits for records (never in the
//! middle of a commit, a rebalance step or an offset lookup, so a stream
//! of calls cannot starve it), it releases the state, lets the waiting
//! calls run, and takes the state back to go on until its own deadline.
//!
//! A rebalance callback runs inside `poll` while it holds the state: it
//! must not wait for another call on the same consumer (that call would
//! wait for the poll that is waiting for the callback). What callbacks
//! need of the consumer they get from [`RebalanceContext`]
//! ([`Consumer::on_rebalance`]). A panic in a rebalance callback is caught
//! and logged, and the rebalance goes on.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, Notify};
use tokio::time::Instant;

use super::{
    CommitFuture, ConsumerRecord, ConsumerState, RebalanceCallback, StartOffset, TopicPartition,
};
use crate::admin::OffsetSpec;
use crate::callbacks::CallbackQueue;
use crate::cluster::Cluster;
use crate::config::{ClientConfig, OffsetReset};
use crate::error::Result;
use crate::statistics::{self, Emitter, Instance};

/// The consumer: partitions assigned by hand (`assign`, `seek`) or shared
/// with a consumer group (`subscribe`), read with `poll`. Clones share one
/// consumer (one group member, one set of positions).
#[derive(Clone)]
pub struct Consumer {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<ConsumerState>,
    /// Calls waiting for `state`; a running poll steps aside while any do.
    waiting: AtomicUsize,
    /// Tells a running poll that a call is waiting.
    step_aside: Notify,
    /// max.poll.records: how many records a plain `poll` returns at most.
    max_poll_records: usize,
    /// The state's cluster, reachable without waiting for the state.
    cluster: Cluster,
}

/// Counts a call as waiting for the state until it has it (or is dropped).
struct WaitingCall<'a>(&'a Shared);

impl Drop for WaitingCall<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shared {
    /// The state, for any call but `poll`: a running poll is asked to step
    /// aside, and the mutex's queue keeps calls in the order they came.
    async fn lock(&self) -> MutexGuard<'_, ConsumerState> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = WaitingCall(self);
        self.step_aside.notify_waiters();
        let mut state = self.state.lock().await;
        state.maintenance_due();
        state
    }
}

impl Consumer {
    /// Connects to the cluster; nothing is assigned or subscribed yet.
    pub async fn new(config: ClientConfig) -> Result<Consumer> {
        Consumer::connect(config, None).await
    }

    /// [`Consumer::new`] with commit callbacks (`commit_async_with`)
    /// handed to `callbacks`, to run on whichever thread serves it
    /// ([`CallbackQueue::serve`]; the blocking consumer's `poll` does).
    pub async fn with_callback_queue(
        config: ClientConfig,
        callbacks: CallbackQueue,
    ) -> Result<Consumer> {
        Consumer::connect(config, Some(callbacks)).await
    }

    pub(crate) async fn connect(
        config: ClientConfig,
        callbacks: Option<CallbackQueue>,
    ) -> Result<Consumer> {
        let max_poll_records = config.max_poll_records;
        let emitter = Emitter::new(
            config.statistics_interval,
            config.stats_callback.as_ref(),
            callbacks.clone(),
        );
        let instance = Instance::new(&config.client_id, "consumer");
        let interval = config.statistics_interval;
        let state = ConsumerState::new(config, callbacks).await?;
        let cluster = state.cluster.clone();
        let shared = Arc::new(Shared {
            cluster,
            state: Mutex::new(state),
            waiting: AtomicUsize::new(0),
            step_aside: Notify::new(),
            max_poll_records,
        });
        if let Some(emitter) = emitter {
            tokio::spawn(emit_statistics(
                Arc::downgrade(&shared),
                interval,
                instance,
                emitter,
            ));
        }
        Ok(Consumer { shared })
    }

    /// Runs `f` on the state once it is this call's turn.
    fn with_state<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ConsumerState) -> T + Send + 'static,
    ) -> impl Future<Output = T> + Send + 'static {
        let shared = self.shared.clone();
        async move { f(&mut *shared.lock().await) }
    }

    /// Returns up to max.poll.records records, waiting at most `timeout`
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
    /// positions consistent. Calls made meanwhile from other threads run
    /// in between (see the module docs).
    pub fn poll(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<ConsumerRecord>>> + Send + 'static {
        self.poll_max(timeout, self.shared.max_poll_records)
    }

    /// [`Consumer::poll`] returning at most `max_records` records (at
    /// least one, at most max.poll.records, is asked for): the rest stay fetched, and the position
    /// (what a commit commits) moves only past what is returned. For an
    /// API that hands out one record per call (confluent-kafka's `poll`,
    /// librdkafka's `consumer_poll`) without committing records the
    /// application never saw.
    pub fn poll_max(
        &self,
        timeout: Duration,
        max_records: usize,
    ) -> impl Future<Output = Result<Vec<ConsumerRecord>>> + Send + 'static {
        let shared = self.shared.clone();
        let max_records = max_records.clamp(1, shared.max_poll_records.max(1));
        // Boxed: the poll's state machine is kilobytes (the group's join and
        // sync steps live in it), and a blocking caller moves the future a
        // few times before it runs; a pointer moves for free.
        Box::pin(async move {
            let deadline = Instant::now() + timeout;
            loop {
                let Ok(mut state) = tokio::time::timeout_at(deadline, shared.state.lock()).await
                else {
                    return Ok(Vec::new());
                };
                let notified = shared.step_aside.notified();
                tokio::pin!(notified);
                // Registered before the count is read, so a call that
                // arrives after the read still reaches this poll.
                notified.as_mut().enable();
                // A call already waiting gets its turn at the poll's first
                // wait, after the work (records ready, a rebalance step) is
                // done: a stream of calls cannot keep a poll from progress.
                let waiting_now = shared.waiting.load(Ordering::Acquire) > 0;
                let step_aside = async move {
                    if !waiting_now {
                        notified.await;
                    }
                };
                tokio::pin!(step_aside);
                let remaining = deadline.saturating_duration_since(Instant::now());
                if let Some(records) = state.poll(remaining, max_records, step_aside).await? {
                    return Ok(records);
                }
                drop(state);
                // The waiting call is queued on the mutex ahead of this
                // poll's next lock (fair mutex); yield so it runs first.
                tokio::task::yield_now().await;
            }
        })
    }

    /// The blocking consumer's fast path: up to `max_records` records
    /// already fetched, taken at once when no other call waits for the
    /// consumer and its group was looked after a moment ago (see
    /// `ConsumerState::poll_ready`); `None` when the full [`Self::poll_max`]
    /// must run. The fetches that follow are sent inside `runtime`.
    pub(crate) fn poll_ready(
        &self,
        max_records: usize,
        runtime: &crate::ClientRuntime,
    ) -> Option<Result<Vec<ConsumerRecord>>> {
        if self.shared.waiting.load(Ordering::Acquire) > 0 {
            return None;
        }
        let mut state = self.shared.state.try_lock().ok()?;
        let max_records = max_records.clamp(1, self.shared.max_poll_records.max(1));
        let records = state.poll_ready(max_records)?;
        if state.fetches_due() {
            // Records are in hand either way; a runtime that is gone fails
            // the next full poll.
            let _ = runtime.enter(|| state.send_fetches());
        }
        Some(records)
    }

    /// Joins the consumer's group (group.id) subscribed to `topics`; the
    /// group's assignor shares their partitions among its members. The
    /// join itself happens in `poll`, as in the Java client.
    pub fn subscribe(&self, topics: &[&str]) -> impl Future<Output = Result<()>> + Send + 'static {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.with_state(move |state| {
            let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
            state.subscribe(&topics)
        })
    }

    /// Joins the consumer's group subscribed to every topic whose whole
    /// name matches `pattern` (internal topics excluded); topics created
    /// later that match are picked up within metadata.max.age.ms.
    pub fn subscribe_pattern(
        &self,
        pattern: &str,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let pattern = pattern.to_string();
        self.with_state(move |state| state.subscribe_pattern(&pattern))
    }

    /// Joins the group subscribed to a list in librdkafka's form: entries
    /// starting with `^` are regular expressions (as `subscribe_pattern`
    /// takes them), the others topic names.
    pub fn subscribe_names_or_patterns(
        &self,
        topics: &[&str],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        self.with_state(move |state| state.subscribe_names_or_patterns(&topics))
    }

    /// Where partitions of these topics start when they have no committed
    /// offset or their position is out of range: auto.offset.reset for
    /// the topics `entries` name or match (names, or `^` regular
    /// expressions as [`Consumer::subscribe_names_or_patterns`] takes
    /// them), over the consumer-wide setting (librdkafka's topic-level
    /// `auto.offset.reset`; kafkajs's `fromBeginning` per `subscribe`).
    /// Later calls win where entries overlap. Out-of-range positions are
    /// reset only when the consumer-wide setting is not `none`.
    pub fn set_offset_reset(
        &self,
        entries: &[&str],
        reset: OffsetReset,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let entries: Vec<String> = entries.iter().map(|t| t.to_string()).collect();
        self.with_state(move |state| state.set_offset_reset(&entries, reset))
    }

    /// Client-level errors since the last call, oldest first (librdkafka's
    /// `error_cb` events): a broker that cannot be reached (once per
    /// outage), all brokers down, a subscribed topic that does not exist.
    /// Calls still fail with their own errors; these tell what the client
    /// meets in the background. At most the last 64 are kept.
    pub fn take_errors(&self) -> Vec<crate::ClientError> {
        self.shared.cluster.take_errors()
    }

    /// With enable.partition.eof: the partitions whose end `poll` reached
    /// since the last call, each with its end offset, in the order
    /// reached (librdkafka's `_PARTITION_EOF` events, which its consumer
    /// hands out after the partition's last record). Reported once per
    /// arrival at the end: again after more records are read to a new end.
    pub fn take_partition_eofs(
        &self,
    ) -> impl Future<Output = Vec<(TopicPartition, i64)>> + Send + 'static {
        self.with_state(|state| state.take_partition_eofs())
    }

    /// The subscribed topics (empty when not subscribed).
    pub fn subscription(&self) -> impl Future<Output = Vec<String>> + Send + 'static {
        self.with_state(|state| state.subscription())
    }

    /// The pattern of `subscribe_pattern`, if that is how it subscribed.
    pub fn subscription_pattern(&self) -> impl Future<Output = Option<String>> + Send + 'static {
        self.with_state(|state| state.subscription_pattern())
    }

    /// Gives up the subscription and its partitions the way `close` does
    /// (commit with auto commit, `on_revoked`, leave the group), but the
    /// consumer stays usable.
    pub fn unsubscribe(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let shared = self.shared.clone();
        async move { shared.lock().await.unsubscribe().await }
    }

    /// Replaces the assignment. New partitions start per auto.offset.reset
    /// unless `seek` sets a position; partitions that stay keep theirs.
    pub fn assign(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = ()> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.assign(&partitions))
    }

    /// Replaces the assignment, each partition starting at its
    /// [`StartOffset`] (librdkafka's `assign` with offsets).
    pub fn assign_at(
        &self,
        partitions: &[(TopicPartition, StartOffset)],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.assign_at(&partitions))
    }

    /// Adds partitions to the assignment, each starting at its
    /// [`StartOffset`]; the others keep their positions.
    pub fn incremental_assign(
        &self,
        partitions: &[(TopicPartition, StartOffset)],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.incremental_assign(&partitions))
    }

    /// Removes partitions from the assignment; the others keep their
    /// positions.
    pub fn incremental_unassign(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = ()> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.incremental_unassign(&partitions))
    }

    /// Moves an assigned partition to `start` ([`StartOffset::Committed`]
    /// leaves it where it is).
    pub fn start_at(
        &self,
        tp: TopicPartition,
        start: StartOffset,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        self.with_state(move |state| state.start_at(&tp, start))
    }

    /// The assigned partitions, sorted.
    pub fn assignment(&self) -> impl Future<Output = Vec<TopicPartition>> + Send + 'static {
        self.with_state(|state| state.assignment())
    }

    /// Sets the next offset `poll` returns for an assigned partition.
    /// Records already fetched from another offset are dropped.
    pub fn seek(
        &self,
        tp: TopicPartition,
        offset: i64,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        self.with_state(move |state| state.seek(&tp, offset))
    }

    /// Moves assigned partitions (all of them when `partitions` is empty,
    /// as in Java) to their first offset. Lazy, as in Java: the offset is
    /// looked up by the next `poll`, and `position` is `None` until then.
    /// Fails, changing nothing, if a partition is not assigned.
    pub fn seek_to_beginning(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.seek_to(&partitions, OffsetSpec::Earliest))
    }

    /// Moves assigned partitions (all of them when `partitions` is empty)
    /// to their end, the offset the next record produced gets. Lazy like
    /// `seek_to_beginning`.
    pub fn seek_to_end(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.seek_to(&partitions, OffsetSpec::Latest))
    }

    /// The offset of the next record `poll` returns for an assigned
    /// partition: the last record `poll` returned plus one (or the offset
    /// set by `seek`, the committed offset, or the reset offset); `None`
    /// until known, e.g. after `seek_to_beginning` until the next `poll`.
    pub fn position(
        &self,
        tp: TopicPartition,
    ) -> impl Future<Output = Option<i64>> + Send + 'static {
        self.with_state(move |state| state.position(&tp))
    }

    /// Stops returning records of the given assigned partitions, and
    /// fetching more of them, until `resume`. Records already fetched are
    /// kept and returned after `resume`. Unassigned partitions are ignored;
    /// a rebalance forgets the pauses of the partitions it takes away.
    pub fn pause(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = ()> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.pause(&partitions))
    }

    pub fn resume(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = ()> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.resume(&partitions))
    }

    /// The paused partitions, sorted.
    pub fn paused(&self) -> impl Future<Output = Vec<TopicPartition>> + Send + 'static {
        self.with_state(|state| state.paused())
    }

    /// `(log start offset, high watermark)` of each partition as the
    /// consumer's last fetch of it told (`None` before one; the start is
    /// -1 from a broker too old to say): no request, as librdkafka's
    /// `get_watermark_offsets` with `cached`. With the position the high
    /// watermark gives how far a partition lags (kafkajs's
    /// `batch.offsetLag()`, the base of Java's `currentLag`).
    pub fn fetched_watermarks(
        &self,
        partitions: &[TopicPartition],
    ) -> impl Future<Output = Vec<Option<(i64, i64)>>> + Send + 'static {
        let partitions = partitions.to_vec();
        self.with_state(move |state| state.fetched_watermarks(&partitions))
    }

    /// Commits the position of every assigned partition (the offset after
    /// the last record `poll` returned) and waits for the coordinator's
    /// answer, after any `commit_async` still queued has landed.
    pub fn commit_sync(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let committing = self.commit_sync_offsets();
        async move { committing.await.map(drop) }
    }

    /// [`Consumer::commit_sync`], returning the offsets it committed (the
    /// positions, or the stored offsets with enable.auto.offset.store=false):
    /// for APIs whose synchronous commit returns them (confluent-kafka's).
    pub fn commit_sync_offsets(
        &self,
    ) -> impl Future<Output = Result<Vec<(TopicPartition, i64)>>> + Send + 'static {
        let shared = self.shared.clone();
        async move { shared.lock().await.commit_sync().await }
    }

    /// Commits the given offsets (the next offset to read per partition,
    /// as in Java's `commitSync(Map)`), for assigned partitions or not.
    pub fn commit_offsets(
        &self,
        offsets: &[(TopicPartition, i64)],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let offsets = offsets.to_vec();
        let shared = self.shared.clone();
        async move { shared.lock().await.commit_offsets(offsets).await }
    }

    /// Takes the position of every assigned partition, as `commit_sync`
    /// would, queues their commit and resolves to a [`CommitFuture`] at
    /// once; `poll` goes on meanwhile. Commits land in the order they are
    /// made. Await the `CommitFuture` for the outcome, or drop it: the
    /// commit happens either way.
    pub fn commit_async(&self) -> impl Future<Output = CommitFuture> + Send + 'static {
        self.with_state(|state| state.commit_async())
    }

    /// `commit_async` with the given offsets (the next offset to read).
    pub fn commit_offsets_async(
        &self,
        offsets: &[(TopicPartition, i64)],
    ) -> impl Future<Output = CommitFuture> + Send + 'static {
        let offsets = offsets.to_vec();
        self.with_state(move |state| state.commit_offsets_async(offsets))
    }

    /// `commit_async` (the positions) that calls `callback` with the
    /// outcome, as Java's `commitAsync(callback)`: on a client task, or,
    /// for a consumer made with a [`CallbackQueue`], on the thread that
    /// serves it. Resolves once the commit is queued.
    pub fn commit_async_with(
        &self,
        callback: impl FnOnce(Result<()>) + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        self.with_state(move |state| state.commit_async_with(Box::new(callback)))
    }

    /// Stores offsets (the next offset to read per partition) for the
    /// next commit without offsets, automatic or not: librdkafka's
    /// `offsets_store`, for at-least-once with auto commit. Needs
    /// enable.auto.offset.store=false and the partitions assigned.
    pub fn store_offsets(
        &self,
        offsets: &[(TopicPartition, i64)],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let offsets = offsets.to_vec();
        self.with_state(move |state| state.store_offsets(&offsets))
    }

    /// Commits `offsets` (the positions for `None`) and calls `callback`
    /// with the outcome and the offsets committed, as
    /// [`Consumer::commit_async_with`] calls its callback: for APIs whose
    /// commit callback names the partitions (librdkafka's
    /// `offset_commit_cb`, confluent-kafka's `on_commit`).
    pub fn commit_offsets_async_with(
        &self,
        offsets: Option<&[(TopicPartition, i64)]>,
        callback: impl FnOnce(Result<()>, Vec<(TopicPartition, i64)>) + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let offsets = offsets.map(<[_]>::to_vec);
        self.with_state(move |state| state.commit_reporting(offsets, Box::new(callback)))
    }

    /// The group's committed offset for a partition, `None` when nothing
    /// was committed.
    pub fn committed(
        &self,
        tp: TopicPartition,
    ) -> impl Future<Output = Result<Option<i64>>> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            // The lookup itself does not need the state: let it go first.
            let lookup = shared.lock().await.committed(tp);
            lookup.await
        }
    }

    /// Called after each rebalance, before `poll` returns records from the
    /// new partitions: with the whole new assignment under the eager
    /// protocol, with only the partitions added under the cooperative one
    /// (`cooperative-sticky`; possibly none), as in Java. Runs inside
    /// `poll`, on the thread that drives it.
    pub fn on_assigned(
        &self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        self.with_state(move |state| state.on_assigned(callback))
    }

    /// Called with the partitions given up (after their auto commit): under
    /// the eager protocol all of them before every rebalance, under the
    /// cooperative one only those the new assignment moves elsewhere, after
    /// it; and all of them on close.
    pub fn on_revoked(
        &self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        self.with_state(move |state| state.on_revoked(callback))
    }

    /// Called instead of `on_revoked` when the group fenced this member or
    /// it left because `poll` was not called within max.poll.interval.ms:
    /// the partitions may already belong to another member, so nothing was
    /// committed.
    pub fn on_lost(
        &self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        self.with_state(move |state| state.on_lost(callback))
    }

    /// One callback for all three events, replacing `on_assigned`,
    /// `on_revoked` and `on_lost` (librdkafka's `rebalance_cb`). It gets a
    /// [`RebalanceContext`](super::RebalanceContext): the consumer itself, to read positions, seek,
    /// pause and commit while the rebalance waits for the callback (calls
    /// through this handle would wait for the poll that runs it). Commits
    /// made there land before the member rejoins or leaves.
    pub fn on_rebalance(
        &self,
        callback: impl RebalanceCallback,
    ) -> impl Future<Output = ()> + Send + 'static {
        self.with_state(move |state| state.on_rebalance(callback))
    }

    /// The member id the coordinator gave this consumer, once joined.
    pub fn member_id(&self) -> impl Future<Output = Option<String>> + Send + 'static {
        self.with_state(|state| state.member_id())
    }

    /// The generation of the group this consumer last joined (Java's
    /// `groupMetadata().generationId()`), once joined.
    pub fn generation_id(&self) -> impl Future<Output = Option<i32>> + Send + 'static {
        self.with_state(|state| state.generation_id())
    }

    /// The rebalance protocol of the generation this consumer last joined,
    /// once joined: "COOPERATIVE" when the group's assignor is cooperative
    /// (a rebalance revokes only the partitions that move), else "EAGER"
    /// (librdkafka's `rd_kafka_rebalance_protocol`).
    pub fn rebalance_protocol(
        &self,
    ) -> impl Future<Output = Option<&'static str>> + Send + 'static {
        self.with_state(|state| state.rebalance_protocol())
    }

    /// The member id of the leader of the generation this consumer last
    /// joined (the member that assigned the partitions), once joined: this
    /// member leads when it equals [`Consumer::member_id`].
    pub fn group_leader_id(&self) -> impl Future<Output = Option<String>> + Send + 'static {
        self.with_state(|state| state.group_leader_id())
    }

    /// Commits (with auto commit), calls `on_revoked` and leaves the group
    /// so the other members take over at once; waits at most `timeout`.
    /// A static member (group.instance.id) does not leave, as in Java.
    /// Later polls, from any clone, fail with `ClientError::Closed`.
    pub fn close(&self, timeout: Duration) -> impl Future<Output = Result<()>> + Send + 'static {
        let shared = self.shared.clone();
        async move { shared.lock().await.close(timeout).await }
    }
}

/// The consumer's statistics timer: every `interval` it takes its turn on
/// the state, as any call does (a poll waiting for records steps aside),
/// builds the statistics and hands them to `emitter`. It holds the
/// consumer weakly and ends once the consumer is closed or gone.
async fn emit_statistics(
    consumer: std::sync::Weak<Shared>,
    interval: Duration,
    instance: Instance,
    emitter: Emitter,
) {
    let mut ticks = statistics::ticks(interval);
    loop {
        ticks.tick().await;
        let Some(shared) = consumer.upgrade() else {
            return;
        };
        let json = shared.lock().await.statistics(&instance);
        drop(shared);
        match json {
            Some(json) => emitter.emit(json),
            None => return,
        }
    }
}
