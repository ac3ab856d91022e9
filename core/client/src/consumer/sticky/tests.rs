//! The sticky algorithm through the assignors that use it.

use std::collections::{BTreeMap, BTreeSet};

use super::super::assignors::{Assignor, MemberSubscription};
use super::Claim;
use crate::consumer::test_support::{counts, tp};
use crate::consumer::TopicPartition;

type Assignment = BTreeMap<String, Vec<TopicPartition>>;

fn member(
    id: &str,
    topics: &[&str],
    owned: &[TopicPartition],
    generation: i32,
) -> MemberSubscription {
    MemberSubscription {
        member_id: id.to_string(),
        topics: topics.iter().map(|t| t.to_string()).collect(),
        owned: Claim {
            partitions: owned.to_vec(),
            generation,
        },
        ..Default::default()
    }
}

/// Members for the next rebalance: each owns what `assignment` gave it.
fn owning(assignment: &Assignment, topics: &[&str], generation: i32) -> Vec<MemberSubscription> {
    assignment
        .iter()
        .map(|(id, owned)| member(id, topics, owned, generation))
        .collect()
}

fn loads(assignment: &Assignment) -> Vec<usize> {
    assignment.values().map(Vec::len).collect()
}

/// Every partition of `partition_counts` exactly once.
fn assert_covers_once(assignment: &Assignment, partition_counts: &BTreeMap<String, i32>) {
    let mut seen = BTreeSet::new();
    for partitions in assignment.values() {
        for tp in partitions {
            assert!(
                seen.insert(tp.clone()),
                "{tp:?} assigned twice: {assignment:?}"
            );
        }
    }
    let expected: usize = partition_counts.values().map(|&n| n as usize).sum();
    assert_eq!(seen.len(), expected, "{assignment:?}");
}

fn assert_balanced(assignment: &Assignment) {
    let loads = loads(assignment);
    let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
    assert!(max - min <= 1, "loads {loads:?}: {assignment:?}");
}

#[test]
fn a_fresh_group_gets_a_balanced_assignment_of_every_partition() {
    let partition_counts = counts(&[("t", 10), ("u", 3)]);
    let members: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| member(id, &["t", "u"], &[], -1))
        .collect();
    for assignor in [Assignor::Sticky, Assignor::CooperativeSticky] {
        let got = assignor.assign(&members, &partition_counts);
        assert_covers_once(&got, &partition_counts);
        assert_balanced(&got);
    }
}

#[test]
fn survivors_keep_everything_and_split_only_the_departed_members_partitions() {
    let partition_counts = counts(&[("t", 9)]);
    let first = Assignor::CooperativeSticky.assign(
        &["a", "b", "c"].map(|id| member(id, &["t"], &[], -1)),
        &partition_counts,
    );
    assert_eq!(loads(&first), vec![3, 3, 3]);
    let mut survivors = owning(&first, &["t"], 1);
    survivors.retain(|m| m.member_id != "c");
    let second = Assignor::CooperativeSticky.assign(&survivors, &partition_counts);
    assert_covers_once(&second, &partition_counts);
    assert_balanced(&second);
    for id in ["a", "b"] {
        let before: BTreeSet<_> = first[id].iter().collect();
        let after: BTreeSet<_> = second[id].iter().collect();
        assert!(
            before.is_subset(&after),
            "{id} lost some of {before:?}: {after:?}"
        );
    }
}

#[test]
fn a_joining_member_gets_partitions_in_a_second_cooperative_round() {
    let partition_counts = counts(&[("t", 8)]);
    let first = Assignor::CooperativeSticky.assign(
        &["a", "b"].map(|id| member(id, &["t"], &[], -1)),
        &partition_counts,
    );
    let mut members = owning(&first, &["t"], 1);
    members.push(member("c", &["t"], &[], -1));

    // Round one: a and b keep what they may keep; what must move to c is
    // left out, since a or b still holds it.
    let second = Assignor::CooperativeSticky.assign(&members, &partition_counts);
    assert!(second["c"].is_empty(), "{second:?}");
    let moved: usize = 8 - loads(&second).iter().sum::<usize>();
    assert_eq!(moved, 2, "only the partitions c needs move: {second:?}");
    for id in ["a", "b"] {
        let kept: BTreeSet<_> = second[id].iter().collect();
        assert!(kept.is_subset(&first[id].iter().collect()));
    }

    // Round two: a and b revoked those and rejoined owning the rest.
    let third = Assignor::CooperativeSticky.assign(&owning(&second, &["t"], 2), &partition_counts);
    assert_covers_once(&third, &partition_counts);
    assert_balanced(&third);
    for id in ["a", "b"] {
        assert_eq!(third[id], second[id], "{id} keeps all it held");
    }
}

#[test]
fn the_eager_sticky_assignor_moves_only_what_balance_needs() {
    let partition_counts = counts(&[("t", 6)]);
    let first = Assignor::Sticky.assign(
        &["a", "b"].map(|id| member(id, &["t"], &[], -1)),
        &partition_counts,
    );
    // Eager members own nothing while joining; their sticky user data
    // says what they had.
    let mut members: Vec<MemberSubscription> = first
        .iter()
        .map(|(id, previous)| MemberSubscription {
            previous: Some(Claim {
                partitions: previous.clone(),
                generation: 1,
            }),
            ..member(id, &["t"], &[], 1)
        })
        .collect();
    members.push(member("c", &["t"], &[], -1));
    let second = Assignor::Sticky.assign(&members, &partition_counts);
    assert_covers_once(&second, &partition_counts);
    assert_balanced(&second);
    for id in ["a", "b"] {
        let kept = second[id]
            .iter()
            .filter(|tp| first[id].contains(tp))
            .count();
        assert_eq!(kept, 2, "{id}: {second:?}");
    }
}

#[test]
fn the_assignment_depends_only_on_the_members_not_their_order() {
    let partition_counts = counts(&[("t", 7), ("u", 5)]);
    let members = vec![
        member("c", &["t", "u"], &[tp("t", 0), tp("u", 4)], 3),
        member("a", &["t"], &[tp("t", 1), tp("t", 2), tp("t", 3)], 3),
        member("b", &["t", "u"], &[], -1),
        member("d", &["u"], &[tp("u", 0)], 2),
    ];
    let expected = Assignor::CooperativeSticky.assign(&members, &partition_counts);
    let mut reversed = members.clone();
    reversed.reverse();
    assert_eq!(
        Assignor::CooperativeSticky.assign(&reversed, &partition_counts),
        expected
    );
    let mut rotated = members.clone();
    rotated.rotate_left(2);
    assert_eq!(
        Assignor::CooperativeSticky.assign(&rotated, &partition_counts),
        expected
    );
}

#[test]
fn the_newer_generation_wins_a_claim_and_a_tie_voids_it() {
    let partition_counts = counts(&[("t", 4)]);
    // a's claim on t-0 is from generation 3, b's from 4: b keeps it.
    // c and d both claim t-3 in generation 4: neither is its owner, so it
    // is not withheld and goes wherever balance puts it.
    let members = vec![
        member("a", &["t"], &[tp("t", 0)], 3),
        member("b", &["t"], &[tp("t", 0)], 4),
        member("c", &["t"], &[tp("t", 3)], 4),
        member("d", &["t"], &[tp("t", 3)], 4),
    ];
    let got = Assignor::CooperativeSticky.assign(&members, &partition_counts);
    assert_eq!(got["b"], vec![tp("t", 0)]);
    assert_covers_once(&got, &partition_counts);
    assert_balanced(&got);
}

#[test]
fn claims_on_unsubscribed_topics_or_missing_partitions_are_ignored() {
    let partition_counts = counts(&[("t", 2), ("gone", 0)]);
    let members = vec![
        // a no longer subscribes to u and t-5 does not exist.
        member("a", &["t"], &[tp("u", 0), tp("t", 5), tp("t", 1)], 2),
        member("b", &["t"], &[], -1),
    ];
    let got = Assignor::CooperativeSticky.assign(&members, &partition_counts);
    assert_eq!(got["a"], vec![tp("t", 1)]);
    assert_eq!(got["b"], vec![tp("t", 0)]);
}

#[test]
fn members_with_different_subscriptions_are_balanced_where_they_can_be() {
    // a and b read t (6 partitions); only c reads u (2). c takes none of
    // t beyond what keeps a partition from moving to a less loaded member.
    let partition_counts = counts(&[("t", 6), ("u", 2)]);
    let members = vec![
        member("a", &["t"], &[], -1),
        member("b", &["t"], &[], -1),
        member("c", &["t", "u"], &[], -1),
    ];
    let got = Assignor::CooperativeSticky.assign(&members, &partition_counts);
    assert_covers_once(&got, &partition_counts);
    assert_balanced(&got);
    assert!(got["c"].contains(&tp("u", 0)) && got["c"].contains(&tp("u", 1)));
    // A member subscribed to nothing that exists gets nothing.
    let idle = vec![
        member("a", &["t"], &[], -1),
        member("z", &["nothing"], &[], -1),
    ];
    let got = Assignor::CooperativeSticky.assign(&idle, &partition_counts);
    assert_eq!(got["a"].len(), 6);
    assert!(got["z"].is_empty());
}
