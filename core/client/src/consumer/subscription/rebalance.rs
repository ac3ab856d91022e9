//! A rebalance as `poll` runs it, under either protocol.
//!
//! Eager (range, roundrobin, sticky): commit (auto commit) and revoke
//! everything, join, start the whole new assignment from the group's
//! committed offsets.
//!
//! Cooperative (KIP-429; the group chose cooperative-sticky): keep every
//! partition and its position through the join, telling the leader what is
//! held. After SyncGroup, `revoked` = held − new goes through auto commit
//! and `on_revoked`, `added` = new − held starts from the committed offsets
//! and goes to `on_assigned`. The leader never hands a partition to a new
//! member while another still holds it, so when anything was revoked the
//! member rejoins at once and the next rebalance hands it over.
//!
//! Either way, partitions of a member the coordinator fenced (or that left
//! after max.poll.interval.ms without a poll) are lost: `on_lost`, no
//! commit, and the member joins holding nothing.
//!
//! The JoinGroup + SyncGroup exchange runs in a task of its own
//! (`group/join.rs`): `poll` starts it and goes on (fetching the partitions
//! kept, under the cooperative protocol) until its own deadline; a later
//! `poll` applies the result. Whatever comes before a join (the eager
//! revocation) and after it (commits, positions, callbacks) runs here, in
//! `poll`, on the polling task.

use std::collections::{BTreeSet, HashMap};

use tokio::time::Instant;

use super::super::group::JoinOutcome;
use super::super::rebalance_context::RebalanceEvent;
use super::super::{ConsumerState, TopicPartition};
use crate::error::Result;

impl ConsumerState {
    /// Moves the rebalance along without waiting for the group: applies a
    /// join whose result has arrived, starts one when the group needs it,
    /// and returns at once while one is running.
    pub(super) async fn rebalance(&mut self) -> Result<()> {
        loop {
            let Some(group) = self.group.as_mut() else {
                return Ok(());
            };
            if group.join_running() {
                return Ok(());
            }
            if group.finished_join().is_some() {
                self.apply_join().await?;
                // Applying may call for the next join at once (cooperative
                // revocations, a subscription changed meanwhile).
                continue;
            }
            if !group.needs_join() {
                return Ok(());
            }
            self.give_up_before_join().await;
            let held = self.assigned_partitions();
            let subscription = self.subscription.clone();
            let assignors = self.assignors.clone();
            // The join waits for what rebalance callbacks committed.
            let commits = self.commits_of_callbacks();
            if let Some(group) = self.group.as_mut() {
                group.start_join(subscription, held, assignors, commits);
            }
            return Ok(());
        }
    }

    /// Applies the join result that has arrived. The only await (the
    /// commit of the partitions the new assignment takes away) comes before
    /// anything changes, and the result stays with the group until then:
    /// a `poll` dropped meanwhile leaves it for the next one.
    async fn apply_join(&mut self) -> Result<()> {
        let held = self.assigned_partitions();
        let Some(finished) = self.group.as_mut().and_then(|g| g.finished_join()) else {
            return Ok(());
        };
        let revoked = match &finished.outcome {
            Ok(JoinOutcome::Synced {
                assignment,
                cooperative,
                ..
            }) => revoked_by(&held, assignment, *cooperative),
            _ => Vec::new(),
        };
        if !revoked.is_empty() {
            self.commit_revoked(&revoked).await;
        }
        // From here on nothing awaits.
        let Some(finished) = self.group.as_mut().and_then(|g| g.take_finished_join()) else {
            return Ok(());
        };
        if finished.topics != self.subscription {
            // `subscribe` changed the topics while the join ran.
            self.request_rejoin();
        }
        match finished.outcome? {
            // `partitions_lost` is set: the next join starts by dropping them.
            JoinOutcome::OwnedLost => Ok(()),
            JoinOutcome::Synced {
                assignment,
                cooperative,
                committed,
            } => self.take_assignment(&revoked, assignment, cooperative, committed),
        }
    }

    /// What goes before a join: lost partitions are dropped; under the
    /// eager protocol everything is revoked; under the cooperative one only
    /// the partitions of topics no longer subscribed (as Java does).
    async fn give_up_before_join(&mut self) {
        let Some(group) = self.group.as_ref() else {
            return;
        };
        let (lost, cooperative) = group
            .shared
            .with_state(|s| (s.partitions_lost, s.cooperative));
        let held = self.assigned_partitions();
        if lost {
            if !held.is_empty() {
                self.run_rebalance_callback(RebalanceEvent::Lost, &held);
            }
            self.forget_partitions(None);
            return;
        }
        if !cooperative {
            if !held.is_empty() {
                self.revoke(&held).await;
            }
            self.forget_partitions(None);
            return;
        }
        let unsubscribed: Vec<TopicPartition> = held
            .into_iter()
            .filter(|tp| !self.subscription.iter().any(|topic| **topic == *tp.topic))
            .collect();
        if !unsubscribed.is_empty() {
            self.revoke(&unsubscribed).await;
            self.forget_partitions(Some(&unsubscribed));
        }
    }

    /// Takes on the new assignment, once the partitions it takes away
    /// (`revoked`, their offsets committed) are known.
    fn take_assignment(
        &mut self,
        revoked: &[TopicPartition],
        assignment: Vec<TopicPartition>,
        cooperative: bool,
        committed: Result<HashMap<TopicPartition, i64>>,
    ) -> Result<()> {
        if !revoked.is_empty() {
            self.run_rebalance_callback(RebalanceEvent::Revoked, revoked);
            self.forget_partitions(Some(revoked));
            // Partitions held through the join were kept from everyone
            // else: rejoin so the group can hand them over.
            self.request_rejoin();
        }
        let kept: BTreeSet<TopicPartition> = self.assigned_partitions().into_iter().collect();
        let added: Vec<TopicPartition> = assignment
            .into_iter()
            .filter(|tp| !kept.contains(tp))
            .collect();
        let committed = match committed {
            Ok(committed) => committed,
            Err(error) => {
                // Without committed offsets the positions would fall back to
                // auto.offset.reset and skip or repeat records: join again.
                self.request_rejoin();
                return Err(error);
            }
        };
        for tp in &added {
            let position = committed.get(tp).copied();
            self.positions.insert(tp.clone(), position);
        }
        let positions = &self.positions;
        self.paused.retain(|key| positions.contains_key(key));
        let assigned = if cooperative {
            added
        } else {
            self.assigned_partitions()
        };
        self.run_rebalance_callback(RebalanceEvent::Assigned, &assigned);
        Ok(())
    }

    fn request_rejoin(&self) {
        if let Some(group) = self.group.as_ref() {
            group.shared.with_state(|s| s.rejoin_needed = true);
        }
    }

    /// Auto commit (if on) then `on_revoked`, for partitions given up while
    /// still a member; a failed commit is logged, as in Java.
    async fn revoke(&mut self, partitions: &[TopicPartition]) {
        self.commit_revoked(partitions).await;
        self.run_rebalance_callback(RebalanceEvent::Revoked, partitions);
    }

    /// The auto commit (if on) of partitions about to be given up.
    async fn commit_revoked(&mut self, partitions: &[TopicPartition]) {
        if self.cluster.config().enable_auto_commit {
            let deadline = Instant::now() + self.cluster.config().request_timeout;
            if let Err(error) = self
                .commit_partitions_before(deadline, Some(partitions))
                .await
            {
                tracing::warn!("commit before revoking partitions failed: {error}");
            }
        }
    }

    /// Drops the positions and fetched records of `partitions` (of every
    /// partition with `None`) and the pauses of those named; with `None`,
    /// pauses stay for the partitions the next assignment gives back.
    fn forget_partitions(&mut self, partitions: Option<&[TopicPartition]>) {
        match partitions {
            None => self.positions.clear(),
            Some(partitions) => {
                for tp in partitions {
                    self.positions.remove(tp);
                    self.paused.remove(tp);
                }
            }
        }
        self.discard_fetched(partitions);
    }
}

/// What a new assignment takes away from the partitions `held` through
/// the join: those it leaves out or, when the group went back to an eager
/// assignor (a member without cooperative-sticky joined), all of them.
fn revoked_by(
    held: &[TopicPartition],
    assignment: &[TopicPartition],
    cooperative: bool,
) -> Vec<TopicPartition> {
    if !cooperative {
        return held.to_vec();
    }
    let new: BTreeSet<&TopicPartition> = assignment.iter().collect();
    held.iter()
        .filter(|tp| !new.contains(tp))
        .cloned()
        .collect()
}
