//! Background pieces of a running node: cluster bootstrap, the leader watch
//! and the directory lock.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::Duration;

use openraft::error::{Fatal, InitializeError, RaftError};
use openraft::{BasicNode, Raft, RaftMetrics};
use tokio::sync::watch;

use crate::error::StoreError;
use crate::{NodeId, TypeConfig};

/// Forms a brand-new cluster. Every voter may write the initial membership
/// (they all write the same entry at index 0, so any number of them doing it
/// is safe), but they take turns: the lowest id at once, the next one
/// `stagger` later if by then it has not received that entry from a leader,
/// and so on. Without turns all voters would start competing elections at
/// once, and the first leader would often be deposed within a second.
pub(crate) async fn bootstrap(
    raft: Raft<TypeConfig>,
    id: NodeId,
    voters: BTreeMap<NodeId, String>,
    stagger: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let Some(rank) = voters.keys().position(|&v| v == id) else {
        // Not a voter: a learner-to-be waits for the leader to add it.
        return;
    };
    match raft.is_initialized().await {
        Ok(false) => {}
        Ok(true) => return warn_if_voters_differ(&raft, &voters),
        Err(e) => return tracing::warn!(error = %e, "cannot check the raft state"),
    }
    let turn = stagger.saturating_mul(u32::try_from(rank).unwrap_or(u32::MAX));
    tokio::select! {
        _ = tokio::time::sleep(turn) => {}
        _ = stop.changed() => return,
    }
    if matches!(raft.is_initialized().await, Ok(true)) {
        return;
    }
    let members: BTreeMap<NodeId, BasicNode> = voters
        .iter()
        .map(|(&id, addr)| (id, BasicNode::new(addr)))
        .collect();
    match raft.initialize(members).await {
        // NotAllowed: a leader's log reached this node meanwhile, the goal.
        Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
        // Shut down meanwhile.
        Err(RaftError::Fatal(Fatal::Stopped)) => {}
        Err(e) => tracing::error!(error = %e, "cannot initialize the quorum"),
    }
}

fn warn_if_voters_differ(raft: &Raft<TypeConfig>, voters: &BTreeMap<NodeId, String>) {
    let stored: Vec<NodeId> = {
        let metrics = raft.metrics();
        let m = metrics.borrow();
        m.membership_config.membership().voter_ids().collect()
    };
    if !stored.iter().eq(voters.keys()) {
        tracing::warn!(
            ?stored,
            configured = ?voters.keys().collect::<Vec<_>>(),
            "configured voters differ from the replicated membership; the replicated one is used"
        );
    }
}

/// Publishes leader changes from openraft's metrics until stopped, then
/// publishes `None` so that leader-only duties stop.
pub(crate) async fn watch_leader(
    mut metrics: watch::Receiver<RaftMetrics<NodeId, BasicNode>>,
    tx: watch::Sender<Option<NodeId>>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let leader = metrics.borrow_and_update().current_leader;
        tx.send_if_modified(|current| std::mem::replace(current, leader) != leader);
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { break },
            changed = stop.changed() => if changed.is_err() { break },
        }
    }
    tx.send_replace(None);
}

/// Takes an advisory lock on `dir/lock` (creating `dir`), so that two nodes
/// never write the same log. Released when the file is closed.
pub(crate) async fn lock_dir(dir: PathBuf) -> Result<File, StoreError> {
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(file),
            Err(fs4::TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
            Err(fs4::TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
        }
    })
    .await
    .map_err(|e| StoreError::Background(e.to_string()))?
}
