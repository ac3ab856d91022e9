//! Who may use the console and its API. The console has no login, so it
//! relies on where it listens (loopback by default) and keeps other web
//! pages in the same browser from using it:
//! - bound to loopback, a request must name a loopback host (`Host:
//!   localhost:9644`, `127.0.0.1:…`, `[::1]:…`), so a DNS-rebinding page
//!   cannot read topics through a name of its own;
//! - an action (any method but GET and HEAD) must carry
//!   `X-Strom-Console: 1`, which a cross-site form cannot send and a
//!   cross-site script cannot send without a CORS preflight the broker
//!   never grants, and an `Origin`, if sent, must be this listener;
//! - in read-only mode actions are refused.
//!
//! Every answer carries a Content-Security-Policy that lets the page run
//! only its own script and style, and forbids framing.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Failure, Status};

/// The header an action must carry.
pub const ACTION_HEADER: &str = "x-strom-console";

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn check(State(status): State<Arc<Status>>, request: Request, next: Next) -> Response {
    if let Err(refused) = allowed(&status, request.method(), request.headers()) {
        tracing::debug!(method = %request.method(), uri = %request.uri(), "console request refused: {}", refused.message);
        return with_policy(refused.into_response());
    }
    with_policy(next.run(request).await)
}

fn allowed(status: &Status, method: &Method, headers: &HeaderMap) -> Result<(), Failure> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if status.loopback {
        if let Some(host) = host.filter(|h| !is_loopback_host(h)) {
            return Err(Failure::forbidden(format!(
                "this console listens on loopback and answers requests for localhost only, not '{host}'"
            )));
        }
    }
    if *method == Method::GET || *method == Method::HEAD {
        return Ok(());
    }
    if headers.get(ACTION_HEADER).map(HeaderValue::as_bytes) != Some(b"1") {
        return Err(Failure::forbidden(
            "actions need the header X-Strom-Console: 1 (it keeps other web pages from acting through your browser)",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let expected = host.map(|h| format!("http://{h}"));
        if origin.to_str().ok() != expected.as_deref() {
            return Err(Failure::forbidden(
                "actions are taken from this console's own page only",
            ));
        }
    }
    if status.console.read_only {
        return Err(Failure::forbidden(format!(
            "the console is read-only: {}",
            status.console.reason.unwrap_or("strom.http.read.only=true")
        )));
    }
    Ok(())
}

/// `localhost`, a name under it, or a loopback address, with or without
/// a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // [::1]:9644
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn with_policy(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_told_apart_from_other_names() {
        for host in [
            "localhost",
            "localhost:9644",
            "127.0.0.1:9644",
            "127.3.4.5",
            "[::1]:9644",
            "LOCALHOST",
            "app.localhost:80",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:9644",
            "10.0.0.1:9644",
            "localhost.evil.example",
            "[::2]:9644",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
