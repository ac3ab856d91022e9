//! The console's JSON reads: `GET /v1/cluster`, `/v1/topics`,
//! `/v1/topics/{name}`, `/v1/groups` and `/v1/groups/{id}`. What this
//! broker knows: in a cluster, partitions it does not hold show their
//! assignment without offsets, and only the groups it coordinates appear.
//! Lists are capped like the metrics (first [`MAX_TOPICS`] topics,
//! [`MAX_GROUPS`] groups by name), with `omitted` saying how many were
//! left out.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};
use strom_protocol::codec::Message;
use strom_protocol::messages::ConsumerProtocolAssignment;

use super::{Console, Failure};
use crate::config::ConfigSource;
use crate::group::{lock, ClassicGroup};
use crate::internal_topics::is_internal_topic;
use crate::metrics::collect::{groups_by_name, lag_of, MAX_GROUPS, MAX_TOPICS};
use crate::state::Broker;
use crate::topic_table::Topic;

/// `/v1/cluster`: the cluster id, this broker, the brokers it knows of,
/// and what the console may do here.
pub fn cluster(broker: &Broker, console: &Console) -> Value {
    let table = broker.table();
    let mut brokers: Vec<Value> = table
        .brokers()
        .map(|b| json!({"id": b.id, "host": b.host, "port": b.port, "live": !b.fenced, "http": b.http}))
        .collect();
    if brokers.is_empty() {
        // One node: it is the cluster.
        brokers.push(json!({"id": broker.node_id, "host": broker.advertised_host,
                            "port": broker.advertised_port, "live": true}));
    }
    let controller = broker
        .cluster()
        .map(|node| node.quorum.status().leader.map(|id| id as i64));
    json!({
        "cluster_id": broker.cluster_id,
        "node_id": broker.node_id,
        "controller_id": controller.flatten(),
        "version": env!("CARGO_PKG_VERSION"),
        "brokers": brokers,
        "topic_count": table.len(),
        "console": {
            "read_only": console.read_only,
            "browse_records": console.browse_records,
            "reason": console.reason,
        },
    })
}

/// `/v1/topics`: each topic with its partitions and traffic.
pub fn topics(broker: &Broker) -> Value {
    let topics = broker.topics();
    let omitted = topics.len().saturating_sub(MAX_TOPICS);
    let listed: Vec<Value> = topics
        .iter()
        .take(MAX_TOPICS)
        .map(|topic| topic_summary(broker, topic))
        .collect();
    json!({"topics": listed, "omitted": omitted})
}

/// `/v1/topics/{name}`: the topic's summary and its configs.
pub fn topic(broker: &Broker, name: &str) -> Result<Value, Failure> {
    let topic = broker
        .topic(name)
        .ok_or_else(|| Failure::not_found(format!("topic '{name}' does not exist")))?;
    let configs: Vec<Value> = topic
        .configs
        .describe(&broker.config)
        .into_iter()
        .map(|entry| {
            json!({
                "name": entry.name,
                "value": entry.value,
                "source": source_name(entry.source),
                "sensitive": entry.is_sensitive,
                "read_only": entry.read_only,
            })
        })
        .collect();
    let mut summary = topic_summary(broker, &topic);
    summary["configs"] = Value::Array(configs);
    Ok(summary)
}

/// A topic's partitions (replicas, in-sync replicas, leader; offsets and
/// size where this broker holds it) and its traffic through this broker.
fn topic_summary(broker: &Broker, topic: &Topic) -> Value {
    let mut traffic = [0u64; 3];
    let partitions: Vec<Value> = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, assigned)| {
            let index = index as i32;
            let Ok(p) = broker.partition(&topic.name, index) else {
                return json!({"partition": index, "leader": assigned.leader,
                              "replicas": assigned.replicas, "isr": assigned.isr});
            };
            for (total, count) in traffic.iter_mut().zip(p.traffic.totals()) {
                *total += count;
            }
            let leadership = p.leadership();
            json!({
                "partition": index,
                "leader": leadership.leader,
                "replicas": leadership.replicas,
                "isr": leadership.isr,
                "log_start_offset": p.log.log_start_offset(),
                "high_watermark": p.log.high_watermark(),
                "log_end_offset": p.log.log_end_offset(),
                "size_bytes": p.log.size_bytes(),
            })
        })
        .collect();
    let [records_in, bytes_in, bytes_out] = traffic;
    json!({
        "name": topic.name,
        "id": topic_id(&topic.id.0),
        "internal": is_internal_topic(&topic.name),
        "records_in_total": records_in,
        "bytes_in_total": bytes_in,
        "bytes_out_total": bytes_out,
        "partitions": partitions,
    })
}

/// `/v1/groups`: each group this broker coordinates.
pub fn groups(broker: &Arc<Broker>) -> Value {
    let all = groups_by_name(broker);
    let omitted = all.len().saturating_sub(MAX_GROUPS);
    let listed: Vec<Value> = all
        .into_iter()
        .take(MAX_GROUPS)
        .map(|(_, group)| group_summary(broker, &lock(&group)))
        .collect();
    json!({"groups": listed, "omitted": omitted})
}

/// `/v1/groups/{id}`: one group, if this broker coordinates it.
pub fn group(broker: &Arc<Broker>, id: &str) -> Result<Value, Failure> {
    let group = broker.groups.get(id).ok_or_else(|| {
        Failure::not_found(format!(
            "no group '{id}' here (a cluster shows a group on the broker that coordinates it)"
        ))
    })?;
    let summary = group_summary(broker, &lock(&group));
    Ok(summary)
}

/// A group's state, its members with their assignments and, per
/// committed partition, the offset and the lag (where this broker holds
/// the partition).
fn group_summary(broker: &Broker, g: &ClassicGroup) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            json!({
                "member_id": m.member_id,
                "group_instance_id": m.group_instance_id,
                "client_id": m.client_id,
                "client_host": m.client_host,
                "assignment": assignment(g.protocol_type.as_deref(), &m.assignment),
            })
        })
        .collect();
    let mut total_lag = Some(0i64);
    let mut offsets: Vec<(String, i32, i64, Option<i64>)> = g
        .offsets
        .iter()
        .map(|((topic, partition), committed)| {
            let offset = committed.value.offset;
            let lag = lag_of(broker, topic, *partition, offset);
            total_lag = total_lag.zip(lag).map(|(sum, lag)| sum + lag);
            (topic.clone(), *partition, offset, lag)
        })
        .collect();
    offsets.sort();
    let offsets: Vec<Value> = offsets
        .into_iter()
        .map(|(topic, partition, committed, lag)| {
            json!({"topic": topic, "partition": partition, "committed": committed, "lag": lag})
        })
        .collect();
    json!({
        "group": g.group_id,
        "state": g.state.name(),
        "protocol_type": g.protocol_type,
        "generation": g.generation,
        "total_lag": total_lag,
        "members": members,
        "offsets": offsets,
    })
}

/// A consumer's assignment as `[{topic, partitions}]`; empty for other
/// protocol types and for bytes that do not parse (the group's leader
/// wrote them, not the broker).
fn assignment(protocol_type: Option<&str>, bytes: &Bytes) -> Vec<Value> {
    if protocol_type != Some("consumer") || bytes.len() < 2 {
        return Vec::new();
    }
    // Newer versions than Strom knows keep the fields it reads.
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    let version = version.clamp(0, ConsumerProtocolAssignment::VERSIONS.1);
    let mut rest = bytes.slice(2..);
    match ConsumerProtocolAssignment::decode(&mut rest, version) {
        Ok(decoded) => decoded
            .assigned_partitions
            .into_iter()
            .map(|t| json!({"topic": t.topic, "partitions": t.partitions}))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn source_name(source: ConfigSource) -> &'static str {
    match source {
        ConfigSource::DynamicTopicConfig => "DYNAMIC_TOPIC_CONFIG",
        ConfigSource::StaticBrokerConfig => "STATIC_BROKER_CONFIG",
        ConfigSource::DefaultConfig => "DEFAULT_CONFIG",
    }
}

/// A topic id as Kafka's tools print it: URL-safe base64, unpadded.
fn topic_id(bytes: &[u8; 16]) -> String {
    strom_protocol::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}
