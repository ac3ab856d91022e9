//! `NativeAdmin`: `node/lib/admin.js` makes kafkajs's admin client of it.
//! Per-item outcomes come back as `{ name, error }` (error: the facts of
//! a `ClientError` as JSON, as rejections carry them), so the JS layer
//! can fail the call the way kafkajs does.

use napi_derive::napi;
use strom_client::admin::{AlterConfigOp, ConfigResource, GroupDescription, NewTopic, OffsetSpec};
use strom_client::{AdminClient, ClientError};

use crate::convert::{config, partitions, Partition, PartitionOffset, TokenCallback};
use crate::on_client;

#[napi]
pub struct NativeAdmin {
    inner: AdminClient,
}

#[napi]
pub async fn create_admin(
    config_pairs: Vec<Vec<String>>,
    token_callback: Option<TokenCallback>,
) -> napi::Result<NativeAdmin> {
    let config = config(config_pairs, token_callback, None)?;
    let inner = on_client(AdminClient::new(config)).await?;
    Ok(NativeAdmin { inner })
}

impl NativeAdmin {
    pub(crate) fn admin(&self) -> &AdminClient {
        &self.inner
    }
}

#[napi(object)]
pub struct TopicSpec {
    pub topic: String,
    /// -1: the broker's default.
    pub num_partitions: i32,
    pub replication_factor: i32,
    pub configs: Vec<NameValue>,
}

#[napi(object)]
pub struct TopicCount {
    pub topic: String,
    pub count: i32,
}

#[napi(object)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// One item's outcome: `error` is the failure's facts as JSON.
#[napi(object)]
pub struct Outcome {
    pub name: String,
    pub error: Option<String>,
}

fn outcomes(results: Vec<(String, Result<(), ClientError>)>) -> Vec<Outcome> {
    results
        .into_iter()
        .map(|(name, result)| Outcome {
            name,
            error: result.err().map(|e| crate::to_js_error(&e).reason),
        })
        .collect()
}

#[napi(object)]
pub struct BrokerEntry {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
}

#[napi(object)]
pub struct PartitionEntry {
    pub partition_error_code: i32,
    pub partition_id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

#[napi(object)]
pub struct TopicEntry {
    pub name: String,
    pub error_code: i32,
    pub partitions: Vec<PartitionEntry>,
}

#[napi(object)]
pub struct MetadataEntry {
    pub cluster_id: Option<String>,
    pub controller: i32,
    pub brokers: Vec<BrokerEntry>,
    pub topics: Vec<TopicEntry>,
}

#[napi(object)]
pub struct OffsetQuery {
    pub topic: String,
    pub partition: i32,
    /// "earliest", "latest", "max_timestamp", or a timestamp in ms.
    pub spec: String,
}

#[napi(object)]
pub struct ListedOffsetEntry {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
}

#[napi(object)]
pub struct ConfigEntryOut {
    pub config_name: String,
    pub config_value: Option<String>,
    pub read_only: bool,
    pub is_default: bool,
    pub is_sensitive: bool,
    pub config_source: i32,
}

#[napi(object)]
pub struct GroupEntry {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
}

#[napi(object)]
pub struct MemberEntry {
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
    pub group_instance_id: Option<String>,
    pub assignment: Vec<Partition>,
}

#[napi(object)]
pub struct GroupDescriptionEntry {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberEntry>,
}

impl From<GroupDescription> for GroupDescriptionEntry {
    fn from(group: GroupDescription) -> Self {
        GroupDescriptionEntry {
            group_id: group.group_id,
            state: group.state,
            protocol_type: group.protocol_type,
            protocol: group.protocol,
            members: group
                .members
                .into_iter()
                .map(|m| MemberEntry {
                    member_id: m.member_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    group_instance_id: m.group_instance_id,
                    assignment: m.assignment.into_iter().map(Partition::from).collect(),
                })
                .collect(),
        }
    }
}

fn resource(kind: &str, name: &str) -> napi::Result<ConfigResource> {
    match kind {
        "topic" => Ok(ConfigResource::Topic(name.to_string())),
        "broker" => name
            .parse()
            .map(ConfigResource::Broker)
            .map_err(|_| crate::errors::invalid(format!("broker {name:?} is not a node id"))),
        other => Err(crate::errors::invalid(format!(
            "config resource type {other:?} is not supported (topic or broker)"
        ))),
    }
}

#[napi]
impl NativeAdmin {
    #[napi]
    pub async fn create_topics(
        &self,
        topics: Vec<TopicSpec>,
        validate_only: bool,
    ) -> napi::Result<Vec<Outcome>> {
        let topics = topics
            .into_iter()
            .map(|t| {
                let replication = i16::try_from(t.replication_factor).map_err(|_| {
                    crate::errors::invalid(format!(
                        "replicationFactor {} of {} is out of range",
                        t.replication_factor, t.topic
                    ))
                })?;
                Ok(t.configs.into_iter().fold(
                    NewTopic::new(t.topic, t.num_partitions, replication),
                    |topic, c| topic.with_config(c.name, c.value),
                ))
            })
            .collect::<napi::Result<Vec<NewTopic>>>()?;
        let creating = self.inner.create_topics(&topics, validate_only);
        Ok(outcomes(on_client(creating).await?))
    }

    #[napi]
    pub async fn delete_topics(&self, names: Vec<String>) -> napi::Result<Vec<Outcome>> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let deleting = self.inner.delete_topics(&names);
        Ok(outcomes(on_client(deleting).await?))
    }

    /// New partition totals per topic.
    #[napi]
    pub async fn create_partitions(
        &self,
        totals: Vec<TopicCount>,
        validate_only: bool,
    ) -> napi::Result<Vec<Outcome>> {
        let totals: Vec<(&str, i32)> = totals.iter().map(|t| (t.topic.as_str(), t.count)).collect();
        let creating = self.inner.create_partitions(&totals, validate_only);
        Ok(outcomes(on_client(creating).await?))
    }

    #[napi]
    pub async fn list_topics(&self) -> napi::Result<Vec<String>> {
        on_client(self.inner.list_topics(false)).await
    }

    /// The cluster and the named topics (all topics for none).
    #[napi]
    pub async fn metadata(&self, topics: Option<Vec<String>>) -> napi::Result<MetadataEntry> {
        let names: Option<Vec<&str>> = topics
            .as_ref()
            .map(|t| t.iter().map(String::as_str).collect());
        let loading = self.inner.metadata(names.as_deref());
        let metadata = on_client(loading).await?;
        let mut brokers: Vec<BrokerEntry> = metadata
            .brokers
            .into_values()
            .map(|b| BrokerEntry {
                node_id: b.node_id,
                host: b.host,
                port: b.port,
            })
            .collect();
        brokers.sort_by_key(|b| b.node_id);
        let mut topics: Vec<TopicEntry> = metadata
            .topics
            .into_values()
            .map(|t| TopicEntry {
                name: t.name,
                error_code: i32::from(t.error_code),
                partitions: t
                    .partitions
                    .into_iter()
                    .map(|p| PartitionEntry {
                        partition_error_code: i32::from(p.error_code),
                        partition_id: p.partition,
                        leader: p.leader,
                        replicas: p.replicas,
                        isr: p.in_sync_replicas,
                        offline_replicas: p.offline_replicas,
                    })
                    .collect(),
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(MetadataEntry {
            cluster_id: metadata.cluster_id,
            controller: metadata.controller_id,
            brokers,
            topics,
        })
    }

    #[napi]
    pub async fn list_offsets(
        &self,
        queries: Vec<OffsetQuery>,
    ) -> napi::Result<Vec<ListedOffsetEntry>> {
        let queries = queries
            .iter()
            .map(|q| {
                let spec = match q.spec.as_str() {
                    "earliest" => OffsetSpec::Earliest,
                    "latest" => OffsetSpec::Latest,
                    "max_timestamp" => OffsetSpec::MaxTimestamp,
                    ms => OffsetSpec::Timestamp(ms.parse().map_err(|_| {
                        crate::errors::invalid(format!("{ms:?} is not an offset spec"))
                    })?),
                };
                Ok((
                    strom_client::TopicPartition::new(q.topic.as_str(), q.partition),
                    spec,
                ))
            })
            .collect::<napi::Result<Vec<_>>>()?;
        let listing = self.inner.list_offsets(&queries);
        let listed = on_client(listing).await?;
        Ok(listed
            .into_iter()
            .map(|l| ListedOffsetEntry {
                topic: l.tp.topic.to_string(),
                partition: l.tp.partition,
                offset: l.offset,
                timestamp: l.timestamp,
            })
            .collect())
    }

    /// Deletes the records before each given offset.
    #[napi]
    pub async fn delete_records(&self, before: Vec<PartitionOffset>) -> napi::Result<()> {
        let requests: Vec<_> = before.iter().map(|b| (b.tp(), b.offset)).collect();
        let deleting = self.inner.delete_records(&requests);
        on_client(deleting).await.map(drop)
    }

    /// `kind`: "topic" or "broker".
    #[napi]
    pub async fn describe_configs(
        &self,
        kind: String,
        name: String,
        keys: Option<Vec<String>>,
    ) -> napi::Result<Vec<ConfigEntryOut>> {
        let resource = resource(&kind, &name)?;
        let keys: Option<Vec<&str>> = keys
            .as_ref()
            .map(|k| k.iter().map(String::as_str).collect());
        let describing = self.inner.describe_configs(&resource, keys.as_deref());
        let entries = on_client(describing).await?;
        Ok(entries
            .into_iter()
            .map(|e| ConfigEntryOut {
                config_name: e.name,
                config_value: e.value,
                read_only: e.read_only,
                is_default: e.is_default,
                is_sensitive: e.is_sensitive,
                config_source: i32::from(e.source),
            })
            .collect())
    }

    /// Sets each named config (incrementally: others keep their values).
    #[napi]
    pub async fn alter_configs(
        &self,
        kind: String,
        name: String,
        entries: Vec<NameValue>,
        validate_only: bool,
    ) -> napi::Result<()> {
        let resource = resource(&kind, &name)?;
        let ops: Vec<AlterConfigOp> = entries
            .into_iter()
            .map(|e| AlterConfigOp::Set(e.name, e.value))
            .collect();
        let altering = self
            .inner
            .incremental_alter_configs(&resource, &ops, validate_only);
        on_client(altering).await
    }

    #[napi]
    pub async fn list_groups(&self) -> napi::Result<Vec<GroupEntry>> {
        let groups = on_client(self.inner.list_groups()).await?;
        Ok(groups
            .into_iter()
            .map(|g| GroupEntry {
                group_id: g.group_id,
                protocol_type: g.protocol_type,
                state: g.state,
            })
            .collect())
    }

    #[napi]
    pub async fn describe_groups(
        &self,
        groups: Vec<String>,
    ) -> napi::Result<Vec<GroupDescriptionEntry>> {
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        let describing = self.inner.describe_groups(&names);
        let described = on_client(describing).await?;
        Ok(described
            .into_iter()
            .map(GroupDescriptionEntry::from)
            .collect())
    }

    #[napi]
    pub async fn delete_groups(&self, groups: Vec<String>) -> napi::Result<Vec<Outcome>> {
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        let deleting = self.inner.delete_groups(&names);
        Ok(outcomes(on_client(deleting).await?))
    }

    /// The group's committed offsets (of `partitions_of`, or all).
    #[napi]
    pub async fn group_offsets(
        &self,
        group: String,
        of: Option<Vec<Partition>>,
    ) -> napi::Result<Vec<PartitionOffset>> {
        let tps = of.as_deref().map(partitions);
        let listing = self.inner.list_group_offsets_of(&group, tps.as_deref());
        let offsets = on_client(listing).await?;
        Ok(offsets
            .into_iter()
            .map(|o| PartitionOffset {
                topic: o.tp.topic.to_string(),
                partition: o.tp.partition,
                offset: o.committed_offset,
            })
            .collect())
    }

    #[napi]
    pub async fn set_group_offsets(
        &self,
        group: String,
        offsets: Vec<PartitionOffset>,
    ) -> napi::Result<()> {
        let offsets: Vec<_> = offsets.iter().map(|o| (o.tp(), o.offset)).collect();
        let altering = self.inner.alter_group_offsets(&group, &offsets);
        on_client(altering).await
    }
}
