//! `AdminClient`: topics, configs, cluster, offsets and consumer groups.
//! Every call returns plain owned structs and is bounded by
//! request.timeout.ms per request (each request goes through a
//! connection with that timeout).
//!
//! - this file: the client handle, topics and the cluster.
//! - [`configs`]: DescribeConfigs / IncrementalAlterConfigs.
//! - [`offsets`]: ListOffsets / DeleteRecords.
//! - [`groups`]: consumer groups and their committed offsets and lag.
//! - [`acls`]: CreateAcls / DescribeAcls / DeleteAcls.
//! - [`quotas`]: DescribeClientQuotas / AlterClientQuotas.

mod acls;
mod configs;
mod groups;
pub(crate) use groups::{first_commit_error, offset_commit_topics};
mod offsets;
mod quorum;
mod quotas;
mod users;

use std::collections::HashMap;
use std::future::Future;

use strom_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use strom_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use strom_protocol::messages::delete_topics_request::DeleteTopicState;
use strom_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeClusterRequest, Request, Response,
};

pub use configs::{AlterConfigOp, ConfigEntry, ConfigResource};
pub use groups::{GroupDescription, GroupListing, GroupMember, GroupOffset};
pub use offsets::{ListedOffset, OffsetSpec};
pub use quorum::{QuorumInfo, QuorumReplica};
pub use quotas::{EntityQuotas, QuotaAlteration, QuotaEntity, QuotaMatch};
pub use strom_protocol::acl::{
    AclBinding, AclFilter, Operation as AclOperation, PatternType, Permission as AclPermission,
    ResourceType,
};
pub use users::{UserScramChange, UserScramCredentials};

use crate::cluster::{unexpected, Cluster};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::metadata::{BrokerInfo, TopicInfo};
use crate::TopicPartition;

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    /// -1 for the broker's num.partitions.
    pub partitions: i32,
    /// -1 for the broker's default.replication.factor.
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            configs: Vec::new(),
        }
    }

    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> NewTopic {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// The cluster as DescribeCluster (or Metadata) reports it.
#[derive(Debug, Clone)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: Vec<BrokerInfo>,
}

/// The admin client; cheap to clone.
#[derive(Clone)]
pub struct AdminClient {
    cluster: Cluster,
}

impl AdminClient {
    /// Client-level errors since the last call, oldest first (librdkafka's
    /// `error_cb` events): a broker that cannot be reached (once per
    /// outage), all brokers down, a subscribed topic that does not exist.
    /// Calls still fail with their own errors; these tell what the client
    /// meets in the background. At most the last 64 are kept.
    pub fn take_errors(&self) -> Vec<crate::ClientError> {
        self.cluster.take_errors()
    }

    pub async fn new(config: ClientConfig) -> Result<AdminClient> {
        Ok(AdminClient {
            cluster: Cluster::connect(config).await?,
        })
    }

    /// An admin client sharing an existing cluster handle.
    pub(crate) fn from_cluster(cluster: Cluster) -> AdminClient {
        AdminClient { cluster }
    }

    pub(crate) fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Sends to the controller when known (KRaft brokers forward anyway),
    /// else to any broker.
    async fn send_to_controller(
        &self,
        api: ApiKey,
        build: impl Fn(i16) -> Request,
    ) -> Result<Response> {
        let controller = self.cluster.metadata().controller_id;
        if controller >= 0 {
            if let Ok(response) = self.cluster.send(controller, api, &build).await {
                return Ok(response);
            }
        }
        self.cluster.send_to_any(api, build).await
    }

    /// Creates topics; every topic's outcome is returned in order, so one
    /// existing topic does not hide the others' results.
    pub fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> impl Future<Output = Result<Vec<(String, Result<()>)>>> + Send + 'static {
        let admin = self.clone();
        let topics = topics.to_vec();
        async move {
            let topics = &topics[..];
            let timeout_ms = admin.timeout_ms();
            let response = admin
                .send_to_controller(ApiKey::CreateTopics, |_| {
                    CreateTopicsRequest {
                        topics: topics
                            .iter()
                            .map(|topic| CreatableTopic {
                                name: topic.name.clone(),
                                num_partitions: topic.partitions,
                                replication_factor: topic.replication_factor,
                                configs: topic
                                    .configs
                                    .iter()
                                    .map(|(k, v)| CreatableTopicConfig {
                                        name: k.clone(),
                                        value: Some(v.clone()),
                                        ..Default::default()
                                    })
                                    .collect(),
                                ..Default::default()
                            })
                            .collect(),
                        timeout_ms,
                        validate_only,
                        ..Default::default()
                    }
                    .into()
                })
                .await?;
            let Response::CreateTopics(response) = response else {
                return Err(unexpected(ApiKey::CreateTopics, &response));
            };
            let results = response
                .topics
                .into_iter()
                .map(|t| {
                    let name = t.name;
                    let outcome = crate::error::check_code(
                        t.error_code,
                        || format!("creating topic `{name}`"),
                        t.error_message.as_deref(),
                    );
                    (name, outcome)
                })
                .collect();
            if !validate_only {
                let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
                admin.cluster.refresh_metadata(&names).await?;
            }
            Ok(results)
        }
    }

    /// Creates one topic, failing on any error (TOPIC_ALREADY_EXISTS too).
    pub fn create_topic(
        &self,
        topic: NewTopic,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let admin = self.clone();
        async move {
            let results = admin
                .create_topics(std::slice::from_ref(&topic), false)
                .await?;
            results
                .into_iter()
                .next()
                .map_or(Ok(()), |(_, outcome)| outcome)
        }
    }

    pub fn delete_topics(
        &self,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<(String, Result<()>)>>> + Send + 'static {
        let admin = self.clone();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let names = &names[..];
            let timeout_ms = admin.timeout_ms();
            let response = admin
                .send_to_controller(ApiKey::DeleteTopics, |version| {
                    let names = names.iter().map(|n| n.to_string());
                    DeleteTopicsRequest {
                        topics: if version >= 6 {
                            names
                                .clone()
                                .map(|n| DeleteTopicState {
                                    name: Some(n),
                                    ..Default::default()
                                })
                                .collect()
                        } else {
                            Vec::new()
                        },
                        topic_names: if version < 6 {
                            names.collect()
                        } else {
                            Vec::new()
                        },
                        timeout_ms,
                        ..Default::default()
                    }
                    .into()
                })
                .await?;
            let Response::DeleteTopics(response) = response else {
                return Err(unexpected(ApiKey::DeleteTopics, &response));
            };
            Ok(response
                .responses
                .into_iter()
                .map(|t| {
                    let name = t.name.unwrap_or_default();
                    let outcome = crate::error::check_code(
                        t.error_code,
                        || format!("deleting topic `{name}`"),
                        t.error_message.as_deref(),
                    );
                    (name, outcome)
                })
                .collect())
        }
    }

    /// Names of all topics (internal ones excluded unless asked).
    pub fn list_topics(
        &self,
        include_internal: bool,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let admin = self.clone();
        async move {
            let response = admin.cluster.request_metadata(None, false).await?;
            let mut names: Vec<String> = response
                .topics
                .into_iter()
                .filter(|t| t.error_code == 0 && (include_internal || !t.is_internal))
                .filter_map(|t| t.name)
                .collect();
            names.sort();
            Ok(names)
        }
    }

    /// The cluster as one Metadata request sees it: cluster id,
    /// controller, brokers, and the named topics (every topic for `None`)
    /// with their partitions; a named topic the cluster does not have is
    /// there with UNKNOWN_TOPIC_OR_PARTITION and no partitions, as
    /// librdkafka's `rd_kafka_metadata` (confluent-kafka's `list_topics`)
    /// reports it.
    pub fn metadata(
        &self,
        topics: Option<&[&str]>,
    ) -> impl Future<Output = Result<crate::metadata::Metadata>> + Send + 'static {
        let admin = self.clone();
        let topics: Option<Vec<String>> =
            topics.map(|names| names.iter().map(|name| name.to_string()).collect());
        async move {
            let response = admin
                .cluster
                .request_metadata(topics.clone(), false)
                .await?;
            let mut metadata = crate::metadata::Metadata::default();
            metadata.merge(response);
            for name in topics.unwrap_or_default() {
                metadata
                    .topics
                    .entry(name.clone())
                    .or_insert_with(|| TopicInfo {
                        name,
                        topic_id: [0; 16],
                        is_internal: false,
                        error_code: strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                        partitions: Vec::new(),
                    });
            }
            Ok(metadata)
        }
    }

    /// Partitions, leaders and replicas of each named topic.
    pub fn describe_topics(
        &self,
        names: &[&str],
    ) -> impl Future<Output = Result<Vec<TopicInfo>>> + Send + 'static {
        let admin = self.clone();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let names = &names[..];
            let wanted: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            admin.cluster.refresh_metadata(&wanted).await?;
            let metadata = admin.cluster.metadata();
            names
                .iter()
                .map(|name| {
                    let topic = metadata.topics.get(*name).cloned();
                    let topic = topic.ok_or_else(|| {
                        ClientError::kafka(3, format!("describing topic `{name}`"), None)
                    })?;
                    crate::error::check_code(
                        topic.error_code,
                        || format!("describing topic `{name}`"),
                        None,
                    )?;
                    Ok(topic)
                })
                .collect()
        }
    }

    /// Raises each topic's partition count to the given total.
    pub fn create_partitions(
        &self,
        totals: &[(&str, i32)],
        validate_only: bool,
    ) -> impl Future<Output = Result<Vec<(String, Result<()>)>>> + Send + 'static {
        let admin = self.clone();
        let totals: Vec<(String, i32)> = totals.iter().map(|(t, n)| (t.to_string(), *n)).collect();
        async move {
            let totals: Vec<(&str, i32)> = totals.iter().map(|(t, n)| (t.as_str(), *n)).collect();
            let totals = &totals[..];
            let timeout_ms = admin.timeout_ms();
            let response = admin
                .send_to_controller(ApiKey::CreatePartitions, |_| {
                    CreatePartitionsRequest {
                        topics: totals
                            .iter()
                            .map(|(name, count)| CreatePartitionsTopic {
                                name: name.to_string(),
                                count: *count,
                                assignments: None,
                                ..Default::default()
                            })
                            .collect(),
                        timeout_ms,
                        validate_only,
                        ..Default::default()
                    }
                    .into()
                })
                .await?;
            let Response::CreatePartitions(response) = response else {
                return Err(unexpected(ApiKey::CreatePartitions, &response));
            };
            let results: Vec<_> = response
                .results
                .into_iter()
                .map(|t| {
                    let name = t.name;
                    let outcome = crate::error::check_code(
                        t.error_code,
                        || format!("adding partitions to `{name}`"),
                        t.error_message.as_deref(),
                    );
                    (name, outcome)
                })
                .collect();
            let names: Vec<String> = totals.iter().map(|(n, _)| n.to_string()).collect();
            admin.cluster.refresh_metadata(&names).await?;
            Ok(results)
        }
    }

    /// Cluster id, controller and brokers (DescribeCluster, or Metadata on
    /// brokers without it).
    pub fn describe_cluster(
        &self,
    ) -> impl Future<Output = Result<ClusterDescription>> + Send + 'static {
        let admin = self.clone();
        async move {
            let any = admin
                .cluster
                .send_to_any(ApiKey::DescribeCluster, |_| {
                    DescribeClusterRequest::default().into()
                })
                .await;
            match any {
                Ok(Response::DescribeCluster(response)) => {
                    crate::error::check_code(
                        response.error_code,
                        || "describing the cluster".into(),
                        response.error_message.as_deref(),
                    )?;
                    Ok(ClusterDescription {
                        cluster_id: Some(response.cluster_id),
                        controller_id: response.controller_id,
                        brokers: response
                            .brokers
                            .into_iter()
                            .map(|b| BrokerInfo {
                                node_id: b.broker_id,
                                host: b.host,
                                port: b.port,
                                rack: b.rack,
                            })
                            .collect(),
                    })
                }
                Ok(other) => Err(unexpected(ApiKey::DescribeCluster, &other)),
                Err(ClientError::UnsupportedApi { .. }) => {
                    admin.cluster.refresh_metadata(&[]).await?;
                    let metadata = admin.cluster.metadata();
                    let mut brokers: Vec<BrokerInfo> = metadata.brokers.into_values().collect();
                    brokers.sort_by_key(|b| b.node_id);
                    Ok(ClusterDescription {
                        cluster_id: metadata.cluster_id,
                        controller_id: metadata.controller_id,
                        brokers,
                    })
                }
                Err(error) => Err(error),
            }
        }
    }

    fn timeout_ms(&self) -> i32 {
        i32::try_from(self.cluster.config().request_timeout.as_millis()).unwrap_or(i32::MAX)
    }

    /// Groups per-partition items by their partition's leader node.
    async fn by_leader<T: Clone>(
        &self,
        items: &[(TopicPartition, T)],
    ) -> Result<HashMap<i32, Vec<(TopicPartition, T)>>> {
        let mut grouped: HashMap<i32, Vec<(TopicPartition, T)>> = HashMap::new();
        for (tp, extra) in items {
            let (leader, _) = self.cluster.leader_for(&tp.topic, tp.partition).await?;
            grouped
                .entry(leader)
                .or_default()
                .push((tp.clone(), extra.clone()));
        }
        Ok(grouped)
    }
}
