//! Who a connection is and what protects it: TLS on SSL and SASL_SSL
//! listeners ([`tls`]), SASL logins on SASL listeners ([`sasl`]) against
//! the SCRAM credentials of [`users`].

pub mod sasl;
pub mod tls;
pub mod users;

use std::sync::Arc;

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
}

impl Listener {
    pub fn new(spec: &ListenerSpec, bound_port: u16, tls: Option<TlsAcceptor>) -> Arc<Listener> {
        Arc::new(Listener {
            name: spec.name.clone(),
            protocol: spec.protocol,
            advertised: spec.advertised_for(bound_port),
            tls,
        })
    }

    /// A PLAINTEXT listener (tests bind their own).
    pub fn plaintext(advertised: HostPort) -> Arc<Listener> {
        Arc::new(Listener {
            name: "PLAINTEXT".into(),
            protocol: SecurityProtocol::Plaintext,
            advertised,
            tls: None,
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
