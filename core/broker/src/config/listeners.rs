//! `listeners`, `advertised.listeners` and `listener.security.protocol.map`:
//! the addresses the broker serves clients on and how each one is secured,
//! under Kafka's names (`SASL_SSL://:9093`, or `CLIENT://:9093` with
//! `CLIENT:SASL_SSL` in the map).

use crate::security::oauth::OAuthSettings;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::broker::HostPort;
use super::types::split_list;
use super::ConfigError;
pub use strom_protocol::security_protocol::SecurityProtocol;

/// One client listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// Upper case, as Kafka compares listener names.
    pub name: String,
    pub protocol: SecurityProtocol,
    /// Where to bind; an empty host was turned into 0.0.0.0.
    pub bind: HostPort,
    /// What Metadata tells clients that came in through this listener;
    /// port 0 means the bound port.
    pub advertised: HostPort,
}

impl ListenerSpec {
    /// The address to advertise once the listener is bound.
    pub fn advertised_for(&self, bound_port: u16) -> HostPort {
        let mut advertised = self.advertised.clone();
        if advertised.port == 0 {
            advertised.port = bound_port;
        }
        advertised
    }
}

/// Whether TLS listeners ask for client certificates (`ssl.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Requested,
    Required,
}

/// The SASL mechanisms Strom serves.
pub const SASL_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// `ssl.key.password`, kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPassword(pub String);

impl std::fmt::Debug for KeyPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"****\"")
    }
}

/// `sasl.oauthbearer.jwks.endpoint.url`.
pub const JWKS_URL: &str = "sasl.oauthbearer.jwks.endpoint.url";

/// The path of a `file:` JWKS URL; other schemes are refused (Strom does
/// not fetch keys over HTTP yet).
pub fn jwks_file(url: &str) -> Result<Option<PathBuf>, ConfigError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let path = url
        .strip_prefix("file://")
        .or_else(|| url.strip_prefix("file:"))
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| ConfigError::Invalid {
            key: JWKS_URL.into(),
            reason: format!("`{url}`: Strom reads the JWKS from a file (file:///path); download it from the provider's endpoint"),
        })?;
    Ok(Some(PathBuf::from(path)))
}

/// TLS and SASL settings, checked against the listeners that use them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecuritySettings {
    /// `ssl.keystore.location`: the private key and certificate chain.
    pub keystore: Option<PathBuf>,
    /// `ssl.key.password`: the key's password, when it is encrypted.
    pub key_password: Option<KeyPassword>,
    /// `ssl.truststore.location`: CAs for client certificates.
    pub truststore: Option<PathBuf>,
    pub client_auth: ClientAuth,
    /// `sasl.enabled.mechanisms`, upper case, each one of [`SASL_MECHANISMS`].
    pub sasl_mechanisms: Vec<String>,
    /// How OAUTHBEARER tokens are validated.
    pub oauth: OAuthSettings,
}

impl SecuritySettings {
    /// Checks the settings the listeners need; `mechanisms` and
    /// `client_auth` as the user gave them.
    pub(super) fn new(
        listeners: &[ListenerSpec],
        keystore: Option<&str>,
        key_password: Option<&str>,
        truststore: Option<&str>,
        client_auth: &str,
        mechanisms: &str,
        oauth: OAuthSettings,
    ) -> Result<SecuritySettings, ConfigError> {
        let client_auth = match client_auth {
            "required" => ClientAuth::Required,
            "requested" => ClientAuth::Requested,
            _ => ClientAuth::None,
        };
        let path = |value: Option<&str>| {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let settings = SecuritySettings {
            keystore: path(keystore),
            key_password: key_password
                .filter(|p| !p.is_empty())
                .map(|p| KeyPassword(p.to_string())),
            truststore: path(truststore),
            client_auth,
            sasl_mechanisms: split_list(mechanisms)
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            oauth,
        };
        if settings.sasl_mechanisms.iter().any(|m| m == "OAUTHBEARER")
            && settings.oauth.jwks_file.is_none()
        {
            return Err(ConfigError::Invalid {
                key: JWKS_URL.into(),
                reason: "OAUTHBEARER is enabled: name the identity provider's JWKS as a file: URL"
                    .into(),
            });
        }
        for mechanism in &settings.sasl_mechanisms {
            if !SASL_MECHANISMS.contains(&mechanism.as_str()) {
                return Err(invalid(
                    "sasl.enabled.mechanisms",
                    mechanisms,
                    format!(
                        "Strom serves {}, not {mechanism}",
                        SASL_MECHANISMS.join(", ")
                    ),
                ));
            }
        }
        let needs = |wanted: fn(SecurityProtocol) -> bool| {
            listeners
                .iter()
                .find(|l| wanted(l.protocol))
                .map(|l| l.name.clone())
        };
        if let Some(name) = needs(SecurityProtocol::uses_tls) {
            if settings.keystore.is_none() {
                return Err(ConfigError::Invalid {
                    key: "ssl.keystore.location".into(),
                    reason: format!("listener {name} uses TLS: name a PEM file with the broker's key and certificate chain"),
                });
            }
            let ssl_listener = listeners
                .iter()
                .any(|l| l.protocol == SecurityProtocol::Ssl);
            if ssl_listener
                && settings.client_auth != ClientAuth::None
                && settings.truststore.is_none()
            {
                return Err(ConfigError::Invalid {
                    key: "ssl.truststore.location".into(),
                    reason: "ssl.client.auth asks for client certificates: name a PEM file with the CAs they must chain to".into(),
                });
            }
        }
        if let Some(name) = needs(SecurityProtocol::uses_sasl) {
            if settings.sasl_mechanisms.is_empty() {
                return Err(ConfigError::Invalid {
                    key: "sasl.enabled.mechanisms".into(),
                    reason: format!("listener {name} uses SASL: enable at least one mechanism"),
                });
            }
        }
        Ok(settings)
    }
}

/// Names of listeners that belong to Kafka's controller quorum: Strom's
/// quorum has its own listener (`strom.cluster.listen`), so these are
/// skipped with a warning, which lets a Kafka server.properties run as is.
fn is_controller_listener(name: &str, controller_names: &[String]) -> bool {
    name == "CONTROLLER" || controller_names.iter().any(|c| c == name)
}

/// Resolves the listener settings. `listeners` entries are
/// `NAME://host:port` or a bare `host:port` (PLAINTEXT); a name that is not
/// a security protocol must appear in `listener.security.protocol.map`.
pub(super) fn resolve_listeners(
    listeners: &str,
    advertised: Option<&str>,
    protocol_map: Option<&str>,
    controller_names: Option<&str>,
) -> Result<Vec<ListenerSpec>, ConfigError> {
    let map = parse_protocol_map(protocol_map.unwrap_or(""))?;
    let controller_names: Vec<String> = split_list(controller_names.unwrap_or(""))
        .iter()
        .map(|n| n.to_ascii_uppercase())
        .collect();
    let mut specs: Vec<ListenerSpec> = Vec::new();
    for (name, bind) in parse_entries("listeners", listeners)? {
        if is_controller_listener(&name, &controller_names) {
            tracing::warn!("listeners: skipping '{name}': Strom's metadata quorum has its own listener (strom.cluster.listen)");
            continue;
        }
        if specs.iter().any(|s| s.name == name) {
            return Err(invalid(
                "listeners",
                listeners,
                format!("'{name}' is listed twice"),
            ));
        }
        let protocol = map
            .get(&name)
            .copied()
            .or_else(|| SecurityProtocol::from_name(&name))
            .ok_or_else(|| {
                invalid(
                    "listeners",
                    listeners,
                    format!("listener '{name}' needs an entry in listener.security.protocol.map, e.g. {name}:SASL_SSL"),
                )
            })?;
        let mut bind = bind;
        if bind.host.is_empty() {
            bind.host = "0.0.0.0".into();
        }
        specs.push(ListenerSpec {
            name,
            protocol,
            advertised: bind.clone(),
            bind,
        });
    }
    if specs.is_empty() {
        return Err(invalid(
            "listeners",
            listeners,
            "needs at least one client listener, e.g. PLAINTEXT://127.0.0.1:9092".into(),
        ));
    }
    if let Some(advertised) = advertised {
        for (name, address) in parse_entries("advertised.listeners", advertised)? {
            if is_controller_listener(&name, &controller_names) {
                continue;
            }
            let spec = specs.iter_mut().find(|s| s.name == name).ok_or_else(|| {
                invalid(
                    "advertised.listeners",
                    advertised,
                    format!("'{name}' is not one of the listeners"),
                )
            })?;
            spec.advertised = address;
        }
    }
    for spec in &specs {
        if spec.advertised.is_wildcard() {
            return Err(ConfigError::Invalid {
                key: "advertised.listeners".into(),
                reason: format!(
                    "clients cannot connect to {}; set advertised.listeners \
                     (--advertised-listener HOST:PORT) to an address they can reach",
                    spec.advertised
                ),
            });
        }
    }
    Ok(specs)
}

/// `NAME://host:port` entries, names upper-cased; a bare `host:port` is
/// PLAINTEXT.
fn parse_entries(key: &str, value: &str) -> Result<Vec<(String, HostPort)>, ConfigError> {
    split_list(value)
        .into_iter()
        .map(|entry| {
            let (name, address) = match entry.split_once("://") {
                Some((name, address)) => (name.trim().to_ascii_uppercase(), address.to_string()),
                None => ("PLAINTEXT".to_string(), entry.clone()),
            };
            let address =
                HostPort::parse(&address).map_err(|reason| invalid(key, value, reason))?;
            Ok((name, address))
        })
        .collect()
}

fn parse_protocol_map(value: &str) -> Result<BTreeMap<String, SecurityProtocol>, ConfigError> {
    const KEY: &str = "listener.security.protocol.map";
    let mut map = BTreeMap::new();
    for entry in split_list(value) {
        let (name, protocol) = entry
            .split_once(':')
            .ok_or_else(|| invalid(KEY, value, format!("'{entry}' is not NAME:PROTOCOL")))?;
        let protocol = SecurityProtocol::from_name(protocol.trim()).ok_or_else(|| {
            invalid(
                KEY,
                value,
                format!("'{protocol}' is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
            )
        })?;
        map.insert(name.trim().to_ascii_uppercase(), protocol);
    }
    Ok(map)
}

fn invalid(key: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn a_bare_address_is_one_plaintext_listener() {
        let specs = resolve_listeners("127.0.0.1:9092", None, None, None).unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].name, "PLAINTEXT");
        assert_eq!(specs[0].protocol, SecurityProtocol::Plaintext);
        assert_eq!(specs[0].advertised, host("127.0.0.1", 9092));
    }

    #[test]
    fn named_listeners_take_their_protocol_from_the_map_and_their_advertised_address_by_name() {
        let specs = resolve_listeners(
            "PLAINTEXT://127.0.0.1:9092,client://:9093,CONTROLLER://:9094",
            Some("CLIENT://kafka.example:19093,PLAINTEXT://127.0.0.1:9092"),
            Some("PLAINTEXT:PLAINTEXT,CLIENT:SASL_SSL,CONTROLLER:PLAINTEXT"),
            Some("CONTROLLER"),
        )
        .unwrap();
        assert_eq!(specs.len(), 2, "the controller listener is skipped");
        assert_eq!(specs[1].name, "CLIENT");
        assert_eq!(specs[1].protocol, SecurityProtocol::SaslSsl);
        assert_eq!(specs[1].bind, host("0.0.0.0", 9093));
        assert_eq!(specs[1].advertised, host("kafka.example", 19093));
    }

    #[test]
    fn mistakes_are_errors_that_name_the_listener() {
        let unmapped = resolve_listeners("CLIENT://:9093", Some("CLIENT://h:1"), None, None);
        assert!(unmapped
            .unwrap_err()
            .to_string()
            .contains("CLIENT:SASL_SSL"));
        let twice = resolve_listeners("SSL://:1,SSL://:2", None, None, None);
        assert!(twice.unwrap_err().to_string().contains("twice"));
        let stray = resolve_listeners("SSL://h:1", Some("SASL_SSL://h:2"), None, None);
        assert!(stray
            .unwrap_err()
            .to_string()
            .contains("not one of the listeners"));
        let wildcard = resolve_listeners("SSL://:1", None, None, None);
        assert!(wildcard.unwrap_err().to_string().contains("cannot connect"));
        let bad_map = resolve_listeners("A://h:1", None, Some("A:TLS"), None);
        assert!(bad_map.unwrap_err().to_string().contains("'TLS'"));
    }
}
