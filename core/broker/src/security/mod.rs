//! Who a connection is and what protects it: TLS on SSL and SASL_SSL
//! listeners ([`tls`]), SASL logins on SASL listeners ([`sasl`]) against
//! the SCRAM credentials of [`users`].

pub use strom_protocol::acl;
pub mod authorizer;
pub mod oauth;
pub mod principal;
pub mod sasl;
pub mod tls;
pub mod users;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_rustls::TlsAcceptor;

use crate::config::{HostPort, ListenerSpec, SecurityProtocol};

/// A client listener as it serves: its settings, the address clients that
/// use it are told, and its TLS acceptor if it has one.
pub struct Listener {
    pub name: String,
    pub protocol: SecurityProtocol,
    /// Where clients that came in through this listener reach this broker.
    pub advertised: HostPort,
    pub tls: Option<TlsAcceptor>,
    /// The listener other brokers connect to (the first, in a cluster)
    /// while their links are plain: requests only brokers make are
    /// allowed on it.
    pub inter_broker: bool,
    /// The SASL mechanisms this listener accepts (`sasl.enabled.mechanisms`
    /// or its `listener.name.<name>.` override).
    pub sasl_mechanisms: Vec<String>,
}

impl Listener {
    pub fn new(
        spec: &ListenerSpec,
        bound_port: u16,
        tls: Option<TlsAcceptor>,
        inter_broker: bool,
        sasl_mechanisms: Vec<String>,
    ) -> Arc<Listener> {
        Arc::new(Listener {
            name: spec.name.clone(),
            protocol: spec.protocol,
            advertised: spec.advertised_for(bound_port),
            tls,
            inter_broker,
            sasl_mechanisms,
        })
    }

    /// A PLAINTEXT listener (tests bind their own).
    pub fn plaintext(advertised: HostPort) -> Arc<Listener> {
        Arc::new(Listener {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            advertised,
            tls: None,
            inter_broker: false,
            sasl_mechanisms: Vec::new(),
        })
    }
}

tokio::task_local! {
    /// The listener the current connection came in through. Connection
    /// tasks set it for their whole life, and [`crate::state::Broker`]
    /// reads it wherever it tells a client where brokers are (Metadata,
    /// FindCoordinator, DescribeCluster, KIP-951 leader hints), so a client
    /// is always given the addresses of the listener it uses.
    pub static CLIENT_LISTENER: Arc<Listener>;
}

/// Bounds how many lines a kind of refusal (a failed TLS handshake, a
/// failed login) writes: a stranger who reconnects in a loop must not fill
/// the disk with the broker's log. Up to `PER_SECOND` lines a second; the
/// first line of the next second says how many were left out.
pub struct LogLimiter {
    window: Mutex<(Option<Instant>, u32, u64)>,
}

impl LogLimiter {
    const PER_SECOND: u32 = 20;

    pub const fn new() -> LogLimiter {
        LogLimiter {
            window: Mutex::new((None, 0, 0)),
        }
    }

    /// `Some(left out before this one)` when this line is to be written.
    pub fn admit(&self) -> Option<u64> {
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let (started, written, left_out) = &mut *window;
        let now = Instant::now();
        if started.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1)) {
            *started = Some(now);
            *written = 0;
        }
        if *written >= Self::PER_SECOND {
            *left_out += 1;
            return None;
        }
        *written += 1;
        Some(std::mem::take(left_out))
    }
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new()
    }
}

/// Failed TLS handshakes, all listeners together.
pub static TLS_FAILURES: LogLimiter = LogLimiter::new();
/// Failed SASL logins, all listeners together.
pub static LOGIN_FAILURES: LogLimiter = LogLimiter::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_refusals_is_logged_twenty_a_second_and_counted() {
        let limiter = LogLimiter::new();
        let admitted = (0..100).filter(|_| limiter.admit().is_some()).count();
        assert_eq!(admitted, 20);
        std::thread::sleep(Duration::from_millis(1050));
        assert_eq!(
            limiter.admit(),
            Some(80),
            "the next line says how many were left out"
        );
    }
}
