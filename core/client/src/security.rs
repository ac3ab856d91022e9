//! How the client secures its connections, under librdkafka's names:
//! `security.protocol`, `ssl.ca.location`, `ssl.certificate.location`,
//! `ssl.key.location`, `ssl.endpoint.identification.algorithm`,
//! `sasl.mechanisms`, `sasl.username`, `sasl.password`, and for
//! OAUTHBEARER a token callback or `sasl.oauthbearer.token.endpoint.url`.
//!
//! TLS is rustls on ring; SASL is PLAIN, SCRAM-SHA-256/512 or OAUTHBEARER
//! (`strom_protocol::sasl`), sent in SaslAuthenticate frames (KIP-152)
//! right after ApiVersions on every new connection.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig as TlsConfig, RootCertStore};
use strom_protocol::key_file;
use strom_protocol::sasl::ScramMechanism;
pub use strom_protocol::security_protocol::SecurityProtocol;

use crate::error::{ClientError, Result};

/// `sasl.mechanisms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaslMechanism {
    #[default]
    Plain,
    Scram(ScramMechanism),
    /// A bearer token from the identity provider (KIP-255, KIP-768).
    OAuthBearer,
}

impl SaslMechanism {
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::Scram(m) => m.name(),
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// A token, or why the application could not give one.
pub type TokenAnswer = std::result::Result<String, String>;

/// Where OAUTHBEARER logins get their token: a function the application
/// gives (confluent-kafka's `oauth_cb`, kafkajs's `oauthBearerProvider`),
/// asked at every login, so it can hand out a fresh token. It answers
/// with a future, so a host language whose callbacks are asynchronous
/// (a JavaScript promise) does not hold a runtime thread while it works.
#[derive(Clone)]
pub struct TokenProvider(
    pub Arc<dyn Fn() -> Pin<Box<dyn Future<Output = TokenAnswer> + Send>> + Send + Sync>,
);

impl TokenProvider {
    /// A provider from a function that answers at once (Python's
    /// `oauth_cb`, a C callback).
    pub fn from_fn(answer: impl Fn() -> TokenAnswer + Send + Sync + 'static) -> TokenProvider {
        TokenProvider(Arc::new(move || Box::pin(std::future::ready(answer()))))
    }

    /// Asks for a token.
    pub async fn token(&self) -> TokenAnswer {
        (self.0)().await
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenProvider")
    }
}

impl PartialEq for TokenProvider {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TokenProvider {}

/// A setting whose value must not reach logs or `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "\"****\""
        })
    }
}

/// The security settings of a [`crate::ClientConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    pub protocol: SecurityProtocol,
    /// PEM file of the CAs the broker's certificate must chain to; the
    /// system's store when unset.
    pub ca_location: Option<PathBuf>,
    /// The client's certificate and key (mutual TLS), PEM files.
    pub certificate_location: Option<PathBuf>,
    pub key_location: Option<PathBuf>,
    /// The same three as PEM text (`ssl.ca.pem`, `ssl.certificate.pem`,
    /// `ssl.key.pem`), for callers that hold them in memory (kafkajs's
    /// `ssl` option); each wins over its file.
    pub ca_pem: Option<String>,
    pub certificate_pem: Option<String>,
    pub key_pem: Option<Secret>,
    /// `ssl.key.password`: the key's password, when it is encrypted.
    pub key_password: Option<Secret>,
    /// `ssl.endpoint.identification.algorithm`: `https` (the default)
    /// checks the broker's certificate names the host dialled; `none`
    /// does not.
    pub verify_hostname: bool,
    pub sasl_mechanism: SaslMechanism,
    pub sasl_username: String,
    pub sasl_password: Secret,
    /// OAUTHBEARER's token: read from this file at every login
    /// (`sasl.oauthbearer.token.endpoint.url` as a `file:` URL, as the
    /// Java client takes it), unless a [`TokenProvider`] is set.
    pub oauth_token_file: Option<PathBuf>,
    pub oauth_token_provider: Option<TokenProvider>,
}

impl SecurityConfig {
    pub fn new() -> SecurityConfig {
        SecurityConfig {
            verify_hostname: true,
            ..SecurityConfig::default()
        }
    }

    /// Sets one security setting; `false` if `key` is not one.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let path = |value: &str| Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
        match key {
            "security.protocol" => {
                self.protocol = SecurityProtocol::from_name(value).ok_or_else(|| {
                    ClientError::invalid_config(
                        key,
                        value,
                        "expected plaintext, ssl, sasl_plaintext or sasl_ssl",
                    )
                })?
            }
            "ssl.ca.location" => self.ca_location = path(value),
            "ssl.certificate.location" => self.certificate_location = path(value),
            "ssl.key.location" => self.key_location = path(value),
            "ssl.ca.pem" => self.ca_pem = Some(value.to_string()).filter(|v| !v.is_empty()),
            "ssl.certificate.pem" => {
                self.certificate_pem = Some(value.to_string()).filter(|v| !v.is_empty())
            }
            "ssl.key.password" => {
                self.key_password = Some(Secret(value.to_string())).filter(|v| !v.0.is_empty())
            }
            "ssl.key.pem" => {
                self.key_pem = Some(Secret(value.to_string())).filter(|v| !v.0.is_empty())
            }
            "ssl.endpoint.identification.algorithm" => {
                self.verify_hostname = match value.to_ascii_lowercase().as_str() {
                    "https" => true,
                    "none" | "" => false,
                    _ => {
                        return Err(ClientError::invalid_config(
                            key,
                            value,
                            "expected https or none",
                        ))
                    }
                }
            }
            "sasl.mechanisms" | "sasl.mechanism" => {
                let upper = value.to_ascii_uppercase();
                self.sasl_mechanism = match ScramMechanism::from_name(&upper) {
                    Some(scram) => SaslMechanism::Scram(scram),
                    None if upper == "PLAIN" => SaslMechanism::Plain,
                    None if upper == "OAUTHBEARER" => SaslMechanism::OAuthBearer,
                    None => return Err(ClientError::invalid_config(
                        key,
                        value,
                        "this client speaks PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER",
                    )),
                }
            }
            "sasl.username" => self.sasl_username = value.to_string(),
            "sasl.password" => self.sasl_password = Secret(value.to_string()),
            "sasl.oauthbearer.token.endpoint.url" => {
                let file = value
                    .strip_prefix("file://")
                    .or_else(|| value.strip_prefix("file:"))
                    .filter(|p| p.starts_with('/'));
                self.oauth_token_file = match (value.is_empty(), file) {
                    (true, _) => None,
                    (false, Some(path)) => Some(PathBuf::from(path)),
                    (false, None) => {
                        return Err(ClientError::invalid_config(
                            key,
                            value,
                            "this client reads the token from a file: URL (file:///path), or from a token callback",
                        ))
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks that the settings fit together (called with the rest of the
    /// config); TLS files are read here, so a missing one is named at once.
    pub fn validate(&self) -> Result<()> {
        let oauth = self.sasl_mechanism == SaslMechanism::OAuthBearer;
        if self.protocol.uses_sasl()
            && oauth
            && self.oauth_token_file.is_none()
            && self.oauth_token_provider.is_none()
        {
            return Err(ClientError::invalid_config(
                "sasl.oauthbearer.token.endpoint.url",
                "",
                "OAUTHBEARER needs a token: a token callback, or a file: URL of one",
            ));
        }
        if self.protocol.uses_sasl() && !oauth && self.sasl_username.is_empty() {
            return Err(ClientError::invalid_config(
                "sasl.username",
                "",
                format!(
                    "security.protocol {:?} logs in with SASL: set sasl.username and sasl.password",
                    self.protocol
                ),
            ));
        }
        let has_certificate = self.certificate_location.is_some() || self.certificate_pem.is_some();
        let has_key = self.key_location.is_some() || self.key_pem.is_some();
        if has_certificate != has_key {
            return Err(ClientError::invalid_config(
                "ssl.key.location",
                "",
                "set ssl.certificate.location and ssl.key.location together",
            ));
        }
        if self.protocol.uses_tls() {
            self.tls_config()?;
        }
        Ok(())
    }

    /// The rustls configuration for TLS connections.
    pub fn tls_config(&self) -> Result<Arc<TlsConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let configured_cas = match (&self.ca_pem, &self.ca_location) {
            (Some(pem), _) => Some(pem_certificates(pem.as_bytes(), "ssl.ca.pem")?),
            (None, Some(path)) => Some(certificates(path, "ssl.ca.location")?),
            (None, None) => None,
        };
        match configured_cas {
            Some(cas) => {
                for ca in cas {
                    roots.add(ca).map_err(|e| {
                        ClientError::invalid_config("ssl.ca.location", "", e.to_string())
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(ClientError::invalid_config(
                        "ssl.ca.location",
                        "",
                        "the system has no CA certificates: name a PEM file of CAs",
                    ));
                }
            }
        }
        let roots = Arc::new(roots);
        let builder = TlsConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::invalid_config("security.protocol", "ssl", e.to_string()))?
            .with_root_certificates(roots.clone());
        let mut config = match self.client_certificate()? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError::invalid_config("ssl.key.location", "", e.to_string()))?,
            None => builder.with_no_client_auth(),
        };
        if !self.verify_hostname {
            let verifier =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| {
                        ClientError::invalid_config("ssl.ca.location", "", e.to_string())
                    })?;
            config
                .dangerous()
                .set_certificate_verifier(Arc::new(AnyName(verifier)));
        }
        Ok(Arc::new(config))
    }
}

type ClientCertificate = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

impl SecurityConfig {
    /// The client's certificate chain and key, from PEM text or files.
    fn client_certificate(&self) -> Result<Option<ClientCertificate>> {
        let chain = match (&self.certificate_pem, &self.certificate_location) {
            (Some(pem), _) => pem_certificates(pem.as_bytes(), "ssl.certificate.pem")?,
            (None, Some(path)) => certificates(path, "ssl.certificate.location")?,
            (None, None) => return Ok(None),
        };
        let (setting, text) = match (&self.key_pem, &self.key_location) {
            (Some(pem), _) => ("ssl.key.pem", pem.0.clone()),
            (None, Some(path)) => (
                "ssl.key.location",
                std::fs::read_to_string(path)
                    .map_err(|e| file_error("ssl.key.location", path, &e.to_string()))?,
            ),
            (None, None) => return Ok(None),
        };
        let refused = |reason: String| ClientError::invalid_config(setting, "****", reason);
        let key = if let Some(block) = key_file::encrypted_key(&text) {
            let password = self
                .key_password
                .as_ref()
                .ok_or_else(|| refused("the key is encrypted: set ssl.key.password".into()))?;
            let der = key_file::decrypt_pkcs8(block, &password.0).map_err(|e| {
                refused(format!("cannot decrypt the key with ssl.key.password: {e}"))
            })?;
            PrivateKeyDer::Pkcs8(der.into())
        } else if key_file::is_legacy_encrypted(&text) {
            return Err(refused(key_file::CONVERT_LEGACY.into()));
        } else {
            PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| refused(e.to_string()))?
        };
        Ok(Some((chain, key)))
    }
}

fn pem_certificates(pem: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ClientError::invalid_config(key, "(PEM text)", e.to_string()))?;
    if certs.is_empty() {
        return Err(ClientError::invalid_config(
            key,
            "(PEM text)",
            "no CERTIFICATE in it",
        ));
    }
    Ok(certs)
}

/// The name a TLS connection to `addr` (host:port) checks the broker's
/// certificate against.
pub fn server_name(addr: &str) -> Result<ServerName<'static>> {
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|e| {
        ClientError::InvalidArgument(format!("`{host}` is not a TLS server name: {e}"))
    })
}

fn certificates(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| file_error(key, path, &e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error(key, path, "no CERTIFICATE in the file"));
    }
    Ok(certs)
}

fn file_error(key: &str, path: &Path, reason: &str) -> ClientError {
    ClientError::invalid_config(key, &path.display().to_string(), reason)
}

/// `ssl.endpoint.identification.algorithm=none`: the chain is still
/// checked against the CAs, the name in it is not.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
