//! One TCP connection to one broker, with pipelined requests.
//!
//! A writer task owns the socket's write half and a reader task its read
//! half. A request registers its correlation id in the in-flight map, then
//! queues its frame; the reader matches each response to its request by
//! correlation id (Kafka answers in order, but matching by id costs nothing
//! and catches a confused peer). When either task stops, every waiting
//! request fails with `Disconnected` and the connection is marked closed;
//! the cluster layer then opens a new one.
//!
//! On connect the client sends ApiVersions v3 and falls back to the version
//! the broker names when it answers UNSUPPORTED_VERSION (KIP-511); every
//! later request uses the highest version both sides speak.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use strom_protocol::error_codes::UNSUPPORTED_VERSION;
use strom_protocol::frame::{decode_response, encode_request};
use strom_protocol::messages::{ApiKey, ApiVersionsRequest, Request, RequestHeader, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::security::{server_name, SecurityConfig};
use crate::statistics::BrokerStats;

type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// The ApiVersions version tried first (KIP-511 added client software name).
const API_VERSIONS_FIRST_TRY: i16 = 3;
/// Frames queued for the writer before senders wait.
const WRITE_QUEUE: usize = 64;
/// Buffer a response read starts with; it grows only as bytes arrive, so
/// a length prefix alone never allocates more than this.
const INITIAL_READ_BUFFER: usize = 64 * 1024;

/// Highest version this client's code fills in and reads correctly, where
/// that is below the codec's maximum (later versions change field meaning).
fn client_max_version(api: ApiKey) -> Option<i16> {
    match api {
        // v13+ names topics by id only.
        ApiKey::Fetch => Some(12),
        // v8+ moves everything into `groups`.
        ApiKey::OffsetFetch => Some(7),
        // v9 is for KIP-848 member epochs.
        ApiKey::OffsetCommit => Some(8),
        _ => None,
    }
}

/// The settings a connection needs, copied out of [`ClientConfig`].
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub client_id: String,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_response_bytes: usize,
    pub security: SecurityConfig,
    /// Built once from `security` when it uses TLS.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl From<&ClientConfig> for ConnectionSettings {
    fn from(config: &ClientConfig) -> Self {
        ConnectionSettings {
            client_id: config.client_id.clone(),
            request_timeout: config.request_timeout,
            connect_timeout: config.socket_connection_setup_timeout,
            max_response_bytes: config.receive_message_max_bytes,
            security: config.security.clone(),
            // Checked when the config was made; `connect` reports it again
            // should it fail now.
            tls: config
                .security
                .protocol
                .uses_tls()
                .then(|| config.security.tls_config().ok())
                .flatten(),
        }
    }
}

struct Pending {
    api: ApiKey,
    version: i16,
    reply: oneshot::Sender<Result<Response>>,
    /// When the request was queued, for the round-trip time.
    queued_at: Instant,
}

struct Outgoing {
    frame: BytesMut,
    /// Told once the frame is on the socket (requests with no response).
    written: Option<oneshot::Sender<()>>,
    api: ApiKey,
    /// Counts the frame in the broker's `outbuf_cnt` until it is written
    /// or dropped unwritten.
    _queued: InOutbuf,
}

/// A frame waiting for the socket, as the broker's statistics count it.
struct InOutbuf {
    stats: Arc<BrokerStats>,
    awaits_response: bool,
}

impl InOutbuf {
    fn new(stats: &Arc<BrokerStats>, awaits_response: bool) -> InOutbuf {
        stats.outbuf.fetch_add(1, Ordering::Relaxed);
        if awaits_response {
            stats.outbuf_awaiting.fetch_add(1, Ordering::Relaxed);
        }
        InOutbuf {
            stats: stats.clone(),
            awaits_response,
        }
    }
}

impl Drop for InOutbuf {
    fn drop(&mut self) {
        self.stats.outbuf.fetch_sub(1, Ordering::Relaxed);
        if self.awaits_response {
            self.stats.outbuf_awaiting.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// State shared by the handle and its two tasks. `None` in `in_flight`
/// means the connection is closed.
struct Shared {
    addr: String,
    in_flight: Mutex<Option<HashMap<i32, Pending>>>,
    /// Set once on close; the two tasks stop on it even when blocked on a
    /// peer that neither reads nor writes, which drops the socket.
    closed: watch::Sender<bool>,
    /// The broker's statistics, which every connection to it counts in.
    stats: Arc<BrokerStats>,
    /// Counted as up in `stats` (past its handshake, not yet closed).
    up: AtomicBool,
}

impl Shared {
    fn close(&self, reason: &str) {
        self.closed.send_replace(true);
        self.count_down();
        let pending = match self.in_flight.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let pending = pending.unwrap_or_default();
        let waiting = i64::try_from(pending.len()).unwrap_or(i64::MAX);
        self.stats.awaiting.fetch_sub(waiting, Ordering::Relaxed);
        for (_, pending) in pending {
            let _ = pending.reply.send(Err(ClientError::Disconnected {
                addr: self.addr.clone(),
                reason: reason.to_string(),
            }));
        }
    }

    fn take(&self, correlation_id: i32) -> Option<Pending> {
        let mut guard = self.in_flight.lock().ok()?;
        let pending = guard.as_mut()?.remove(&correlation_id)?;
        self.stats.awaiting.fetch_sub(1, Ordering::Relaxed);
        Some(pending)
    }

    /// Counts the connection as up in the broker's statistics, once its
    /// handshake is done (unless it closed meanwhile).
    fn count_up(&self) {
        self.stats.up.fetch_add(1, Ordering::AcqRel);
        self.up.store(true, Ordering::Release);
        if *self.closed.borrow() {
            self.count_down();
        }
    }

    /// Counts an up connection as gone, once.
    fn count_down(&self) {
        if self.up.swap(false, Ordering::AcqRel) {
            self.stats.up.fetch_sub(1, Ordering::AcqRel);
            self.stats.disconnects.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A live connection; cheap to clone. Dropping the last clone closes it.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    shared: Arc<Shared>,
    settings: ConnectionSettings,
    writer: mpsc::Sender<Outgoing>,
    next_correlation_id: AtomicI32,
    /// The broker's supported versions per API key, from ApiVersions.
    versions: OnceLock<HashMap<i16, (i16, i16)>>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shared.close("connection dropped");
    }
}

impl Connection {
    /// Connects to `addr` (host:port) and negotiates API versions; the
    /// connection counts its traffic in `stats`, the broker's statistics.
    pub async fn connect(
        addr: &str,
        settings: ConnectionSettings,
        stats: Arc<BrokerStats>,
    ) -> Result<Connection> {
        /// Counts the attempt as under way until it ends.
        struct Connecting<'a>(&'a BrokerStats);
        impl Drop for Connecting<'_> {
            fn drop(&mut self) {
                self.0.connecting.fetch_sub(1, Ordering::AcqRel);
            }
        }
        stats.set_address(addr);
        stats.connects.fetch_add(1, Ordering::Relaxed);
        stats.connecting.fetch_add(1, Ordering::AcqRel);
        let _connecting = Connecting(&stats);
        let unreachable = |source| ClientError::Unreachable {
            addr: addr.to_string(),
            source: std::sync::Arc::new(source),
        };
        let stream = tokio::time::timeout(settings.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("connecting to broker at {addr}"),
                after: settings.connect_timeout,
                setting: "socket.connection.setup.timeout.ms",
            })?
            .map_err(unreachable)?;
        stream.set_nodelay(true).map_err(unreachable)?;
        let (read_half, write_half) = secure(stream, addr, &settings).await?;
        let shared = Arc::new(Shared {
            addr: addr.to_string(),
            in_flight: Mutex::new(Some(HashMap::new())),
            closed: watch::Sender::new(false),
            stats: stats.clone(),
            up: AtomicBool::new(false),
        });
        let (writer, queue) = mpsc::channel(WRITE_QUEUE);
        let tasks = [
            tokio::spawn(write_loop(shared.clone(), write_half, queue)),
            tokio::spawn(read_loop(
                shared.clone(),
                read_half,
                settings.max_response_bytes,
            )),
        ];
        let connection = Connection {
            inner: Arc::new(Inner {
                shared,
                settings,
                writer,
                next_correlation_id: AtomicI32::new(0),
                versions: OnceLock::new(),
                tasks,
            }),
        };
        connection.negotiate_versions().await?;
        if connection.inner.settings.security.protocol.uses_sasl() {
            connection.log_in_and_keep_logged_in().await?;
        }
        connection.inner.shared.count_up();
        Ok(connection)
    }

    pub fn addr(&self) -> &str {
        &self.inner.shared.addr
    }

    pub(crate) fn security(&self) -> &SecurityConfig {
        &self.inner.settings.security
    }

    /// A handle that does not keep the connection open.
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(inner: &std::sync::Weak<Inner>) -> Option<Connection> {
        inner.upgrade().map(|inner| Connection { inner })
    }

    /// Closes the connection: waiting requests fail with `reason`.
    pub(crate) fn close(&self, reason: &str) {
        self.inner.shared.close(reason);
    }

    pub fn is_closed(&self) -> bool {
        self.inner
            .shared
            .in_flight
            .lock()
            .map_or(true, |guard| guard.is_none())
    }

    /// The broker's version range for `api`, if it supports it at all.
    pub fn broker_versions(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.inner.versions.get()?.get(&(api as i16)).copied()
    }

    /// The highest version of `api` both sides speak.
    pub fn version_for(&self, api: ApiKey) -> Result<i16> {
        let (codec_min, codec_max) = api.codec_versions();
        let client_max = client_max_version(api).map_or(codec_max, |cap| cap.min(codec_max));
        let unsupported = || ClientError::UnsupportedApi {
            addr: self.addr().to_string(),
            api: api.name(),
            client_min: codec_min,
            client_max,
        };
        let (broker_min, broker_max) = self.broker_versions(api).ok_or_else(unsupported)?;
        let version = broker_max.min(client_max);
        if version < broker_min.max(codec_min) {
            return Err(unsupported());
        }
        Ok(version)
    }

    /// Sends a request at the best common version and waits for its response.
    pub async fn send(&self, api: ApiKey, build: impl FnOnce(i16) -> Request) -> Result<Response> {
        let version = self.version_for(api)?;
        self.send_at(version, build(version)).await
    }

    /// Sends a request for which the broker sends no response (Produce with
    /// acks=0); returns once it is written.
    pub async fn send_without_response(&self, version: i16, request: Request) -> Result<()> {
        let (frame, _) = self.encode(version, &request)?;
        let (written, on_written) = oneshot::channel();
        let written = async {
            self.queue(frame, request.api_key(), Some(written)).await?;
            on_written.await.map_err(|_| self.disconnected())
        };
        match self.bounded(written, "writing a request").await {
            Ok(result) => result,
            Err(timeout) => {
                self.inner
                    .shared
                    .stats
                    .req_timeouts
                    .fetch_add(1, Ordering::Relaxed);
                // The frame may be half written: the stream is unusable.
                self.inner.shared.close("a write timed out");
                Err(timeout)
            }
        }
    }

    /// Sends `request` at `version` and waits at most request.timeout.ms.
    pub async fn send_at(&self, version: i16, request: Request) -> Result<Response> {
        let api = request.api_key();
        let (frame, correlation_id) = self.encode(version, &request)?;
        let (reply, response) = oneshot::channel();
        {
            let mut guard = self
                .inner
                .shared
                .in_flight
                .lock()
                .map_err(|_| self.disconnected())?;
            let in_flight = guard.as_mut().ok_or_else(|| self.disconnected())?;
            in_flight.insert(
                correlation_id,
                Pending {
                    api,
                    version,
                    reply,
                    queued_at: Instant::now(),
                },
            );
            self.inner
                .shared
                .stats
                .awaiting
                .fetch_add(1, Ordering::Relaxed);
        }
        // Queueing is inside the timeout too: behind a peer that stopped
        // reading, the writer's queue stays full.
        let answered = async {
            self.queue(frame, api, None).await?;
            response.await.map_err(|_| self.disconnected())?
        };
        match self.bounded(answered, api.name()).await {
            Ok(result) => result,
            Err(timeout) => {
                self.inner
                    .shared
                    .stats
                    .req_timeouts
                    .fetch_add(1, Ordering::Relaxed);
                // Like the Java client: a request that timed out leaves the
                // connection in an unknown state, so it is closed.
                self.inner.shared.close("a request timed out");
                Err(timeout)
            }
        }
    }

    async fn bounded<T>(
        &self,
        future: impl std::future::Future<Output = T>,
        what: &str,
    ) -> Result<T> {
        let after = self.inner.settings.request_timeout;
        tokio::time::timeout(after, future)
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("{what} request to broker at {}", self.addr()),
                after,
                setting: "request.timeout.ms",
            })
    }

    fn encode(&self, version: i16, request: &Request) -> Result<(BytesMut, i32)> {
        let correlation_id = self
            .inner
            .next_correlation_id
            .fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader {
            request_api_key: request.api_key() as i16,
            request_api_version: version,
            correlation_id,
            client_id: Some(self.inner.settings.client_id.clone()),
            ..Default::default()
        };
        let mut frame = BytesMut::with_capacity(frame_capacity(request));
        encode_request(&header, request, &mut frame).map_err(|error| {
            ClientError::InvalidArgument(format!(
                "cannot encode {} v{version}: {error}",
                request.api_key().name()
            ))
        })?;
        Ok((frame, correlation_id))
    }

    async fn queue(
        &self,
        frame: BytesMut,
        api: ApiKey,
        written: Option<oneshot::Sender<()>>,
    ) -> Result<()> {
        let queued = InOutbuf::new(&self.inner.shared.stats, written.is_none());
        let outgoing = Outgoing {
            frame,
            written,
            api,
            _queued: queued,
        };
        self.inner
            .writer
            .send(outgoing)
            .await
            .map_err(|_| self.disconnected())
    }

    fn disconnected(&self) -> ClientError {
        ClientError::Disconnected {
            addr: self.addr().to_string(),
            reason: "the connection is closed".to_string(),
        }
    }

    async fn negotiate_versions(&self) -> Result<()> {
        let mut version = API_VERSIONS_FIRST_TRY;
        loop {
            let request = ApiVersionsRequest {
                client_software_name: "strom-client".to_string(),
                client_software_version: env!("CARGO_PKG_VERSION").to_string(),
                ..Default::default()
            };
            let response = self.send_at(version, request.into()).await?;
            let Response::ApiVersions(response) = response else {
                return Err(self.protocol_error("ApiVersions was answered with another API"));
            };
            let advertised = response
                .api_keys
                .iter()
                .find(|key| key.api_key == ApiKey::ApiVersions as i16);
            if response.error_code == UNSUPPORTED_VERSION {
                // KIP-511: the broker lists the ApiVersions versions it speaks.
                let fallback = advertised.map_or(0, |key| key.max_version.min(version - 1));
                if fallback < 0 || fallback >= version {
                    return Err(self.protocol_error("broker supports no ApiVersions version"));
                }
                version = fallback;
                continue;
            }
            crate::error::check_code(
                response.error_code,
                || format!("ApiVersions to {}", self.addr()),
                None,
            )?;
            let versions = response
                .api_keys
                .iter()
                .map(|key| (key.api_key, (key.min_version, key.max_version)))
                .collect();
            let _ = self.inner.versions.set(versions);
            return Ok(());
        }
    }

    fn protocol_error(&self, reason: &str) -> ClientError {
        ClientError::Protocol {
            addr: self.addr().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// The stream's two halves, after a TLS handshake when the settings ask
/// for TLS.
async fn secure(
    stream: TcpStream,
    addr: &str,
    settings: &ConnectionSettings,
) -> Result<(ReadHalf, WriteHalf)> {
    if !settings.security.protocol.uses_tls() {
        let (read, write) = stream.into_split();
        return Ok((Box::new(read), Box::new(write)));
    }
    let tls = match &settings.tls {
        Some(tls) => tls.clone(),
        None => settings.security.tls_config()?,
    };
    let handshake = tokio_rustls::TlsConnector::from(tls).connect(server_name(addr)?, stream);
    let stream = tokio::time::timeout(settings.connect_timeout, handshake)
        .await
        .map_err(|_| ClientError::Timeout {
            what: format!("TLS handshake with broker at {addr}"),
            after: settings.connect_timeout,
            setting: "socket.connection.setup.timeout.ms",
        })?
        .map_err(|e| ClientError::Tls {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
    let (read, write) = tokio::io::split(stream);
    Ok((Box::new(read), Box::new(write)))
}

async fn write_loop(
    shared: Arc<Shared>,
    mut socket: WriteHalf,
    mut queue: mpsc::Receiver<Outgoing>,
) {
    let mut closed = shared.closed.subscribe();
    while let Some(outgoing) = queue.recv().await {
        // TLS holds what it encrypted until flushed.
        let write = async {
            socket.write_all(&outgoing.frame).await?;
            socket.flush().await
        };
        let written = tokio::select! {
            written = write => written,
            _ = closed.wait_for(|closed| *closed) => return,
        };
        if let Err(error) = written {
            shared.stats.txerrs.fetch_add(1, Ordering::Relaxed);
            shared.close(&format!("write failed: {error}"));
            return;
        }
        shared.stats.sent(outgoing.api as i16, outgoing.frame.len());
        if let Some(written) = outgoing.written {
            let _ = written.send(());
        }
    }
}

/// A first guess at a request frame's size, so that a produce request of
/// many megabytes is written into one allocation instead of growing (and
/// copying) its buffer a dozen times.
fn frame_capacity(request: &Request) -> usize {
    const OVERHEAD: usize = 256;
    const PER_PARTITION: usize = 64;
    match request {
        Request::Produce(produce) => {
            produce
                .topic_data
                .iter()
                .flat_map(|topic| &topic.partition_data)
                .map(|partition| PER_PARTITION + partition.records.as_ref().map_or(0, |r| r.len()))
                .sum::<usize>()
                + OVERHEAD
        }
        _ => OVERHEAD,
    }
}

async fn read_loop(shared: Arc<Shared>, mut socket: ReadHalf, max_frame: usize) {
    let mut closed = shared.closed.subscribe();
    let outcome = tokio::select! {
        outcome = read_responses(&shared, &mut socket, max_frame) => outcome,
        _ = closed.wait_for(|closed| *closed) => return,
    };
    let reason = match outcome {
        Ok(()) => "the broker closed the connection".to_string(),
        Err(reason) => {
            shared.stats.rxerrs.fetch_add(1, Ordering::Relaxed);
            reason
        }
    };
    shared.close(&reason);
}

/// Reads frames until EOF; returns why it stopped on anything else.
async fn read_responses(
    shared: &Shared,
    socket: &mut ReadHalf,
    max_frame: usize,
) -> std::result::Result<(), String> {
    loop {
        let mut prefix = [0u8; 4];
        match socket.read_exact(&mut prefix).await {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(format!("read failed: {error}")),
        }
        let size = i32::from_be_bytes(prefix);
        // A response holds at least its correlation id; the cap keeps a
        // corrupt or hostile length from allocating.
        let size = usize::try_from(size).ok().filter(|size| (4..=max_frame).contains(size)).ok_or_else(|| {
            format!("response frame length {size} is outside 4..={max_frame} (receive.message.max.bytes)")
        })?;
        let mut frame = Vec::with_capacity(size.min(INITIAL_READ_BUFFER));
        let read = (&mut *socket)
            .take(size as u64)
            .read_to_end(&mut frame)
            .await
            .map_err(|error| format!("read failed mid-response: {error}"))?;
        if read < size {
            return Err(format!(
                "the broker closed the connection mid-response ({read} of {size} bytes)"
            ));
        }
        shared.stats.received(4 + size);
        let frame = Bytes::from(frame);
        let correlation_id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let pending = shared.take(correlation_id).ok_or_else(|| {
            shared.stats.rxcorriderrs.fetch_add(1, Ordering::Relaxed);
            format!("response with unknown correlation id {correlation_id}")
        })?;
        shared.stats.rtt.record(pending.queued_at.elapsed());
        let decoded =
            decode(frame, pending.api, pending.version).map_err(|error| ClientError::Protocol {
                addr: shared.addr.clone(),
                reason: format!(
                    "{} v{} response: {error}",
                    pending.api.name(),
                    pending.version
                ),
            });
        if decoded.is_err() {
            shared.stats.rxerrs.fetch_add(1, Ordering::Relaxed);
        }
        let _ = pending.reply.send(decoded);
    }
}

fn decode(frame: Bytes, api: ApiKey, version: i16) -> std::result::Result<Response, String> {
    match decode_response(frame.clone(), api, version) {
        Ok((_, response)) => Ok(response),
        // A broker that does not know our ApiVersions version answers in
        // v0's format (KIP-511).
        Err(_) if api == ApiKey::ApiVersions && version > 0 => decode_response(frame, api, 0)
            .map(|(_, response)| response)
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    }
}
