//! One client connection: frames in, responses out, in request order.
//!
//! Produce requests are pipelined: each appends as soon as it is read
//! (after the produces before it, so a partition's batches keep their
//! order) and its answer waits for the commit while the next requests are
//! read, so several produces share one group-commit fdatasync. Any other
//! request runs once every earlier answer is written, as on Kafka's
//! one-request-at-a-time connections. At most `MAX_IN_FLIGHT` answers wait
//! per connection, and requests count against `queued.max.request.bytes`
//! with the memory they take once decoded (`limits::footprint`; a Produce
//! that needs more draws on an overdraft, see `limits::RequestMemory`)
//! until their answer is written. A connection that sends nothing for
//! `connections.max.idle.ms` is closed. Anything wrong with a frame (a
//! length past `socket.request.max.bytes`, an undecodable header, an
//! unknown API, an unsupported version) is logged and closes this
//! connection only, after the answers before it; the one exception is
//! ApiVersions, which answers an unsupported version with
//! UNSUPPORTED_VERSION and the supported ranges (KIP-511). An acks=0
//! produce gets no response, or a closed connection if it failed.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use strom_protocol::codec::decode_within;
use strom_protocol::error::DecodeError;
use strom_protocol::frame::{
    decode_request_header, encode_response_spliced, frame_length, RequestFrame,
};
use strom_protocol::messages::{ApiKey, Request, Response};
use strom_protocol::splice::pieces;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::access::{self, Screened};
use crate::answer_sink::{write_pieces, AnswerSink};
use crate::dispatch;
use crate::fetch_sessions::{Begun, Ticket};
use crate::handlers::fetch::fetching_replica;
use crate::handlers::{self, api_versions};
use crate::limits::{
    decode_budget, footprint, produce_need, produce_waiting_need, FrameArrival, MemoryShare,
    RequestMemory,
};
use crate::metrics::{BrokerMetrics, ConnectionCount};
use crate::quotas::enforce::{fetched_bytes, quota_user, set_throttle, Usage};
use crate::security::authorizer::Caller;
use crate::security::sasl::{Authenticator, Outcome};
use crate::security::{principal, Listener, CLIENT_LISTENER, TLS_FAILURES};
use crate::state::Broker;
use crate::versions;

/// Largest read issued at once while a frame arrives, so a client that
/// announces a large frame and sends nothing costs little memory.
const READ_CHUNK: usize = 64 * 1024;

/// How often a frame being read checks that it is not too slow
/// ([`FrameArrival`]) nor idle.
const ARRIVAL_CHECK: Duration = Duration::from_secs(1);

/// A frame up to this size gets its whole buffer before it arrives:
/// growing it a [`READ_CHUNK`] at a time copies what arrived at each
/// doubling, about once more every byte of a large produce request. The
/// pages are touched only as bytes arrive, and the frames being read are
/// bounded together by `queued.max.request.bytes`.
const WHOLE_BUFFER_MAX: usize = 1024 * 1024;

/// Answers a connection holds before it stops reading: produces wait for
/// their commits together (one group-commit fdatasync for several) while
/// the next requests are read. A connection's produce rate is at most this
/// many requests per sync round: librdkafka sends a request per partition
/// (up to a million in flight), so with 1,000 partitions at 5,000 records
/// a second it sent 5,000 one-batch requests a second, and at 8 the
/// broker kept up only while a commit took under 1.6 ms: past that the
/// requests queued for good (by hand, fsync mode, p50 0.6 s, p99 1.8 s,
/// against 6 / 11 ms at 64). Their memory is counted against
/// `queued.max.request.bytes` until answered, however many there are.
const MAX_IN_FLIGHT: usize = 64;

/// `None`: close the connection. `Some(None)`: no response is due.
type Answer = Option<Option<Response>>;

/// One request on its way to its answer, queued in request order.
struct InFlight {
    correlation_id: i32,
    version: i16,
    api: Option<ApiKey>,
    /// When the request was read, for its duration in the metrics.
    arrived: Instant,
    answer: Pin<Box<dyn Future<Output = Answer> + Send>>,
    /// The request's share of `queued.max.request.bytes`, given back once
    /// its answer is written.
    _memory: MemoryShare,
}

/// How long a client may take to finish its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a failed login waits for its answer (Kafka's
/// `connection.failed.authentication.delay.ms`): it slows down password
/// guessing.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(100);

/// Serves one connection until the client closes it, sends bad input or
/// stays idle past `connections.max.idle.ms`: TLS first on a TLS
/// listener, then one half reads requests and starts them, the other
/// writes their answers in request order.
pub async fn serve(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: Arc<Listener>,
) {
    let _ = stream.set_nodelay(true);
    size_send_buffer(&stream, broker.config.settings().socket_send_buffer_bytes);
    let _counted = ConnectionCount::open(&broker.metrics.connections);
    let sasl = listener.protocol.uses_sasl().then(|| {
        let settings = broker.config.settings();
        Authenticator::new(
            listener.sasl_mechanisms.clone(),
            settings.connections_max_reauth_ms,
            broker.oauth.clone(),
        )
    });
    let mut caller = Caller::anonymous(peer);
    caller.inter_broker = listener.inter_broker;
    let serving = async {
        match listener.tls.clone() {
            None => {
                let (reader, writer) = stream.into_split();
                serve_halves(&broker, reader, writer, peer, sasl, caller).await;
            }
            Some(acceptor) => {
                let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        if let Some(left_out) = TLS_FAILURES.admit() {
                            tracing::warn!(%peer, listener = listener.name, left_out, "closing connection: TLS handshake failed: {e}");
                        }
                        return;
                    }
                    Err(_) => {
                        if let Some(left_out) = TLS_FAILURES.admit() {
                            tracing::warn!(%peer, listener = listener.name, left_out, "closing connection: TLS handshake not finished within {TLS_HANDSHAKE_TIMEOUT:?}");
                        }
                        return;
                    }
                };
                if let Some(certificate) =
                    tls.get_ref().1.peer_certificates().and_then(|c| c.first())
                {
                    // Kafka's principal of a certificate: its subject DN.
                    if let Some(principal) = principal::from_certificate(certificate) {
                        tracing::debug!(%peer, principal, "client certificate accepted");
                        caller.principal = principal;
                    }
                }
                let (reader, writer) = tokio::io::split(tls);
                serve_halves(&broker, reader, writer, peer, sasl, caller).await;
            }
        }
    };
    CLIENT_LISTENER.scope(listener.clone(), serving).await;
}

async fn serve_halves(
    broker: &Arc<Broker>,
    reader: impl AsyncRead + Unpin,
    writer: impl AnswerSink,
    peer: SocketAddr,
    sasl: Option<Authenticator>,
    caller: Caller,
) {
    let (queue, answers) = mpsc::channel(MAX_IN_FLIGHT);
    // Answers queued and not yet written.
    let outstanding = watch::channel(0usize).0;
    tokio::join!(
        read_requests(broker, reader, peer, queue, &outstanding, sasl, caller),
        write_answers(writer, answers, peer, &outstanding, &broker.metrics),
    );
}

/// Reads requests and starts them, in order. A produce appends at once,
/// after the produces before it, and its answer waits for the commit in the
/// queue; any other request first waits until every earlier answer is
/// written, so it sees their effects as Kafka's one-at-a-time connections
/// do. Returns (dropping `queue`, which lets the writer finish) when the
/// connection is to close.
async fn read_requests(
    broker: &Arc<Broker>,
    mut stream: impl AsyncRead + Unpin,
    peer: SocketAddr,
    queue: mpsc::Sender<InFlight>,
    outstanding: &watch::Sender<usize>,
    mut sasl: Option<Authenticator>,
    mut caller: Caller,
) {
    let settings = broker.config.settings();
    let limit = settings.socket_request_max_bytes.max(0) as usize;
    let idle = u64::try_from(settings.connections_max_idle_ms)
        .ok()
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis);
    // A client over its quota is not read again before its throttle ends.
    let mut muted_until: Option<tokio::time::Instant> = None;
    loop {
        if let Some(until) = muted_until.take() {
            tokio::select! {
                _ = queue.closed() => return,
                _ = tokio::time::sleep_until(until) => {}
            }
        }
        let next = tokio::select! {
            // The writer stopped: the connection is closing.
            _ = queue.closed() => return,
            next = read_request(broker, &mut stream, peer, frame_limit(limit, &sasl), idle) => next,
        };
        let Some((mut request, mut memory)) = next else {
            return;
        };
        let arrived = Instant::now();
        if let Some(sasl) = &sasl {
            if !allowed_before_login(request.api_key) {
                let api = request.api_key.map_or("unknown", ApiKey::name);
                if !sasl.is_authenticated() {
                    tracing::warn!(%peer, api, "closing connection: request before SASL authentication");
                    return;
                }
                if sasl.is_expired(std::time::Instant::now()) {
                    tracing::info!(%peer, api, "closing connection: its SASL login expired (connections.max.reauth.ms) and the client did not log in again");
                    return;
                }
            }
        }
        let mut close_after = false;
        // A fetch of a session is screened and served as the full fetch
        // it stands for; its answer is trimmed to what changed.
        let mut session_ticket = None;
        let (body, decoded_bytes) = match decode(&request, peer) {
            Ok((body, decoded_bytes)) => (Ok(body), decoded_bytes),
            Err(refused) => (Err(refused), 0),
        };
        let body = body.map(|body| match body {
            Request::Fetch(fetch) => {
                let principal = &caller.principal;
                let cap = broker.config.settings().fetch_max_bytes.max(0) as usize;
                match broker
                    .fetch_sessions
                    .begin(fetch, request.api_version(), principal, cap)
                {
                    Begun::Serve(fetch, ticket) => {
                        session_ticket = Some(ticket);
                        access::screen(broker, &caller, fetch.into(), request.api_version())
                    }
                    Begun::Answer(refusal) => Screened::Answer(refusal.into()),
                }
            }
            body => access::screen(broker, &caller, body, request.api_version()),
        });
        let answer: Pin<Box<dyn Future<Output = Answer> + Send>> = match body {
            // The answers before it are still written, then the
            // connection closes.
            Err(Refused::Close) => return,
            Err(Refused::UnsupportedApiVersions) => Box::pin(std::future::ready(Some(Some(
                api_versions::unsupported_version_response(),
            )))),
            Ok(Screened::Answer(mut refusal)) => {
                finish_session(broker, session_ticket, &mut refusal);
                Box::pin(std::future::ready(Some(Some(refusal))))
            }
            Ok(Screened::Run(Request::Produce(produce), patch)) => {
                let need = produce_need(request.body.len(), decoded_bytes, &produce);
                let waiting_need = produce_waiting_need(&produce);
                broker.request_memory.overdraw(&mut memory, need).await;
                let fire_and_forget = produce.acks == 0;
                let started = Instant::now();
                let produced_bytes = request.body.len();
                // The batches are cut out of the frame, which nothing
                // else may hold for that.
                let frame = std::mem::take(&mut request.body);
                let pending =
                    handlers::produce::append(broker, produce, request.api_version(), frame).await;
                memory.shrink_to(waiting_need);
                let usage = Usage {
                    produced_bytes,
                    handling: started.elapsed(),
                    ..Usage::default()
                };
                let throttle = if broker.quotas.is_active() {
                    quota_throttle(broker, &caller, &request, usage, &mut muted_until)
                } else {
                    Duration::ZERO
                };
                Box::pin(async move {
                    let mut response = pending.finish().await.into();
                    if let Some(patch) = patch {
                        patch(&mut response);
                    }
                    set_throttle(&mut response, throttle);
                    let response = Some(response);
                    if fire_and_forget {
                        acks_zero_outcome(response, peer)
                    } else {
                        Some(response)
                    }
                })
            }
            Ok(Screened::Run(Request::SaslHandshake(_), _)) if request.api_version() == 0 => {
                tracing::warn!(%peer, "closing connection: SaslHandshake v0 (raw SASL tokens) is not served; clients that know v1 use it");
                return;
            }
            Ok(Screened::Run(Request::SaslHandshake(handshake), _)) => {
                let response = match &mut sasl {
                    Some(sasl) => sasl.handshake(handshake),
                    None => strom_protocol::messages::SaslHandshakeResponse {
                        error_code: strom_protocol::error_codes::ILLEGAL_SASL_STATE,
                        ..Default::default()
                    },
                };
                Box::pin(std::future::ready(Some(Some(response.into()))))
            }
            Ok(Screened::Run(Request::SaslAuthenticate(login), _)) => {
                let step = match &mut sasl {
                    Some(sasl) => sasl.authenticate(&broker.users, login, peer).await,
                    None => crate::security::sasl::outside_sasl_listener(),
                };
                let response = Some(Some(step.response.into()));
                match step.outcome {
                    Outcome::Continue => Box::pin(std::future::ready(response)),
                    Outcome::Authenticated(user) => {
                        caller.principal = Caller::user(&user);
                        Box::pin(std::future::ready(response))
                    }
                    Outcome::Failed => {
                        close_after = true;
                        Box::pin(async move {
                            tokio::time::sleep(FAILED_LOGIN_DELAY).await;
                            response
                        })
                    }
                }
            }
            Ok(Screened::Run(body, patch)) => {
                if !drained(outstanding, &queue).await {
                    return;
                }
                // Replication is not a client's traffic: no quota counts it.
                let follower = matches!(&body, Request::Fetch(f) if fetching_replica(f) >= 0);
                let started = Instant::now();
                let mut response = dispatch::dispatch(broker, &request.header, body, peer).await;
                if let Some(response) = response.as_mut() {
                    if let Some(patch) = patch {
                        patch(response);
                    }
                    finish_session(broker, session_ticket, response);
                    if !follower && broker.quotas.is_active() {
                        let usage = Usage {
                            fetched_bytes: fetched_bytes(response),
                            handling: started.elapsed(),
                            ..Usage::default()
                        };
                        let throttle =
                            quota_throttle(broker, &caller, &request, usage, &mut muted_until);
                        set_throttle(response, throttle);
                    }
                }
                Box::pin(std::future::ready(Some(response)))
            }
        };
        outstanding.send_modify(|n| *n += 1);
        let in_flight = InFlight {
            correlation_id: request.correlation_id(),
            version: effective_response_version(&request),
            api: request.api_key,
            arrived,
            answer,
            _memory: memory,
        };
        if queue.send(in_flight).await.is_err() || close_after {
            return;
        }
    }
}

/// Gives a fetch's answer its session id, trimmed to what changed when
/// the fetch was one of a session (see [`crate::fetch_sessions`]).
fn finish_session(broker: &Broker, ticket: Option<Ticket>, response: &mut Response) {
    if let (Some(ticket), Response::Fetch(fetch)) = (ticket, response) {
        broker.fetch_sessions.finish(ticket, fetch);
    }
}

/// How long the request's client is throttled for `usage` (its quotas),
/// and from when the connection is muted for it.
fn quota_throttle(
    broker: &Broker,
    caller: &Caller,
    request: &RequestFrame,
    usage: Usage,
    muted_until: &mut Option<tokio::time::Instant>,
) -> Duration {
    let client_id = request.header.client_id.as_deref().unwrap_or_default();
    let user = quota_user(&caller.principal);
    let throttle = broker
        .quotas
        .throttle(&broker.quota_meters, user, client_id, usage);
    if !throttle.is_zero() {
        let until = tokio::time::Instant::now() + throttle;
        *muted_until = Some(muted_until.map_or(until, |earlier| earlier.max(until)));
    }
    throttle
}

/// Kafka's `sasl.server.max.receive.size`: the largest frame a client
/// that has not logged in may send, so that strangers cannot make the
/// broker buffer `socket.request.max.bytes` each.
const MAX_FRAME_BEFORE_LOGIN: usize = 512 * 1024;

fn frame_limit(limit: usize, sasl: &Option<Authenticator>) -> usize {
    match sasl {
        Some(sasl) if !sasl.is_authenticated() => limit.min(MAX_FRAME_BEFORE_LOGIN),
        _ => limit,
    }
}

/// What a SASL listener answers before the client has logged in.
fn allowed_before_login(api: Option<ApiKey>) -> bool {
    matches!(
        api,
        Some(ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate)
    )
}

/// Waits until every queued answer is written; false if the writer
/// stopped first.
async fn drained(outstanding: &watch::Sender<usize>, queue: &mpsc::Sender<InFlight>) -> bool {
    let mut count = outstanding.subscribe();
    tokio::select! {
        done = count.wait_for(|n| *n == 0) => done.is_ok(),
        _ = queue.closed() => false,
    }
}

/// Writes answers in request order as each becomes ready. Stops (dropping
/// the queue, which stops the reader) when an answer says to close or the
/// client is gone.
async fn write_answers(
    mut stream: impl AnswerSink,
    mut queue: mpsc::Receiver<InFlight>,
    peer: SocketAddr,
    outstanding: &watch::Sender<usize>,
    metrics: &BrokerMetrics,
) {
    let mut out = BytesMut::new();
    while let Some(in_flight) = queue.recv().await {
        let Some(answer) = in_flight.answer.await else {
            return;
        };
        if let Some(api) = in_flight.api {
            let error = answer.as_ref().and_then(|r| r.error_code()).unwrap_or(0);
            metrics
                .requests
                .answered(api as i16, in_flight.arrived.elapsed(), error);
        }
        if let Some(response) = answer {
            out.clear();
            let (id, version) = (in_flight.correlation_id, in_flight.version);
            // Record data goes to the socket from the buffers it was read
            // into, or from its segment files, not through `out`.
            let splices = match encode_response_spliced(id, version, &response, &mut out) {
                Ok(splices) => splices,
                Err(e) => {
                    tracing::error!(%peer, api = ?in_flight.api, "cannot encode response: {e}");
                    return;
                }
            };
            // TLS keeps what it encrypted until flushed; TCP flushes at once.
            let written = write_pieces(&mut stream, &pieces(&out, &splices)).await;
            if let Err(e) = &written {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    tracing::warn!(%peer, "closing connection mid-answer: {e}");
                }
            }
            if written.is_err() || stream.flush().await.is_err() {
                return;
            }
            if out.capacity() > 4 * READ_CHUNK {
                out = BytesMut::new(); // do not keep a large fetch buffer per idle connection
            }
        }
        outstanding.send_modify(|n| *n -= 1);
    }
}

/// Reads the next request frame and takes its share of request memory.
/// `None`: the client closed, went idle or sent a bad frame (logged).
async fn read_request(
    broker: &Broker,
    stream: &mut (impl AsyncRead + Unpin),
    peer: SocketAddr,
    limit: usize,
    idle: Option<Duration>,
) -> Option<(RequestFrame, MemoryShare)> {
    let mut prefix = [0u8; 4];
    match within(idle, stream.read_exact(&mut prefix)).await {
        Some(Ok(_)) => {}
        Some(Err(_)) => return None, // closed between requests: the normal end
        None => {
            tracing::info!(%peer, "closing connection idle for connections.max.idle.ms");
            return None;
        }
    }
    let size = match frame_length(prefix, limit) {
        Ok(size) => size,
        Err(e) => {
            tracing::warn!(%peer, "closing connection: bad frame length: {e}");
            return None;
        }
    };
    // The API key, first in the frame, says how much memory the request
    // will take once decoded.
    let mut api_key = [0u8; 2];
    if size >= api_key.len() {
        match within(idle, stream.read_exact(&mut api_key)).await {
            Some(Ok(_)) => {}
            _ => {
                tracing::info!(%peer, "connection closed or idle before its request's API key ({size}-byte frame)");
                return None;
            }
        }
    }
    let api = i16::from_be_bytes(api_key);
    let footprint = footprint(api, size);
    // A Produce larger than the whole allowance still passes, alone; any
    // other request that large could only be a many-items attack whose
    // decoded form would take many times the allowance.
    if let Some(limit) = broker.request_memory.limit() {
        if api != ApiKey::Produce as i16 && footprint > limit {
            tracing::warn!(%peer, api, size, "closing connection: a {size}-byte request would take about {footprint} bytes once decoded, more than queued.max.request.bytes ({limit}); raise it if such requests are expected");
            return None;
        }
    }
    // Held until the answer is written: requests being read and handled
    // share `queued.max.request.bytes`.
    let memory = broker.request_memory.reserve(footprint).await;
    let prefix = &api_key[..size.min(api_key.len())];
    let frame = match read_frame(stream, size, prefix, idle, &broker.request_memory).await {
        Ok(frame) => frame,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            tracing::warn!(%peer, "closing connection mid-request ({size}-byte frame): {e}");
            return None;
        }
        Err(e) => {
            tracing::info!(%peer, "connection closed mid-request ({size}-byte frame): {e}");
            return None;
        }
    };
    match decode_request_header(frame.freeze()) {
        Ok(request) => Some((request, memory)),
        Err(e) => {
            tracing::warn!(%peer, "closing connection: malformed request header: {e}");
            None
        }
    }
}

/// Gives the connection `socket.send.buffer.bytes` of send buffer (Linux
/// doubles it for its bookkeeping), as Kafka does; -1 leaves the OS's,
/// which autotunes up to megabytes. A bounded buffer lets the client's
/// acknowledgements pace a large fetch answer, and the kernel sends what
/// it queued while the broker checks the next partition's batches: by
/// hand, a reader fetching a 300 MB backlog over loopback as fast as it
/// could got 1,100–1,150 MiB/s with the OS's buffer and 1,450–1,600 MiB/s
/// with Kafka's 100 KiB, for half the broker's CPU.
fn size_send_buffer(stream: &TcpStream, bytes: i32) {
    let Ok(bytes) = usize::try_from(bytes) else {
        return;
    };
    if let Err(e) = rustix::net::sockopt::set_socket_send_buffer_size(stream, bytes) {
        tracing::debug!("cannot set socket.send.buffer.bytes ({bytes}) on a connection: {e}");
    }
}

/// `None` when `limit` passes first.
async fn within<T>(limit: Option<Duration>, future: impl Future<Output = T>) -> Option<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok(),
        None => Some(future.await),
    }
}

/// Reads the rest of a `size`-byte frame that starts with `prefix`. A
/// frame above [`WHOLE_BUFFER_MAX`] grows its buffer as data arrives
/// rather than allocating the announced size up front. A sender that
/// stalls for `idle` mid-frame is cut off, and so is one too slow while
/// other requests wait for the memory its frame holds ([`FrameArrival`]).
async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    size: usize,
    prefix: &[u8],
    idle: Option<Duration>,
    memory: &RequestMemory,
) -> std::io::Result<BytesMut> {
    let first = if size <= WHOLE_BUFFER_MAX {
        size
    } else {
        READ_CHUNK
    };
    let mut frame = BytesMut::with_capacity(first);
    frame.extend_from_slice(prefix);
    let arrival = FrameArrival::begin(size);
    let mut progress = Instant::now();
    while frame.len() < size {
        let want = (size - frame.len()).min(READ_CHUNK);
        frame.reserve(want);
        let mut limited = (&mut *stream).take(want as u64);
        // A read cut short by the check loses nothing: it read no bytes.
        let check = idle.map_or(ARRIVAL_CHECK, |idle| idle.min(ARRIVAL_CHECK));
        match tokio::time::timeout(check, limited.read_buf(&mut frame)).await {
            Ok(Ok(0)) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(Ok(_)) => progress = Instant::now(),
            Ok(Err(e)) => return Err(e),
            Err(_) if idle.is_some_and(|idle| progress.elapsed() >= idle) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no bytes for connections.max.idle.ms",
                ));
            }
            Err(_) => {}
        }
        if frame.len() < size {
            if let Some(why) = arrival.too_slow(frame.len(), memory) {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, why));
            }
        }
    }
    Ok(frame)
}

/// An unsupported ApiVersions version is answered at v0 (KIP-511).
fn effective_response_version(request: &RequestFrame) -> i16 {
    if request.api_key == Some(ApiKey::ApiVersions)
        && !versions::is_supported(ApiKey::ApiVersions, request.api_version())
    {
        0
    } else {
        request.api_version()
    }
}

/// Why a request gets no handler.
enum Refused {
    /// Logged; the connection closes.
    Close,
    /// KIP-511: answered with the supported ranges, at v0.
    UnsupportedApiVersions,
}

/// The request's body, once its API and version are known and it decodes,
/// and the bytes its arrays took.
fn decode(request: &RequestFrame, peer: SocketAddr) -> Result<(Request, usize), Refused> {
    let version = request.api_version();
    let Some(api_key) = request.api_key else {
        tracing::warn!(%peer, key = request.header.request_api_key, "closing connection: unknown API key");
        return Err(Refused::Close);
    };
    if !versions::is_supported(api_key, version) {
        if api_key == ApiKey::ApiVersions {
            return Err(Refused::UnsupportedApiVersions);
        }
        tracing::warn!(%peer, api = api_key.name(), version, "closing connection: unsupported API version");
        return Err(Refused::Close);
    }
    let budget = decode_budget(api_key as i16, request.body.len());
    match decode_within(budget, || request.decode_body()) {
        Ok(((body, 0), decoded)) => Ok((body, decoded)),
        Ok(((body, trailing), decoded)) => {
            // Kafka ignores these too; librdkafka sends some with Metadata v12.
            tracing::debug!(%peer, api = api_key.name(), version, trailing, "ignoring bytes after the request body");
            Ok((body, decoded))
        }
        Err(e @ DecodeError::OverBudget { .. }) => {
            tracing::warn!(%peer, api = api_key.name(), version, size = request.body.len(), "closing connection: the request would take more memory once decoded than its size is counted for in queued.max.request.bytes: {e}");
            Err(Refused::Close)
        }
        Err(e) => {
            tracing::warn!(%peer, api = api_key.name(), version, "closing connection: malformed request body: {e}");
            Err(Refused::Close)
        }
    }
}

/// An acks=0 producer reads no response, so, like Kafka, the broker reports
/// a failed partition by closing the connection: the client notices,
/// refreshes its metadata and reconnects. Success sends nothing.
fn acks_zero_outcome(response: Option<Response>, peer: SocketAddr) -> Answer {
    let Some(Response::Produce(response)) = response else {
        return Some(None);
    };
    let failed = response
        .responses
        .iter()
        .flat_map(|topic| {
            topic
                .partition_responses
                .iter()
                .map(move |p| (&topic.name, p.index, p.error_code))
        })
        .find(|(_, _, code)| *code != strom_protocol::error_codes::NONE);
    match failed {
        Some((topic, partition, code)) => {
            tracing::info!(%peer, %topic, partition, code, "closing connection: acks=0 produce failed");
            None
        }
        None => Some(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn accepted_connection() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("address"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (server, client)
    }

    fn send_buffer(stream: &TcpStream) -> usize {
        rustix::net::sockopt::socket_send_buffer_size(stream).expect("SO_SNDBUF")
    }

    #[tokio::test]
    async fn accepted_connections_get_the_configured_send_buffer() {
        let (server, _client) = accepted_connection().await;
        let os_own = send_buffer(&server);
        size_send_buffer(&server, -1);
        assert_eq!(send_buffer(&server), os_own, "-1 leaves the OS's");

        size_send_buffer(&server, 102_400);
        let most = std::fs::read_to_string("/proc/sys/net/core/wmem_max")
            .ok()
            .and_then(|max| max.trim().parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        // Linux keeps twice what it is given (at most wmem_max of it).
        assert_eq!(send_buffer(&server), 2 * 102_400.min(most));
    }
}
