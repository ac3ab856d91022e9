//! The broker's HTTP listener (`strom.http.listen`, default
//! 127.0.0.1:9644): the web console at `/` ([`console`]), its JSON API
//! under `/v1` ([`api`], [`browse`], [`history`], [`actions`]),
//! Prometheus metrics at `/metrics`, and `/healthz` and `/readyz` for
//! probes. It starts before the logs are recovered, so `/readyz` can say
//! the broker is not ready yet. It shares the broker's runtime but cannot
//! hold up the Kafka listener: each request does a bounded amount of
//! work, at most [`MAX_IN_FLIGHT`] run at once (more are answered 503 at
//! once), and [`listener`] bounds connections and slow clients. Who may use the console and its actions: [`guard`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

mod actions;
mod api;
mod browse;
mod console;
mod guard;
mod history;
mod listener;
mod peers;
mod routes;

use crate::config::{BrokerSettings, HTTP_LISTEN};
use crate::error::BrokerError;
use crate::metrics::collect;
use crate::state::Broker;
use history::History;

/// HTTP requests served at once; more wait for none and get 503.
const MAX_IN_FLIGHT: usize = 16;
/// HTTP connections open at once (its own limit, apart from Kafka's).
const MAX_CONNECTIONS: usize = 64;
/// Largest request body (an action's JSON).
const MAX_BODY: usize = 64 << 10;

/// What the HTTP handlers read: the broker, once its logs are open,
/// whether it serves Kafka yet, and what the console may do.
pub struct Status {
    broker: OnceLock<Weak<Broker>>,
    ready: AtomicBool,
    in_flight: Semaphore,
    /// Message-browser requests at once ([`browse::MAX_AT_ONCE`]): each
    /// may decompress batches of megabytes.
    browsing: Semaphore,
    console: Console,
    history: History,
    /// Bound to a loopback address: requests must name a loopback host
    /// (see [`guard`]).
    loopback: bool,
}

/// What the console may do on this broker.
#[derive(Debug, Clone)]
pub struct Console {
    /// No actions (`strom.http.read.only`, or the authorizer is on).
    pub read_only: bool,
    /// The message browser shows records (not with the authorizer on: the
    /// console has no login to check ACLs against).
    pub browse_records: bool,
    /// Why the console is limited, for the page to show.
    pub reason: Option<&'static str>,
}

impl Console {
    fn from_settings(settings: &BrokerSettings) -> Console {
        let authorizer = settings.authorizer.enabled;
        let reason = if authorizer {
            Some("the authorizer is on and the console has no login: it shows no records and takes no actions")
        } else if settings.http_read_only {
            Some("strom.http.read.only=true")
        } else {
            None
        };
        Console {
            read_only: settings.http_read_only || authorizer,
            browse_records: !authorizer,
            reason,
        }
    }
}

impl Status {
    /// The logs are open: metrics can be read.
    pub fn opened(&self, broker: &Arc<Broker>) {
        let _ = self.broker.set(Arc::downgrade(broker));
    }

    /// The broker serves Kafka (listeners bound, and in a cluster caught
    /// up with the metadata).
    pub fn serving(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// The broker, once its logs are open.
    fn broker(&self) -> Option<Arc<Broker>> {
        self.broker.get().and_then(Weak::upgrade)
    }
}

/// The answer while the logs are not open yet.
fn starting() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "starting: recovering logs\n",
    )
        .into_response()
}

/// A `/v1` request that failed: its HTTP status and why, sent as
/// `{"error": "..."}`.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: String) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, message)
    }

    pub fn internal(message: String) -> Failure {
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// A Kafka error code as the HTTP status that says the same.
    pub fn from_kafka(code: i16, message: String) -> Failure {
        use strom_protocol::error_codes as e;
        let status = match code {
            e::UNKNOWN_TOPIC_OR_PARTITION | e::UNKNOWN_TOPIC_ID => StatusCode::NOT_FOUND,
            e::TOPIC_ALREADY_EXISTS | e::UNKNOWN_MEMBER_ID | e::REBALANCE_IN_PROGRESS => {
                StatusCode::CONFLICT
            }
            // Another broker coordinates the group: its console acts.
            e::NOT_COORDINATOR => StatusCode::MISDIRECTED_REQUEST,
            e::TOPIC_DELETION_DISABLED
            | e::TOPIC_AUTHORIZATION_FAILED
            | e::GROUP_AUTHORIZATION_FAILED
            | e::CLUSTER_AUTHORIZATION_FAILED => StatusCode::FORBIDDEN,
            _ if e::is_retriable(code) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

/// The running HTTP listener: its address, and its tasks (aborted on
/// drop).
pub struct HttpListener {
    pub address: std::net::SocketAddr,
    pub status: Arc<Status>,
    task: JoinHandle<()>,
    sampler: JoinHandle<()>,
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        self.task.abort();
        self.sampler.abort();
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
                "no HTTP listener (console, metrics, health): cannot bind the default address: {e}; set {HTTP_LISTEN} to another address or off"
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
    let status = Arc::new(Status {
        broker: OnceLock::new(),
        ready: AtomicBool::new(false),
        in_flight: Semaphore::new(MAX_IN_FLIGHT),
        browsing: Semaphore::new(browse::MAX_AT_ONCE),
        console: Console::from_settings(settings),
        history: History::default(),
        loopback: address.ip().is_loopback(),
    });
    let app = Router::new()
        .merge(routes::console(status.clone()))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(status.clone());
    let task = tokio::spawn(listener::serve(socket, app));
    let sampler = tokio::spawn(sample_history(Arc::downgrade(&status)));
    Ok(Some(HttpListener {
        address,
        status,
        task,
        sampler,
    }))
}

/// Samples the broker for the console's charts every
/// [`history::INTERVAL`], off the async threads.
async fn sample_history(status: Weak<Status>) {
    let mut every = tokio::time::interval(history::INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(status) = status.upgrade() else {
            return;
        };
        let Some(broker) = status.broker() else {
            continue;
        };
        // The lag of a group here, on partitions led elsewhere, needs their
        // high watermarks.
        let ends = if broker.cluster().is_some() && !broker.groups.all().is_empty() {
            peers::high_watermarks(&peers::ask_all(&broker, "/v1/topics?local=1").await)
        } else {
            Default::default()
        };
        let sampling = status.clone();
        let _ = tokio::task::spawn_blocking(move || sampling.history.sample(&broker, &ends)).await;
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

/// The 503 for a request past [`MAX_IN_FLIGHT`] (or another limit).
fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "busy: too many HTTP requests\n",
    )
        .into_response()
}

/// Runs `work` off the runtime's async threads (reading every partition
/// and group is blocking work), as one of the [`MAX_IN_FLIGHT`] requests
/// allowed at once; the answer to send when it cannot run or failed.
async fn bounded<T: Send + 'static>(
    status: &Status,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    let Ok(_permit) = status.in_flight.try_acquire() else {
        return Err(busy());
    };
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "failed\n").into_response())
}

/// A `/v1` read: `view` of the broker, run by [`bounded`].
async fn read_view(
    status: Arc<Status>,
    view: impl FnOnce(&Arc<Broker>, &Status) -> Result<Value, Failure> + Send + 'static,
) -> Response {
    match read_value(status, view).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(refused) => refused,
    }
}

/// [`read_view`]'s value, or the answer to send instead.
async fn read_value(
    status: Arc<Status>,
    view: impl FnOnce(&Arc<Broker>, &Status) -> Result<Value, Failure> + Send + 'static,
) -> Result<Value, Response> {
    let Some(broker) = status.broker() else {
        return Err(starting());
    };
    let reader = status.clone();
    match bounded(&status, move || view(&broker, &reader)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failure)) => Err(failure.into_response()),
        Err(refused) => Err(refused),
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A `/v1` action: `act` on the broker, as one of the [`MAX_IN_FLIGHT`]
/// requests (it awaits the broker's own request handling, so it runs on
/// the async threads).
async fn run_action<F>(status: Arc<Status>, act: impl FnOnce(Arc<Broker>) -> F) -> Response
where
    F: Future<Output = Result<Value, Failure>>,
{
    let Some(broker) = status.broker() else {
        return starting();
    };
    let Ok(_permit) = status.in_flight.try_acquire() else {
        return busy();
    };
    match act(broker).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(failure) => failure.into_response(),
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
