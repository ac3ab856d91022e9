//! Restarts from the same directory: snapshot + replay, catching up through a
//! snapshot from the leader, torn log tails, corrupt logs.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{fast, payload, Cluster, Controller, Records};
use strom_raft::{Quorum, QuorumError, StoreError};

const WAIT: Duration = Duration::from_secs(10);

/// Snapshots every 5 entries and keeps no log behind them, so a follower
/// that missed a few entries must be sent a snapshot.
fn snapshot_often(config: &mut strom_raft::QuorumConfig) {
    fast(config);
    config.snapshot_every = 5;
    config.keep_after_snapshot = 0;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_follower_catches_up_through_a_snapshot() {
    let mut cluster = Cluster::start(3, snapshot_often).await;
    for i in 0..8 {
        cluster.propose(payload(i)).await;
    }
    let leader = cluster.leader(WAIT).await;
    let follower = (1..=3).find(|&id| id != leader).expect("follower");
    cluster.wait_records(follower, 8, WAIT).await;
    cluster.stop(follower).await;

    for i in 8..30 {
        cluster.propose(payload(i)).await;
    }
    let leader = cluster.leader(WAIT).await;
    let expected = cluster.wait_records(leader, 30, WAIT).await;
    let dir = cluster.node(leader).dir.clone();
    assert!(dir.join("snapshot").exists(), "the leader took a snapshot");
    assert!(dir.join("purged").exists(), "the leader purged its log");

    cluster.restart(follower).await;
    // Its own snapshot is restored at start, then the leader's arrives.
    assert_eq!(
        cluster.wait_records(follower, 30, WAIT).await,
        expected,
        "follower state"
    );
    assert!(
        cluster.node(follower).state.restores() >= 2,
        "restored from the leader's snapshot"
    );
    cluster.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_restart_rebuilds_state_from_snapshot_and_log() {
    let mut cluster = Cluster::start(3, |c| {
        fast(c);
        c.snapshot_every = 5;
        c.keep_after_snapshot = 2;
    })
    .await;
    for i in 0..12 {
        cluster.propose(payload(i)).await;
    }
    let leader = cluster.leader(WAIT).await;
    let expected = cluster.node(leader).state.list();
    for id in 1..=3 {
        assert_eq!(cluster.wait_records(id, 12, WAIT).await, expected);
    }
    // A node's directory cannot be opened twice.
    let state = Arc::new(Records::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let controller = Arc::new(Controller::default());
    let second = Quorum::start_with_listener(cluster.config(1), listener, state, controller).await;
    assert!(
        matches!(second, Err(QuorumError::Storage(StoreError::Locked { .. }))),
        "second start on a locked dir"
    );
    cluster.shutdown_all().await;

    for id in 1..=3 {
        cluster.restart(id).await;
    }
    // Before any leader exists: snapshot restored, committed entries replayed.
    for id in 1..=3 {
        let node = cluster.node(id);
        assert_eq!(node.state.restores(), 1, "node {id} restored its snapshot");
        assert_eq!(node.state.list(), expected, "node {id} rebuilt its state");
    }
    let (_, index) = cluster.propose(b"after restart".to_vec()).await;
    cluster.wait_applied_on(1..=3, index).await;
    cluster.shutdown_all().await;
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir.join("log"))
        .expect("log dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    segments.pop().expect("a segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_log_tail_is_dropped_and_a_corrupt_log_refuses_to_start() {
    let mut cluster = Cluster::start(1, fast).await;
    for i in 0..5 {
        cluster.propose(payload(i)).await;
    }
    let expected = cluster.node(1).state.list();
    cluster.stop(1).await;

    // A crash in the middle of an append: a record header promising 1000
    // bytes, and only a few of them.
    let segment = last_segment(&cluster.node(1).dir);
    let good_len = fs::metadata(&segment).expect("stat").len();
    let mut torn = 1000u32.to_le_bytes().to_vec();
    torn.extend_from_slice(&[0xab; 4]);
    torn.extend_from_slice(&good_len.to_le_bytes());
    torn.extend_from_slice(b"partial");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .expect("open");
    file.write_all(&torn).expect("write");
    drop(file);

    cluster.restart(1).await;
    assert_eq!(cluster.node(1).state.list(), expected, "replayed");
    assert_eq!(
        fs::metadata(&segment).expect("stat").len(),
        good_len,
        "tail cut off"
    );
    let (_, index) = cluster.propose(b"after".to_vec()).await;
    assert!(index > expected.last().expect("records").0);
    cluster.stop(1).await;

    // Damage inside the first record, followed by intact later records:
    // data that had been fsynced went bad, so the node must not start.
    let mut data = fs::read(&segment).expect("read");
    data[20] ^= 0x55;
    fs::write(&segment, &data).expect("write");
    let state = Arc::new(Records::default());
    let result = Quorum::start(cluster.config(1), state, Arc::new(Controller::default())).await;
    match result {
        Err(e @ QuorumError::Storage(StoreError::Corrupt { .. })) => {
            let message = e.to_string();
            assert!(
                message.contains("corrupt") && message.contains("refuses to start"),
                "{message}"
            );
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a corrupt log must stop the node"),
    }
}
