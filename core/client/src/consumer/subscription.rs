//! `subscribe`: the group chooses the assignment. `poll` calls
//! [`ConsumerState::maintain_group`] which notes the poll (for
//! max.poll.interval.ms, enforced by the heartbeat task), (re)joins when
//! needed (`subscription/rebalance.rs`: eager or cooperative; the join
//! itself runs in a task of its own, so `poll` keeps its timeout) and
//! auto-commits every auto.commit.interval.ms.

mod rebalance;

use std::time::Duration;

use tokio::time::Instant;

use super::assignors::Assignor;
use super::rebalance_context::{ContextCallback, RebalanceCallback, RebalanceEvent};
use super::{ConsumerState, TopicPartition};
use crate::error::{ClientError, Result};

/// How often a leader looks again for subscribed topics that were missing
/// (Java's metadata backoff tops out at retry.backoff.max.ms, 1 s).
const MISSING_TOPICS_RECHECK: Duration = Duration::from_secs(1);

impl ConsumerState {
    /// Joins the consumer's group (group.id) subscribed to `topics`; the
    /// group's assignor shares their partitions among its members. The
    /// join itself happens in `poll`, as in the Java client.
    pub(crate) fn subscribe(&mut self, topics: &[&str]) -> Result<()> {
        if self.group.is_none() {
            return Err(ClientError::InvalidArgument(
                "subscribe needs a group: set group.id in the consumer config".to_string(),
            ));
        }
        if topics.is_empty() || topics.iter().any(|t| t.trim().is_empty()) {
            return Err(ClientError::InvalidArgument(
                "subscribe to at least one topic, with non-empty names".to_string(),
            ));
        }
        self.assignors =
            configured_assignors(&self.cluster.config().partition_assignment_strategy)?;
        self.pattern = None;
        let mut topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        topics.sort();
        topics.dedup();
        if topics != self.subscription {
            self.subscription = topics;
            if let Some(group) = &self.group {
                group.shared.with_state(|s| s.rejoin_needed = true);
            }
        }
        Ok(())
    }

    /// The subscribed topics (empty when not subscribed).
    pub(crate) fn subscription(&self) -> Vec<String> {
        self.subscription.clone()
    }

    /// Called after each rebalance, before `poll` returns records from the
    /// new partitions: with the whole new assignment under the eager
    /// protocol, with only the partitions added under the cooperative one
    /// (`cooperative-sticky`; possibly none), as in Java.
    pub(crate) fn on_assigned(
        &mut self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) {
        self.callbacks.assigned = Some(Box::new(move |_, partitions| callback(partitions)));
    }

    /// Called with the partitions given up (after their auto commit): under
    /// the eager protocol all of them before every rebalance, under the
    /// cooperative one only those the new assignment moves elsewhere, after
    /// it; and all of them on close.
    pub(crate) fn on_revoked(
        &mut self,
        callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static,
    ) {
        self.callbacks.revoked = Some(Box::new(move |_, partitions| callback(partitions)));
    }

    /// Called instead of `on_revoked` when the group fenced this member
    /// (its session expired) or it left because `poll` was not called
    /// within max.poll.interval.ms: the partitions may already belong to
    /// another member, so nothing was committed. Without it, `on_revoked`
    /// is called.
    pub(crate) fn on_lost(&mut self, callback: impl Fn(&[TopicPartition]) + Send + Sync + 'static) {
        self.callbacks.lost = Some(Box::new(move |_, partitions| callback(partitions)));
    }

    /// One callback for all three events, handed a [`RebalanceContext`] to
    /// read positions, seek, pause and commit while the rebalance waits
    /// (librdkafka's `rebalance_cb`); replaces `on_assigned`, `on_revoked`
    /// and `on_lost`.
    pub(crate) fn on_rebalance(&mut self, callback: impl RebalanceCallback) {
        let callback = std::sync::Arc::new(callback);
        let for_event = |event: RebalanceEvent| -> ContextCallback {
            let callback = callback.clone();
            Box::new(move |context, partitions| callback(event, context, partitions))
        };
        self.callbacks.assigned = Some(for_event(RebalanceEvent::Assigned));
        self.callbacks.revoked = Some(for_event(RebalanceEvent::Revoked));
        self.callbacks.lost = Some(for_event(RebalanceEvent::Lost));
    }

    /// The member id the coordinator gave this consumer, once joined.
    pub(crate) fn member_id(&self) -> Option<String> {
        let group = self.group.as_ref()?;
        let member_id = group.shared.with_state(|s| s.member_id.clone());
        (!member_id.is_empty()).then_some(member_id)
    }

    /// The generation of the group this consumer last joined (Java's
    /// `groupMetadata().generationId()`), once joined.
    pub(crate) fn generation_id(&self) -> Option<i32> {
        let group = self.group.as_ref()?;
        let generation = group.shared.with_state(|s| s.generation_id);
        (generation >= 0).then_some(generation)
    }

    /// The rebalance protocol of the generation this consumer last joined,
    /// once joined: "COOPERATIVE" when its assignor is cooperative
    /// (partitions kept across rebalances), else "EAGER" (librdkafka's
    /// `rd_kafka_rebalance_protocol`).
    pub(crate) fn rebalance_protocol(&self) -> Option<&'static str> {
        self.generation_id()?;
        let group = self.group.as_ref()?;
        let cooperative = group.shared.with_state(|s| s.cooperative);
        Some(if cooperative { "COOPERATIVE" } else { "EAGER" })
    }

    /// The leader of the generation this consumer last joined, once joined.
    pub(crate) fn group_leader_id(&self) -> Option<String> {
        let group = self.group.as_ref()?;
        let leader = group.shared.with_state(|s| s.leader_id.clone());
        (!leader.is_empty()).then_some(leader)
    }

    /// Commits (with auto commit), calls `on_revoked` and leaves the group
    /// so the other members take over at once; waits at most `timeout`.
    /// A static member (group.instance.id) does not leave, as in Java: its
    /// partitions wait session.timeout.ms for it to come back. Later polls
    /// fail with `ClientError::Closed`.
    pub(crate) async fn close(&mut self, timeout: Duration) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        self.pattern = None;
        let deadline = Instant::now() + timeout;
        let result = if !self.subscription.is_empty() {
            self.give_up_subscription(deadline, timeout).await
        } else if self.group.is_some() && self.cluster.config().enable_auto_commit {
            // Manually assigned partitions commit too, as in Java.
            self.commit_before(deadline).await
        } else {
            Ok(())
        };
        if let Some(group) = self.group.as_mut() {
            group.stop_heartbeat();
        }
        self.positions.clear();
        self.discard_fetched(None);
        self.paused.clear();
        self.subscription.clear();
        result
    }

    /// Gives up the subscription and its partitions the way `close` does,
    /// but the consumer stays usable (`subscribe` or `assign` again).
    pub(crate) async fn unsubscribe(&mut self) -> Result<()> {
        self.pattern = None;
        self.unsubscribe_keeping_pattern().await
    }

    /// `unsubscribe`, but a pattern subscription stays and rejoins once
    /// matching topics show up again.
    pub(crate) async fn unsubscribe_keeping_pattern(&mut self) -> Result<()> {
        if self.subscription.is_empty() {
            return Ok(());
        }
        let timeout = self.cluster.config().request_timeout;
        let result = self
            .give_up_subscription(Instant::now() + timeout, timeout)
            .await;
        self.positions.clear();
        self.discard_fetched(None);
        self.paused.clear();
        self.subscription.clear();
        result
    }

    /// Commit (auto commit), `on_revoked` (or `on_lost`), LeaveGroup. A
    /// join still running is given up first (its LeaveGroup names the
    /// member id the join got so far); all of it within `deadline`.
    async fn give_up_subscription(&mut self, deadline: Instant, timeout: Duration) -> Result<()> {
        let mut result = Ok(());
        if let Some(group) = self.group.as_mut() {
            if tokio::time::timeout_at(deadline, group.abandon_join())
                .await
                .is_err()
            {
                result = Err(timed_out("giving up the group join", timeout));
            }
        }
        let (is_member, lost) = self.group.as_ref().map_or((false, false), |g| {
            (!g.needs_join(), g.shared.with_state(|s| s.partitions_lost))
        });
        if is_member && self.cluster.config().enable_auto_commit {
            result = result.and(self.commit_before(deadline).await);
        }
        let assignment = self.assigned_partitions();
        let event = if lost {
            RebalanceEvent::Lost
        } else {
            RebalanceEvent::Revoked
        };
        self.run_rebalance_callback(event, &assignment);
        // What the callback committed lands before the member leaves.
        if let Some(commits) = self.commits_of_callbacks() {
            match tokio::time::timeout_at(deadline, commits).await {
                Ok(committed) => result = result.and(committed),
                Err(_) => result = result.and(Err(timed_out("committing offsets", timeout))),
            }
        }
        if let Some(group) = self.group.as_mut() {
            let left = tokio::time::timeout_at(deadline, group.leave()).await;
            let left = left.unwrap_or_else(|_| Err(timed_out("leaving the group", timeout)));
            if let Err(error) = left {
                tracing::warn!("leaving the group failed: {error}");
                result = result.and(Err(error));
            }
        }
        result
    }

    async fn commit_before(&mut self, deadline: Instant) -> Result<()> {
        self.commit_partitions_before(deadline, None).await
    }

    /// Commits the consumed offsets of `only` these partitions (of every
    /// assigned one with `None`), giving up at `deadline`.
    async fn commit_partitions_before(
        &mut self,
        deadline: Instant,
        only: Option<&[TopicPartition]>,
    ) -> Result<()> {
        let mut offsets = self.consumed_offsets();
        if let Some(only) = only {
            offsets.retain(|(tp, _)| only.contains(tp));
        }
        let Some(group) = self.group.as_ref() else {
            return Ok(());
        };
        let timeout = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout_at(deadline, group.shared.commit(&offsets)).await {
            Ok(result) => result,
            Err(_) => Err(timed_out("committing offsets", timeout)),
        }
    }

    /// Notes the poll, moves a rebalance along (starting a join, applying
    /// the one that has finished; never waiting for the group) and
    /// auto-commits when due. A poll that returns while a join is still
    /// running counts as a poll for max.poll.interval.ms too.
    pub(crate) async fn maintain_group(&mut self) -> Result<()> {
        if let Some(group) = self.group.as_ref() {
            group.shared.with_state(|s| s.last_poll = Instant::now());
        }
        self.refresh_pattern_subscription().await?;
        let Some(group) = self.group.as_mut() else {
            return Ok(());
        };
        if !self.subscription.is_empty() {
            if let Some(reason) = group.shared.with_state(|s| s.fatal.clone()) {
                return Err(ClientError::InvalidArgument(reason));
            }
            // Like Java's metadata backoff for unknown topics: a topic being
            // created (Kafka does it in the background) is seen within a
            // second, not at the next metadata.max.age.ms refresh.
            let missing = group.missing_topics();
            if !missing.is_empty() && Instant::now() >= self.next_missing_topics_check {
                self.next_missing_topics_check = Instant::now() + MISSING_TOPICS_RECHECK;
                if let Err(error) = self.cluster.refresh_metadata(&missing).await {
                    tracing::debug!("looking up missing subscribed topics: {error}");
                }
            }
            let Some(group) = self.group.as_mut() else {
                return Ok(());
            };
            if group.metadata_changed() {
                tracing::debug!("subscribed topics changed; asking the group to rebalance");
                group.shared.with_state(|st| st.rejoin_needed = true);
            }
            self.rebalance().await?;
        }
        // As in Java, no auto commit while the group rebalances: the
        // generation is about to change, and the commit would queue behind
        // the JoinGroup parked on the coordinator connection.
        let joining = self.group.as_mut().is_some_and(|g| g.join_running());
        let config = self.cluster.config();
        if config.enable_auto_commit && !joining && Instant::now() >= self.next_auto_commit {
            self.next_auto_commit = Instant::now() + config.auto_commit_interval;
            if let Err(error) = self
                .commit_before(Instant::now() + config.request_timeout)
                .await
            {
                // As in Java: an auto commit that fails is logged; the next
                // one (or the one on revoke) covers it.
                tracing::warn!("auto commit failed: {error}");
            }
        }
        Ok(())
    }

    pub(crate) fn assigned_partitions(&self) -> Vec<TopicPartition> {
        self.positions.keys().cloned().collect()
    }
}

/// The supported assignors named in partition.assignment.strategy, in its
/// order; unknown ones are skipped (and logged).
pub(super) fn configured_assignors(names: &[String]) -> Result<Vec<Assignor>> {
    let assignors: Vec<Assignor> = names
        .iter()
        .filter_map(|name| {
            let assignor = Assignor::from_config_name(name);
            if assignor.is_none() {
                tracing::debug!("partition.assignment.strategy `{name}` is not supported; skipped");
            }
            assignor
        })
        .collect();
    if assignors.is_empty() {
        return Err(ClientError::invalid_config(
            "partition.assignment.strategy",
            &names.join(","),
            "name range, roundrobin, sticky or cooperative-sticky",
        ));
    }
    Ok(assignors)
}

fn timed_out(what: &str, after: Duration) -> ClientError {
    ClientError::Timeout {
        what: what.to_string(),
        after,
        setting: "the close timeout",
    }
}

/// Boxed rebalance callbacks; see [`ConsumerState::on_assigned`].
#[derive(Default)]
pub(crate) struct Callbacks {
    pub assigned: Option<ContextCallback>,
    pub revoked: Option<ContextCallback>,
    pub lost: Option<ContextCallback>,
}

impl Callbacks {
    pub(crate) fn slot(&mut self, event: RebalanceEvent) -> &mut Option<ContextCallback> {
        match event {
            RebalanceEvent::Assigned => &mut self.assigned,
            RebalanceEvent::Revoked => &mut self.revoked,
            RebalanceEvent::Lost => &mut self.lost,
        }
    }
}
