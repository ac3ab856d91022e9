//! One client connection: frames in, responses out, in order.
//!
//! Like Kafka, a connection has one request in progress at a time, so
//! responses leave in request order. A connection that sends nothing for
//! `connections.max.idle.ms` is closed, and requests being read and
//! handled count against `queued.max.request.bytes` with the memory they
//! take once decoded (`limits::decoded_expansion`). Anything
//! wrong with a frame (a length past `socket.request.max.bytes`, an
//! undecodable header, an unknown API, an unsupported version) is logged
//! and closes this connection only; the one exception is ApiVersions,
//! which answers an unsupported version with UNSUPPORTED_VERSION and the
//! supported ranges (KIP-511). An acks=0 produce gets no response, or a
//! closed connection if it failed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use strom_protocol::frame::{decode_request_header, encode_response, frame_length, RequestFrame};
use strom_protocol::messages::{ApiKey, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dispatch;
use crate::handlers::api_versions;
use crate::limits::decoded_expansion;
use crate::state::Broker;
use crate::versions;

/// Largest read issued at once while a frame arrives, so a client that
/// announces a large frame and sends nothing costs little memory.
const READ_CHUNK: usize = 64 * 1024;

/// Serves one connection until the client closes it, sends bad input or
/// stays idle past `connections.max.idle.ms`.
pub async fn serve(broker: Arc<Broker>, mut stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let settings = broker.config.settings();
    let limit = settings.socket_request_max_bytes.max(0) as usize;
    let idle = u64::try_from(settings.connections_max_idle_ms)
        .ok()
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis);
    let mut out = BytesMut::new();
    loop {
        let mut prefix = [0u8; 4];
        match within(idle, stream.read_exact(&mut prefix)).await {
            Some(Ok(_)) => {}
            Some(Err(_)) => return, // closed between requests: the normal end
            None => {
                tracing::info!(%peer, "closing connection idle for connections.max.idle.ms");
                return;
            }
        }
        let size = match frame_length(prefix, limit) {
            Ok(size) => size,
            Err(e) => {
                tracing::warn!(%peer, "closing connection: bad frame length: {e}");
                return;
            }
        };
        // The API key, first in the frame, says how much memory the
        // request will take once decoded.
        let mut api_key = [0u8; 2];
        if size >= api_key.len() {
            match within(idle, stream.read_exact(&mut api_key)).await {
                Some(Ok(_)) => {}
                _ => {
                    tracing::info!(%peer, "connection closed or idle before its request's API key ({size}-byte frame)");
                    return;
                }
            }
        }
        let api = i16::from_be_bytes(api_key);
        let footprint = size.saturating_mul(decoded_expansion(api));
        // A Produce larger than the whole allowance still passes, alone;
        // any other request that large could only be a many-items attack
        // whose decoded form would take many times the allowance.
        if let Some(limit) = broker.request_memory.limit() {
            if api != ApiKey::Produce as i16 && footprint > limit {
                tracing::warn!(%peer, api, size, "closing connection: a {size}-byte request would take about {footprint} bytes once decoded, more than queued.max.request.bytes ({limit}); raise it if such requests are expected");
                return;
            }
        }
        // Held until the response is written: requests being read and
        // handled share `queued.max.request.bytes`.
        let _memory = broker.request_memory.reserve(footprint).await;
        let prefix = &api_key[..size.min(api_key.len())];
        let frame = match read_frame(&mut stream, size, prefix, idle).await {
            Ok(frame) => frame,
            Err(e) => {
                tracing::info!(%peer, "connection closed mid-request ({size}-byte frame): {e}");
                return;
            }
        };
        let request = match decode_request_header(frame.freeze()) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(%peer, "closing connection: malformed request header: {e}");
                return;
            }
        };
        let Some(response) = handle(&broker, &request, peer).await else {
            return;
        };
        let Some(response) = response else {
            continue; // successful acks=0 produce: Kafka sends nothing back
        };
        out.clear();
        let version = effective_response_version(&request);
        if let Err(e) = encode_response(request.correlation_id(), version, &response, &mut out) {
            tracing::error!(%peer, api = ?request.api_key, "cannot encode response: {e}");
            return;
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
        if out.capacity() > 4 * READ_CHUNK {
            out = BytesMut::new(); // do not keep a large fetch buffer per idle connection
        }
    }
}

/// `None` when `limit` passes first.
async fn within<T>(limit: Option<Duration>, future: impl Future<Output = T>) -> Option<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok(),
        None => Some(future.await),
    }
}

/// Reads the rest of a `size`-byte frame that starts with `prefix`,
/// growing the buffer as data arrives rather than allocating the announced
/// size up front. A sender that stalls for `idle` mid-frame is cut off.
async fn read_frame(
    stream: &mut TcpStream,
    size: usize,
    prefix: &[u8],
    idle: Option<Duration>,
) -> std::io::Result<BytesMut> {
    let mut frame = BytesMut::with_capacity(size.min(READ_CHUNK));
    frame.extend_from_slice(prefix);
    while frame.len() < size {
        let want = (size - frame.len()).min(READ_CHUNK);
        frame.reserve(want);
        let mut limited = (&mut *stream).take(want as u64);
        let n = within(idle, limited.read_buf(&mut frame))
            .await
            .ok_or(std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
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

/// `None`: close the connection. `Some(None)`: no response is due.
async fn handle(
    broker: &Arc<Broker>,
    request: &RequestFrame,
    peer: SocketAddr,
) -> Option<Option<Response>> {
    let version = request.api_version();
    let Some(api_key) = request.api_key else {
        tracing::warn!(%peer, key = request.header.request_api_key, "closing connection: unknown API key");
        return None;
    };
    if !versions::is_supported(api_key, version) {
        if api_key == ApiKey::ApiVersions {
            return Some(Some(api_versions::unsupported_version_response()));
        }
        tracing::warn!(%peer, api = api_key.name(), version, "closing connection: unsupported API version");
        return None;
    }
    let body = match request.decode_body() {
        Ok((body, 0)) => body,
        Ok((body, trailing)) => {
            // Kafka ignores these too; librdkafka sends some with Metadata v12.
            tracing::debug!(%peer, api = api_key.name(), version, trailing, "ignoring bytes after the request body");
            body
        }
        Err(e) => {
            tracing::warn!(%peer, api = api_key.name(), version, "closing connection: malformed request body: {e}");
            return None;
        }
    };
    let fire_and_forget = matches!(&body, Request::Produce(produce) if produce.acks == 0);
    let response = dispatch::dispatch(broker, &request.header, body, peer).await;
    if fire_and_forget {
        return acks_zero_outcome(response, peer);
    }
    Some(response)
}

/// An acks=0 producer reads no response, so, like Kafka, the broker reports
/// a failed partition by closing the connection: the client notices,
/// refreshes its metadata and reconnects. Success sends nothing.
fn acks_zero_outcome(response: Option<Response>, peer: SocketAddr) -> Option<Option<Response>> {
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
