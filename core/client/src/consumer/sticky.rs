//! The sticky assignment shared by the `sticky` (eager) and
//! `cooperative-sticky` assignors, after Java's `AbstractStickyAssignor`:
//!
//! 1. Every member keeps the partitions it held before (its claim), where
//!    the claim is still valid: the topic is still subscribed by it and the
//!    partition exists; of two members claiming one partition, the higher
//!    generation wins and a tie in the same generation voids both claims.
//! 2. Partitions nobody keeps go, fewest-candidates first, to the least
//!    loaded member subscribed to their topic.
//! 3. While some member holds at least two more partitions than another
//!    member that could take one of them, one moves (preferring partitions
//!    the giver did not hold before). Each move lowers the sum of squared
//!    loads, so this ends; when it ends no partition can move to a less
//!    loaded member without the giver becoming the less loaded one, which
//!    for members with equal subscriptions means counts differ by at most 1.
//!
//! Everything iterates over sorted maps, so the result depends only on the
//! input. For the cooperative protocol, [`withhold_transfers`] then takes
//! out every partition moving away from a member that still holds it: that
//! member revokes it and rejoins, and the next rebalance hands it over.

use std::collections::{BTreeMap, BTreeSet};

use super::TopicPartition;

/// Partitions a member says it held, and the generation they are from
/// (`-1` when unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Claim {
    pub partitions: Vec<TopicPartition>,
    pub generation: i32,
}

/// One member as the sticky algorithm sees it; `order` is its rank in the
/// group's deterministic member order (ties are broken by it).
pub(crate) struct StickyMember<'a> {
    pub member_id: &'a str,
    pub topics: &'a [String],
    pub claim: &'a Claim,
}

/// The valid previous owner of each partition claimed by some member.
pub(crate) fn previous_owners(
    members: &[StickyMember<'_>],
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<TopicPartition, String> {
    // Per partition: the winning generation and its claimants.
    let mut claims: BTreeMap<&TopicPartition, (i32, Vec<&str>)> = BTreeMap::new();
    for member in members {
        for tp in &member.claim.partitions {
            let exists = partition_counts
                .get(&*tp.topic)
                .is_some_and(|&count| (0..count).contains(&tp.partition));
            if !exists || !member.topics.iter().any(|t| **t == *tp.topic) {
                continue;
            }
            let generation = member.claim.generation;
            let entry = claims.entry(tp).or_insert((generation, Vec::new()));
            if generation > entry.0 {
                *entry = (generation, Vec::new());
            }
            if generation == entry.0 && !entry.1.contains(&member.member_id) {
                entry.1.push(member.member_id);
            }
        }
    }
    claims
        .into_iter()
        .filter_map(|(tp, (_, claimants))| match claimants.as_slice() {
            [only] => Some((tp.clone(), only.to_string())),
            _ => {
                tracing::warn!(partition = ?tp, ?claimants, "partition claimed by several members of one generation; nobody keeps it");
                None
            }
        })
        .collect()
}

/// The sticky assignment. Every member gets an entry, possibly empty.
pub(crate) fn assign(
    members: &[StickyMember<'_>],
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<String, Vec<TopicPartition>> {
    let owners = previous_owners(members, partition_counts);
    let mut held: BTreeMap<&str, BTreeSet<TopicPartition>> = members
        .iter()
        .map(|m| (m.member_id, BTreeSet::new()))
        .collect();
    let rank: BTreeMap<&str, usize> = members
        .iter()
        .enumerate()
        .map(|(rank, m)| (m.member_id, rank))
        .collect();
    let subscribers = |topic: &str| -> Vec<&str> {
        members
            .iter()
            .filter(|m| m.topics.iter().any(|t| t == topic))
            .map(|m| m.member_id)
            .collect()
    };

    // 1. Valid claims stay where they are.
    for (tp, owner) in &owners {
        if let Some(set) = held.get_mut(owner.as_str()) {
            set.insert(tp.clone());
        }
    }

    // 2. The rest, partitions with the fewest candidates first.
    let mut unheld: Vec<(usize, TopicPartition)> = Vec::new();
    let mut candidates_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (topic, &count) in partition_counts {
        let candidates = subscribers(topic);
        if candidates.is_empty() {
            continue;
        }
        for partition in 0..count.max(0) {
            let tp = TopicPartition::new(topic.as_str(), partition);
            if !owners.contains_key(&tp) {
                unheld.push((candidates.len(), tp));
            }
        }
        candidates_of.insert(topic.as_str(), candidates);
    }
    unheld.sort();
    for (_, tp) in unheld {
        let Some(candidates) = candidates_of.get(&*tp.topic) else {
            continue;
        };
        let least_loaded = candidates
            .iter()
            .min_by_key(|m| (held.get(*m).map_or(0, BTreeSet::len), rank.get(*m)));
        if let Some(member) = least_loaded {
            if let Some(set) = held.get_mut(member) {
                set.insert(tp);
            }
        }
    }

    // 3. Even out the loads.
    let topics_of: BTreeMap<&str, &[String]> =
        members.iter().map(|m| (m.member_id, m.topics)).collect();
    while let Some((giver, taker, tp)) = next_move(&held, &rank, &topics_of, &owners) {
        if let Some(set) = held.get_mut(giver) {
            set.remove(&tp);
        }
        if let Some(set) = held.get_mut(taker) {
            set.insert(tp);
        }
    }

    held.into_iter()
        .map(|(member, set)| (member.to_string(), set.into_iter().collect()))
        .collect()
}

/// One move from a member to one holding at least two fewer partitions
/// that subscribes to the partition's topic; `None` when balanced.
fn next_move<'a>(
    held: &BTreeMap<&'a str, BTreeSet<TopicPartition>>,
    rank: &BTreeMap<&'a str, usize>,
    topics_of: &BTreeMap<&'a str, &[String]>,
    owners: &BTreeMap<TopicPartition, String>,
) -> Option<(&'a str, &'a str, TopicPartition)> {
    let mut by_load: Vec<(&'a str, usize)> = held.iter().map(|(m, s)| (*m, s.len())).collect();
    // Most loaded first; among equals, the member ranked last gives first.
    by_load.sort_by_key(|(m, load)| (std::cmp::Reverse(*load), std::cmp::Reverse(rank.get(m))));
    for &(giver, giver_load) in &by_load {
        for &(taker, taker_load) in by_load.iter().rev() {
            if giver_load <= taker_load + 1 {
                break;
            }
            let taker_topics = topics_of.get(taker).copied().unwrap_or_default();
            let movable = held
                .get(giver)?
                .iter()
                .filter(|tp| taker_topics.iter().any(|t| **t == *tp.topic));
            // A partition the giver did not hold before costs no stickiness.
            let mut newly_given = None;
            let mut kept = None;
            for tp in movable {
                if owners.get(tp).map(String::as_str) == Some(giver) {
                    kept = Some(tp); // the last one: moves the highest partition
                } else {
                    newly_given = newly_given.or(Some(tp));
                }
            }
            if let Some(tp) = newly_given.or(kept) {
                return Some((giver, taker, tp.clone()));
            }
        }
    }
    None
}

/// The cooperative adjustment: a partition moving to a new member while
/// its previous owner still holds it is left out this time.
pub(crate) fn withhold_transfers(
    assignment: &mut BTreeMap<String, Vec<TopicPartition>>,
    owners: &BTreeMap<TopicPartition, String>,
) {
    for (member, partitions) in assignment.iter_mut() {
        partitions.retain(|tp| owners.get(tp).is_none_or(|owner| owner == member));
    }
}

#[cfg(test)]
mod tests;
