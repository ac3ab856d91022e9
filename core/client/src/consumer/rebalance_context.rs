//! [`RebalanceContext`]: what a rebalance callback may do with the
//! consumer while the rebalance waits for it.
//!
//! A rebalance callback runs inside `poll`, which holds the consumer's
//! state: a call through the consumer's handle from the callback would
//! wait for the very poll that waits for the callback. So the callback is
//! handed the state itself, through this context, with the calls Java's
//! and librdkafka's rebalance listeners use: read the assignment and
//! positions, seek (start the new partitions at offsets kept elsewhere),
//! pause and resume, and commit. A commit made here is queued in order
//! with the consumer's other commits, and the group is not rejoined or
//! left until it has been answered, so the offsets of revoked partitions
//! land before another member takes them.

use super::{CommitFuture, ConsumerState, StartOffset, TopicPartition};
use crate::error::Result;

/// Which rebalance callback runs (librdkafka's ASSIGN / REVOKE, and Java's
/// `onPartitionsLost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceEvent {
    Assigned,
    Revoked,
    Lost,
}

/// A callback for `on_rebalance`: the event, the consumer in its context,
/// and the partitions concerned.
pub trait RebalanceCallback:
    Fn(RebalanceEvent, &mut RebalanceContext<'_>, &[TopicPartition]) + Send + Sync + 'static
{
}

impl<F> RebalanceCallback for F where
    F: Fn(RebalanceEvent, &mut RebalanceContext<'_>, &[TopicPartition]) + Send + Sync + 'static
{
}

/// The consumer as a rebalance callback sees it; see the module docs.
pub struct RebalanceContext<'a> {
    pub(crate) state: &'a mut ConsumerState,
}

impl RebalanceContext<'_> {
    /// The partitions assigned right now (in `on_revoked`, still including
    /// those being revoked).
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.state.assignment()
    }

    /// The offset of the next record `poll` returns for a partition.
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.state.position(tp)
    }

    /// Where `poll` starts reading an assigned partition; in `on_assigned`
    /// this overrides the committed offset.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        self.state.seek(tp, offset)
    }

    /// Starts these partitions at their first offset (as
    /// [`crate::Consumer::seek_to_beginning`]).
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.state
            .seek_to(partitions, crate::admin::OffsetSpec::Earliest)
    }

    /// Starts these partitions at their end.
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.state
            .seek_to(partitions, crate::admin::OffsetSpec::Latest)
    }

    /// Starts an assigned partition at `start` (librdkafka's special
    /// offsets included: see [`StartOffset::from_librdkafka`]).
    pub fn start_at(&mut self, tp: &TopicPartition, start: StartOffset) -> Result<()> {
        self.state.start_at(tp, start)
    }

    pub fn pause(&mut self, partitions: &[TopicPartition]) {
        self.state.pause(partitions);
    }

    pub fn resume(&mut self, partitions: &[TopicPartition]) {
        self.state.resume(partitions);
    }

    /// Queues a commit of the positions of every assigned partition. The
    /// group is not rejoined or left before it is answered; await the
    /// returned future elsewhere for the outcome, or drop it.
    pub fn commit(&mut self) -> CommitFuture {
        let offsets = self.state.consumed_offsets();
        self.commit_offsets(&offsets)
    }

    /// Queues a commit of the given offsets (the next offset to read per
    /// partition), like [`Self::commit`].
    pub fn commit_offsets(&mut self, offsets: &[(TopicPartition, i64)]) -> CommitFuture {
        self.state.commits_before_rejoin = true;
        self.state.commit_offsets_async(offsets.to_vec())
    }

    /// The member id the coordinator gave this consumer.
    pub fn member_id(&self) -> Option<String> {
        self.state.member_id()
    }

    /// The generation of the group this consumer is in.
    pub fn generation_id(&self) -> Option<i32> {
        self.state.generation_id()
    }

    /// "COOPERATIVE" or "EAGER" (see [`crate::Consumer::rebalance_protocol`]).
    pub fn rebalance_protocol(&self) -> Option<&'static str> {
        self.state.rebalance_protocol()
    }
}

/// A rebalance callback as stored: every form of registration ends here.
pub(crate) type ContextCallback =
    Box<dyn Fn(&mut RebalanceContext<'_>, &[TopicPartition]) + Send + Sync + 'static>;

impl ConsumerState {
    /// Calls the callback registered for `event` (`Lost` falls back to
    /// `Revoked` when none is set, as in Java) with this state in its
    /// context. Nothing awaits here.
    pub(crate) fn run_rebalance_callback(
        &mut self,
        event: RebalanceEvent,
        partitions: &[TopicPartition],
    ) {
        self.rebalances += 1;
        self.last_rebalance = Some(tokio::time::Instant::now());
        let event = match event {
            RebalanceEvent::Lost if self.callbacks.lost.is_none() => RebalanceEvent::Revoked,
            other => other,
        };
        // Taken out for the call, so the callback can have the state.
        let Some(callback) = self.callbacks.slot(event).take() else {
            return;
        };
        // A panicking callback must not leave the rebalance half done (the
        // state is consistent between the steps around it): logged, as a
        // delivery callback's panic is.
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            callback(&mut RebalanceContext { state: self }, partitions);
        }));
        if called.is_err() {
            tracing::error!(
                "a consumer rebalance callback ({event:?}) panicked; the rebalance goes on"
            );
        }
        self.callbacks.slot(event).get_or_insert(callback);
    }

    /// A commit that lands after every commit queued so far (those made
    /// by rebalance callbacks included): awaited before a rejoin or a
    /// LeaveGroup. `None` when no callback committed since the last one.
    pub(crate) fn commits_of_callbacks(&mut self) -> Option<CommitFuture> {
        if !std::mem::take(&mut self.commits_before_rejoin) {
            return None;
        }
        Some(self.commit_offsets_async(Vec::new()))
    }
}
