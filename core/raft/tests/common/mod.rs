//! Test harness: clusters of real nodes on 127.0.0.1 with a tempdir each.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use strom_raft::{LeaderHandler, NodeId, Quorum, QuorumConfig, QuorumError, StateMachine};
use tokio::net::TcpListener;

/// Applied `(index, record)` pairs, and how many times `restore` ran.
type Applied = (Vec<(u64, Vec<u8>)>, usize);

/// A state machine that remembers every record it applied, in order.
#[derive(Default)]
pub struct Records {
    inner: Mutex<Applied>,
}

impl Records {
    pub fn list(&self) -> Vec<(u64, Vec<u8>)> {
        self.inner.lock().expect("lock").0.clone()
    }
    pub fn restores(&self) -> usize {
        self.inner.lock().expect("lock").1
    }
}

impl StateMachine for Records {
    fn apply(&self, index: u64, record: &[u8]) {
        let mut inner = self.inner.lock().expect("lock");
        if let Some((last, _)) = inner.0.last() {
            assert!(index > *last, "apply out of order: {index} after {last}");
        }
        inner.0.push((index, record.to_vec()));
    }
    fn snapshot(&self) -> Vec<u8> {
        let inner = self.inner.lock().expect("lock");
        let mut out = Vec::new();
        for (index, record) in &inner.0 {
            out.extend_from_slice(&index.to_be_bytes());
            out.extend_from_slice(&(record.len() as u32).to_be_bytes());
            out.extend_from_slice(record);
        }
        out
    }
    fn restore(&self, mut snapshot: &[u8]) {
        let mut list = Vec::new();
        while !snapshot.is_empty() {
            let index = u64::from_be_bytes(snapshot[..8].try_into().expect("index"));
            let len = u32::from_be_bytes(snapshot[8..12].try_into().expect("len")) as usize;
            list.push((index, snapshot[12..12 + len].to_vec()));
            snapshot = &snapshot[12 + len..];
        }
        let mut inner = self.inner.lock().expect("lock");
        inner.0 = list;
        inner.1 += 1;
    }
}

/// The "controller": proposes each request and answers "OK <index>".
#[derive(Default)]
pub struct Controller {
    quorum: OnceLock<Weak<Quorum>>,
}

impl LeaderHandler for Controller {
    fn handle(&self, request: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>> {
        let quorum = self.quorum.get().and_then(Weak::upgrade);
        Box::pin(async move {
            let Some(quorum) = quorum else {
                return b"ERR not started".to_vec();
            };
            match quorum.propose(request).await {
                Ok(index) => format!("OK {index}").into_bytes(),
                Err(e) => format!("ERR {e}").into_bytes(),
            }
        })
    }
}

pub fn parse_ok(answer: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(answer);
    text.strip_prefix("OK ")
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("handler answered {text:?}"))
}

pub struct Node {
    pub id: NodeId,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub state: Arc<Records>,
    pub quorum: Option<Arc<Quorum>>,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub voters: BTreeMap<NodeId, String>,
    tune: fn(&mut QuorumConfig),
    _dirs: Vec<tempfile::TempDir>,
}

/// Fast timings so that tests do not wait long for elections.
pub fn fast(config: &mut QuorumConfig) {
    config.heartbeat_interval = Duration::from_millis(100);
    config.election_timeout_min = Duration::from_millis(500);
    config.election_timeout_max = Duration::from_millis(1000);
    config.propose_timeout = Duration::from_secs(5);
}

impl Cluster {
    pub async fn start(count: u64, tune: fn(&mut QuorumConfig)) -> Cluster {
        let mut listeners = Vec::new();
        for _ in 0..count {
            listeners.push(TcpListener::bind("127.0.0.1:0").await.expect("bind"));
        }
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr"))
            .collect();
        let voters: BTreeMap<NodeId, String> = (1..=count)
            .zip(addrs.iter().map(|a| a.to_string()))
            .collect();
        let mut cluster = Cluster {
            nodes: Vec::new(),
            voters,
            tune,
            _dirs: Vec::new(),
        };
        for (i, listener) in listeners.into_iter().enumerate() {
            let dir = tempfile::tempdir().expect("tempdir");
            let node = Node {
                id: i as u64 + 1,
                addr: addrs[i],
                dir: dir.path().to_path_buf(),
                state: Arc::new(Records::default()),
                quorum: None,
            };
            cluster._dirs.push(dir);
            cluster.nodes.push(node);
            cluster.launch(i as u64 + 1, Some(listener)).await;
        }
        cluster
    }

    /// Starts one more node that is not a voter (a broker that must be
    /// added as a learner); returns its id.
    pub async fn start_outsider(&mut self) -> NodeId {
        let id = self.nodes.len() as NodeId + 1;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let dir = tempfile::tempdir().expect("tempdir");
        self.nodes.push(Node {
            id,
            addr: listener.local_addr().expect("addr"),
            dir: dir.path().to_path_buf(),
            state: Arc::new(Records::default()),
            quorum: None,
        });
        self._dirs.push(dir);
        self.launch(id, Some(listener)).await;
        id
    }

    pub fn config(&self, id: NodeId) -> QuorumConfig {
        let node = self.node(id);
        let mut config = QuorumConfig::new(id, node.addr, self.voters.clone(), node.dir.clone());
        (self.tune)(&mut config);
        config
    }

    async fn launch(&mut self, id: NodeId, listener: Option<TcpListener>) {
        let config = self.config(id);
        let state = self.node(id).state.clone();
        let controller = Arc::new(Controller::default());
        let quorum = match listener {
            Some(l) => Quorum::start_with_listener(config, l, state, controller.clone()).await,
            None => Quorum::start(config, state, controller.clone()).await,
        }
        .expect("start node");
        controller
            .quorum
            .set(Arc::downgrade(&quorum))
            .expect("set once");
        self.node_mut(id).quorum = Some(quorum);
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize - 1]
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize - 1]
    }

    pub fn q(&self, id: NodeId) -> &Arc<Quorum> {
        self.node(id).quorum.as_ref().expect("node is running")
    }

    pub fn running(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.quorum.is_some())
            .map(|n| n.id)
            .collect()
    }

    pub async fn stop(&mut self, id: NodeId) {
        if let Some(q) = self.node_mut(id).quorum.take() {
            q.shutdown().await;
        }
    }

    /// Restarts `id` from its directory with an empty state machine, on the
    /// same address.
    pub async fn restart(&mut self, id: NodeId) {
        self.node_mut(id).state = Arc::new(Records::default());
        self.launch(id, None).await;
    }

    /// Waits for a running node to lead with every running node agreeing.
    pub async fn leader(&self, within: Duration) -> NodeId {
        let mut found = None;
        wait_until(within, "an agreed leader", || {
            let running: Vec<NodeId> = self
                .running()
                .into_iter()
                .filter(|id| self.voters.contains_key(id))
                .collect();
            found = running.iter().copied().find(|&id| self.q(id).is_leader());
            found.is_some_and(|l| {
                running
                    .iter()
                    .all(|&id| self.q(id).status().leader == Some(l))
            })
        })
        .await;
        found.expect("leader")
    }

    /// Proposes on the current leader, retrying if leadership moves first
    /// (a `NotLeader` proposal was never appended, so a retry cannot
    /// duplicate it).
    pub async fn propose(&self, record: Vec<u8>) -> (NodeId, u64) {
        for _ in 0..20 {
            let leader = self.leader(Duration::from_secs(10)).await;
            match self.q(leader).propose(record.clone()).await {
                Ok(index) => return (leader, index),
                Err(QuorumError::NotLeader { .. }) => continue,
                Err(e) => panic!("propose on {leader}: {e}"),
            }
        }
        panic!("leadership kept moving");
    }

    /// Waits until every node in `ids` has applied `index`.
    pub async fn wait_applied_on(&self, ids: impl IntoIterator<Item = NodeId>, index: u64) {
        for id in ids {
            self.q(id)
                .wait_applied(index, Duration::from_secs(10))
                .await
                .unwrap_or_else(|e| panic!("node {id} did not apply {index}: {e}"));
        }
    }

    pub async fn wait_records(
        &self,
        id: NodeId,
        count: usize,
        within: Duration,
    ) -> Vec<(u64, Vec<u8>)> {
        let state = self.node(id).state.clone();
        wait_until(within, &format!("{count} records on node {id}"), || {
            state.list().len() >= count
        })
        .await;
        state.list()
    }

    pub async fn shutdown_all(&mut self) {
        for id in self.running() {
            self.stop(id).await;
        }
    }
}

/// Polls `cond` every 20 ms; panics with `what` after `within`.
pub async fn wait_until(within: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn payload(i: usize) -> Vec<u8> {
    format!("record-{i}").into_bytes()
}
