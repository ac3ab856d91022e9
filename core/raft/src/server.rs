//! Server side of the cluster port. Every connection is its own task: bad
//! input (oversized frame, undecodable bytes, wrong version) ends that task
//! and closes only that connection.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::{Raft, ServerState};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::codec::{self, read_frame, write_frame};
use crate::error::TransportError;
use crate::network::Transport;
use crate::tls::{self, ClusterTls, Conn};
use crate::wire::{Envelope, Request, Response, WIRE_VERSION};
use crate::{LeaderHandler, NodeId, TypeConfig};

/// Connections beyond this are closed at once; a real cluster needs a few
/// per peer, so hitting it means something is flooding the port.
const MAX_CONNECTIONS: usize = 1024;
/// Pooled peer connections sit idle between RPCs; past this they are closed
/// (peers reconnect transparently).
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A peer that does not read its answer within this is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct ServerCtx {
    pub(crate) id: NodeId,
    pub(crate) raft: Raft<TypeConfig>,
    pub(crate) handler: Arc<dyn LeaderHandler>,
    pub(crate) transport: Arc<Transport>,
    pub(crate) max_frame: usize,
    pub(crate) tls: Option<ClusterTls>,
}

/// Accepts connections until `stop` flips (or its sender is dropped), then
/// closes the listener and every connection it accepted.
pub(crate) async fn serve(
    listener: TcpListener,
    ctx: Arc<ServerCtx>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    while !*stop.borrow() {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if conns.len() >= MAX_CONNECTIONS {
                        tracing::warn!(%peer, "too many cluster connections; closing a new one");
                        continue;
                    }
                    let ctx = ctx.clone();
                    conns.spawn(async move {
                        let served = async {
                            stream.set_nodelay(true)?;
                            let conn = tls::accept(ctx.tls.as_ref(), stream).await?;
                            serve_conn(conn, &ctx).await
                        };
                        match served.await {
                            // A stranger on the cluster port, or a member
                            // whose certificates are wrong: worth seeing.
                            Err(e @ TransportError::Tls(_)) => {
                                tracing::warn!(%peer, error = %e, "cluster connection refused")
                            }
                            Err(e) => tracing::debug!(%peer, error = %e, "cluster connection closed"),
                            Ok(()) => {}
                        }
                    });
                }
                Err(e) => {
                    // E.g. out of file descriptors: do not spin on it.
                    tracing::warn!(error = %e, "accepting a cluster connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    conns.shutdown().await;
}

async fn serve_conn(mut stream: Conn, ctx: &ServerCtx) -> Result<(), TransportError> {
    loop {
        let frame = match tokio::time::timeout(IDLE_TIMEOUT, read_frame(&mut stream, ctx.max_frame))
            .await
        {
            Err(_) | Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Some(frame))) => frame,
        };
        let envelope: Envelope = codec::decode(&frame)?;
        let resp = if envelope.version == WIRE_VERSION {
            dispatch(ctx, envelope.body).await
        } else {
            Response::Refused(format!(
                "wire version {} is not supported (this node speaks {WIRE_VERSION})",
                envelope.version
            ))
        };
        let mut bytes = codec::encode(&resp)?;
        if bytes.len() > ctx.max_frame {
            bytes = codec::encode(&Response::Refused("answer exceeds the frame limit".into()))?;
        }
        tokio::time::timeout(WRITE_TIMEOUT, write_frame(&mut stream, &bytes))
            .await
            .map_err(|_| TransportError::Timeout(WRITE_TIMEOUT))??;
    }
}

fn wrong_target(ctx: &ServerCtx, to: NodeId) -> Response {
    Response::Refused(format!("this is node {}, not node {to}", ctx.id))
}

async fn dispatch(ctx: &ServerCtx, req: Request) -> Response {
    match req {
        Request::AppendEntries { to, .. }
        | Request::Vote { to, .. }
        | Request::InstallSnapshot { to, .. }
            if to != ctx.id =>
        {
            wrong_target(ctx, to)
        }
        Request::AppendEntries { rpc, .. } => match ctx.raft.append_entries(rpc).await {
            Ok(r) => Response::AppendEntries(r),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::Vote { rpc, .. } => match ctx.raft.vote(rpc).await {
            Ok(r) => Response::Vote(r),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::InstallSnapshot { rpc, .. } => match ctx.raft.install_snapshot(rpc).await {
            Ok(r) => Response::InstallSnapshot(r),
            Err(RaftError::APIError(InstallSnapshotError::SnapshotMismatch(m))) => {
                Response::SnapshotMismatch(m)
            }
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::Leader { request } => {
            let (leads, leader, leader_addr) = {
                let metrics = ctx.raft.metrics();
                let m = metrics.borrow();
                let leads = m.state == ServerState::Leader && m.current_leader == Some(ctx.id);
                let addr = m.current_leader.and_then(|l| {
                    let node = m.membership_config.membership().get_node(&l);
                    ctx.transport.address_of(l, node.map(|n| n.addr.as_str()))
                });
                (leads, m.current_leader, addr)
            };
            if leads {
                Response::Leader(ctx.handler.handle(request).await)
            } else {
                Response::NotLeader {
                    leader: leader.filter(|&l| l != ctx.id),
                    addr: leader_addr,
                }
            }
        }
    }
}
