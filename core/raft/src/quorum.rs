//! [`Quorum`]: one running member of the metadata quorum.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use openraft::error::{ClientWriteError, Fatal, RaftError};
use openraft::{BasicNode, ChangeMembers, Raft, ServerState};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::QuorumConfig;
use crate::error::QuorumError;
use crate::log_store::LogStore;
use crate::network::{Network, Transport};
use crate::server::{self, ServerCtx};
use crate::startup;
use crate::state_machine::SmStore;
use crate::status::{self, QuorumStatus};
use crate::wire::{Request, Response};
use crate::{LeaderHandler, NodeId, StateMachine, TypeConfig};

type WriteError = RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>;

/// A running quorum member. Create with [`Quorum::start`]; stop with
/// [`Quorum::shutdown`] (dropping it only stops the listener).
pub struct Quorum {
    id: NodeId,
    raft: Raft<TypeConfig>,
    local_addr: SocketAddr,
    transport: Arc<Transport>,
    handler: Arc<dyn LeaderHandler>,
    applied: watch::Receiver<u64>,
    committed: Arc<AtomicU64>,
    leader_tx: watch::Sender<Option<NodeId>>,
    stop_tx: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Held while running so that two nodes never share a directory.
    dir_lock: Mutex<Option<File>>,
    propose_timeout: Duration,
    max_record: usize,
    retry_pause: Duration,
}

impl Quorum {
    /// Binds `config.listen` and starts; see [`Quorum::start_with_listener`].
    pub async fn start(
        config: QuorumConfig,
        state: Arc<dyn StateMachine>,
        handler: Arc<dyn LeaderHandler>,
    ) -> Result<Arc<Quorum>, QuorumError> {
        config.validate()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| QuorumError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Quorum::start_with_listener(config, listener, state, handler).await
    }

    /// Opens storage in `config.dir` (restoring `state` from the snapshot),
    /// serves the cluster port on `listener` (`config.listen` is ignored) and
    /// starts Raft. Returns once the node runs, before any leader exists.
    /// Voters whose directory is empty form the cluster with `config.voters`
    /// in the background (see the crate docs on bootstrap).
    pub async fn start_with_listener(
        config: QuorumConfig,
        listener: TcpListener,
        state: Arc<dyn StateMachine>,
        handler: Arc<dyn LeaderHandler>,
    ) -> Result<Arc<Quorum>, QuorumError> {
        config.validate()?;
        let raft_config = Arc::new(config.raft_config()?);
        let local_addr = listener.local_addr().map_err(|source| QuorumError::Bind {
            addr: config.listen,
            source,
        })?;
        let dir_lock = startup::lock_dir(config.dir.clone()).await?;
        let log = LogStore::open(config.dir.clone(), config.segment_bytes, true).await?;
        let committed = log.committed_index();
        let sm = SmStore::open(config.dir.clone(), state).await?;
        let applied = sm.applied();
        let transport = Arc::new(Transport::new(&config));
        let network = Network {
            transport: transport.clone(),
        };
        let raft = Raft::new(config.node_id, raft_config, network, log, sm)
            .await
            .map_err(|e| QuorumError::Raft(format!("cannot start raft: {e}")))?;

        let (stop_tx, stop_rx) = watch::channel(false);
        let ctx = Arc::new(ServerCtx {
            id: config.node_id,
            raft: raft.clone(),
            handler: handler.clone(),
            transport: transport.clone(),
            max_frame: config.max_frame_bytes,
            tls: config.tls.clone(),
        });
        let server = tokio::spawn(server::serve(listener, ctx, stop_rx.clone()));
        let (leader_tx, _) = watch::channel(None);
        let watcher = tokio::spawn(startup::watch_leader(
            raft.metrics(),
            leader_tx.clone(),
            stop_rx.clone(),
        ));
        let boot = tokio::spawn(startup::bootstrap(
            raft.clone(),
            config.node_id,
            config.voters.clone(),
            config.election_timeout_max,
            stop_rx,
        ));
        let quorum = Arc::new(Quorum {
            id: config.node_id,
            raft,
            local_addr,
            transport,
            handler,
            applied,
            committed,
            leader_tx,
            stop_tx,
            tasks: Mutex::new(vec![server, watcher, boot]),
            dir_lock: Mutex::new(Some(dir_lock)),
            propose_timeout: config.propose_timeout,
            max_record: config.max_record_bytes,
            retry_pause: config.heartbeat_interval,
        });
        Ok(quorum)
    }

    /// The bound cluster address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn node_id(&self) -> NodeId {
        self.id
    }

    /// Leader only: appends `record` and returns its index once it is
    /// committed and applied here, waiting at most `propose_timeout`.
    pub async fn propose(&self, record: Vec<u8>) -> Result<u64, QuorumError> {
        self.propose_within(record, self.propose_timeout).await
    }

    /// [`Quorum::propose`] with an explicit time limit. On `Timeout` the
    /// record may still commit later (Raft cannot take it back).
    pub async fn propose_within(
        &self,
        record: Vec<u8>,
        timeout: Duration,
    ) -> Result<u64, QuorumError> {
        if record.len() > self.max_record {
            return Err(QuorumError::RecordTooLarge {
                size: record.len(),
                max: self.max_record,
            });
        }
        self.check_running()?;
        let started = Instant::now();
        let index = match tokio::time::timeout(timeout, self.raft.client_write(record)).await {
            Err(_) => return Err(QuorumError::Timeout(timeout)),
            Ok(Err(e)) => return Err(self.write_error(e)),
            Ok(Ok(resp)) => resp.log_id.index,
        };
        // openraft answers after applying; this makes that promise explicit.
        let left = timeout.saturating_sub(started.elapsed());
        self.wait_applied(index, left.max(Duration::from_millis(1)))
            .await?;
        Ok(index)
    }

    /// Sends `request` to the [`LeaderHandler`] of the current leader (this
    /// node's own handler if it leads) and returns its answer. Waits up to
    /// `timeout` for a leader and retries when the leader changes or a
    /// connection fails, so a request can reach a handler more than once:
    /// handlers should be idempotent (or detect repeats).
    pub async fn call_leader(
        &self,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, QuorumError> {
        let deadline = Instant::now() + timeout;
        let mut leader_rx = self.leader_tx.subscribe();
        let mut hint: Option<String> = None;
        let mut next_voter = 0usize;
        loop {
            self.check_running()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(QuorumError::Timeout(timeout));
            }
            if self.is_leader() {
                return tokio::time::timeout(left, self.handler.handle(request))
                    .await
                    .map_err(|_| QuorumError::Timeout(timeout));
            }
            // Ask the known leader; without one, ask the voters in turn: any
            // of them may know it (this is how a learner that has not heard
            // from the leader yet finds it).
            let target = hint
                .take()
                .or_else(|| self.leader_addr())
                .or_else(|| self.pick_voter(&mut next_voter));
            let mut retry_now = false;
            if let Some(addr) = &target {
                let body = Request::Leader {
                    request: request.clone(),
                };
                match self.transport.call(addr, body, left).await {
                    Ok(Response::Leader(answer)) => return Ok(answer),
                    Ok(Response::NotLeader { addr: Some(a), .. })
                        if Some(&a) != target.as_ref() =>
                    {
                        hint = Some(a);
                        retry_now = true;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(addr, error = %e, "forwarding to the leader failed"),
                }
            }
            if !retry_now {
                let pause = self
                    .retry_pause
                    .min(deadline.saturating_duration_since(Instant::now()));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = leader_rx.changed() => {}
                }
            }
        }
    }

    /// Waits until this node's state machine has applied `index`.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<(), QuorumError> {
        let mut applied = self.applied.clone();
        let waited = tokio::time::timeout(timeout, applied.wait_for(|&next| next > index)).await;
        match waited.map(|r| r.map(|_| ())) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(QuorumError::Shutdown),
            Err(_) => Err(QuorumError::Timeout(timeout)),
        }
    }

    pub fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    /// The known leader, updated as it changes (`None` during elections and
    /// after shutdown). For starting and stopping leader-only duties, compare
    /// with [`Quorum::node_id`].
    pub fn leader_watch(&self) -> watch::Receiver<Option<NodeId>> {
        self.leader_tx.subscribe()
    }

    /// Leader, term, high watermark and per-replica progress (DescribeQuorum).
    pub fn status(&self) -> QuorumStatus {
        let committed = self.committed.load(Ordering::Relaxed).checked_sub(1);
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        status::build(&m, &self.transport, committed)
    }

    /// Leader only: adds `id` as a learner (a non-voting member that receives
    /// the log) at `addr`. Idempotent: a known learner with the same address,
    /// or a voter, is left as is; a known learner's new address is updated.
    pub async fn add_learner(&self, id: NodeId, addr: String) -> Result<(), QuorumError> {
        self.check_running()?;
        let (leads, leader, current) = {
            let metrics = self.raft.metrics();
            let m = metrics.borrow();
            let membership = m.membership_config.membership();
            let is_voter = membership.voter_ids().any(|v| v == id);
            let current = if is_voter {
                Some(None)
            } else {
                membership.get_node(&id).map(|n| Some(n.addr.clone()))
            };
            (m.state == ServerState::Leader, m.current_leader, current)
        };
        if !leads {
            return Err(QuorumError::NotLeader { leader });
        }
        let node = BasicNode::new(&addr);
        let change = match current {
            Some(None) => return Ok(()),
            Some(Some(known)) if known == addr => return Ok(()),
            Some(Some(_)) => {
                let set = BTreeMap::from([(id, node)]);
                tokio::time::timeout(
                    self.propose_timeout,
                    self.raft
                        .change_membership(ChangeMembers::SetNodes(set), true),
                )
                .await
            }
            None => {
                tokio::time::timeout(self.propose_timeout, self.raft.add_learner(id, node, false))
                    .await
            }
        };
        match change {
            Err(_) => Err(QuorumError::Timeout(self.propose_timeout)),
            Ok(Err(e)) => Err(self.write_error(e)),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// Stops the listener and Raft and releases the directory, which stays
    /// for a restart. Later calls return at once; other calls then fail with
    /// `Shutdown`.
    pub async fn shutdown(&self) {
        if self.stop_tx.send_replace(true) {
            return;
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not stop cleanly");
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "a quorum task failed");
            }
        }
        self.transport.close_all();
        self.dir_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn write_error(&self, e: WriteError) -> QuorumError {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => QuorumError::NotLeader {
                leader: f.leader_id,
            },
            RaftError::APIError(ClientWriteError::ChangeMembershipError(c)) => {
                QuorumError::Raft(c.to_string())
            }
            RaftError::Fatal(Fatal::Stopped) if self.check_running().is_ok() => {
                // openraft reports a reply it dropped while still running as
                // `Stopped`; the node is not shutting down, so say what is known.
                let running = self.raft.metrics().borrow().running_state.is_ok();
                if running {
                    QuorumError::Raft("the write got no answer; its outcome is unknown".into())
                } else {
                    QuorumError::Shutdown
                }
            }
            RaftError::Fatal(Fatal::Stopped) => QuorumError::Shutdown,
            RaftError::Fatal(f) => QuorumError::Raft(f.to_string()),
        }
    }

    fn check_running(&self) -> Result<(), QuorumError> {
        if *self.stop_tx.borrow() {
            Err(QuorumError::Shutdown)
        } else {
            Ok(())
        }
    }

    fn leader_addr(&self) -> Option<String> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let leader = m.current_leader.filter(|&l| l != self.id)?;
        let node = m.membership_config.membership().get_node(&leader);
        self.transport
            .address_of(leader, node.map(|n| n.addr.as_str()))
    }

    fn pick_voter(&self, next: &mut usize) -> Option<String> {
        let others: Vec<&String> = self
            .transport
            .voters()
            .iter()
            .filter(|(&id, _)| id != self.id)
            .map(|(_, a)| a)
            .collect();
        let addr = others
            .get(*next % others.len().max(1))
            .map(|a| a.to_string());
        *next = next.wrapping_add(1);
        addr
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        // Without `shutdown` at least stop serving; Raft's own tasks end
        // when their last handle goes away.
        self.stop_tx.send_replace(true);
    }
}
