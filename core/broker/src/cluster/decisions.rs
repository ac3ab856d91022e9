//! What the controller decides, as metadata records: placing and
//! importing topics, fencing brokers and electing leaders, reassignments.
//! Pure functions of the table as committed so far (and the request), so
//! the controller can check them before anything is proposed.

use std::sync::Arc;

use strom_protocol::codec::Uuid;
use strom_protocol::error_codes;

use super::placement::{
    cancel_reassignment, elect, new_assignment, place, start_reassignment, without_broker,
};
use super::requests::ImportedTopic;
use crate::config::TopicConfigs;
use crate::error::ApiError;
use crate::state::Broker;
use crate::topic_table::{every_partition, MetadataRecord, PartitionAssignment, Topic, TopicTable};

pub(super) fn preferred_elections(broker: &Broker) -> Vec<MetadataRecord> {
    let table = broker.table();
    elections(&table, |b| table.is_live(b), true)
}

/// Whether `isr`, asked for by the partition's leader, may replace the
/// current one: the leader and replicas of the partition only, and no
/// fenced broker joining (Kafka's AlterPartition answers the same
/// INELIGIBLE_REPLICA). One already in the ISR may stay while fenced: the
/// fence itself takes it out.
pub(super) fn check_isr(
    table: &TopicTable,
    current: &PartitionAssignment,
    isr: &[i32],
) -> Result<(), ApiError> {
    let fits = isr.contains(&current.leader) && isr.iter().all(|id| current.replicas.contains(id));
    if !fits {
        return Err(ApiError::new(
            error_codes::INVALID_REQUEST,
            format!(
                "ISR {isr:?} does not fit leader {} and replicas {:?}",
                current.leader, current.replicas
            ),
        ));
    }
    match isr
        .iter()
        .find(|&&id| !current.isr.contains(&id) && !table.is_live(id))
    {
        Some(fenced) => Err(ApiError::new(
            error_codes::INELIGIBLE_REPLICA,
            format!("broker {fenced} is fenced: it cannot join the ISR"),
        )),
        None => Ok(()),
    }
}

pub(super) type ElectionResults = Vec<(String, i32, i16, Option<String>)>;

/// The records that add a one-node data dir's topics to the metadata, on
/// that node alone, each partition led by it in the epoch its log was
/// last written in. A topic already imported (same id) is skipped; one
/// whose name another topic took is skipped and logged.
pub(super) fn imports(
    table: &TopicTable,
    node: i32,
    producer_id_bound: i64,
    topics: Vec<ImportedTopic>,
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

/// A topic and its partition `index`'s assignment, if both exist.
fn find_partition(
    table: &TopicTable,
    name: &str,
    index: i32,
) -> Option<(Arc<Topic>, PartitionAssignment)> {
    let topic = table.topic(name)?;
    let current = topic.partitions.get(usize::try_from(index).ok()?)?.clone();
    Some((topic, current))
}

fn unknown_partition(name: String, index: i32) -> (String, i32, i16, Option<String>) {
    (
        name,
        index,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION,
        Some("no such partition".into()),
    )
}

/// AlterPartitionReassignments: each partition starts moving to its target
/// replicas (distinct live brokers), or has its move cancelled.
pub(super) fn reassignments(
    table: &TopicTable,
    wanted: Vec<(String, i32, Option<Vec<i32>>)>,
) -> (Vec<MetadataRecord>, ElectionResults) {
    let live = live_brokers(table);
    let is_live = |b| table.is_live(b);
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (name, index, target) in wanted {
        let Some((topic, current)) = find_partition(table, &name, index) else {
            results.push(unknown_partition(name, index));
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
pub(super) fn leader_elections(
    table: &TopicTable,
    unclean: bool,
    wanted: Option<Vec<(String, i32)>>,
) -> (Vec<MetadataRecord>, ElectionResults) {
    let wanted = wanted.unwrap_or_else(|| every_partition(&table.topics()));
    let mut records = Vec::new();
    let mut results = Vec::new();
    for (name, index) in wanted {
        let Some((topic, current)) = find_partition(table, &name, index) else {
            results.push(unknown_partition(name, index));
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

pub(super) fn live_brokers(table: &TopicTable) -> Vec<i32> {
    table
        .brokers()
        .filter(|b| !b.fenced)
        .map(|b| b.id)
        .collect()
}

pub(super) fn existing(topics: &[Arc<Topic>], name: &str) -> Result<Arc<Topic>, ApiError> {
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

pub(super) fn placed(
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

pub(super) fn check_assignments(chosen: &[Vec<i32>], live: &[i32]) -> Result<(), ApiError> {
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
pub(super) fn fence(broker: &Broker, table: &TopicTable, id: i32) -> Vec<MetadataRecord> {
    if !table.is_live(id) {
        return Vec::new();
    }
    let is_live = |b| b != id && table.is_live(b);
    let mut records = vec![MetadataRecord::FenceBroker { id }];
    records.extend(partition_changes(table, |topic, current| {
        let next = without_broker(current, id, is_live)?;
        Some(unclean_if_allowed(broker, topic, current, next, is_live))
    }));
    records
}

/// Unclean elections for partitions that are leaderless while their
/// topic allows `unclean.leader.election.enable` and a replica is live:
/// for a topic that allowed it only after its partitions lost their last
/// in-sync replica (Kafka's controller elects these too).
pub(super) fn unclean_elections(broker: &Broker, table: &TopicTable) -> Vec<MetadataRecord> {
    let is_live = |b| table.is_live(b);
    partition_changes(table, |topic, current| {
        if current.leader >= 0 {
            return None;
        }
        let next = unclean_if_allowed(broker, topic, current, current.clone(), is_live);
        (next.leader >= 0).then_some(next)
    })
}

/// `next` (what follows `current`), or for a leaderless `next` of a topic
/// allowing unclean leader election, the same with its first live
/// (out-of-sync) replica leading alone in the epoch after `current`'s:
/// what only the old ISR had is lost, as the topic asked.
fn unclean_if_allowed(
    broker: &Broker,
    topic: &Topic,
    current: &PartitionAssignment,
    next: PartitionAssignment,
    is_live: impl Fn(i32) -> bool,
) -> PartitionAssignment {
    let unclean = next.leader < 0
        && topic
            .effective_config(&broker.config)
            .unclean_leader_election_enable;
    if !unclean {
        return next;
    }
    let Some(leader) = next.replicas.iter().copied().find(|&r| is_live(r)) else {
        return next;
    };
    tracing::warn!(topic = %topic.name, leader, "unclean leader election: records only the old ISR held are lost");
    PartitionAssignment {
        leader,
        isr: vec![leader],
        leader_epoch: current.leader_epoch + 1,
        ..next
    }
}

/// Leader elections the table calls for: leaderless partitions with a
/// live in-sync replica and, with `prefer`, preferred replicas back.
pub(super) fn elections(
    table: &TopicTable,
    is_live: impl Fn(i32) -> bool + Copy,
    prefer: bool,
) -> Vec<MetadataRecord> {
    partition_changes(table, |_, current| elect(current, is_live, prefer))
}

/// A PartitionChange for every partition `change` gives a new assignment.
pub(super) fn partition_changes(
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
                listeners: Vec::new(),
                http: None,
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
    fn an_isr_change_may_not_bring_in_a_fenced_broker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = broker_with_topic(dir.path(), false);
        let current = PartitionAssignment {
            replicas: vec![1, 2, 3],
            isr: vec![1, 2],
            leader: 1,
            leader_epoch: 5,
            ..Default::default()
        };
        assert!(check_isr(&broker.table(), &current, &[1, 2, 3]).is_ok());
        for id in [3, 2] {
            // The table's guard goes before the commit takes the lock.
            let fenced = fence(&broker, &broker.table(), id);
            broker.commit(fenced, None);
        }
        let refused = check_isr(&broker.table(), &current, &[1, 2, 3]).expect_err("3 is fenced");
        assert_eq!(refused.code, error_codes::INELIGIBLE_REPLICA);
        assert!(refused.message.contains("broker 3"), "{}", refused.message);
        // A fenced broker already in the ISR may stay (the fence takes it
        // out); the shrink of another is fine.
        assert!(check_isr(&broker.table(), &current, &[1, 2]).is_ok());
        for wrong in [&[][..], &[2][..], &[1, 4][..]] {
            let refused = check_isr(&broker.table(), &current, wrong).expect_err("no fit");
            assert_eq!(refused.code, error_codes::INVALID_REQUEST, "{wrong:?}");
        }
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
    fn a_topic_allowing_unclean_election_later_gets_a_leader_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, id) = broker_with_topic(dir.path(), false);
        let fenced = fence(&broker, &broker.table(), 1);
        broker.commit(fenced, None);
        assert!(unclean_elections(&broker, &broker.table()).is_empty());
        let allowed = TopicConfigs::new([(
            "unclean.leader.election.enable".to_string(),
            "true".to_string(),
        )])
        .expect("valid");
        broker.commit(
            vec![MetadataRecord::TopicConfigs {
                topic_id: id,
                configs: allowed,
            }],
            None,
        );
        let records = unclean_elections(&broker, &broker.table());
        let next = change_of(&records).expect("a change");
        assert_eq!(
            (next.leader, next.isr.clone(), next.leader_epoch),
            (2, vec![2], 7)
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
