//! Partition assignors the group leader runs, compatible with the Java
//! client's `RangeAssignor` ("range") and `RoundRobinAssignor`
//! ("roundrobin"): given the same members and partition counts, they hand
//! out the same partitions, so a group can mix Strom and Java consumers.
//! `StickyAssignor` ("sticky", eager) and `CooperativeStickyAssignor`
//! ("cooperative-sticky") share the algorithm in [`super::sticky`]; their
//! assignments are balanced and sticky like Java's, not byte-identical.
//!
//! Whatever the assignor, a partition a member still holds (its owned
//! partitions, sent only by members that keep partitions through a
//! rebalance: the cooperative protocol) is never handed to another member
//! in the same rebalance; the holder revokes it and rejoins first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::sticky::{self, Claim, StickyMember};
use super::TopicPartition;

/// A partition assignment strategy, named as in the JoinGroup protocol list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assignor {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

/// One group member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MemberSubscription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub topics: Vec<String>,
    /// What the member still holds as it joins (the subscription's owned
    /// partitions and generation).
    pub owned: Claim,
    /// The eager sticky assignor's memory: the member's assignment before
    /// it revoked everything, from its sticky user data.
    pub previous: Option<Claim>,
}

impl Assignor {
    /// The assignor for a `partition.assignment.strategy` entry, by its
    /// short name or the Java class name; `None` for one not implemented.
    pub fn from_config_name(name: &str) -> Option<Assignor> {
        match name {
            "range" | "org.apache.kafka.clients.consumer.RangeAssignor" => Some(Assignor::Range),
            "roundrobin" | "org.apache.kafka.clients.consumer.RoundRobinAssignor" => {
                Some(Assignor::RoundRobin)
            }
            "sticky" | "org.apache.kafka.clients.consumer.StickyAssignor" => Some(Assignor::Sticky),
            "cooperative-sticky"
            | "org.apache.kafka.clients.consumer.CooperativeStickyAssignor" => {
                Some(Assignor::CooperativeSticky)
            }
            _ => None,
        }
    }

    /// The protocol name the Java client uses for this assignor.
    pub fn protocol_name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Whether members keep their partitions through a rebalance of a
    /// group running this assignor (KIP-429's cooperative protocol).
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }

    /// Assigns the partitions of the subscribed topics (`partition_counts`
    /// lists the topics that exist) to the members. Every member gets an
    /// entry, possibly empty. Partitions still held by another member are
    /// left out (see the module comment).
    pub fn assign(
        self,
        members: &[MemberSubscription],
        partition_counts: &BTreeMap<String, i32>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
        sorted.sort_by(|a, b| java_member_order(a, b));
        let mut assignment: BTreeMap<String, Vec<TopicPartition>> = members
            .iter()
            .map(|m| (m.member_id.clone(), Vec::new()))
            .collect();
        match self {
            Assignor::Range => range(&sorted, partition_counts, &mut assignment),
            Assignor::RoundRobin => round_robin(&sorted, partition_counts, &mut assignment),
            Assignor::Sticky | Assignor::CooperativeSticky => {
                let eager = self == Assignor::Sticky;
                let sticky_members: Vec<StickyMember<'_>> = sorted
                    .iter()
                    .map(|m| StickyMember {
                        member_id: &m.member_id,
                        topics: &m.topics,
                        claim: match &m.previous {
                            Some(previous) if eager => previous,
                            _ => &m.owned,
                        },
                    })
                    .collect();
                assignment = sticky::assign(&sticky_members, partition_counts);
            }
        }
        let holders: Vec<StickyMember<'_>> = sorted
            .iter()
            .map(|m| StickyMember {
                member_id: &m.member_id,
                topics: &m.topics,
                claim: &m.owned,
            })
            .collect();
        let owners = sticky::previous_owners(&holders, partition_counts);
        sticky::withhold_transfers(&mut assignment, &owners);
        assignment
    }
}

/// Java's `MemberInfo` order: static members first, by instance id, then
/// dynamic members by member id.
fn java_member_order(a: &MemberSubscription, b: &MemberSubscription) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

/// Per topic, the partitions split into contiguous ranges over the sorted
/// subscribers; the first `count % members` subscribers get one extra.
fn range(
    sorted: &[&MemberSubscription],
    partition_counts: &BTreeMap<String, i32>,
    assignment: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    for (topic, &count) in partition_counts {
        let subscribers: Vec<&&MemberSubscription> = sorted
            .iter()
            .filter(|m| m.topics.iter().any(|t| t == topic))
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let members = subscribers.len() as i64;
        let per_member = i64::from(count) / members;
        let extra = i64::from(count) % members;
        let topic: Arc<str> = topic.as_str().into();
        for (index, member) in subscribers.iter().enumerate() {
            let index = index as i64;
            let start = per_member * index + index.min(extra);
            let length = per_member + i64::from(index < extra);
            let Some(owned) = assignment.get_mut(&member.member_id) else {
                continue;
            };
            owned.extend((start..start + length).map(|p| TopicPartition {
                topic: topic.clone(),
                // Bounded by `count`, an i32.
                partition: p as i32,
            }));
        }
    }
}

/// All partitions of all subscribed topics, sorted by topic then index,
/// dealt in turn to the sorted members, skipping those not subscribed to
/// the partition's topic.
fn round_robin(
    sorted: &[&MemberSubscription],
    partition_counts: &BTreeMap<String, i32>,
    assignment: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    if sorted.is_empty() {
        return;
    }
    let subscribed: BTreeSet<&String> = sorted.iter().flat_map(|m| &m.topics).collect();
    let mut next = 0usize;
    for (topic, &count) in partition_counts {
        if !subscribed.contains(topic) {
            continue;
        }
        for partition in 0..count.max(0) {
            // Someone subscribes to `topic`, so this finds a member within
            // one lap.
            let Some(offset) = (0..sorted.len())
                .find(|step| sorted[(next + step) % sorted.len()].topics.contains(topic))
            else {
                break;
            };
            let member = sorted[(next + offset) % sorted.len()];
            next = (next + offset + 1) % sorted.len();
            if let Some(owned) = assignment.get_mut(&member.member_id) {
                owned.push(TopicPartition::new(topic.as_str(), partition));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::test_support::{counts, tp};

    fn member(id: &str, topics: &[&str]) -> MemberSubscription {
        MemberSubscription {
            member_id: id.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn range_gives_the_remainder_to_the_first_members_per_topic() {
        // Java's RangeAssignor: t0 has 7 partitions over 3 members -> 3,2,2;
        // t1 has 2 partitions -> 1,1,0. Members sort by id, not input order.
        let members = [
            member("c", &["t0", "t1"]),
            member("a", &["t0", "t1"]),
            member("b", &["t0", "t1"]),
        ];
        let got = Assignor::Range.assign(&members, &counts(&[("t0", 7), ("t1", 2)]));
        assert_eq!(
            got["a"],
            vec![tp("t0", 0), tp("t0", 1), tp("t0", 2), tp("t1", 0)]
        );
        assert_eq!(got["b"], vec![tp("t0", 3), tp("t0", 4), tp("t1", 1)]);
        assert_eq!(got["c"], vec![tp("t0", 5), tp("t0", 6)]);
    }

    #[test]
    fn roundrobin_matches_the_java_assignment_for_fixed_member_ids() {
        // Worked by hand from Java's RoundRobinAssignor: sorted partitions
        // t0-0,t0-1,t0-2,t1-0,t1-1,t1-2,t2-0 dealt over m1,m2,m3, where m3
        // does not subscribe to t2 and m1 does not subscribe to t1.
        let members = [
            member("consumer-3", &["t0", "t1"]),
            member("consumer-1", &["t0", "t2"]),
            member("consumer-2", &["t0", "t1", "t2"]),
        ];
        let got = Assignor::RoundRobin.assign(
            &members,
            &counts(&[("t0", 3), ("t1", 3), ("t2", 1), ("unsubscribed", 4)]),
        );
        // t0-0 -> c1, t0-1 -> c2, t0-2 -> c3; t1-0: c1 skipped -> c2;
        // t1-1 -> c3; t1-2: c1 skipped -> c2; t2-0: c3 skipped, c1 -> c1.
        assert_eq!(got["consumer-1"], vec![tp("t0", 0), tp("t2", 0)]);
        assert_eq!(
            got["consumer-2"],
            vec![tp("t0", 1), tp("t1", 0), tp("t1", 2)]
        );
        assert_eq!(got["consumer-3"], vec![tp("t0", 2), tp("t1", 1)]);
    }

    #[test]
    fn static_members_sort_first_by_instance_id() {
        let mut stat = member("zzz", &["t"]);
        stat.group_instance_id = Some("instance-b".into());
        let dynamic = member("aaa", &["t"]);
        let got = Assignor::Range.assign(&[dynamic, stat], &counts(&[("t", 3)]));
        assert_eq!(got["zzz"], vec![tp("t", 0), tp("t", 1)]);
        assert_eq!(got["aaa"], vec![tp("t", 2)]);
    }

    #[test]
    fn members_without_partitions_still_get_an_entry() {
        let members = [member("a", &["t"]), member("b", &["t"]), member("c", &[])];
        let got = Assignor::RoundRobin.assign(&members, &counts(&[("t", 1)]));
        assert_eq!(got["a"], vec![tp("t", 0)]);
        assert!(got["b"].is_empty() && got["c"].is_empty());
        assert_eq!(
            Assignor::from_config_name("cooperative-sticky"),
            Some(Assignor::CooperativeSticky)
        );
        assert_eq!(Assignor::from_config_name("range"), Some(Assignor::Range));
        assert_eq!(Assignor::from_config_name("lottery"), None);
    }

    #[test]
    fn range_leaves_out_a_partition_another_member_still_holds() {
        // A cooperative member that still holds t-0 and t-1 while the group
        // falls back to range: range gives them to "a", so they stay out
        // until "b" has revoked them and rejoined.
        let mut holder = member("b", &["t"]);
        holder.owned = Claim {
            partitions: vec![tp("t", 0), tp("t", 1)],
            generation: 3,
        };
        let got = Assignor::Range.assign(&[member("a", &["t"]), holder], &counts(&[("t", 4)]));
        assert!(got["a"].is_empty(), "{got:?}");
        assert_eq!(got["b"], vec![tp("t", 2), tp("t", 3)]);
    }
}
