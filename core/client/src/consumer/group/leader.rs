//! The member data a consumer joins with, one entry per assignor it lists,
//! and the leader's part of a rebalance: read every member's subscription,
//! run the chosen assignor over the current partition counts, encode the
//! results.

use std::collections::BTreeMap;

use strom_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use strom_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use strom_protocol::messages::JoinGroupResponse;

use super::super::assignors::{Assignor, MemberSubscription};
use super::super::member_data::{self, Subscription, NO_GENERATION};
use super::super::sticky::Claim;
use super::super::TopicPartition;
use super::Shared;
use crate::error::{ClientError, Result};
use strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION;

/// The JoinGroup protocols: the same subscription (topics, owned
/// partitions, generation) for every assignor, plus the user data Java's
/// sticky assignors write, so a Java leader stays sticky with us too.
pub(super) fn protocol_metadata(
    topics: &[String],
    owned: &[TopicPartition],
    previous: &[TopicPartition],
    generation: i32,
    assignors: &[Assignor],
) -> Result<Vec<JoinGroupRequestProtocol>> {
    assignors
        .iter()
        .map(|assignor| {
            let user_data = match assignor {
                Assignor::Sticky => {
                    Some(member_data::encode_sticky_user_data(previous, generation))
                }
                Assignor::CooperativeSticky => {
                    Some(member_data::encode_generation_user_data(generation))
                }
                Assignor::Range | Assignor::RoundRobin => None,
            };
            let subscription = Subscription {
                topics: topics.to_vec(),
                owned: owned.to_vec(),
                generation: Some(generation),
                user_data,
            };
            Ok(JoinGroupRequestProtocol {
                name: assignor.protocol_name().to_string(),
                metadata: member_data::encode_subscription(&subscription)?,
                ..Default::default()
            })
        })
        .collect()
}

/// A member's subscription as `chosen` takes it. Only Java's sticky
/// assignors define their user data; anything else's is left alone.
fn member_subscription(
    chosen: Assignor,
    member_id: String,
    group_instance_id: Option<String>,
    subscription: Subscription,
) -> MemberSubscription {
    let user_data = subscription.user_data.as_ref();
    // The generation of the owned partitions: the v2+ field, else what
    // Java's cooperative-sticky user data carries.
    let generation = subscription
        .generation
        .or_else(|| {
            user_data
                .filter(|_| chosen == Assignor::CooperativeSticky)
                .and_then(member_data::decode_generation_user_data)
        })
        .unwrap_or(NO_GENERATION);
    let previous = user_data
        .filter(|_| chosen == Assignor::Sticky)
        .and_then(member_data::decode_sticky_user_data)
        .map(|(partitions, generation)| Claim {
            partitions,
            generation,
        });
    MemberSubscription {
        member_id,
        group_instance_id,
        topics: subscription.topics,
        owned: Claim {
            partitions: subscription.owned,
            generation,
        },
        previous,
    }
}

impl Shared {
    /// Runs the chosen assignor; returns the SyncGroup assignments and the
    /// partition counts they were made from.
    pub(super) async fn lead(
        &self,
        joined: &JoinGroupResponse,
        assignors: &[Assignor],
    ) -> Result<(
        Vec<SyncGroupRequestAssignment>,
        BTreeMap<String, Option<i32>>,
    )> {
        let chosen = joined
            .protocol_name
            .as_deref()
            .and_then(|name| assignors.iter().find(|a| a.protocol_name() == name))
            .or(assignors.first())
            .copied()
            .unwrap_or(Assignor::Range);
        let mut members = Vec::with_capacity(joined.members.len());
        for member in &joined.members {
            members.push(member_subscription(
                chosen,
                member.member_id.clone(),
                member.group_instance_id.clone(),
                member_data::decode_subscription(&member.metadata)?,
            ));
        }
        let mut topics: Vec<String> = members.iter().flat_map(|m| m.topics.clone()).collect();
        topics.sort();
        topics.dedup();
        if self.cluster.config().allow_auto_create_topics == Some(true) {
            // allow.auto.create.topics=true (librdkafka's; kafkajs's
            // default): the broker creates the subscribed topics it lacks,
            // if it creates topics at all. Kafka creates them in the
            // background; the leader's watch of the subscribed topics
            // rebalances once they appear.
            self.cluster
                .request_metadata(Some(topics.clone()), true)
                .await?;
        }
        self.cluster.refresh_metadata(&topics).await?;
        let snapshot: BTreeMap<String, Option<i32>> = topics
            .iter()
            .map(|t| (t.clone(), self.cluster.cached_partition_count(t)))
            .collect();
        let partition_counts: BTreeMap<String, i32> = snapshot
            .iter()
            .filter_map(|(t, count)| Some((t.clone(), (*count)?)))
            .collect();
        self.report_missing_topics(&snapshot);
        let assignment = chosen.assign(&members, &partition_counts);
        tracing::debug!(group = %self.group_id, assignor = chosen.protocol_name(), ?assignment, "assigned");
        let assignments = assignment
            .into_iter()
            .map(|(member_id, partitions)| {
                Ok(SyncGroupRequestAssignment {
                    member_id,
                    assignment: member_data::encode_assignment(&partitions)?,
                    ..Default::default()
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((assignments, snapshot))
    }
}

impl Shared {
    /// A subscribed topic the cluster does not have is a client-level
    /// error (librdkafka's "Subscribed topic not available"): the group
    /// assigns nothing of it, and without this the subscription would
    /// wait silently.
    fn report_missing_topics(&self, snapshot: &BTreeMap<String, Option<i32>>) {
        for (topic, count) in snapshot {
            let missing = count.is_none()
                && self
                    .cluster
                    .cached_topic(topic)
                    .is_none_or(|info| info.error_code == UNKNOWN_TOPIC_OR_PARTITION);
            if missing {
                self.cluster.report(ClientError::kafka(
                    UNKNOWN_TOPIC_OR_PARTITION,
                    format!("subscribing to `{topic}`"),
                    Some(format!("subscribed topic `{topic}` is not available: it does not exist (or is not created yet)")),
                ));
            }
        }
    }
}
