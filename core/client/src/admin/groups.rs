//! Consumer groups: list, describe, delete, and their committed offsets
//! (read, alter, lag). Group requests go to the group's coordinator.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use strom_protocol::codec::Message;
use strom_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use strom_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use strom_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest,
    FindCoordinatorRequest, ListGroupsRequest, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, Request, Response,
};
use tokio::time::Instant;

use super::{AdminClient, OffsetSpec};
use crate::cluster::{group_by_topic, unexpected};
use crate::error::{check_code, ClientError, Result};
use crate::TopicPartition;

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    /// Empty when the broker's ListGroups version does not report it.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The partitions assigned to the member, read from its assignment
    /// bytes in a `consumer` protocol group; empty in other groups, while
    /// the group rebalances, or when the bytes cannot be read.
    pub assignment: Vec<TopicPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<GroupMember>,
    pub coordinator: i32,
}

/// A group's committed offset for one partition, with lag when computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    pub tp: TopicPartition,
    pub committed_offset: i64,
    pub metadata: Option<String>,
    /// Log end offset (filled by [`AdminClient::group_lag`]).
    pub log_end_offset: Option<i64>,
    /// `log_end_offset - committed_offset` (filled by `group_lag`).
    pub lag: Option<i64>,
}

/// Coordinator errors after which the Java admin client looks the
/// coordinator up again and retries.
fn coordinator_retriable(code: i16) -> bool {
    matches!(code, 14..=16)
}

impl AdminClient {
    /// Sends a group request to the group's coordinator, finding it again
    /// and retrying (within request.timeout.ms) while it moves or loads.
    async fn send_to_coordinator(
        &self,
        group: &str,
        api: ApiKey,
        build: impl Fn(i16) -> Request,
        error_of: impl Fn(&Response) -> i16,
    ) -> Result<(i32, Response)> {
        let deadline = Instant::now() + self.cluster.config().request_timeout;
        loop {
            let result = match self.find_coordinator(group).await {
                Ok(node) => self
                    .cluster
                    .send(node, api, &build)
                    .await
                    .map(|r| (node, r)),
                Err(error) => Err(error),
            };
            let code = match &result {
                Ok((_, response)) => error_of(response),
                Err(ClientError::Kafka { code, .. }) => *code,
                Err(_) => 0,
            };
            if !coordinator_retriable(code) || Instant::now() >= deadline {
                return result;
            }
            tokio::time::sleep(self.cluster.config().retry_backoff).await;
        }
    }

    /// The node id of `group`'s coordinator.
    pub fn find_coordinator(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<i32>> + Send + 'static {
        let admin = self.clone();
        let group = group.to_string();
        async move {
            let group = group.as_str();
            let response = admin
                .cluster
                .send_to_any(ApiKey::FindCoordinator, |version| {
                    FindCoordinatorRequest {
                        key: if version < 4 {
                            group.to_string()
                        } else {
                            String::new()
                        },
                        key_type: 0,
                        coordinator_keys: if version >= 4 {
                            vec![group.to_string()]
                        } else {
                            Vec::new()
                        },
                        ..Default::default()
                    }
                    .into()
                })
                .await?;
            let Response::FindCoordinator(response) = response else {
                return Err(unexpected(ApiKey::FindCoordinator, &response));
            };
            let (node, code, message) = match response.coordinators.into_iter().next() {
                Some(c) => (c.node_id, c.error_code, c.error_message),
                None => (
                    response.node_id,
                    response.error_code,
                    response.error_message,
                ),
            };
            check_code(
                code,
                || format!("finding the coordinator of group `{group}`"),
                message.as_deref(),
            )?;
            if !admin.cluster.metadata().brokers.contains_key(&node) {
                admin.cluster.refresh_metadata(&[]).await?;
            }
            Ok(node)
        }
    }

    /// Every group on every broker.
    pub fn list_groups(&self) -> impl Future<Output = Result<Vec<GroupListing>>> + Send + 'static {
        let admin = self.clone();
        async move {
            admin.cluster.refresh_metadata(&[]).await?;
            let mut nodes: Vec<i32> = admin.cluster.metadata().brokers.keys().copied().collect();
            nodes.sort();
            let mut groups = Vec::new();
            for node in nodes {
                let response = admin
                    .cluster
                    .send(node, ApiKey::ListGroups, |_| {
                        ListGroupsRequest::default().into()
                    })
                    .await?;
                let Response::ListGroups(response) = response else {
                    return Err(unexpected(ApiKey::ListGroups, &response));
                };
                check_code(
                    response.error_code,
                    || format!("listing groups on node {node}"),
                    None,
                )?;
                groups.extend(response.groups.into_iter().map(|g| GroupListing {
                    group_id: g.group_id,
                    protocol_type: g.protocol_type,
                    state: g.group_state,
                }));
            }
            groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
            Ok(groups)
        }
    }

    pub fn describe_group(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<GroupDescription>> + Send + 'static {
        let admin = self.clone();
        let group = group.to_string();
        async move {
            let group = group.as_str();
            let (node, response) = admin
                .send_to_coordinator(
                    group,
                    ApiKey::DescribeGroups,
                    |_| {
                        DescribeGroupsRequest {
                            groups: vec![group.to_string()],
                            ..Default::default()
                        }
                        .into()
                    },
                    |r| match r {
                        Response::DescribeGroups(r) => r.groups.first().map_or(0, |g| g.error_code),
                        _ => 0,
                    },
                )
                .await?;
            let Response::DescribeGroups(response) = response else {
                return Err(unexpected(ApiKey::DescribeGroups, &response));
            };
            let described =
                response
                    .groups
                    .into_iter()
                    .next()
                    .ok_or_else(|| ClientError::Protocol {
                        addr: format!("node {node}"),
                        reason: "DescribeGroups answered with no group".to_string(),
                    })?;
            check_code(
                described.error_code,
                || format!("describing group `{group}`"),
                None,
            )?;
            let consumers = described.protocol_type == "consumer";
            Ok(GroupDescription {
                group_id: described.group_id,
                state: described.group_state,
                protocol_type: described.protocol_type,
                protocol: described.protocol_data,
                members: described
                    .members
                    .into_iter()
                    .map(|m| GroupMember {
                        assignment: if consumers {
                            member_assignment(&m.member_assignment)
                        } else {
                            Vec::new()
                        },
                        member_id: m.member_id,
                        group_instance_id: m.group_instance_id,
                        client_id: m.client_id,
                        client_host: m.client_host,
                    })
                    .collect(),
                coordinator: node,
            })
        }
    }

    pub fn describe_groups(
        &self,
        groups: &[&str],
    ) -> impl Future<Output = Result<Vec<GroupDescription>>> + Send + 'static {
        let admin = self.clone();
        let groups: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        async move {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let groups = &groups[..];
            let mut described = Vec::new();
            for group in groups {
                described.push(admin.describe_group(group).await?);
            }
            Ok(described)
        }
    }

    /// Deletes empty groups; each group's outcome is returned.
    pub fn delete_groups(
        &self,
        groups: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, Result<()>)>>> + Send + 'static {
        let admin = self.clone();
        let groups: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        async move {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let groups = &groups[..];
            let mut outcomes = Vec::new();
            for group in groups {
                let (_, response) = admin
                    .send_to_coordinator(
                        group,
                        ApiKey::DeleteGroups,
                        |_| {
                            DeleteGroupsRequest {
                                groups_names: vec![group.to_string()],
                                ..Default::default()
                            }
                            .into()
                        },
                        |r| match r {
                            Response::DeleteGroups(r) => {
                                r.results.first().map_or(0, |g| g.error_code)
                            }
                            _ => 0,
                        },
                    )
                    .await?;
                let Response::DeleteGroups(response) = response else {
                    return Err(unexpected(ApiKey::DeleteGroups, &response));
                };
                let code = response.results.first().map_or(0, |r| r.error_code);
                outcomes.push((
                    group.to_string(),
                    check_code(code, || format!("deleting group `{group}`"), None),
                ));
            }
            Ok(outcomes)
        }
    }

    /// A group's committed offsets for every partition it has committed.
    pub fn list_group_offsets(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Vec<GroupOffset>>> + Send + 'static {
        self.list_group_offsets_of(group, None)
    }

    /// A group's committed offsets for `partitions` (every partition it
    /// has committed for `None`). A partition asked for by name that has
    /// no committed offset is returned with `committed_offset` -1, as
    /// librdkafka's and the Java client's `listConsumerGroupOffsets` do
    /// (confluent-kafka shows it as `OFFSET_INVALID`).
    pub fn list_group_offsets_of(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> impl Future<Output = Result<Vec<GroupOffset>>> + Send + 'static {
        let admin = self.clone();
        let group = group.to_string();
        let asked = partitions.is_some();
        let topics: Option<Vec<OffsetFetchRequestTopic>> = partitions.map(|partitions| {
            let entries = partitions
                .iter()
                .map(|tp| (tp.topic.to_string(), tp.partition));
            group_by_topic(entries)
                .into_iter()
                .map(|(name, partition_indexes)| OffsetFetchRequestTopic {
                    name,
                    partition_indexes,
                    ..Default::default()
                })
                .collect()
        });
        async move {
            let group = group.as_str();
            let (_, response) = admin
                .send_to_coordinator(
                    group,
                    ApiKey::OffsetFetch,
                    |_| {
                        OffsetFetchRequest {
                            group_id: group.to_string(),
                            topics: topics.clone(),
                            ..Default::default()
                        }
                        .into()
                    },
                    |r| match r {
                        Response::OffsetFetch(r) => r.error_code,
                        _ => 0,
                    },
                )
                .await?;
            let Response::OffsetFetch(response) = response else {
                return Err(unexpected(ApiKey::OffsetFetch, &response));
            };
            check_code(
                response.error_code,
                || format!("reading offsets of group `{group}`"),
                None,
            )?;
            let mut offsets = Vec::new();
            for topic in response.topics {
                for p in topic.partitions {
                    check_code(
                        p.error_code,
                        || {
                            format!(
                                "reading offset of group `{group}` for `{}` partition {}",
                                topic.name, p.partition_index
                            )
                        },
                        None,
                    )?;
                    if asked || p.committed_offset >= 0 {
                        offsets.push(GroupOffset {
                            tp: TopicPartition::new(topic.name.as_str(), p.partition_index),
                            committed_offset: p.committed_offset.max(-1),
                            metadata: p.metadata,
                            log_end_offset: None,
                            lag: None,
                        });
                    }
                }
            }
            offsets.sort_by(|a, b| a.tp.cmp(&b.tp));
            Ok(offsets)
        }
    }

    /// Sets a group's committed offsets. The group must have no active
    /// members (the broker refuses otherwise): the commit is made as a
    /// non-member, generation -1 with an empty member id.
    pub fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let admin = self.clone();
        let group = group.to_string();
        let offsets = offsets.to_vec();
        async move {
            let group = group.as_str();
            let offsets = &offsets[..];
            let topics = offset_commit_topics(offsets);
            let first_error = |r: &Response| match r {
                Response::OffsetCommit(r) => first_commit_error(r),
                _ => 0,
            };
            let (_, response) = admin
                .send_to_coordinator(
                    group,
                    ApiKey::OffsetCommit,
                    |_| {
                        OffsetCommitRequest {
                            group_id: group.to_string(),
                            generation_id_or_member_epoch: -1,
                            member_id: String::new(),
                            retention_time_ms: -1,
                            topics: topics.clone(),
                            ..Default::default()
                        }
                        .into()
                    },
                    first_error,
                )
                .await?;
            check_code(
                first_error(&response),
                || format!("committing offsets for group `{group}`"),
                None,
            )
        }
    }

    /// Committed offsets with each partition's log end offset and lag.
    pub fn group_lag(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Vec<GroupOffset>>> + Send + 'static {
        let admin = self.clone();
        let group = group.to_string();
        async move {
            let group = group.as_str();
            let mut offsets = admin.list_group_offsets(group).await?;
            let topics: HashSet<&Arc<str>> = offsets.iter().map(|o| &o.tp.topic).collect();
            let mut queries = Vec::new();
            for topic in topics {
                for p in admin.cluster.partitions(topic).await? {
                    queries.push((
                        TopicPartition::new(topic.clone(), p.partition),
                        OffsetSpec::Latest,
                    ));
                }
            }
            let ends = admin.list_offsets(&queries).await?;
            for offset in &mut offsets {
                if let Some(end) = ends.iter().find(|e| e.tp == offset.tp) {
                    offset.log_end_offset = Some(end.offset);
                    offset.lag = Some((end.offset - offset.committed_offset).max(0));
                }
            }
            Ok(offsets)
        }
    }
}

/// The partitions of a `ConsumerProtocolAssignment` behind its i16
/// version, as a consumer group's leader writes them; empty when the
/// bytes are empty or cannot be read (a description should not fail for
/// one member's bytes).
fn member_assignment(bytes: &Bytes) -> Vec<TopicPartition> {
    let mut body = bytes.clone();
    if body.remaining() < 2 {
        return Vec::new();
    }
    let version = body.get_i16();
    if version < 0 {
        return Vec::new();
    }
    let version = version.min(ConsumerProtocolAssignment::VERSIONS.1);
    let Ok(assignment) = ConsumerProtocolAssignment::decode(&mut body, version) else {
        return Vec::new();
    };
    let mut partitions: Vec<TopicPartition> = assignment
        .assigned_partitions
        .into_iter()
        .flat_map(|topic| {
            let name: Arc<str> = topic.topic.into();
            topic
                .partitions
                .into_iter()
                .map(move |partition| TopicPartition::new(name.clone(), partition))
        })
        .collect();
    partitions.sort();
    partitions
}

/// The first partition error of an OffsetCommit answer, 0 when none.
pub(crate) fn first_commit_error(response: &OffsetCommitResponse) -> i16 {
    response
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| p.error_code)
        .find(|c| *c != 0)
        .unwrap_or(0)
}

/// The topics of an OffsetCommit request for `(topic, partition, offset)`
/// entries, with no leader epoch or metadata: what the admin client and
/// the consumer both commit.
pub(crate) fn offset_commit_topics(
    offsets: &[(TopicPartition, i64)],
) -> Vec<OffsetCommitRequestTopic> {
    let entries = offsets.iter().map(|(tp, offset)| {
        let entry = OffsetCommitRequestPartition {
            partition_index: tp.partition,
            committed_offset: *offset,
            committed_leader_epoch: -1,
            commit_timestamp: -1,
            committed_metadata: Some(String::new()),
            ..Default::default()
        };
        (tp.topic.to_string(), entry)
    });
    group_by_topic(entries)
        .into_iter()
        .map(|(name, partitions)| OffsetCommitRequestTopic {
            name,
            partitions,
            ..Default::default()
        })
        .collect()
}
