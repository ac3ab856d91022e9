//! A broker outside the voter list: it reaches the controller through the
//! voters, is added as a learner and then receives the whole log.

mod common;

use std::time::Duration;

use common::{fast, parse_ok, payload, Cluster};
use strom_raft::QuorumError;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_learner_receives_the_log_and_can_reach_the_leader() {
    let mut cluster = Cluster::start(3, fast).await;
    for i in 0..5 {
        cluster.propose(payload(i)).await;
    }
    let learner = cluster.start_outsider().await;
    let lq = cluster.q(learner).clone();
    assert!(!lq.is_leader());

    // Not a member yet, it knows no leader: the request goes via the voters.
    let index = parse_ok(
        &lq.call_leader(b"register".to_vec(), WAIT)
            .await
            .expect("call_leader"),
    );

    let leader = cluster.leader(WAIT).await;
    let follower = (1..=3).find(|&id| id != leader).expect("follower");
    let addr = cluster.node(learner).addr.to_string();
    match cluster.q(follower).add_learner(learner, addr.clone()).await {
        Err(QuorumError::NotLeader { leader: Some(l) }) => assert_eq!(l, leader),
        other => panic!("expected NotLeader, got {other:?}"),
    }
    let q = cluster.q(leader).clone();
    q.add_learner(learner, addr.clone())
        .await
        .expect("add learner");
    q.add_learner(learner, addr)
        .await
        .expect("adding again is a no-op");
    q.add_learner(1, "ignored".into())
        .await
        .expect("a voter stays a voter");

    lq.wait_applied(index, WAIT).await.expect("learner applied");
    let expected = cluster.node(leader).state.list();
    assert_eq!(
        cluster.wait_records(learner, expected.len(), WAIT).await,
        expected
    );

    let status = q.status();
    assert_eq!(status.voters.len(), 3);
    assert_eq!(
        status.learners.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![learner]
    );
    assert!(!lq.is_leader(), "a learner never leads");

    // Now a member, the learner forwards to the leader it hears from.
    let index = parse_ok(
        &lq.call_leader(b"second".to_vec(), WAIT)
            .await
            .expect("call_leader"),
    );
    lq.wait_applied(index, WAIT).await.expect("learner applied");
    cluster.shutdown_all().await;
}
