//! TLS for SSL and SASL_SSL listeners, and between the brokers of a
//! cluster: rustls on ring, keys and certificates from PEM files (Kafka's
//! `ssl.keystore.type=PEM`).

use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use strom_protocol::key_file;
use strom_raft::ClusterTls;

use crate::config::{ClientAuth, KeyPassword, SecuritySettings};
use crate::error::BrokerError;
use crate::security::authorizer::AuthorizerSettings;
use crate::security::principal;

/// The server side of a TLS listener, built once at start so a bad file
/// stops the broker with a clear message instead of failing each
/// handshake. As in Kafka, `ssl.client.auth` applies to SSL listeners:
/// SASL_SSL clients prove who they are with SASL (`for_ssl_listener`
/// false ignores it).
pub fn server_config(
    settings: &SecuritySettings,
    for_ssl_listener: bool,
) -> Result<Arc<ServerConfig>, BrokerError> {
    let client_auth = match for_ssl_listener {
        true => settings.client_auth,
        false => ClientAuth::None,
    };
    server_config_asking(settings, client_auth)
}

/// Mutual TLS between the brokers of a cluster
/// (`security.inter.broker.protocol=SSL`): the cluster port requires a
/// certificate both ways, and a peer is admitted when its certificate
/// chains to the truststore and, with the authorizer on, names a super
/// user (as Kafka requires of its inter-broker principal).
pub fn cluster_tls(
    settings: &SecuritySettings,
    authorizer: &AuthorizerSettings,
) -> Result<ClusterTls, BrokerError> {
    let super_users = authorizer.super_users.clone();
    let authorizing = authorizer.enabled;
    Ok(ClusterTls {
        server: server_config_asking(settings, ClientAuth::Required)?,
        client: client_config(settings)?,
        admits: Arc::new(move |leaf| {
            if !authorizing {
                return true;
            }
            match principal::from_certificate(leaf.as_ref()) {
                Some(principal) if super_users.contains(&principal) => true,
                other => {
                    tracing::warn!(
                        principal = other.as_deref().unwrap_or("unreadable"),
                        "a broker certificate that is not a super user's was refused"
                    );
                    false
                }
            }
        }),
    })
}

/// The dialling side of inter-broker TLS: this broker's certificate
/// (the keystore) shown to peers whose certificates must chain to the
/// truststore and name the host dialled.
pub fn client_config(settings: &SecuritySettings) -> Result<Arc<ClientConfig>, BrokerError> {
    let (keystore, chain, key) = keystore(settings)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS versions: {e}")))?
        .with_root_certificates(trust_roots(settings)?)
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error(format!("ssl.keystore.location {}: {e}", keystore.display())))?;
    Ok(Arc::new(config))
}

/// The keystore's path, certificate chain and private key.
fn keystore(
    settings: &SecuritySettings,
) -> Result<(&Path, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), BrokerError> {
    let keystore = settings
        .keystore
        .as_deref()
        .ok_or_else(|| tls_error("ssl.keystore.location is not set"))?;
    let chain = certificates(keystore, "ssl.keystore.location")?;
    let key = private_key(keystore, settings.key_password.as_ref())?;
    Ok((keystore, chain, key))
}

/// The truststore's CAs.
fn trust_roots(settings: &SecuritySettings) -> Result<RootCertStore, BrokerError> {
    let truststore = settings
        .truststore
        .as_deref()
        .ok_or_else(|| tls_error("ssl.truststore.location is not set"))?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(truststore, "ssl.truststore.location")? {
        roots.add(ca).map_err(|e| {
            tls_error(format!(
                "ssl.truststore.location {}: {e}",
                truststore.display()
            ))
        })?;
    }
    Ok(roots)
}

fn server_config_asking(
    settings: &SecuritySettings,
    client_auth: ClientAuth,
) -> Result<Arc<ServerConfig>, BrokerError> {
    let (keystore, chain, key) = keystore(settings)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS versions: {e}")))?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Requested | ClientAuth::Required => {
            let roots = trust_roots(settings)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if client_auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| tls_error(format!("client certificate checks: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| tls_error(format!("ssl.keystore.location {}: {e}", keystore.display())))?;
    Ok(Arc::new(config))
}

fn certificates(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, BrokerError> {
    let read =
        |e: rustls_pki_types::pem::Error| tls_error(format!("{key} {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "{key} {}: no CERTIFICATE in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// The keystore's private key; an encrypted PKCS#8 key is decrypted with
/// `ssl.key.password`.
fn private_key(
    path: &Path,
    password: Option<&KeyPassword>,
) -> Result<PrivateKeyDer<'static>, BrokerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| tls_error(format!("ssl.keystore.location {}: {e}", path.display())))?;
    if let Some(block) = key_file::encrypted_key(&text) {
        let password = password.ok_or_else(|| {
            tls_error(format!(
                "ssl.keystore.location {}: the private key is encrypted: set ssl.key.password",
                path.display()
            ))
        })?;
        let der = key_file::decrypt_pkcs8(block, &password.0).map_err(|e| {
            tls_error(format!(
                "ssl.keystore.location {}: cannot decrypt the private key with ssl.key.password: {e}",
                path.display()
            ))
        })?;
        return Ok(PrivateKeyDer::Pkcs8(der.into()));
    }
    if key_file::is_legacy_encrypted(&text) {
        return Err(tls_error(format!(
            "ssl.keystore.location {}: {}",
            path.display(),
            key_file::CONVERT_LEGACY
        )));
    }
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        tls_error(format!(
            "ssl.keystore.location {}: no usable PRIVATE KEY: {e}",
            path.display()
        ))
    })
}

fn tls_error(reason: impl Into<String>) -> BrokerError {
    BrokerError::Tls(reason.into())
}
