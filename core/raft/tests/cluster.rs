//! Three-node clusters: replication order, leader requests, failover and
//! hostile input on the cluster port.

mod common;

use std::time::{Duration, Instant};

use common::{fast, parse_ok, payload, Cluster};
use strom_raft::QuorumError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_apply_the_same_records_in_the_same_order() {
    let mut cluster = Cluster::start(3, fast).await;
    let leader = cluster.leader(WAIT).await;
    let q = cluster.q(leader).clone();

    let mut indexes = Vec::new();
    for i in 0..20 {
        indexes.push(q.propose(payload(i)).await.expect("propose"));
    }
    assert!(
        indexes.windows(2).all(|w| w[0] < w[1]),
        "indexes increase: {indexes:?}"
    );
    let expected: Vec<(u64, Vec<u8>)> = indexes
        .iter()
        .enumerate()
        .map(|(i, &x)| (x, payload(i)))
        .collect();
    // `propose` returned, so the leader has applied all of them already.
    assert_eq!(cluster.node(leader).state.list(), expected);
    for id in 1..=3 {
        assert_eq!(
            cluster.wait_records(id, 20, WAIT).await,
            expected,
            "node {id}"
        );
    }

    // A follower refuses proposals and names the leader.
    let follower = (1..=3).find(|&id| id != leader).expect("follower");
    match cluster.q(follower).propose(b"no".to_vec()).await {
        Err(QuorumError::NotLeader { leader: Some(l) }) => assert_eq!(l, leader),
        other => panic!("expected NotLeader, got {other:?}"),
    }

    // DescribeQuorum view from the leader.
    let last = *indexes.last().expect("index");
    common::wait_until(WAIT, "followers' progress in the status", || {
        let s = q.status();
        s.voters
            .iter()
            .all(|v| v.log_end_index >= last as i64 && v.last_contact_unix_ms.is_some())
    })
    .await;
    let status = q.status();
    assert_eq!(status.leader, Some(leader));
    assert!(status.term >= 1);
    assert!(status.high_watermark >= last as i64);
    assert_eq!(
        status.voters.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(status.learners.is_empty());
    cluster.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_leader_from_a_follower_reaches_the_handler_on_the_leader() {
    let mut cluster = Cluster::start(3, fast).await;
    let leader = cluster.leader(WAIT).await;
    let follower = (1..=3).find(|&id| id != leader).expect("follower");
    let fq = cluster.q(follower).clone();

    let answer = fq
        .call_leader(b"from-follower".to_vec(), WAIT)
        .await
        .expect("call_leader");
    let index = parse_ok(&answer);
    fq.wait_applied(index, WAIT).await.expect("wait_applied");
    assert!(cluster
        .node(follower)
        .state
        .list()
        .contains(&(index, b"from-follower".to_vec())));

    // On the leader itself the handler runs locally.
    let answer = cluster
        .q(leader)
        .call_leader(b"local".to_vec(), WAIT)
        .await
        .expect("local call");
    let local = parse_ok(&answer);
    assert!(local > index);
    fq.wait_applied(local, WAIT).await.expect("wait_applied");
    cluster.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_takes_over_with_every_earlier_record() {
    let mut cluster = Cluster::start(3, fast).await;
    let old = cluster.leader(WAIT).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let index = cluster.q(old).propose(payload(i)).await.expect("propose");
        expected.push((index, payload(i)));
    }
    let survivors: Vec<u64> = (1..=3).filter(|&id| id != old).collect();
    let mut watch = cluster.q(survivors[0]).leader_watch();

    let stopped = Instant::now();
    cluster.stop(old).await;
    let new = cluster.leader(WAIT).await;
    let took = stopped.elapsed();
    assert_ne!(new, old);
    assert!(took < Duration::from_secs(5), "failover took {took:?}");
    tokio::time::timeout(WAIT, watch.wait_for(|l| *l == Some(new)))
        .await
        .expect("leader_watch saw the new leader")
        .expect("watch open");

    assert_eq!(cluster.wait_records(new, 5, WAIT).await, expected);
    for i in 5..10 {
        let index = cluster
            .q(new)
            .propose(payload(i))
            .await
            .expect("propose with 2 of 3");
        expected.push((index, payload(i)));
    }
    for id in survivors {
        assert_eq!(
            cluster.wait_records(id, 10, WAIT).await,
            expected,
            "node {id}"
        );
    }
    cluster.shutdown_all().await;
}

/// Writes `bytes` and expects the node to close the connection.
async fn expect_closed(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The node may close before everything is written; that is fine.
    let _ = stream.write_all(bytes).await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("node closes the connection");
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("node answered garbage with {n} bytes"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_cluster_port_closes_only_that_connection() {
    let mut cluster = Cluster::start(3, fast).await;
    let leader = cluster.leader(WAIT).await;
    let follower = (1..=3).find(|&id| id != leader).expect("follower");

    for id in [leader, follower] {
        let addr = cluster.node(id).addr;
        // A frame length far over the limit.
        expect_closed(addr, &[0xff, 0xff, 0xff, 0xff, 1, 2, 3]).await;
        // A frame of bytes that decode to nothing.
        let mut frame = 64u32.to_be_bytes().to_vec();
        frame.extend((0..64u8).map(|b| b.wrapping_mul(37).wrapping_add(11)));
        expect_closed(addr, &frame).await;
        // A valid-looking envelope whose inner length prefix lies.
        let mut frame = 12u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[1, 0, 3, 0xfc, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        expect_closed(addr, &frame).await;
        // A truncated frame, then the client goes away.
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(&100u32.to_be_bytes())
            .await
            .expect("write");
        stream.write_all(b"short").await.expect("write");
        drop(stream);
    }

    // The cluster still works, over the same ports.
    let q = cluster.q(leader).clone();
    let index = q.propose(b"still alive".to_vec()).await.expect("propose");
    cluster.wait_applied_on(1..=3, index).await;
    let answer = cluster
        .q(follower)
        .call_leader(b"forwarded".to_vec(), WAIT)
        .await
        .expect("call_leader");
    parse_ok(&answer);
    cluster.shutdown_all().await;
}
