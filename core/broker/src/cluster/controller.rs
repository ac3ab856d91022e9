//! The controller: whichever node leads the metadata quorum decides every
//! metadata change (Kafka's `QuorumController`). Requests are handled one
//! at a time, each checked against the table as committed so far and
//! written as one Raft entry, so two decisions can never interleave.
//! It also watches broker heartbeats, fences brokers that go silent and
//! elects new leaders for their partitions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_raft::Quorum;

use super::placement::{
    cancel_reassignment, complete_reassignment, elect, new_assignment, place, start_reassignment,
    without_broker,
};
use super::records;
use super::requests::{
    ControllerRequest as Req, ControllerResponse as Resp, QuorumReport, ReplicaReport,
};
use crate::config::TopicConfigs;
use crate::error::ApiError;
use crate::state::Broker;
use crate::topic_table::{MetadataRecord, PartitionAssignment, Topic, TopicTable};

/// Producer ids handed to a broker at a time.
pub const PRODUCER_ID_BLOCK: i64 = 1000;

pub struct Controller {
    broker: Weak<Broker>,
    quorum: OnceLock<Arc<Quorum>>,
    /// One decision at a time.
    deciding: tokio::sync::Mutex<()>,
    /// When each broker last heartbeated this controller.
    last_heartbeat: Mutex<HashMap<i32, Instant>>,
}

impl Controller {
    pub fn new(broker: Weak<Broker>) -> Controller {
        Controller {
            broker,
            quorum: OnceLock::new(),
            deciding: tokio::sync::Mutex::new(()),
            last_heartbeat: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_quorum(&self, quorum: Arc<Quorum>) {
        let _ = self.quorum.set(quorum);
    }

    pub async fn handle(&self, request: Req) -> Resp {
        let Some(broker) = self.broker.upgrade() else {
            return error(error_codes::NOT_CONTROLLER, "the broker is shutting down");
        };
        if let Req::Heartbeat {
            id,
            learner_address: Some(address),
            ..
        } = &request
        {
            // Idempotent: a known learner at the same address is a no-op.
            if let Some(quorum) = self.quorum.get() {
                let id = u64::try_from(*id).unwrap_or(0);
                if let Err(e) = quorum.add_learner(id, address.clone()).await {
                    return error(
                        error_codes::NOT_CONTROLLER,
                        format!("adding a learner: {e}"),
                    );
                }
            }
        }
        if let Req::DescribeQuorum = request {
            return match self.quorum.get() {
                Some(quorum) => Resp::Quorum(report(&quorum.status())),
                None => error(error_codes::NOT_CONTROLLER, "the quorum is not started"),
            };
        }
        let _deciding = self.deciding.lock().await;
        let mut elected = None;
        let records = match self.decide(&broker, request) {
            Ok(Decision::Records(records)) => records,
            Ok(Decision::Answer(answer)) => return answer,
            Ok(Decision::PerPartition(records, results)) => {
                elected = Some(results);
                records
            }
            Err(e) => return error(e.code, e.message),
        };
        if let Some(results) = elected {
            let index = if records.is_empty() {
                0
            } else {
                match self.propose(records).await {
                    Ok(index) => index,
                    Err(e) => return error(error_codes::NOT_CONTROLLER, e),
                }
            };
            return Resp::PartitionResults { index, results };
        }
        if records.is_empty() {
            // Nothing to change: the caller still learns how far the
            // metadata log is committed, to catch up to it.
            let index = self
                .quorum
                .get()
                .map_or(0, |q| q.status().committed.unwrap_or(0));
            return Resp::Applied { index };
        }
        let producer_ids = records.iter().find_map(|r| match r {
            MetadataRecord::ProducerIds { next } => Some(*next - PRODUCER_ID_BLOCK),
            _ => None,
        });
        match self.propose(records).await {
            Ok(index) => match producer_ids {
                Some(first) => Resp::ProducerIds { first, index },
                None => Resp::Applied { index },
            },
            Err(e) => error(error_codes::NOT_CONTROLLER, e.to_string()),
        }
    }

    async fn propose(&self, records: Vec<MetadataRecord>) -> Result<u64, String> {
        let quorum = self.quorum.get().ok_or("the quorum is not started")?;
        quorum
            .propose(records::encode(&records))
            .await
            .map_err(|e| e.to_string())
    }

    fn decide(&self, broker: &Broker, request: Req) -> Result<Decision, ApiError> {
        let table = broker.table();
        Ok(Decision::Records(match request {
            Req::CreateTopic {
                name,
                partitions,
                replication_factor,
                assignments,
                configs,
                validate_only,
            } => {
                crate::state::check_new_topic_name(&table.topics(), &name)?;
                let configs = TopicConfigs::new(configs)
                    .map_err(|e| ApiError::new(e.kafka_error_code(), e.to_string()))?;
                let live = live_brokers(&table);
                let replicas = match assignments {
                    Some(chosen) => {
                        check_assignments(&chosen, &live)?;
                        chosen
                    }
                    None => placed(&live, 0, partitions, replication_factor)?,
                };
                if validate_only {
                    return Ok(Decision::Answer(Resp::Applied { index: 0 }));
                }
                let id = Uuid(*uuid::Uuid::new_v4().as_bytes());
                let mut records = vec![MetadataRecord::Topic { name, id, configs }];
                records.extend(replicas.into_iter().map(|r| MetadataRecord::Partition {
                    topic_id: id,
                    assignment: new_assignment(r),
                }));
                records
            }
            Req::DeleteTopic { name } => {
                let topic = existing(&table.topics(), &name)?;
                vec![MetadataRecord::RemoveTopic { topic_id: topic.id }]
            }
            Req::CreatePartitions {
                name,
                total,
                validate_only,
            } => {
                let topic = existing(&table.topics(), &name)?;
                let current = topic.partition_count();
                if total <= current {
                    return Err(ApiError::new(
                        error_codes::INVALID_PARTITIONS,
                        format!("topic '{name}' has {current} partitions; the new count {total} must be larger"),
                    ));
                }
                let replication = topic.partitions.first().map_or(1, |p| p.replicas.len());
                let replicas = placed(
                    &live_brokers(&table),
                    current,
                    total - current,
                    replication as i16,
                )?;
                if validate_only {
                    return Ok(Decision::Answer(Resp::Applied { index: 0 }));
                }
                replicas
                    .into_iter()
                    .map(|r| MetadataRecord::Partition {
                        topic_id: topic.id,
                        assignment: new_assignment(r),
                    })
                    .collect()
            }
            Req::SetTopicConfigs { name, configs } => {
                let topic = existing(&table.topics(), &name)?;
                let configs = TopicConfigs::new(configs)
                    .map_err(|e| ApiError::new(e.kafka_error_code(), e.to_string()))?;
                vec![MetadataRecord::TopicConfigs {
                    topic_id: topic.id,
                    configs,
                }]
            }
            Req::Heartbeat { id, host, port, .. } => {
                self.heard_from(id);
                let mut records = Vec::new();
                if table.cluster_id().is_none() {
                    records.push(MetadataRecord::ClusterId {
                        id: broker.cluster_id.clone(),
                    });
                }
                let known = table.broker(id);
                if known.is_none_or(|b| b.fenced || b.host != host || b.port != port) {
                    records.push(MetadataRecord::RegisterBroker { id, host, port });
                    // Partitions waiting for this broker lead again.
                    records.extend(elections(&table, |b| b == id || table.is_live(b), false));
                }
                records
            }
            Req::ShutDown { id } => fence(broker, &table, id),
            Req::AlterIsr {
                topic_id,
                index,
                leader,
                leader_epoch,
                isr,
            } => {
                let topic = table
                    .topic_by_id(Uuid(topic_id))
                    .ok_or_else(|| ApiError::new(error_codes::UNKNOWN_TOPIC_ID, "no such topic"))?;
                let current = usize::try_from(index)
                    .ok()
                    .and_then(|i| topic.partitions.get(i))
                    .ok_or_else(|| {
                        ApiError::new(error_codes::UNKNOWN_TOPIC_OR_PARTITION, "no such partition")
                    })?;
                if current.leader != leader || current.leader_epoch != leader_epoch {
                    return Err(ApiError::new(
                        error_codes::FENCED_LEADER_EPOCH,
                        format!(
                            "broker {leader} in epoch {leader_epoch} no longer leads {}-{index}",
                            topic.name
                        ),
                    ));
                }
                let valid = !isr.is_empty()
                    && isr.contains(&leader)
                    && isr.iter().all(|id| current.replicas.contains(id))
                    && isr
                        .iter()
                        .all(|id| current.isr.contains(id) || table.is_live(*id));
                if !valid {
                    return Err(ApiError::new(
                        error_codes::INVALID_REQUEST,
                        format!("ISR {isr:?} does not fit replicas {:?}", current.replicas),
                    ));
                }
                if current.isr == isr {
                    return Ok(Decision::Records(Vec::new()));
                }
                let next = PartitionAssignment {
                    isr,
                    ..current.clone()
                };
                // The last added replica in sync finishes a reassignment.
                let next = complete_reassignment(&next, |b| table.is_live(b)).unwrap_or(next);
                vec![MetadataRecord::PartitionChange {
                    topic_id: topic.id,
                    index,
                    assignment: next,
                }]
            }
            Req::DescribeQuorum => return Ok(Decision::Records(Vec::new())),
            Req::ImportTopics {
                node,
                producer_id_bound,
                topics,
            } => imports(&table, node, producer_id_bound, topics),
            Req::Reassign { partitions } => {
                let (records, results) = reassignments(&table, partitions);
                return Ok(Decision::PerPartition(records, results));
            }
            Req::ElectLeaders {
                unclean,
                partitions,
            } => {
                let (records, results) = leader_elections(&table, unclean, partitions);
                return Ok(Decision::PerPartition(records, results));
            }
            Req::AllocateProducerIds { count: _ } => {
                let next = table.next_producer_id().max(0) + PRODUCER_ID_BLOCK;
                vec![MetadataRecord::ProducerIds { next }]
            }
        }))
    }

    fn heard_from(&self, id: i32) {
        self.last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Instant::now());
    }

    /// Leader-only duties, run while this node leads the quorum: fence
    /// brokers silent for `session` and, every `rebalance` period, move
    /// leadership back to preferred replicas.
    pub async fn watch_brokers(self: Arc<Self>, session: Duration, rebalance: Option<Duration>) {
        // Every broker gets a full session from the moment this node took
        // over: it may have been heartbeating the previous controller.
        self.last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let took_over = Instant::now();
        let mut last_rebalance = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        loop {
            ticker.tick().await;
            let Some(broker) = self.broker.upgrade() else {
                return;
            };
            let silent: Vec<i32> = {
                let table = broker.table();
                let heard = self
                    .last_heartbeat
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                table
                    .brokers()
                    .filter(|b| !b.fenced)
                    .filter(|b| heard.get(&b.id).copied().unwrap_or(took_over).elapsed() > session)
                    .map(|b| b.id)
                    .collect()
            };
            for id in silent {
                tracing::warn!(
                    broker = id,
                    "no heartbeat within broker.session.timeout.ms: fencing it"
                );
                let _deciding = self.deciding.lock().await;
                let records = fence(&broker, &broker.table(), id);
                if let Err(e) = self.propose(records).await {
                    tracing::warn!(broker = id, "could not fence: {e}");
                }
            }
            if rebalance.is_some_and(|period| last_rebalance.elapsed() >= period) {
                last_rebalance = Instant::now();
                let _deciding = self.deciding.lock().await;
                let records = preferred_elections(&broker);
                if !records.is_empty() {
                    tracing::info!(
                        changes = records.len(),
                        "moving leaders back to preferred replicas"
                    );
                    if let Err(e) = self.propose(records).await {
                        tracing::warn!("preferred leader election failed: {e}");
                    }
                }
            }
        }
    }
}

fn preferred_elections(broker: &Broker) -> Vec<MetadataRecord> {
    let table = broker.table();
    elections(&table, |b| table.is_live(b), true)
}

fn report(status: &strom_raft::QuorumStatus) -> QuorumReport {
    let replica = |r: &strom_raft::ReplicaStatus| ReplicaReport {
        id: i32::try_from(r.id).unwrap_or(-1),
        address: r.addr.clone(),
        log_end: r.log_end_index,
        last_contact_ms: r
            .last_contact_unix_ms
            .and_then(|ms| i64::try_from(ms).ok())
            .unwrap_or(-1),
    };
    QuorumReport {
        leader: status
            .leader
            .and_then(|id| i32::try_from(id).ok())
            .unwrap_or(-1),
        epoch: i32::try_from(status.term).unwrap_or(i32::MAX),
        high_watermark: status.high_watermark,
        voters: status.voters.iter().map(replica).collect(),
        learners: status.learners.iter().map(replica).collect(),
    }
}

enum Decision {
    Records(Vec<MetadataRecord>),
    Answer(Resp),
    /// Records to commit and a per-partition outcome (ElectLeaders,
    /// AlterPartitionReassignments).
    PerPartition(Vec<MetadataRecord>, ElectionResults),
}

type ElectionResults = Vec<(String, i32, i16, Option<String>)>;

/// The records that add a one-node data dir's topics to the metadata, on
/// that node alone, each partition led by it in the epoch its log was
/// last written in. A topic already imported (same id) is skipped; one
/// whose name another topic took is skipped and logged.
fn imports(
    table: &TopicTable,
    node: i32,
    producer_id_bound: i64,
    topics: Vec<super::requests::ImportedTopic>,
) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    if producer_id_bound > table.next_producer_id() {
        records.push(MetadataRecord::ProducerIds {
            next: producer_id_bound,
        });
    }
    for topic in topics {
        let id = Uuid(topic.id);
        if table.topic_by_id(id).is_some() {
            continue;
        }
        if table.topic(&topic.name).is_some() {
            tracing::warn!(topic = %topic.name, node, "not imported: the cluster has another topic of that name");
            continue;
        }
        let Ok(configs) = TopicConfigs::new(topic.configs) else {
            tracing::warn!(topic = %topic.name, node, "not imported: invalid configs");
            continue;
        };
        records.push(MetadataRecord::Topic {
            name: topic.name,
            id,
            configs,
        });
        records.extend(
            topic
                .epochs
                .into_iter()
                .map(|epoch| MetadataRecord::Partition {
                    topic_id: id,
                    assignment: PartitionAssignment {
                        leader_epoch: epoch.max(0),
                        ..new_assignment(vec![node])
                    },
                }),
        );
    }
    records
}

/// AlterPartitionReassignments: each partition starts moving to its target
/// replicas (distinct live brokers), or has its move cancelled.
fn reassignments(
    table: &TopicTable,
    wanted: Vec<(String, i32, Option<Vec<i32>>)>,
) -> (Vec<MetadataRecord>, ElectionResults) {
    let live = live_brokers(table);
    let is_live = |b| table.is_live(b);
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (name, index, target) in wanted {
        let Some((topic, current)) = table.topic(&name).and_then(|t| {
            let current = t.partitions.get(usize::try_from(index).ok()?)?.clone();
            Some((t, current))
        }) else {
            results.push((
                name,
                index,
                error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                Some("no such partition".into()),
            ));
            continue;
        };
        let next = match target {
            Some(target) => check_assignments(std::slice::from_ref(&target), &live)
                .map(|()| start_reassignment(&current, &target, is_live))
                .map_err(|e| (e.code, e.message)),
            None => cancel_reassignment(&current, is_live).ok_or((
                error_codes::NO_REASSIGNMENT_IN_PROGRESS,
                "no reassignment is in progress".to_string(),
            )),
        };
        match next {
            Ok(assignment) => {
                if assignment != current {
                    records.push(MetadataRecord::PartitionChange {
                        topic_id: topic.id,
                        index,
                        assignment,
                    });
                }
                results.push((name, index, error_codes::NONE, None));
            }
            Err((code, message)) => results.push((name, index, code, Some(message))),
        }
    }
    (records, results)
}

/// ElectLeaders: with `unclean`, a leaderless partition takes any live
/// replica (which alone is then in sync: what only the old ISR had is
/// lost, as the operator asked); otherwise the preferred replica leads
/// again if it is live and in sync.
fn leader_elections(
    table: &TopicTable,
    unclean: bool,
    wanted: Option<Vec<(String, i32)>>,
) -> (Vec<MetadataRecord>, ElectionResults) {
    let wanted = wanted.unwrap_or_else(|| {
        table
            .topics()
            .iter()
            .flat_map(|t| (0..t.partition_count()).map(|i| (t.name.clone(), i)))
            .collect()
    });
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (name, index) in wanted {
        let Some((topic, current)) = table.topic(&name).and_then(|t| {
            let current = t.partitions.get(usize::try_from(index).ok()?)?.clone();
            Some((t, current))
        }) else {
            results.push((
                name,
                index,
                error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                Some("no such partition".into()),
            ));
            continue;
        };
        let next = if unclean {
            if current.leader >= 0 {
                Err((
                    error_codes::ELECTION_NOT_NEEDED,
                    "the partition has a leader",
                ))
            } else {
                match current
                    .replicas
                    .iter()
                    .copied()
                    .find(|&id| table.is_live(id))
                {
                    Some(leader) => Ok(PartitionAssignment {
                        leader,
                        isr: vec![leader],
                        leader_epoch: current.leader_epoch + 1,
                        ..current.clone()
                    }),
                    None => Err((
                        error_codes::ELIGIBLE_LEADERS_NOT_AVAILABLE,
                        "no replica is live",
                    )),
                }
            }
        } else if current.replicas.first() == Some(&current.leader) {
            Err((
                error_codes::ELECTION_NOT_NEEDED,
                "the preferred replica leads already",
            ))
        } else {
            elect(&current, |id| table.is_live(id), true).ok_or((
                error_codes::PREFERRED_LEADER_NOT_AVAILABLE,
                "the preferred replica is not live and in sync",
            ))
        };
        match next {
            Ok(assignment) => {
                records.push(MetadataRecord::PartitionChange {
                    topic_id: topic.id,
                    index,
                    assignment,
                });
                results.push((name, index, error_codes::NONE, None));
            }
            Err((code, message)) => results.push((name, index, code, Some(message.into()))),
        }
    }
    (records, results)
}

fn error(code: i16, message: impl Into<String>) -> Resp {
    Resp::Error {
        code,
        message: message.into(),
    }
}

fn live_brokers(table: &TopicTable) -> Vec<i32> {
    table
        .brokers()
        .filter(|b| !b.fenced)
        .map(|b| b.id)
        .collect()
}

fn existing(topics: &[Arc<Topic>], name: &str) -> Result<Arc<Topic>, ApiError> {
    topics
        .iter()
        .find(|t| t.name == name)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                error_codes::UNKNOWN_TOPIC_OR_PARTITION,
                format!("topic '{name}' does not exist"),
            )
        })
}

fn placed(
    live: &[i32],
    first: i32,
    count: i32,
    replication: i16,
) -> Result<Vec<Vec<i32>>, ApiError> {
    let start = rand::random::<usize>() % live.len().max(1);
    usize::try_from(replication)
        .ok()
        .and_then(|rf| place(live, first, count, rf, start))
        .ok_or_else(|| {
            ApiError::new(
                error_codes::INVALID_REPLICATION_FACTOR,
                format!(
                    "replication factor {replication} is larger than the {} live brokers",
                    live.len()
                ),
            )
        })
}

fn check_assignments(chosen: &[Vec<i32>], live: &[i32]) -> Result<(), ApiError> {
    for (index, replicas) in chosen.iter().enumerate() {
        let mut seen = replicas.clone();
        seen.sort_unstable();
        seen.dedup();
        if replicas.is_empty()
            || seen.len() != replicas.len()
            || !replicas.iter().all(|id| live.contains(id))
        {
            return Err(ApiError::new(
                error_codes::INVALID_REPLICA_ASSIGNMENT,
                format!("partition {index}: replicas {replicas:?} must be distinct live brokers of {live:?}"),
            ));
        }
    }
    Ok(())
}

/// The records that fence broker `id` and move its leaderships away. A
/// partition left with no live in-sync replica stays leaderless, unless its
/// topic allows `unclean.leader.election.enable`: then a live out-of-sync
/// replica leads, and what only the old ISR had is lost, as asked.
fn fence(broker: &Broker, table: &TopicTable, id: i32) -> Vec<MetadataRecord> {
    if !table.is_live(id) {
        return Vec::new();
    }
    let is_live = |b| b != id && table.is_live(b);
    let mut records = vec![MetadataRecord::FenceBroker { id }];
    records.extend(partition_changes(table, |topic, current| {
        let next = without_broker(current, id, is_live)?;
        let unclean = next.leader < 0
            && topic
                .effective_config(&broker.config)
                .unclean_leader_election_enable;
        if !unclean {
            return Some(next);
        }
        let Some(leader) = next.replicas.iter().copied().find(|&r| is_live(r)) else {
            return Some(next);
        };
        tracing::warn!(topic = %topic.name, leader, "unclean leader election: records only the old ISR held are lost");
        Some(PartitionAssignment {
            leader,
            isr: vec![leader],
            leader_epoch: current.leader_epoch + 1,
            ..next
        })
    }));
    records
}

/// Leader elections the table calls for: leaderless partitions with a
/// live in-sync replica and, with `prefer`, preferred replicas back.
fn elections(
    table: &TopicTable,
    is_live: impl Fn(i32) -> bool + Copy,
    prefer: bool,
) -> Vec<MetadataRecord> {
    partition_changes(table, |_, current| elect(current, is_live, prefer))
}

/// A PartitionChange for every partition `change` gives a new assignment.
fn partition_changes(
    table: &TopicTable,
    change: impl Fn(&Topic, &PartitionAssignment) -> Option<PartitionAssignment>,
) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for topic in table.topics() {
        for (index, current) in topic.partitions.iter().enumerate() {
            if let Some(next) = change(&topic, current) {
                records.push(MetadataRecord::PartitionChange {
                    topic_id: topic.id,
                    index: index as i32,
                    assignment: next,
                });
            }
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;

    fn broker_with_topic(dir: &std::path::Path, unclean: bool) -> (Broker, Uuid) {
        let data_dir = dir.to_str().expect("utf-8").to_string();
        let config = BrokerConfig::from_pairs(&[("log.dirs", data_dir.as_str())]).expect("valid");
        let broker = Broker::open(config, "127.0.0.1".into(), 9092).expect("opens");
        let id = Uuid([4; 16]);
        let configs = TopicConfigs::new([(
            "unclean.leader.election.enable".to_string(),
            unclean.to_string(),
        )])
        .expect("valid");
        let mut records: Vec<MetadataRecord> = (1..=3)
            .map(|id| MetadataRecord::RegisterBroker {
                id,
                host: "h".into(),
                port: 1,
            })
            .collect();
        records.push(MetadataRecord::Topic {
            name: "t".into(),
            id,
            configs,
        });
        records.push(MetadataRecord::Partition {
            topic_id: id,
            assignment: PartitionAssignment {
                replicas: vec![1, 2, 3],
                isr: vec![1],
                leader: 1,
                leader_epoch: 5,
                ..Default::default()
            },
        });
        broker.commit(records, None);
        (broker, id)
    }

    fn change_of(records: &[MetadataRecord]) -> Option<&PartitionAssignment> {
        records.iter().find_map(|r| match r {
            MetadataRecord::PartitionChange { assignment, .. } => Some(assignment),
            _ => None,
        })
    }

    #[test]
    fn a_fenced_sole_in_sync_leader_leaves_its_partition_leaderless() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = broker_with_topic(dir.path(), false);
        let records = fence(&broker, &broker.table(), 1);
        assert!(matches!(records[0], MetadataRecord::FenceBroker { id: 1 }));
        let next = change_of(&records).expect("a change");
        assert_eq!(
            (next.leader, next.isr.clone(), next.leader_epoch),
            (-1, vec![1], 6)
        );
    }

    #[test]
    fn unclean_leader_election_lets_a_live_out_of_sync_replica_lead() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = broker_with_topic(dir.path(), true);
        let records = fence(&broker, &broker.table(), 1);
        let next = change_of(&records).expect("a change");
        assert_eq!(
            (next.leader, next.isr.clone(), next.leader_epoch),
            (2, vec![2], 6)
        );
    }
}
