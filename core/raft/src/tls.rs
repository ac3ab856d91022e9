//! Mutual TLS on the cluster port. The cluster port carries the metadata
//! log (users' SCRAM credentials, ACLs, every topic change), so a secured
//! cluster must not let anyone who can reach it read or write it: with
//! [`ClusterTls`] set, every connection is TLS both ways, each side shows
//! a certificate that chains to the cluster's trust store, and each side
//! admits only peers its `admits` check accepts (the broker asks for a
//! super user's certificate, as Kafka asks of its inter-broker principal).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::error::TransportError;

/// A TLS handshake that takes longer than this closes the connection, so
/// half-open handshakes cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the peer whose (already verified) leaf certificate this is may
/// take part in the cluster.
pub type PeerCheck = Arc<dyn Fn(&CertificateDer<'_>) -> bool + Send + Sync>;

/// The TLS settings of the cluster port.
#[derive(Clone)]
pub struct ClusterTls {
    /// The accepting side; it must require a client certificate.
    pub server: Arc<rustls::ServerConfig>,
    /// The dialling side, presenting this node's certificate.
    pub client: Arc<rustls::ClientConfig>,
    pub admits: PeerCheck,
}

impl fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterTls")
    }
}

/// A cluster connection, plain or TLS.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}
pub(crate) type Conn = Box<dyn Stream>;

/// The accepted `stream`, after the TLS handshake and the peer check when
/// the port is secured.
pub(crate) async fn accept(
    tls: Option<&ClusterTls>,
    stream: TcpStream,
) -> Result<Conn, TransportError> {
    let Some(tls) = tls else {
        return Ok(Box::new(stream));
    };
    let handshake = TlsAcceptor::from(tls.server.clone()).accept(stream);
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| TransportError::Timeout(HANDSHAKE_TIMEOUT))?
        .map_err(|e| match e.kind() {
            // Closed before saying anything: the controller's liveness
            // probe only connects (cluster::probe), which is no intruder.
            std::io::ErrorKind::UnexpectedEof => TransportError::Closed,
            _ => TransportError::Tls(format!("handshake: {e}")),
        })?;
    check_peer(tls, stream.get_ref().1.peer_certificates())?;
    Ok(Box::new(stream))
}

/// `stream`, dialled to `addr` ("host:port"), after the TLS handshake
/// (the peer's certificate must name `host`) and the peer check.
pub(crate) async fn connect(
    tls: Option<&ClusterTls>,
    addr: &str,
    stream: TcpStream,
) -> Result<Conn, TransportError> {
    let Some(tls) = tls else {
        return Ok(Box::new(stream));
    };
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| TransportError::Tls(format!("{host} is not a TLS server name: {e}")))?;
    let handshake = TlsConnector::from(tls.client.clone()).connect(name, stream);
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| TransportError::Timeout(HANDSHAKE_TIMEOUT))?
        .map_err(|e| TransportError::Tls(format!("handshake with {addr}: {e}")))?;
    check_peer(tls, stream.get_ref().1.peer_certificates())?;
    Ok(Box::new(stream))
}

fn check_peer(
    tls: &ClusterTls,
    certificates: Option<&[CertificateDer<'static>]>,
) -> Result<(), TransportError> {
    match certificates.and_then(|chain| chain.first()) {
        Some(leaf) if (tls.admits)(leaf) => Ok(()),
        Some(_) => Err(TransportError::Tls(
            "the peer's certificate is not a cluster member's".into(),
        )),
        None => Err(TransportError::Tls("the peer showed no certificate".into())),
    }
}
