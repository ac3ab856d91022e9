//! Client side of the cluster port: a small pool of reusable TCP connections
//! per peer, one request/response exchange per connection at a time, and
//! openraft's `RaftNetwork` on top of it.

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, Timeout,
    Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, RPCTypes};
use tokio::net::TcpStream;

use crate::codec::{self, read_frame, write_frame};
use crate::config::QuorumConfig;
use crate::error::TransportError;
use crate::tls::{self, ClusterTls, Conn};
use crate::wire::{Envelope, Request, Response, WIRE_VERSION};
use crate::{NodeId, TypeConfig};

pub(crate) struct Transport {
    local: NodeId,
    voters: BTreeMap<NodeId, String>,
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    tls: Option<ClusterTls>,
    per_peer: usize,
    connect_timeout: Duration,
    max_frame: usize,
    /// Wait before retrying an unreachable peer.
    backoff: Duration,
    /// When each peer last answered an RPC, for `Quorum::status`.
    contacts: Mutex<HashMap<NodeId, SystemTime>>,
}

impl Transport {
    pub(crate) fn new(config: &QuorumConfig) -> Transport {
        Transport {
            local: config.node_id,
            voters: config.voters.clone(),
            idle: Mutex::new(HashMap::new()),
            per_peer: config.connections_per_peer,
            connect_timeout: config.connect_timeout,
            tls: config.tls.clone(),
            max_frame: config.max_frame_bytes,
            backoff: (config.heartbeat_interval * 2).min(Duration::from_millis(500)),
            contacts: Mutex::new(HashMap::new()),
        }
    }

    /// Where to reach `id`: the configured voter address wins over the one in
    /// the replicated membership, so a voter that moved is found after its
    /// `--voters` entry is updated everywhere.
    pub(crate) fn address_of(&self, id: NodeId, membership_addr: Option<&str>) -> Option<String> {
        self.voters
            .get(&id)
            .cloned()
            .or_else(|| membership_addr.map(str::to_string))
            .filter(|a| !a.is_empty())
    }

    pub(crate) fn voters(&self) -> &BTreeMap<NodeId, String> {
        &self.voters
    }

    pub(crate) fn last_contact(&self, id: NodeId) -> Option<SystemTime> {
        let contacts = self.contacts.lock().unwrap_or_else(PoisonError::into_inner);
        contacts.get(&id).copied()
    }

    fn touch(&self, id: NodeId) {
        let mut contacts = self.contacts.lock().unwrap_or_else(PoisonError::into_inner);
        contacts.insert(id, SystemTime::now());
    }

    /// Drops every pooled connection (at shutdown).
    pub(crate) fn close_all(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Sends `body` to `addr` and waits up to `timeout` for the answer.
    pub(crate) async fn call(
        &self,
        addr: &str,
        body: Request,
        timeout: Duration,
    ) -> Result<Response, TransportError> {
        let frame = codec::encode(&Envelope {
            version: WIRE_VERSION,
            body,
        })?;
        if frame.len() > self.max_frame {
            return Err(TransportError::FrameTooLarge {
                len: frame.len(),
                max: self.max_frame,
            });
        }
        tokio::time::timeout(timeout, self.exchange(addr, &frame))
            .await
            .map_err(|_| TransportError::Timeout(timeout))?
    }

    async fn exchange(&self, addr: &str, frame: &[u8]) -> Result<Response, TransportError> {
        // A pooled connection may have been closed by the peer since (idle
        // timeout, restart); one failure on it is retried on a fresh one.
        if let Some(conn) = self.checkout(addr) {
            match self.roundtrip(conn, addr, frame).await {
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    tracing::debug!(addr, error = %e, "pooled connection failed; reconnecting")
                }
            }
        }
        let conn = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| TransportError::Timeout(self.connect_timeout))??;
        conn.set_nodelay(true)?;
        let conn = tls::connect(self.tls.as_ref(), addr, conn)
            .await
            .inspect_err(|e| {
                if let TransportError::Tls(_) = e {
                    tracing::warn!(addr, error = %e, "cannot reach a cluster member");
                }
            })?;
        self.roundtrip(conn, addr, frame).await
    }

    async fn roundtrip(
        &self,
        mut conn: Conn,
        addr: &str,
        frame: &[u8],
    ) -> Result<Response, TransportError> {
        write_frame(&mut conn, frame).await?;
        let answer = read_frame(&mut conn, self.max_frame)
            .await?
            .ok_or(TransportError::Closed)?;
        let resp: Response = codec::decode(&answer)?;
        // Only a connection that completed an exchange goes back to the pool;
        // one abandoned mid-way (timeout, error) is dropped and so closed.
        self.checkin(addr, conn);
        Ok(resp)
    }

    fn checkout(&self, addr: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.get_mut(addr).and_then(Vec::pop)
    }

    fn checkin(&self, addr: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let pool = idle.entry(addr.to_string()).or_default();
        if pool.len() < self.per_peer {
            pool.push(conn);
        }
    }
}

/// openraft's factory: one [`Peer`] per replication stream or vote round.
pub(crate) struct Network {
    pub(crate) transport: Arc<Transport>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            target,
            addr: self.transport.address_of(target, Some(&node.addr)),
            transport: self.transport.clone(),
        }
    }
}

pub(crate) struct Peer {
    target: NodeId,
    addr: Option<String>,
    transport: Arc<Transport>,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl Peer {
    async fn call(&self, body: Request, timeout: Duration) -> Result<Response, TransportError> {
        let Some(addr) = &self.addr else {
            return Err(TransportError::Refused(format!(
                "no address known for node {}",
                self.target
            )));
        };
        let resp = self.transport.call(addr, body, timeout).await?;
        if let Response::Refused(reason) = resp {
            return Err(TransportError::Refused(reason));
        }
        self.transport.touch(self.target);
        Ok(resp)
    }

    /// Maps a transport failure to what openraft expects: `Unreachable` makes
    /// it back off before retrying, `Timeout`/`Network` retry on its schedule.
    fn error<E: Error>(
        &self,
        e: TransportError,
        action: RPCTypes,
    ) -> RPCError<NodeId, BasicNode, E> {
        match e {
            TransportError::Timeout(timeout) => RPCError::Timeout(Timeout {
                action,
                id: self.transport.local,
                target: self.target,
                timeout,
            }),
            TransportError::Io(_)
            | TransportError::Closed
            | TransportError::Refused(_)
            | TransportError::Tls(_) => RPCError::Unreachable(Unreachable::new(&e)),
            TransportError::FrameTooLarge { .. }
            | TransportError::Codec(_)
            | TransportError::Unexpected(_) => RPCError::Network(NetworkError::new(&e)),
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        let entries = rpc.entries.len() as u64;
        let body = Request::AppendEntries {
            to: self.target,
            rpc,
        };
        match self.call(body, option.hard_ttl()).await {
            Ok(Response::AppendEntries(resp)) => Ok(resp),
            Ok(_) => Err(self.error(
                TransportError::Unexpected("append-entries"),
                RPCTypes::AppendEntries,
            )),
            // openraft resends fewer entries when told the payload is too big.
            Err(TransportError::FrameTooLarge { .. }) if entries > 1 => Err(
                RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(entries / 2)),
            ),
            Err(e) => Err(self.error(e, RPCTypes::AppendEntries)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let body = Request::InstallSnapshot {
            to: self.target,
            rpc,
        };
        match self.call(body, option.hard_ttl()).await {
            Ok(Response::InstallSnapshot(resp)) => Ok(resp),
            Ok(Response::SnapshotMismatch(m)) => Err(RPCError::RemoteError(RemoteError::new(
                self.target,
                RaftError::APIError(InstallSnapshotError::SnapshotMismatch(m)),
            ))),
            Ok(_) => Err(self.error(
                TransportError::Unexpected("install-snapshot"),
                RPCTypes::InstallSnapshot,
            )),
            Err(e) => Err(self.error(e, RPCTypes::InstallSnapshot)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        let body = Request::Vote {
            to: self.target,
            rpc,
        };
        match self.call(body, option.hard_ttl()).await {
            Ok(Response::Vote(resp)) => Ok(resp),
            Ok(_) => Err(self.error(TransportError::Unexpected("vote"), RPCTypes::Vote)),
            Err(e) => Err(self.error(e, RPCTypes::Vote)),
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(self.transport.backoff))
    }
}
