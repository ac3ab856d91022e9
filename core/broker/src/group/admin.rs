//! The administrative group APIs: ListGroups, DescribeGroups,
//! DeleteGroups and OffsetDelete (KIP-496).

use std::sync::Arc;

use bytes::Bytes;
use strom_protocol::error_codes;

use super::classic::{GroupState, CONSUMER_PROTOCOL_TYPE};
use super::offsets::{remove_if_empty, remove_offsets};
use super::records::encode_group_key;
use super::{lock, store, GroupApi};
use crate::state::Broker;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

/// Every live group whose state is in `states` (case-insensitive; all
/// when empty). The error is COORDINATOR_LOAD_IN_PROGRESS while a
/// partition loads: the list is then incomplete.
pub fn list(broker: &Broker, states: &[String]) -> (i16, Vec<ListedGroup>) {
    let error = if broker.groups.any_loading() {
        error_codes::COORDINATOR_LOAD_IN_PROGRESS
    } else {
        error_codes::NONE
    };
    let mut groups: Vec<ListedGroup> = broker
        .groups
        .all()
        .iter()
        .filter_map(|group| {
            let g = lock(group);
            let wanted = states.is_empty()
                || states
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(g.state.name()));
            (wanted && !g.is(GroupState::Dead)).then(|| ListedGroup {
                group_id: g.group_id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
        })
        .collect();
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    (error, groups)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Metadata and assignment are shown only for a stable group.
    pub metadata: Bytes,
    pub assignment: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub error: i16,
    /// "" when `error` is set; "Dead" for an unknown group.
    pub state: String,
    pub protocol_type: String,
    /// The chosen protocol of a stable group.
    pub protocol: String,
    pub members: Vec<DescribedMember>,
}

pub async fn describe(broker: &Arc<Broker>, group_id: &str) -> GroupDescription {
    let mut description = GroupDescription {
        error: error_codes::NONE,
        state: GroupState::Dead.name().to_string(),
        protocol_type: String::new(),
        protocol: String::new(),
        members: Vec::new(),
    };
    if let Err(code) = broker
        .groups
        .check(broker, group_id, GroupApi::Describe)
        .await
    {
        description.error = code;
        description.state = String::new();
        return description;
    }
    let Some(group) = broker.groups.get(group_id) else {
        return description;
    };
    let g = lock(&group);
    let stable = g.is(GroupState::Stable);
    let protocol = g.protocol_name.clone().unwrap_or_default();
    description.state = g.state.name().to_string();
    description.protocol_type = g.protocol_type.clone().unwrap_or_default();
    if stable {
        description.protocol = protocol.clone();
    }
    description.members = g
        .members
        .iter()
        .map(|m| DescribedMember {
            member_id: m.member_id.clone(),
            group_instance_id: m.group_instance_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            metadata: if stable {
                m.metadata_for(&protocol).cloned().unwrap_or_default()
            } else {
                Bytes::new()
            },
            assignment: if stable {
                m.assignment.clone()
            } else {
                Bytes::new()
            },
        })
        .collect();
    description
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroupResult {
    pub group_id: String,
    pub error: i16,
}

/// Deletes empty groups with their offsets (GROUP_ID_NOT_FOUND,
/// NON_EMPTY_GROUP otherwise); answered once the tombstones are durable.
pub async fn delete_groups(broker: &Arc<Broker>, group_ids: &[String]) -> Vec<DeleteGroupResult> {
    let mut results = Vec::with_capacity(group_ids.len());
    for group_id in group_ids {
        let error = delete_group(broker, group_id).await;
        results.push(DeleteGroupResult {
            group_id: group_id.clone(),
            error,
        });
    }
    results
}

async fn delete_group(broker: &Arc<Broker>, group_id: &str) -> i16 {
    if let Err(code) = broker
        .groups
        .check(broker, group_id, GroupApi::Delete)
        .await
    {
        return code;
    }
    let Some(group) = broker.groups.get(group_id) else {
        return error_codes::GROUP_ID_NOT_FOUND;
    };
    let appended = {
        let mut g = lock(&group);
        match g.state {
            GroupState::Dead => return error_codes::GROUP_ID_NOT_FOUND,
            GroupState::Empty => {}
            _ => return error_codes::NON_EMPTY_GROUP,
        }
        g.transition(GroupState::Dead);
        broker.groups.remove_if_same(group_id, &group);
        let keys: Vec<(String, i32)> = g.offsets.keys().cloned().collect();
        let mut records = remove_offsets(&mut g, &keys);
        records.push((encode_group_key(group_id), None));
        store::append(broker, g.partition, &records)
    };
    tracing::info!(group = group_id, "group deleted");
    match appended {
        Ok(appended) => store::wait(appended)
            .await
            .err()
            .unwrap_or(error_codes::NONE),
        Err(code) => code,
    }
}

/// The group-level error and, without one, an error per partition:
/// GROUP_SUBSCRIBED_TO_TOPIC for topics a non-empty consumer group reads.
pub async fn offset_delete(
    broker: &Arc<Broker>,
    group_id: &str,
    partitions: &[(String, i32)],
) -> (i16, Vec<i16>) {
    if let Err(code) = broker
        .groups
        .check(broker, group_id, GroupApi::OffsetDelete)
        .await
    {
        return (code, Vec::new());
    }
    let Some(group) = broker.groups.get(group_id) else {
        return (error_codes::GROUP_ID_NOT_FOUND, Vec::new());
    };
    let mut errors = vec![error_codes::NONE; partitions.len()];
    let appended = {
        let mut g = lock(&group);
        let consumer_group = g.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE);
        match g.state {
            GroupState::Dead => return (error_codes::GROUP_ID_NOT_FOUND, Vec::new()),
            GroupState::Empty => {}
            _ if consumer_group => {}
            _ => return (error_codes::NON_EMPTY_GROUP, Vec::new()),
        }
        let mut eligible = Vec::new();
        for (index, (topic, partition)) in partitions.iter().enumerate() {
            if !broker.partition_exists(topic, *partition) {
                errors[index] = error_codes::UNKNOWN_TOPIC_OR_PARTITION;
            } else if !g.is(GroupState::Empty) && g.is_subscribed_to(topic) {
                errors[index] = error_codes::GROUP_SUBSCRIBED_TO_TOPIC;
            } else {
                eligible.push((topic.clone(), *partition));
            }
        }
        let mut records = remove_offsets(&mut g, &eligible);
        records.extend(remove_if_empty(broker, &group, &mut g));
        if records.is_empty() {
            return (error_codes::NONE, errors);
        }
        store::append(broker, g.partition, &records)
    };
    let outcome = match appended {
        Ok(appended) => store::wait(appended).await,
        Err(code) => Err(code),
    };
    match outcome {
        Ok(()) => (error_codes::NONE, errors),
        Err(code) => (code, Vec::new()),
    }
}
