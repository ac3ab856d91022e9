//! With two of three voters down nothing commits; progress resumes when one
//! comes back.

mod common;

use std::time::Duration;

use common::{fast, parse_ok, payload, Cluster};
use strom_raft::QuorumError;

const WAIT: Duration = Duration::from_secs(10);

fn short_proposals(config: &mut strom_raft::QuorumConfig) {
    fast(config);
    config.propose_timeout = Duration::from_secs(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_without_a_majority_commits_nothing() {
    let mut cluster = Cluster::start(3, short_proposals).await;
    let (leader, first) = cluster.propose(payload(0)).await;
    cluster.wait_applied_on(1..=3, first).await;
    let followers: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    for &f in &followers {
        cluster.stop(f).await;
    }

    let q = cluster.q(leader).clone();
    match q.propose_within(payload(1), Duration::from_secs(1)).await {
        Err(QuorumError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The handler's own proposal cannot commit either.
    let answer = q
        .call_leader(payload(2), WAIT)
        .await
        .expect("local handler ran");
    assert!(
        answer.starts_with(b"ERR"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cluster.node(leader).state.list(), vec![(first, payload(0))]);
    assert_eq!(q.status().high_watermark, first as i64);

    cluster.restart(followers[0]).await;
    let (_, index) = cluster.propose(payload(3)).await;
    cluster.wait_applied_on([leader, followers[0]], index).await;
    // The timed-out records may or may not have survived (a new leader
    // without them would have discarded them); both nodes agree either way.
    let on_leader = cluster.node(leader).state.list();
    assert_eq!(on_leader, cluster.node(followers[0]).state.list());
    assert_eq!(on_leader.first(), Some(&(first, payload(0))));
    assert_eq!(on_leader.last(), Some(&(index, payload(3))));
    cluster.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_leader_times_out_without_a_majority_and_recovers() {
    let mut cluster = Cluster::start(3, fast).await;
    let (leader, first) = cluster.propose(payload(0)).await;
    cluster.wait_applied_on(1..=3, first).await;
    let others: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    let (lost, survivor) = (others[0], others[1]);
    cluster.stop(leader).await;
    cluster.stop(lost).await;

    let sq = cluster.q(survivor).clone();
    match sq
        .call_leader(payload(1), Duration::from_millis(1500))
        .await
    {
        Err(QuorumError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(matches!(
        sq.propose(payload(1)).await,
        Err(QuorumError::NotLeader { .. })
    ));
    assert_eq!(
        cluster.node(survivor).state.list(),
        vec![(first, payload(0))]
    );

    cluster.restart(lost).await;
    let answer = sq
        .call_leader(payload(2), WAIT)
        .await
        .expect("a leader again");
    let index = parse_ok(&answer);
    sq.wait_applied(index, WAIT).await.expect("applied");
    let list = cluster.node(survivor).state.list();
    assert_eq!(list, vec![(first, payload(0)), (index, payload(2))]);
    cluster.shutdown_all().await;
}
