//! The console's own JSON API, read-only: `GET /v1/cluster`, `/v1/topics`
//! and `/v1/groups`. What this broker knows: in a cluster, partitions it
//! does not hold show their assignment without offsets. Capped like the
//! metrics (first [`MAX_TOPICS`] topics, [`MAX_GROUPS`] groups by name),
//! with `omitted` saying how many were left out.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::group::lock;
use crate::metrics::collect::{groups_by_name, MAX_GROUPS, MAX_TOPICS};
use crate::state::Broker;

/// `/v1/cluster`: the cluster id, this broker, the brokers it knows of.
pub fn cluster(broker: &Broker) -> Value {
    let table = broker.table();
    let mut brokers: Vec<Value> = table
        .brokers()
        .map(|b| json!({"id": b.id, "host": b.host, "port": b.port, "live": !b.fenced}))
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
        "brokers": brokers,
        "topic_count": table.len(),
    })
}

/// `/v1/topics`: each topic with its partitions (replicas, in-sync
/// replicas, leader; offsets and size where this broker holds it).
pub fn topics(broker: &Broker) -> Value {
    let topics = broker.table().topics();
    let omitted = topics.len().saturating_sub(MAX_TOPICS);
    let listed: Vec<Value> = topics
        .iter()
        .take(MAX_TOPICS)
        .map(|topic| {
            let partitions: Vec<Value> = (0..topic.partition_count())
                .map(|index| match broker.partition(&topic.name, index) {
                    Ok(p) => {
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
                    }
                    Err(_) => json!({"partition": index}),
                })
                .collect();
            json!({"name": topic.name, "id": topic_id(&topic.id.0), "partitions": partitions})
        })
        .collect();
    json!({"topics": listed, "omitted": omitted})
}

/// `/v1/groups`: each group this broker coordinates, with its state,
/// members and, per committed partition, the offset and the lag.
pub fn groups(broker: &Arc<Broker>) -> Value {
    let all = groups_by_name(broker);
    let omitted = all.len().saturating_sub(MAX_GROUPS);
    let listed: Vec<Value> = all
        .into_iter()
        .take(MAX_GROUPS)
        .map(|(id, group)| {
            let g = lock(&group);
            let members: Vec<Value> = g
                .members
                .iter()
                .map(|m| json!({"member_id": m.member_id, "client_id": m.client_id, "client_host": m.client_host}))
                .collect();
            let mut offsets: Vec<Value> = g
                .offsets
                .iter()
                .map(|((topic, partition), committed)| {
                    let offset = committed.value.offset;
                    let lag = broker
                        .partition(topic, *partition)
                        .ok()
                        .map(|p| (p.log.high_watermark() - offset).max(0));
                    json!({"topic": topic, "partition": partition, "committed": offset, "lag": lag})
                })
                .collect();
            offsets.sort_by_key(|o| (o["topic"].as_str().map(str::to_string), o["partition"].as_i64()));
            json!({
                "group": id,
                "state": g.state.name(),
                "protocol_type": g.protocol_type,
                "generation": g.generation,
                "members": members,
                "offsets": offsets,
            })
        })
        .collect();
    json!({"groups": listed, "omitted": omitted})
}

/// A topic id as Kafka's tools print it: URL-safe base64, unpadded.
fn topic_id(bytes: &[u8; 16]) -> String {
    strom_protocol::base64::encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}
