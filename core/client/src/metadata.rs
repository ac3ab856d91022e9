//! The client's view of the cluster: brokers, topics, partitions and their
//! leaders, as the last Metadata response described them. Plain owned data.

use std::collections::HashMap;

use strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION;
use strom_protocol::messages::MetadataResponse;

use crate::error::ClientError;

/// A broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerInfo {
    pub fn address(&self) -> String {
        // An IPv6 literal needs brackets before the port.
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the address could be dialled at all: a broker advertising
    /// an empty host or a port outside 1..=65535 is left out of the cache,
    /// so requests for it fail as for an unknown node.
    fn is_dialable(&self) -> bool {
        !self.host.is_empty() && (1..=65535).contains(&self.port)
    }
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    /// Node id of the leader, or -1 while there is none.
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub in_sync_replicas: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    /// Kafka error code for this partition (0 when healthy).
    pub error_code: i16,
}

/// One topic, its partitions sorted by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub topic_id: [u8; 16],
    pub is_internal: bool,
    /// Kafka error code for the topic (0 when it exists and is healthy).
    pub error_code: i16,
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    pub fn partition(&self, index: i32) -> Option<&PartitionInfo> {
        self.partitions.iter().find(|p| p.partition == index)
    }
}

/// The cached cluster view.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: HashMap<i32, BrokerInfo>,
    pub topics: HashMap<String, TopicInfo>,
}

impl Metadata {
    /// Folds a Metadata response in: brokers are replaced (the response
    /// lists them all), topics named in the response are replaced, and
    /// topics it reports as unknown are dropped from the cache.
    ///
    /// A broker's answer is not trusted to be sane: brokers that cannot be
    /// dialled, partitions with negative ids and repeated partition ids
    /// (the first entry wins) are dropped, so partition counts and leader
    /// lookups only ever see real partitions.
    pub fn merge(&mut self, response: MetadataResponse) {
        self.cluster_id = response.cluster_id;
        self.controller_id = response.controller_id;
        self.brokers = response
            .brokers
            .into_iter()
            .map(|broker| {
                let info = BrokerInfo {
                    node_id: broker.node_id,
                    host: broker.host,
                    port: broker.port,
                    rack: broker.rack,
                };
                (broker.node_id, info)
            })
            .filter(|(_, info)| {
                let dialable = info.is_dialable();
                if !dialable {
                    tracing::warn!(
                        "ignoring broker {info:?} from metadata: not a dialable address"
                    );
                }
                dialable
            })
            .collect();
        for topic in response.topics {
            let Some(name) = topic.name else { continue };
            let mut partitions: Vec<PartitionInfo> = topic
                .partitions
                .into_iter()
                .map(|partition| PartitionInfo {
                    partition: partition.partition_index,
                    leader: partition.leader_id,
                    leader_epoch: partition.leader_epoch,
                    replicas: partition.replica_nodes,
                    in_sync_replicas: partition.isr_nodes,
                    offline_replicas: partition.offline_replicas,
                    error_code: partition.error_code,
                })
                .collect();
            partitions.retain(|p| p.partition >= 0);
            // Stable sort, so dedup keeps each id's first entry.
            partitions.sort_by_key(|p| p.partition);
            partitions.dedup_by_key(|p| p.partition);
            if topic.error_code == UNKNOWN_TOPIC_OR_PARTITION {
                self.topics.remove(&name);
                continue;
            }
            let info = TopicInfo {
                name: name.clone(),
                topic_id: topic.topic_id.0,
                is_internal: topic.is_internal,
                error_code: topic.error_code,
                partitions,
            };
            self.topics.insert(name, info);
        }
    }
}

/// Error codes after which the cached leaders may be wrong and the Java
/// client refreshes metadata before retrying.
pub(crate) fn invalidates_metadata(code: i16) -> bool {
    use strom_protocol::error_codes as kafka;
    matches!(
        code,
        kafka::UNKNOWN_TOPIC_OR_PARTITION
            | kafka::LEADER_NOT_AVAILABLE
            | kafka::NOT_LEADER_OR_FOLLOWER
            | kafka::REPLICA_NOT_AVAILABLE
            | kafka::NETWORK_EXCEPTION
            | kafka::NOT_ENOUGH_REPLICAS
            | kafka::FENCED_LEADER_EPOCH
            | kafka::UNKNOWN_LEADER_EPOCH
            | kafka::UNKNOWN_TOPIC_ID
            | kafka::INCONSISTENT_TOPIC_ID
    )
}

/// Whether `error` means the cached leaders may be wrong: one of the codes
/// above, or a lost connection (the broker may be gone).
pub(crate) fn error_invalidates_metadata(error: &ClientError) -> bool {
    match error {
        ClientError::Unreachable { .. } | ClientError::Disconnected { .. } => true,
        other => other.kafka_code().is_some_and(invalidates_metadata),
    }
}
