//! Where new partitions go and who leads after a change (Kafka's
//! `StripedReplicaPlacer` and `PartitionChangeBuilder`, simplified to one
//! rack).

use crate::topic_table::PartitionAssignment;

/// Replicas for partitions `first..first + count` over the `live` brokers
/// (sorted ids): partition p starts at broker `start + p` and takes the
/// next `replication` brokers, so leaders and replicas spread evenly.
/// `None` if there are fewer live brokers than `replication`.
pub fn place(
    live: &[i32],
    first: i32,
    count: i32,
    replication: usize,
    start: usize,
) -> Option<Vec<Vec<i32>>> {
    if replication == 0 || live.len() < replication {
        return None;
    }
    Some(
        (first..first + count)
            .map(|p| {
                (0..replication)
                    .map(|k| live[(start + p as usize + k) % live.len()])
                    .collect()
            })
            .collect(),
    )
}

/// A new partition: its first replica leads, every replica is in sync.
pub fn new_assignment(replicas: Vec<i32>) -> PartitionAssignment {
    PartitionAssignment {
        leader: replicas[0],
        isr: replicas.clone(),
        replicas,
        leader_epoch: 0,
        ..Default::default()
    }
}

/// The assignment after broker `gone` is fenced: it leaves the ISR (unless
/// it is the last member: the ISR never empties, so the partition knows
/// whose log is complete), and if it led, the first live in-sync replica
/// leads in a new epoch, or nobody does. `None` if nothing changes.
pub fn without_broker(
    current: &PartitionAssignment,
    gone: i32,
    is_live: impl Fn(i32) -> bool,
) -> Option<PartitionAssignment> {
    if !current.replicas.contains(&gone) {
        return None;
    }
    let mut next = current.clone();
    if next.isr.len() > 1 {
        next.isr.retain(|&id| id != gone);
    }
    if current.leader == gone {
        next.leader = next
            .isr
            .iter()
            .copied()
            .find(|&id| id != gone && is_live(id))
            .unwrap_or(-1);
        next.leader_epoch += 1;
    }
    (next != *current).then_some(next)
}

/// A leaderless partition gets a leader again when an in-sync replica is
/// live; a partition led away from its preferred (first) replica goes back
/// to it once that one is live and in sync. `None` if nothing changes.
pub fn elect(
    current: &PartitionAssignment,
    is_live: impl Fn(i32) -> bool,
    prefer: bool,
) -> Option<PartitionAssignment> {
    let preferred = *current.replicas.first()?;
    let wanted = if current.leader == -1 {
        current
            .replicas
            .iter()
            .copied()
            .filter(|id| current.isr.contains(id))
            .find(|&id| is_live(id))?
    } else if prefer
        && current.leader != preferred
        && current.isr.contains(&preferred)
        && is_live(preferred)
    {
        preferred
    } else {
        return None;
    };
    Some(PartitionAssignment {
        leader: wanted,
        leader_epoch: current.leader_epoch + 1,
        ..current.clone()
    })
}

/// Starts moving a partition to the `target` replicas (KIP-455): the
/// replicas being added join the replica set (and start fetching), the
/// ones being removed stay until every added one is in sync. Replaces a
/// reassignment already in progress.
pub fn start_reassignment(
    current: &PartitionAssignment,
    target: &[i32],
    is_live: impl Fn(i32) -> bool,
) -> PartitionAssignment {
    let original = without(&current.replicas, &current.adding);
    let adding = without(target, &original);
    let removing = without(&original, target);
    let replicas: Vec<i32> = target.iter().chain(&removing).copied().collect();
    let next = PartitionAssignment {
        isr: within(&current.isr, &replicas),
        replicas,
        adding,
        removing,
        ..current.clone()
    };
    complete_reassignment(&next, is_live).unwrap_or(next)
}

/// Cancels a reassignment in progress: the replicas being added leave
/// again. `None` if none is in progress.
pub fn cancel_reassignment(
    current: &PartitionAssignment,
    is_live: impl Fn(i32) -> bool,
) -> Option<PartitionAssignment> {
    if !current.is_reassigning() {
        return None;
    }
    Some(settled(current, &current.adding, is_live))
}

/// `list` without the ids in `drop`, in order.
fn without(list: &[i32], drop: &[i32]) -> Vec<i32> {
    list.iter()
        .copied()
        .filter(|id| !drop.contains(id))
        .collect()
}

/// `list` with only the ids also in `keep`, in order.
fn within(list: &[i32], keep: &[i32]) -> Vec<i32> {
    list.iter()
        .copied()
        .filter(|id| keep.contains(id))
        .collect()
}

/// Finishes a reassignment once every added replica is in sync: the
/// removed replicas leave, and if the leader was one of them the first
/// live in-sync target replica leads in a new epoch. `None` while added
/// replicas are still catching up (or nothing is in progress).
pub fn complete_reassignment(
    current: &PartitionAssignment,
    is_live: impl Fn(i32) -> bool,
) -> Option<PartitionAssignment> {
    if !current.is_reassigning() || !current.adding.iter().all(|r| current.isr.contains(r)) {
        return None;
    }
    let next = settled(current, &current.removing, is_live);
    (!next.isr.is_empty()).then_some(next)
}

/// The partition with no reassignment in progress, without the `leaving`
/// replicas (out of the replica set and the ISR); the leader stays unless
/// it left.
fn settled(
    current: &PartitionAssignment,
    leaving: &[i32],
    is_live: impl Fn(i32) -> bool,
) -> PartitionAssignment {
    let replicas = without(&current.replicas, leaving);
    let next = PartitionAssignment {
        isr: within(&current.isr, &replicas),
        replicas,
        adding: Vec::new(),
        removing: Vec::new(),
        ..current.clone()
    };
    with_leader_among_replicas(next, current.leader_epoch, is_live)
}

/// Keeps the leader if it is still a replica; else the first live
/// in-sync replica leads in the next epoch (or none does).
fn with_leader_among_replicas(
    mut next: PartitionAssignment,
    epoch: i32,
    is_live: impl Fn(i32) -> bool,
) -> PartitionAssignment {
    if next.leader >= 0 && next.replicas.contains(&next.leader) {
        return next;
    }
    next.leader = next
        .replicas
        .iter()
        .copied()
        .find(|r| next.isr.contains(r) && is_live(*r))
        .unwrap_or(-1);
    next.leader_epoch = epoch + 1;
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_table::{MetadataRecord, TopicTable};

    fn table_with(live: &[i32], fenced: &[i32]) -> TopicTable {
        let mut table = TopicTable::default();
        for &id in live.iter().chain(fenced) {
            table
                .apply(MetadataRecord::RegisterBroker {
                    id,
                    host: "h".into(),
                    port: 1,
                    listeners: Vec::new(),
                    http: None,
                })
                .expect("applies");
        }
        for &id in fenced {
            table
                .apply(MetadataRecord::FenceBroker { id })
                .expect("applies");
        }
        table
    }

    #[test]
    fn replicas_and_leaders_spread_over_brokers() {
        let placed = place(&[1, 2, 3], 0, 3, 2, 0).expect("enough brokers");
        assert_eq!(placed, vec![vec![1, 2], vec![2, 3], vec![3, 1]]);
        assert!(place(&[1, 2], 0, 1, 3, 0).is_none());
    }

    #[test]
    fn a_fenced_leader_is_replaced_by_a_live_in_sync_replica() {
        let table = table_with(&[2, 3], &[1]);
        let current = new_assignment(vec![1, 2, 3]);
        let next = without_broker(&current, 1, |id| table.is_live(id)).expect("changes");
        assert_eq!((next.leader, next.leader_epoch), (2, 1));
        assert_eq!(next.isr, vec![2, 3]);
    }

    #[test]
    fn the_last_in_sync_replica_stays_in_the_isr_and_leads_again_on_return() {
        let table = table_with(&[], &[1, 2]);
        let current = PartitionAssignment {
            isr: vec![1],
            ..new_assignment(vec![1, 2])
        };
        let next = without_broker(&current, 1, |id| table.is_live(id)).expect("changes");
        assert_eq!((next.leader, next.isr.clone()), (-1, vec![1]));
        let back = table_with(&[1], &[2]);
        let elected = elect(&next, |id| back.is_live(id), false).expect("leader again");
        assert_eq!((elected.leader, elected.leader_epoch), (1, 2));
    }

    #[test]
    fn the_preferred_replica_gets_leadership_back_once_in_sync() {
        let table = table_with(&[1, 2], &[]);
        let led_away = PartitionAssignment {
            leader: 2,
            leader_epoch: 3,
            ..new_assignment(vec![1, 2])
        };
        let back = elect(&led_away, |id| table.is_live(id), true).expect("moves back");
        assert_eq!((back.leader, back.leader_epoch), (1, 4));
        let out_of_sync = PartitionAssignment {
            isr: vec![2],
            ..led_away
        };
        assert!(elect(&out_of_sync, |id| table.is_live(id), true).is_none());
    }

    #[test]
    fn a_reassignment_adds_first_and_removes_once_the_new_replicas_are_in_sync() {
        let live = |_| true;
        let current = new_assignment(vec![1, 2]);
        let moving = start_reassignment(&current, &[2, 3], live);
        assert_eq!(moving.replicas, vec![2, 3, 1]);
        assert_eq!(
            (moving.adding.clone(), moving.removing.clone()),
            (vec![3], vec![1])
        );
        assert_eq!(
            moving.leader, 1,
            "the old leader leads until the move completes"
        );
        assert!(
            complete_reassignment(&moving, live).is_none(),
            "3 is not in sync yet"
        );

        let caught_up = PartitionAssignment {
            isr: vec![2, 1, 3],
            ..moving.clone()
        };
        let done = complete_reassignment(&caught_up, live).expect("completes");
        assert_eq!(done.replicas, vec![2, 3]);
        assert_eq!(done.isr, vec![2, 3]);
        assert_eq!(
            (done.leader, done.leader_epoch),
            (2, 1),
            "the removed leader hands over"
        );
        assert!(!done.is_reassigning());

        let cancelled = cancel_reassignment(&moving, live).expect("in progress");
        assert_eq!(
            (cancelled.replicas.clone(), cancelled.isr.clone()),
            (vec![2, 1], vec![1, 2])
        );
        assert!(!cancelled.is_reassigning());
        assert!(cancel_reassignment(&done, live).is_none());
    }

    #[test]
    fn a_reassignment_that_only_removes_completes_at_once() {
        let current = new_assignment(vec![1, 2, 3]);
        let done = start_reassignment(&current, &[1, 2], |_| true);
        assert_eq!(
            (done.replicas.clone(), done.isr.clone()),
            (vec![1, 2], vec![1, 2])
        );
        assert!(!done.is_reassigning());
    }
}
