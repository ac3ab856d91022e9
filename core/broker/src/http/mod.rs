//! The broker's HTTP listener (`strom.http.listen`, default
//! 127.0.0.1:9644): Prometheus metrics at `/metrics`, `/healthz` and
//! `/readyz` for probes, and the console's JSON API under `/v1` ([`api`]). It starts before the logs are recovered, so
//! `/readyz` can say the broker is not ready yet. It shares the broker's
//! runtime but cannot hold up the Kafka listener: each request does a
//! bounded amount of work, at most [`MAX_IN_FLIGHT`] run at once (more are
//! answered 503 at once), and past [`MAX_CONNECTIONS`] new connections are
//! closed as they come.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

mod api;

use crate::config::{BrokerSettings, HTTP_LISTEN};
use crate::error::BrokerError;
use crate::metrics::collect;
use crate::state::Broker;

/// HTTP requests served at once; more wait for none and get 503.
const MAX_IN_FLIGHT: usize = 16;
/// HTTP connections open at once (its own limit, apart from Kafka's).
const MAX_CONNECTIONS: usize = 64;

/// What the HTTP handlers read: the broker, once its logs are open, and
/// whether it serves Kafka yet.
pub struct Status {
    broker: OnceLock<Weak<Broker>>,
    ready: AtomicBool,
    in_flight: Semaphore,
}

impl Status {
    fn new() -> Status {
        Status {
            broker: OnceLock::new(),
            ready: AtomicBool::new(false),
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        }
    }

    /// The logs are open: metrics can be read.
    pub fn opened(&self, broker: &Arc<Broker>) {
        let _ = self.broker.set(Arc::downgrade(broker));
    }

    /// The broker serves Kafka (listeners bound, and in a cluster caught
    /// up with the metadata).
    pub fn serving(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

/// The running HTTP listener: its address, and its task (aborted on drop).
pub struct HttpListener {
    pub address: SocketAddr,
    pub status: Arc<Status>,
    task: JoinHandle<()>,
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds and starts the HTTP listener, or `None` when it is off, or when
/// the default address is taken (the broker starts without it and says
/// so; an address the user set must bind).
pub async fn start(settings: &BrokerSettings) -> Result<Option<HttpListener>, BrokerError> {
    let Some(address) = settings.http_listen.as_deref() else {
        return Ok(None);
    };
    let socket = match TcpListener::bind(address).await {
        Ok(socket) => socket,
        Err(e) if !settings.http_listen_explicit => {
            tracing::warn!(
                address,
                "no HTTP listener (metrics, health): cannot bind the default address: {e}; set {HTTP_LISTEN} to another address or off"
            );
            return Ok(None);
        }
        Err(source) => {
            return Err(BrokerError::Bind {
                addr: address.to_string(),
                source,
            })
        }
    };
    let address = socket.local_addr().map_err(|source| BrokerError::Bind {
        addr: address.to_string(),
        source,
    })?;
    let status = Arc::new(Status::new());
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/v1/cluster",
            get(|state| json_of(state, |b| api::cluster(b))),
        )
        .route(
            "/v1/topics",
            get(|state| json_of(state, |b| api::topics(b))),
        )
        .route("/v1/groups", get(|state| json_of(state, api::groups)))
        .with_state(status.clone());
    let task = tokio::spawn(async move {
        let listener = Limited {
            socket,
            slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        };
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the HTTP listener stopped: {e}");
        }
    });
    Ok(Some(HttpListener {
        address,
        status,
        task,
    }))
}

/// The HTTP socket, accepting at most [`MAX_CONNECTIONS`] at once.
struct Limited {
    socket: TcpListener,
    slots: Arc<Semaphore>,
}

impl axum::serve::Listener for Limited {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            let (stream, peer) = match self.socket.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // E.g. out of file descriptors: do not spin on it.
                    tracing::debug!("accepting an HTTP connection failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            match self.slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    return (
                        Counted {
                            stream,
                            _slot: slot,
                        },
                        peer,
                    )
                }
                // Full: this one is closed as it is dropped.
                Err(_) => tracing::debug!(%peer, "too many HTTP connections; closing a new one"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

/// An HTTP connection, holding its slot until it closes.
struct Counted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The process serves HTTP: it is alive.
async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 once the broker serves Kafka; 503 while it recovers its logs or
/// (in a cluster) catches up with the metadata.
async fn readyz(State(status): State<Arc<Status>>) -> Response {
    if status.ready.load(Ordering::Acquire) {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let why = match status.broker.get() {
        None => "starting: recovering logs\n",
        Some(_) => "starting: joining the cluster\n",
    };
    (StatusCode::SERVICE_UNAVAILABLE, why).into_response()
}

/// Runs `work` off the runtime's async threads (reading every partition
/// and group is blocking work), as one of the [`MAX_IN_FLIGHT`] requests
/// allowed at once; the answer to send when it cannot run or failed.
async fn bounded<T: Send + 'static>(
    status: &Status,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    let Ok(_permit) = status.in_flight.try_acquire() else {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "busy: too many HTTP requests\n",
        )
            .into_response());
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "failed\n").into_response())
}

/// A `/v1` answer: `view` of the broker; 503 while its logs are not open
/// yet.
async fn json_of(
    State(status): State<Arc<Status>>,
    view: fn(&Arc<Broker>) -> serde_json::Value,
) -> Response {
    let Some(broker) = status.broker.get().and_then(Weak::upgrade) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "starting: recovering logs\n",
        )
            .into_response();
    };
    match bounded(&status, move || view(&broker)).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(refused) => refused,
    }
}

async fn metrics(State(status): State<Arc<Status>>) -> Response {
    let broker = status.broker.get().cloned().unwrap_or_default();
    match bounded(&status, move || collect::render(&broker)).await {
        Ok(Ok(text)) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Ok(Err(_)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics could not be encoded\n",
        )
            .into_response(),
        Err(refused) => refused,
    }
}
