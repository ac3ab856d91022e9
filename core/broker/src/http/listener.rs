//! The HTTP accept loop, with limits of its own apart from Kafka's: at
//! most [`MAX_CONNECTIONS`] open at once (more are closed as they come),
//! and a request's headers must arrive within [`HEADER_READ_TIMEOUT`], so
//! slow clients cannot hold the connections for long.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::MAX_CONNECTIONS;

/// From a connection's first byte (or the end of its previous request)
/// to the end of a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn serve(socket: TcpListener, app: Router) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // E.g. out of file descriptors: do not spin on it.
                tracing::debug!("accepting an HTTP connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: this one is closed as it is dropped.
            tracing::debug!(%peer, "too many HTTP connections; closing a new one");
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "HTTP connection ended: {e}");
            }
        });
    }
}
