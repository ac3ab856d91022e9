//! `poll` keeps its timeout while the group rebalances, against a real
//! Strom broker: the JoinGroup/SyncGroup exchange runs in the background,
//! so members polled from one task, one after the other, still converge; a
//! poll returns while the rebalance waits for another member; and polls
//! dropped mid-join leave a consistent member behind.

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Consumer, Producer, ProducerRecord, TopicPartition};
use tokio::time::Instant;

const TOPIC: &str = "events";
const PARTITIONS: i32 = 2;
const POLL: Duration = Duration::from_millis(100);
const EAGER: (&str, &str) = ("partition.assignment.strategy", "range");
const COOPERATIVE: (&str, &str) = ("partition.assignment.strategy", "cooperative-sticky");

async fn setup() -> (TestBroker, AdminClient) {
    // No initial rebalance delay: the first member gets its partitions at
    // once, so the second one's join really waits for it to rejoin.
    let broker = TestBroker::start_with(&[("group.initial.rebalance.delay.ms", "0")]);
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new(TOPIC, PARTITIONS, 1))
        .await
        .unwrap();
    (broker, admin)
}

async fn member(broker: &TestBroker, group: &str, extra: &[(&str, &str)]) -> Consumer {
    let mut config = vec![
        ("group.id", group),
        ("heartbeat.interval.ms", "100"),
        ("auto.offset.reset", "earliest"),
    ];
    config.extend_from_slice(extra);
    let consumer = Consumer::new(broker.client_config(&config)).await.unwrap();
    consumer.subscribe(&[TOPIC]).await.unwrap();
    consumer
}

async fn partitions(consumer: &Consumer) -> BTreeSet<i32> {
    let assignment = consumer.assignment().await;
    assignment.into_iter().map(|tp| tp.partition).collect()
}

/// Both members hold partitions, together every partition exactly once,
/// and the group agrees: stable, with both of them.
async fn converged(a: &Consumer, b: &Consumer, admin: &AdminClient, group: &str) -> bool {
    let (pa, pb) = (partitions(a).await, partitions(b).await);
    if pa.is_empty() || pb.is_empty() || !pa.is_disjoint(&pb) {
        return false;
    }
    if pa.len() + pb.len() != PARTITIONS as usize {
        return false;
    }
    let described = admin.describe_group(group).await.unwrap();
    described.state == "Stable" && described.members.len() == 2
}

/// Fails instead of hanging when `work` deadlocks (as these tests did
/// before joins ran in the background: until the session timed out).
async fn within_safety_timeout<T>(what: &str, work: impl Future<Output = T>) -> T {
    match tokio::time::timeout(SAFETY_TIMEOUT, work).await {
        Ok(done) => done,
        Err(_) => panic!("{what}: still not done after {SAFETY_TIMEOUT:?}"),
    }
}

async fn members_polled_one_after_the_other_converge(strategy: (&str, &str), group: &str) {
    let (broker, admin) = setup().await;
    let a = member(&broker, group, &[strategy]).await;
    let b = member(&broker, group, &[strategy]).await;
    within_safety_timeout("sequential polls converging", async {
        while !converged(&a, &b, &admin, group).await {
            a.poll(POLL).await.unwrap();
            b.poll(POLL).await.unwrap();
        }
    })
    .await;
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_members_polled_one_after_the_other_from_one_task_converge() {
    members_polled_one_after_the_other_converge(EAGER, "sequential-eager").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_members_polled_one_after_the_other_from_one_task_converge() {
    members_polled_one_after_the_other_converge(COOPERATIVE, "sequential-cooperative").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_returns_while_the_rebalance_waits_for_another_member() {
    let group = "waiting";
    let (broker, admin) = setup().await;
    let a = member(&broker, group, &[EAGER]).await;
    within_safety_timeout("the first member's assignment", async {
        while partitions(&a).await.len() < PARTITIONS as usize {
            a.poll(POLL).await.unwrap();
        }
    })
    .await;

    // `b` joins; the coordinator parks its JoinGroup until `a` rejoins,
    // which `a` only does in a poll, and `a` is not polled meanwhile. Each
    // of `b`'s polls still returns, with nothing assigned.
    let b = member(&broker, group, &[EAGER]).await;
    within_safety_timeout("b's polls while the group waits for a", async {
        loop {
            assert!(b.poll(POLL).await.unwrap().is_empty());
            assert!(b.assignment().await.is_empty());
            if admin.describe_group(group).await.unwrap().state == "PreparingRebalance" {
                break;
            }
        }
        // The join is pending, not lost: more polls return too, and the
        // group still waits for `a`.
        for _ in 0..3 {
            assert!(b.poll(POLL).await.unwrap().is_empty());
            assert!(b.assignment().await.is_empty());
        }
    })
    .await;
    assert_eq!(
        admin.describe_group(group).await.unwrap().state,
        "PreparingRebalance"
    );
    assert_eq!(
        partitions(&a).await.len(),
        PARTITIONS as usize,
        "a was not polled"
    );
    // A commit while b's join is pending is refused at once (Java's
    // RebalanceInProgressException) instead of waiting behind it.
    let refused = b
        .commit_offsets(&[(TopicPartition::new(TOPIC, 0), 0)])
        .await
        .unwrap_err();
    assert_eq!(
        refused.kafka_name(),
        Some("REBALANCE_IN_PROGRESS"),
        "{refused}"
    );
    let refused = b.commit_async().await.await.unwrap_err();
    assert_eq!(
        refused.kafka_name(),
        Some("REBALANCE_IN_PROGRESS"),
        "{refused}"
    );

    // Once `a` is polled again, the rebalance completes on later polls.
    within_safety_timeout("the rebalance completing", async {
        while !converged(&a, &b, &admin, group).await {
            a.poll(POLL).await.unwrap();
            b.poll(POLL).await.unwrap();
        }
    })
    .await;
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_closed_while_its_join_is_pending_still_leaves_the_group() {
    let group = "closing-mid-join";
    let (broker, admin) = setup().await;
    let a = member(&broker, group, &[EAGER]).await;
    within_safety_timeout("the first member's assignment", async {
        while partitions(&a).await.len() < PARTITIONS as usize {
            a.poll(POLL).await.unwrap();
        }
    })
    .await;
    let b = member(&broker, group, &[EAGER]).await;
    within_safety_timeout("b's join parked at the coordinator", async {
        while admin.describe_group(group).await.unwrap().state != "PreparingRebalance" {
            b.poll(POLL).await.unwrap();
        }
    })
    .await;
    let b_id = b
        .member_id()
        .await
        .expect("the coordinator named b's member id");

    // Closing gives the join up and sends LeaveGroup for `b`: the
    // rebalance then completes with `a` alone, without waiting for b's
    // session (45 s) to expire.
    within_safety_timeout("closing b", b.close(SAFETY_TIMEOUT))
        .await
        .unwrap();
    let a_id = a.member_id().await.unwrap();
    within_safety_timeout("a alone in the group", async {
        loop {
            a.poll(POLL).await.unwrap();
            let described = admin.describe_group(group).await.unwrap();
            let ids: Vec<&str> = described
                .members
                .iter()
                .map(|m| m.member_id.as_str())
                .collect();
            assert!(!ids.contains(&b_id.as_str()), "b still in {ids:?}");
            // The coordinator is Stable once the leader's SyncGroup
            // arrives; `a` holds its partitions only after a later poll
            // has taken the answer in (a poll may return mid-sync).
            let a_holds_all = partitions(&a).await.len() == PARTITIONS as usize;
            if described.state == "Stable" && ids == [a_id.as_str()] && a_holds_all {
                break;
            }
        }
    })
    .await;
    a.close(SAFETY_TIMEOUT).await.unwrap();
}

/// Polls `consumer` with a long timeout but drops the poll after at most
/// `cut_after`, mostly while it waits for the join.
async fn cut_short_poll(consumer: &Consumer, cut_after: Duration) {
    if let Ok(result) = tokio::time::timeout(cut_after, consumer.poll(SAFETY_TIMEOUT)).await {
        result.unwrap();
    }
}

async fn dropped_polls_end_in_a_stable_group(strategy: (&str, &str), group: &str) {
    let (broker, admin) = setup().await;
    let a = member(&broker, group, &[strategy]).await;
    let b = member(&broker, group, &[strategy]).await;
    within_safety_timeout("members with dropped polls converging", async {
        // 0 ms: the poll runs until its first wait, then is dropped.
        let mut cut_after = (0..).map(|i| Duration::from_millis(i % 3));
        while !converged(&a, &b, &admin, group).await {
            cut_short_poll(&a, cut_after.next().unwrap_or_default()).await;
            cut_short_poll(&b, cut_after.next().unwrap_or_default()).await;
        }
    })
    .await;

    // The members are consistent: each reads exactly its partitions, all
    // of them once between the two.
    let producer = Producer::new(broker.client_config(&[])).await.unwrap();
    for partition in 0..PARTITIONS {
        let record = ProducerRecord::new(TOPIC, format!("{partition}")).with_partition(partition);
        producer.send(record).await.unwrap();
    }
    let (owned_by_a, owned_by_b) = (partitions(&a).await, partitions(&b).await);
    let mut read_by_a = BTreeSet::new();
    let mut read_by_b = BTreeSet::new();
    let deadline = Instant::now() + SAFETY_TIMEOUT;
    while read_by_a.len() + read_by_b.len() < PARTITIONS as usize {
        assert!(
            Instant::now() < deadline,
            "read {read_by_a:?} {read_by_b:?}"
        );
        for record in a.poll(POLL).await.unwrap() {
            assert!(read_by_a.insert(record.partition), "read twice");
        }
        for record in b.poll(POLL).await.unwrap() {
            assert!(read_by_b.insert(record.partition), "read twice");
        }
    }
    assert_eq!(read_by_a, owned_by_a);
    assert_eq!(read_by_b, owned_by_b);
    assert!(converged(&a, &b, &admin, group).await);
    a.close(SAFETY_TIMEOUT).await.unwrap();
    b.close(SAFETY_TIMEOUT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_polls_dropped_mid_join_still_end_in_a_stable_group() {
    dropped_polls_end_in_a_stable_group(EAGER, "dropped-eager").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_polls_dropped_mid_join_still_end_in_a_stable_group() {
    dropped_polls_end_in_a_stable_group(COOPERATIVE, "dropped-cooperative").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_slow_to_poll_during_a_rebalance_keeps_its_session() {
    // Sessions of 1 s, polls allowed 60 s apart: a member that does not
    // poll while the group rebalances must stay a member (its heartbeats
    // go on), as with the Java client; only max.poll.interval.ms may
    // expel it.
    let broker = TestBroker::start_with(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.min.session.timeout.ms", "200"),
    ]);
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new(TOPIC, PARTITIONS, 1))
        .await
        .unwrap();
    let group = "slow-poller";
    let settings = [
        ("session.timeout.ms", "1000"),
        ("max.poll.interval.ms", "60000"),
    ];
    let slow = member(&broker, group, &settings).await;
    let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = lost.clone();
    slow.on_lost(move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst))
        .await;
    within_safety_timeout("the first member joining", async {
        while partitions(&slow).await.len() != PARTITIONS as usize {
            slow.poll(POLL).await.unwrap();
        }
    })
    .await;
    let first_id = slow.member_id().await;

    // A second member joins; the slow one is not polled while the
    // rebalance waits for it, for several session timeouts.
    let other = member(&broker, group, &settings).await;
    within_safety_timeout("the rebalance starting", async {
        while admin.describe_group(group).await.unwrap().state != "PreparingRebalance" {
            other.poll(POLL).await.unwrap();
        }
    })
    .await;
    let not_polled_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < not_polled_until {
        other.poll(POLL).await.unwrap();
    }

    within_safety_timeout("the group converging", async {
        while !converged(&slow, &other, &admin, group).await {
            slow.poll(POLL).await.unwrap();
            other.poll(POLL).await.unwrap();
        }
    })
    .await;
    assert_eq!(
        slow.member_id().await,
        first_id,
        "the slow member was expelled"
    );
    assert!(
        !lost.load(std::sync::atomic::Ordering::SeqCst),
        "its partitions were lost"
    );
}
