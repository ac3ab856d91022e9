//! The controller: whichever node leads the metadata quorum decides every
//! metadata change (Kafka's `QuorumController`). Requests are handled one
//! at a time, each checked against the table as committed so far and
//! written as one Raft entry, so two decisions can never interleave.
//! It also watches broker heartbeats, fences brokers that go silent and
//! elects new leaders for their partitions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use strom_protocol::sasl::{ScramCredential, ScramMechanism};

use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;
use strom_raft::Quorum;

use super::decisions::{
    check_assignments, check_isr, elections, existing, fence, imports, leader_elections,
    live_brokers, placed, preferred_elections, reassignments, unclean_elections, ElectionResults,
};
use super::placement::{complete_reassignment, new_assignment};
use super::records;
use super::requests::{
    ControllerRequest as Req, ControllerResponse as Resp, QuorumReport, ReplicaReport,
};
use crate::config::TopicConfigs;
use crate::error::ApiError;
use crate::state::Broker;
use crate::topic_table::{MetadataRecord, PartitionAssignment};

/// How often the controller looks for leaderless partitions whose topic
/// now allows unclean leader election.
const UNCLEAN_CHECK: Duration = Duration::from_secs(1);

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
        let _deciding = self.deciding.lock().await;
        let (records, per_partition) = match self.decide(&broker, request) {
            Ok(Decision::Records(records)) => (records, None),
            Ok(Decision::PerPartition(records, results)) => (records, Some(results)),
            Ok(Decision::Answer(answer)) => return answer,
            Err(e) => return error(e.code, e.message),
        };
        if let Some(results) = per_partition {
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
            Req::Heartbeat {
                id,
                host,
                port,
                listeners,
                http,
                ..
            } => {
                self.heard_from(id);
                let mut records = Vec::new();
                if table.cluster_id().is_none() {
                    records.push(MetadataRecord::ClusterId {
                        id: broker.cluster_id.clone(),
                    });
                }
                let known = table.broker(id);
                let changed = |b: &crate::topic_table::RegisteredBroker| {
                    b.fenced
                        || b.host != host
                        || b.port != port
                        || b.listeners != listeners
                        || b.http != http
                };
                if known.is_none_or(changed) {
                    records.push(MetadataRecord::RegisterBroker {
                        id,
                        host,
                        port,
                        listeners,
                        http,
                    });
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
                check_isr(&table, current, &isr)?;
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
            Req::AlterScramCredentials { upserts, deletions } => {
                let invalid = |e: String| ApiError::new(error_codes::INVALID_REQUEST, e);
                let mut records = Vec::new();
                for (user, mechanism) in deletions {
                    let mechanism = ScramMechanism::from_name(&mechanism)
                        .ok_or_else(|| invalid(format!("unknown mechanism {mechanism}")))?;
                    records.push(MetadataRecord::RemoveScramCredential { user, mechanism });
                }
                for (user, credential) in upserts {
                    let credential = ScramCredential::try_from(credential).map_err(invalid)?;
                    records.push(MetadataRecord::ScramCredential { user, credential });
                }
                records
            }
            Req::AlterAcls { created, deleted } => deleted
                .into_iter()
                .map(MetadataRecord::RemoveAcl)
                .chain(created.into_iter().map(MetadataRecord::Acl))
                .collect(),
            Req::AlterClientQuotas { changes } => changes
                .into_iter()
                .map(MetadataRecord::ClientQuota)
                .collect(),
            Req::DescribeQuorum => {
                return Ok(Decision::Answer(match self.quorum.get() {
                    Some(quorum) => Resp::Quorum(report(&quorum.status())),
                    None => error(error_codes::NOT_CONTROLLER, "the quorum is not started"),
                }))
            }
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
    /// brokers silent for a session, or dead (see [`super::probe`]), and
    /// every rebalance period move leadership back to preferred replicas.
    pub async fn watch_brokers(self: Arc<Self>, watch: Watch) {
        // Every broker gets a full session from the moment this node took
        // over: it may have been heartbeating the previous controller.
        self.last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let took_over = Instant::now();
        let mut last_rebalance = Instant::now();
        let mut last_probe = Instant::now();
        let mut last_unclean_check = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        loop {
            ticker.tick().await;
            let Some(broker) = self.broker.upgrade() else {
                return;
            };
            let (silent, quiet) = self.silent_brokers(&broker, &watch, took_over);
            let mut dead = Vec::new();
            if !quiet.is_empty() && last_probe.elapsed() >= watch.probe_after {
                last_probe = Instant::now();
                dead = super::probe::refusing(self.cluster_addresses(&quiet)).await;
            }
            for id in silent {
                tracing::warn!(
                    broker = id,
                    "no heartbeat within broker.session.timeout.ms: fencing it"
                );
                self.fence(&broker, id).await;
            }
            for id in dead {
                tracing::warn!(
                    broker = id,
                    "missed heartbeats and its cluster port refuses connections (its process is gone): fencing it"
                );
                self.fence(&broker, id).await;
            }
            if last_unclean_check.elapsed() >= UNCLEAN_CHECK {
                last_unclean_check = Instant::now();
                let _deciding = self.deciding.lock().await;
                let records = unclean_elections(&broker, &broker.table());
                if !records.is_empty() {
                    if let Err(e) = self.propose(records).await {
                        tracing::warn!("unclean leader election failed: {e}");
                    }
                }
            }
            if watch
                .rebalance
                .is_some_and(|period| last_rebalance.elapsed() >= period)
            {
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

    /// Unfenced brokers (other than this one) silent past the session, and
    /// those silent past `probe_after` but not yet the session.
    fn silent_brokers(
        &self,
        broker: &Broker,
        watch: &Watch,
        took_over: Instant,
    ) -> (Vec<i32>, Vec<i32>) {
        let table = broker.table();
        let heard = self
            .last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (mut silent, mut quiet) = (Vec::new(), Vec::new());
        for b in table
            .brokers()
            .filter(|b| !b.fenced && b.id != broker.node_id)
        {
            let quiet_for = heard.get(&b.id).copied().unwrap_or(took_over).elapsed();
            if quiet_for > watch.session {
                silent.push(b.id);
            } else if quiet_for > watch.probe_after {
                quiet.push(b.id);
            }
        }
        (silent, quiet)
    }

    /// The cluster listeners of `ids`, as the quorum's membership knows them.
    fn cluster_addresses(&self, ids: &[i32]) -> Vec<(i32, String)> {
        let Some(quorum) = self.quorum.get() else {
            return Vec::new();
        };
        let status = quorum.status();
        status
            .voters
            .iter()
            .chain(&status.learners)
            .filter_map(|r| {
                let id = i32::try_from(r.id).ok()?;
                Some((id, r.addr.clone()?))
            })
            .filter(|(id, _)| ids.contains(id))
            .collect()
    }

    async fn fence(&self, broker: &Broker, id: i32) {
        let _deciding = self.deciding.lock().await;
        let records = fence(broker, &broker.table(), id);
        if let Err(e) = self.propose(records).await {
            tracing::warn!(broker = id, "could not fence: {e}");
        }
    }
}

/// How the controller watches brokers (from the broker settings).
#[derive(Clone)]
pub struct Watch {
    /// `broker.session.timeout.ms`: silence that fences any broker.
    pub session: Duration,
    /// Silence after which a broker is probed (see [`super::probe`]).
    pub probe_after: Duration,
    /// `leader.imbalance.check.interval.seconds`, if auto rebalance is on.
    pub rebalance: Option<Duration>,
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

fn error(code: i16, message: impl Into<String>) -> Resp {
    Resp::Error {
        code,
        message: message.into(),
    }
}
