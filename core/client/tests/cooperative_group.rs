//! Cooperative rebalancing (KIP-429, `cooperative-sticky`) and
//! max.poll.interval.ms against a real Strom broker. Every member runs in
//! its own task, polling in a loop and recording what its rebalance
//! callbacks saw, so a member can be killed (its task aborted: no
//! LeaveGroup) or told to stop polling while the others carry on.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Consumer, Producer, ProducerRecord};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const TOPIC: &str = "events";
const COOPERATIVE: (&str, &str) = ("partition.assignment.strategy", "cooperative-sticky");

/// What one member's callbacks and polls have seen.
#[derive(Debug, Default)]
struct Seen {
    assignment: BTreeSet<i32>,
    member_id: Option<String>,
    /// Every callback, in order: ("assigned" | "revoked" | "lost", partitions).
    events: Vec<(&'static str, BTreeSet<i32>)>,
    /// (partition, offset) of every record `poll` returned.
    records: Vec<(i32, i64)>,
}

impl Seen {
    fn partitions_in(&self, kind: &str) -> BTreeSet<i32> {
        self.partitions_in_since(kind, 0)
    }

    /// The partitions of the `kind` callbacks from event `first` on.
    fn partitions_in_since(&self, kind: &str, first: usize) -> BTreeSet<i32> {
        self.events[first.min(self.events.len())..]
            .iter()
            .filter(|(k, _)| *k == kind)
            .flat_map(|(_, p)| p.iter().copied())
            .collect()
    }
}

struct Member {
    seen: Arc<Mutex<Seen>>,
    polling: Arc<AtomicBool>,
    task: JoinHandle<Consumer>,
}

impl Member {
    async fn start(broker: &TestBroker, group: &str, extra: &[(&str, &str)]) -> Member {
        let mut config = vec![("group.id", group), ("heartbeat.interval.ms", "100")];
        config.extend_from_slice(extra);
        let consumer = Consumer::new(broker.client_config(&config)).await.unwrap();
        consumer.subscribe(&[TOPIC]).await.unwrap();
        let seen: Arc<Mutex<Seen>> = Arc::default();
        for kind in ["assigned", "revoked", "lost"] {
            let log = seen.clone();
            let record = move |partitions: &[strom_client::TopicPartition]| {
                let set = partitions.iter().map(|tp| tp.partition).collect();
                log.lock().unwrap().events.push((kind, set));
            };
            match kind {
                "assigned" => consumer.on_assigned(record).await,
                "revoked" => consumer.on_revoked(record).await,
                _ => consumer.on_lost(record).await,
            }
        }
        let polling = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(poll_loop(consumer, seen.clone(), polling.clone()));
        Member {
            seen,
            polling,
            task,
        }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.seen.lock().unwrap().assignment.clone()
    }

    fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap())
    }

    /// Ends the member without LeaveGroup, as a crashed process would.
    fn kill(self) {
        self.task.abort();
    }

    async fn close(self) {
        self.polling.store(false, Ordering::SeqCst);
        self.task.abort();
    }
}

async fn poll_loop(
    consumer: Consumer,
    seen: Arc<Mutex<Seen>>,
    polling: Arc<AtomicBool>,
) -> Consumer {
    loop {
        if !polling.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let records = consumer.poll(Duration::from_millis(50)).await.unwrap();
        let assignment = consumer.assignment().await;
        let member_id = consumer.member_id().await;
        let mut seen = seen.lock().unwrap();
        seen.records
            .extend(records.iter().map(|r| (r.partition, r.offset)));
        seen.assignment = assignment.into_iter().map(|tp| tp.partition).collect();
        seen.member_id = member_id;
    }
}

async fn setup(partitions: i32) -> (TestBroker, AdminClient) {
    let broker = TestBroker::start_with(&[
        ("group.min.session.timeout.ms", "200"),
        ("group.initial.rebalance.delay.ms", "0"),
    ]);
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new(TOPIC, partitions, 1))
        .await
        .unwrap();
    (broker, admin)
}

/// Waits until `condition` holds, failing after the safety timeout.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool, state: impl Fn() -> String) {
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: {}", state());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The members own disjoint sets covering `total` partitions, each with
/// one of `sizes`.
fn settled(members: &[&Member], total: i32, sizes: &[usize]) -> bool {
    let sets: Vec<BTreeSet<i32>> = members.iter().map(|m| m.assignment()).collect();
    let union: BTreeSet<i32> = sets.iter().flatten().copied().collect();
    let count: usize = sets.iter().map(BTreeSet::len).sum();
    union == (0..total).collect()
        && count == total as usize
        && sets.iter().all(|s| sizes.contains(&s.len()))
}

fn describe(members: &[&Member]) -> String {
    members
        .iter()
        .map(|m| m.seen(|s| format!("{:?} events {:?}", s.assignment, s.events)))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survivors_keep_their_partitions_when_a_member_dies() {
    let (broker, admin) = setup(9).await;
    let settings = [COOPERATIVE, ("session.timeout.ms", "1000")];
    let a = Member::start(&broker, "survivors", &settings).await;
    let b = Member::start(&broker, "survivors", &settings).await;
    let c = Member::start(&broker, "survivors", &settings).await;
    wait_until(
        "three members share 9 partitions",
        || settled(&[&a, &b, &c], 9, &[3]),
        || describe(&[&a, &b, &c]),
    )
    .await;
    assert_eq!(
        admin.describe_group("survivors").await.unwrap().protocol,
        "cooperative-sticky"
    );
    let (a_before, b_before, c_before) = (a.assignment(), b.assignment(), c.assignment());
    let a_events = a.seen(|s| s.events.len());
    let b_events = b.seen(|s| s.events.len());

    // No LeaveGroup: the coordinator must notice the session expire.
    c.kill();
    wait_until(
        "the survivors take over all 9",
        || settled(&[&a, &b], 9, &[4, 5]),
        || describe(&[&a, &b]),
    )
    .await;

    for (member, before, events_before) in [(&a, &a_before, a_events), (&b, &b_before, b_events)] {
        let after = member.assignment();
        assert!(after.is_superset(before), "{before:?} -> {after:?}");
        assert!(after.difference(before).all(|p| c_before.contains(p)));
        member.seen(|s| {
            let since: Vec<_> = s.events[events_before..].to_vec();
            assert!(
                since.iter().all(|(kind, _)| *kind == "assigned"),
                "nothing revoked or lost: {since:?}"
            );
            // Java's cooperative callback: only the partitions added.
            let added: BTreeSet<i32> = since.iter().flat_map(|(_, p)| p.iter().copied()).collect();
            assert_eq!(added, after.difference(before).copied().collect());
        });
    }
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_member_takes_only_what_must_move_and_positions_survive() {
    let (broker, _admin) = setup(8).await;
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    let mut deliveries = Vec::new();
    for partition in 0..8 {
        for i in 0..5 {
            let record = ProducerRecord::new(TOPIC, format!("{partition}-{i}"));
            deliveries.push(producer.send(record.with_partition(partition)));
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    // No commits: a partition that started over would be read again from
    // the beginning, so duplicates would show a lost position.
    let settings = [
        COOPERATIVE,
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
    ];
    let a = Member::start(&broker, "joiners", &settings).await;
    let b = Member::start(&broker, "joiners", &settings).await;
    // Every record of the partitions it owns now. `a` may own all 8, and
    // read them, before `b` joins (both poll from their start): what it
    // hands `b` then is that join's business, not `c`'s.
    let read_all = |m: &Member| {
        m.seen(|s| {
            let owned = s.records.iter().filter(|(p, _)| s.assignment.contains(p));
            owned.count() == s.assignment.len() * 5
        })
    };
    wait_until(
        "two members read their 4 partitions each",
        || settled(&[&a, &b], 8, &[4]) && read_all(&a) && read_all(&b),
        || describe(&[&a, &b]),
    )
    .await;
    let (a_before, b_before) = (a.assignment(), b.assignment());
    let (a_events, b_events) = (a.seen(|s| s.events.len()), b.seen(|s| s.events.len()));

    let c = Member::start(&broker, "joiners", &settings).await;
    wait_until(
        "three members share 8 partitions and c read its own",
        || settled(&[&a, &b, &c], 8, &[2, 3]) && read_all(&c),
        || describe(&[&a, &b, &c]),
    )
    .await;

    let c_now = c.assignment();
    let mut moved = BTreeSet::new();
    for (member, before, events) in [(&a, &a_before, a_events), (&b, &b_before, b_events)] {
        let after = member.assignment();
        assert!(after.is_subset(before), "{before:?} -> {after:?}");
        let given_up: BTreeSet<i32> = before.difference(&after).copied().collect();
        member.seen(|s| {
            assert_eq!(
                s.partitions_in_since("revoked", events),
                given_up,
                "only what moved to c is revoked"
            );
            assert!(s.partitions_in("lost").is_empty());
            // Kept partitions went on from their positions: nothing read twice.
            let distinct: BTreeSet<&(i32, i64)> = s.records.iter().collect();
            assert_eq!(distinct.len(), s.records.len(), "records read twice");
        });
        moved.extend(given_up);
    }
    assert_eq!(moved, c_now, "c got exactly what a and b gave up");
    a.close().await;
    b.close().await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_cooperative_sticky_makes_the_group_eager_range() {
    let (broker, admin) = setup(4).await;
    let both = [("partition.assignment.strategy", "cooperative-sticky,range")];
    let a = Member::start(&broker, "mixed", &both).await;
    let b = Member::start(
        &broker,
        "mixed",
        &[("partition.assignment.strategy", "range")],
    )
    .await;
    wait_until(
        "two members share 4 partitions",
        || settled(&[&a, &b], 4, &[2]),
        || describe(&[&a, &b]),
    )
    .await;
    assert_eq!(
        admin.describe_group("mixed").await.unwrap().protocol,
        "range"
    );
    // Range: the member first by id gets partitions 0 and 1.
    let (first, second) = if a.seen(|s| s.member_id.clone()) < b.seen(|s| s.member_id.clone()) {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(first.assignment(), BTreeSet::from([0, 1]));
    assert_eq!(second.assignment(), BTreeSet::from([2, 3]));

    // A third member rebalances the group: under the eager protocol `a`
    // revokes everything it had, not just what moves.
    let a_before = a.assignment();
    let a_events = a.seen(|s| s.events.len());
    let c = Member::start(&broker, "mixed", &both).await;
    wait_until(
        "three members share 4 partitions",
        || settled(&[&a, &b, &c], 4, &[1, 2]),
        || describe(&[&a, &b, &c]),
    )
    .await;
    a.seen(|s| {
        let revoked: BTreeSet<i32> = s.events[a_events..]
            .iter()
            .filter(|(kind, _)| *kind == "revoked")
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        assert_eq!(revoked, a_before, "eager: all revoked: {:?}", s.events);
    });
    assert_eq!(
        admin.describe_group("mixed").await.unwrap().protocol,
        "range"
    );
    a.close().await;
    b.close().await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_polling_leaves_and_its_partitions_are_lost() {
    let (broker, admin) = setup(4).await;
    // The session outlives the safety timeout: only LeaveGroup (sent when
    // max.poll.interval.ms passes without a poll) can hand the partitions
    // over in time.
    let settings = [COOPERATIVE, ("session.timeout.ms", "60000")];
    let slow = Member::start(
        &broker,
        "slow",
        &[settings[0], settings[1], ("max.poll.interval.ms", "1000")],
    )
    .await;
    let steady = Member::start(&broker, "slow", &settings).await;
    wait_until(
        "two members share 4 partitions",
        || settled(&[&slow, &steady], 4, &[2]),
        || describe(&[&slow, &steady]),
    )
    .await;
    let slow_before = slow.assignment();
    let slow_id = slow.seen(|s| s.member_id.clone()).unwrap();
    // Events from here on: before it, the first member may well have
    // revoked half its partitions for the second (a cooperative handover).
    let events_before = slow.seen(|s| s.events.len());

    slow.polling.store(false, Ordering::SeqCst);
    wait_until(
        "the steady member owns all 4",
        || steady.assignment().len() == 4,
        || describe(&[&slow, &steady]),
    )
    .await;
    let group = admin.describe_group("slow").await.unwrap();
    assert!(
        group.members.iter().all(|m| m.member_id != slow_id),
        "{group:?}"
    );
    assert!(
        slow.seen(|s| s.partitions_in("lost").is_empty()),
        "callbacks run in poll only"
    );

    slow.polling.store(true, Ordering::SeqCst);
    wait_until(
        "the slow member is back",
        || settled(&[&slow, &steady], 4, &[2]),
        || describe(&[&slow, &steady]),
    )
    .await;
    slow.seen(|s| {
        let after_stop = &s.events[events_before..];
        let kinds: Vec<&str> = after_stop.iter().map(|(k, _)| *k).collect();
        let lost_at = kinds
            .iter()
            .position(|k| *k == "lost")
            .expect("on_lost called");
        assert_eq!(after_stop[lost_at].1, slow_before, "{:?}", s.events);
        assert!(
            kinds[lost_at + 1..].contains(&"assigned"),
            "rejoined: {:?}",
            s.events
        );
        assert!(
            !kinds.contains(&"revoked"),
            "lost, not revoked: {:?}",
            s.events
        );
    });
    assert_ne!(slow.seen(|s| s.member_id.clone()).unwrap(), slow_id);
    slow.close().await;
    steady.close().await;
}
