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

use std::collections::BTreeSet;

use tokio::time::Instant;

use super::super::group::JoinOutcome;
use super::super::{Consumer, TopicPartition};
use super::invoke;
use crate::error::Result;

impl Consumer {
    pub(super) async fn rebalance(&mut self) -> Result<()> {
        loop {
            self.give_up_before_join().await;
            let held = self.assigned_partitions();
            let subscription = self.subscription.clone();
            let assignors = self.assignors.clone();
            let Some(group) = self.group.as_mut() else {
                return Ok(());
            };
            match group.join(&subscription, &held, &assignors).await? {
                JoinOutcome::OwnedLost => continue,
                JoinOutcome::Synced {
                    assignment,
                    cooperative,
                } => return self.take_assignment(held, assignment, cooperative).await,
            }
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
                let callback = self.callbacks.lost.as_ref();
                invoke(callback.or(self.callbacks.revoked.as_ref()), &held);
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
            .filter(|tp| !self.subscription.contains(&tp.topic))
            .collect();
        if !unsubscribed.is_empty() {
            self.revoke(&unsubscribed).await;
            self.forget_partitions(Some(&unsubscribed));
        }
    }

    /// Takes on the new assignment, given what was `held` through the join.
    async fn take_assignment(
        &mut self,
        held: Vec<TopicPartition>,
        assignment: Vec<TopicPartition>,
        cooperative: bool,
    ) -> Result<()> {
        let new: BTreeSet<&TopicPartition> = assignment.iter().collect();
        let mut revoked: Vec<TopicPartition> = held
            .iter()
            .filter(|tp| !new.contains(tp))
            .cloned()
            .collect();
        if !cooperative && !held.is_empty() {
            // Held through the join but the group went back to an eager
            // assignor (a member without cooperative-sticky joined): give
            // everything up the eager way.
            revoked = held.clone();
        }
        if !revoked.is_empty() {
            self.revoke(&revoked).await;
            self.forget_partitions(Some(&revoked));
            // Partitions held through the join were kept from everyone
            // else: rejoin so the group can hand them over.
            if let Some(group) = self.group.as_ref() {
                group.shared.with_state(|s| s.rejoin_needed = true);
            }
        }
        let kept: BTreeSet<TopicPartition> = self.assigned_partitions().into_iter().collect();
        let added: Vec<TopicPartition> = assignment
            .into_iter()
            .filter(|tp| !kept.contains(tp))
            .collect();
        let Some(group) = self.group.as_ref() else {
            return Ok(());
        };
        let committed = match group.shared.fetch_committed(&added).await {
            Ok(committed) => committed,
            Err(error) => {
                // Without committed offsets the positions would fall back to
                // auto.offset.reset and skip or repeat records: join again.
                group.shared.with_state(|s| s.rejoin_needed = true);
                return Err(error);
            }
        };
        for tp in &added {
            let position = committed.get(tp).copied();
            self.positions
                .insert((tp.topic.clone(), tp.partition), position);
        }
        let positions = &self.positions;
        self.paused.retain(|key| positions.contains_key(key));
        let assigned = if cooperative {
            added
        } else {
            self.assigned_partitions()
        };
        invoke(self.callbacks.assigned.as_ref(), &assigned);
        Ok(())
    }

    /// Auto commit (if on) then `on_revoked`, for partitions given up while
    /// still a member; a failed commit is logged, as in Java.
    async fn revoke(&mut self, partitions: &[TopicPartition]) {
        if self.cluster.config().enable_auto_commit {
            let deadline = Instant::now() + self.cluster.config().request_timeout;
            if let Err(error) = self
                .commit_partitions_before(deadline, Some(partitions))
                .await
            {
                tracing::warn!("commit before revoking partitions failed: {error}");
            }
        }
        invoke(self.callbacks.revoked.as_ref(), partitions);
    }

    /// Drops the positions and fetched records of `partitions` (of every
    /// partition with `None`) and the pauses of those named; with `None`,
    /// pauses stay for the partitions the next assignment gives back.
    fn forget_partitions(&mut self, partitions: Option<&[TopicPartition]>) {
        match partitions {
            None => self.positions.clear(),
            Some(partitions) => {
                for tp in partitions {
                    let key = (tp.topic.clone(), tp.partition);
                    self.positions.remove(&key);
                    self.paused.remove(&key);
                }
            }
        }
        self.discard_fetched(partitions);
    }
}
