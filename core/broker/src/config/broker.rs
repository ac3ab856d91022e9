//! The broker's static configuration: where each value came from, and the
//! typed view the rest of the broker reads.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::broker_defs::{broker_setting, listener_setting, BROKER_SETTINGS};
use super::properties::parse_properties;
use super::settings::{resolve_settings, BrokerSettings};
use super::types::{ConfigEntry, ConfigSource, ConfigSynonym, ConfigType};
use super::ConfigError;

const ENV_PREFIX: &str = "STROM_";

/// Where an explicitly set value came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// `--config FILE`
    File,
    /// A `STROM_*` environment variable.
    Env,
    /// `--set key=value`, or [`BrokerConfig::set`].
    Set,
    /// A dedicated flag (`--data-dir`, `--listen`, `--advertised-listener`).
    Flag,
}

/// Names of one setting, most specific first: Kafka uses the first one
/// set. A higher-precedence source setting any name of a group replaces the
/// whole group from lower sources, so `STROM_LOG_RETENTION_HOURS=1` beats a
/// file's `log.retention.ms`; within one source Kafka's order applies.
pub(super) const SYNONYM_GROUPS: &[&[&str]] = &[
    &[
        "log.retention.ms",
        "log.retention.minutes",
        "log.retention.hours",
    ],
    &["log.roll.ms", "log.roll.hours"],
    &["log.roll.jitter.ms", "log.roll.jitter.hours"],
    &["log.dirs", "log.dir"],
    &["node.id", "broker.id"],
    &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
];

fn synonym_group(name: &str) -> Option<&'static [&'static str]> {
    SYNONYM_GROUPS
        .iter()
        .copied()
        .find(|group| group.contains(&name))
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ExplicitValue {
    value: String,
    origin: Origin,
    /// The flag or environment variable the user typed, for errors.
    given_as: Option<String>,
}

/// A value from a dedicated command-line flag (`--listen` sets `listeners`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValue {
    pub flag: &'static str,
    pub key: &'static str,
    pub value: String,
}

/// Static broker configuration. The explicit values are the truth; the
/// typed [`BrokerSettings`] are recomputed whenever one changes, so what
/// DescribeConfigs reports and what the broker does cannot drift apart.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    explicit: BTreeMap<String, ExplicitValue>,
    /// Keys Strom does not know, kept (Kafka warns and carries on).
    ignored: BTreeMap<String, ExplicitValue>,
    settings: BrokerSettings,
}

impl BrokerConfig {
    /// Merges every source, lowest precedence first: built-in defaults <
    /// `file` (server.properties format) < `env` (only `STROM_*` variables
    /// are read) < `sets` (`key=value` strings) < `flags` (dedicated
    /// command-line flags). An error about a value from a flag or a variable
    /// names that flag or variable.
    ///
    /// Environment names map to keys by dropping `STROM_`, lowercasing, and
    /// turning `_` into `.`; write `__` for a literal `_` in a key. When the
    /// result is not a known key but `strom.` + it is, that is used, so
    /// `STROM_FLUSH_POLICY` sets `strom.flush.policy`.
    pub fn from_sources(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        sets: &[String],
        flags: &[FlagValue],
    ) -> Result<BrokerConfig, ConfigError> {
        let mut config = BrokerConfig::empty();
        if let Some(path) = file {
            config.apply_file(path)?;
        }
        for (name, value) in env {
            if let Some(key) = env_key(&name) {
                config.insert(&key, &value, Origin::Env, Some(&name))?;
            }
        }
        for argument in sets {
            let (key, value) = argument
                .split_once('=')
                .ok_or_else(|| ConfigError::InvalidSetArgument(argument.clone()))?;
            config.insert(key.trim(), value, Origin::Set, None)?;
        }
        for flag in flags {
            config.insert(flag.key, &flag.value, Origin::Flag, Some(flag.flag))?;
        }
        config.settings = resolve_settings(&config.explicit_values()).map_err(|e| {
            let typed_as = e
                .key()
                .and_then(|key| config.explicit.get(key))
                .and_then(|v| v.given_as.clone());
            named(typed_as.as_deref(), e)
        })?;
        for (key, supplied) in &config.ignored {
            match &supplied.given_as {
                Some(name) => tracing::warn!(
                    "the environment variable {name} names the setting '{key}', which isn't a known config; ignored"
                ),
                None => tracing::warn!(
                    "the configuration '{key}' was supplied but isn't a known config; ignored"
                ),
            }
        }
        Ok(config)
    }

    /// Defaults plus `pairs` (as if given with `--set`); handy in tests.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<BrokerConfig, ConfigError> {
        let sets: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        BrokerConfig::from_sources(None, std::iter::empty(), &sets, &[])
    }

    fn empty() -> BrokerConfig {
        BrokerConfig {
            explicit: BTreeMap::new(),
            ignored: BTreeMap::new(),
            settings: BrokerSettings::placeholder(),
        }
    }

    fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        for property in parse_properties(&text) {
            self.insert(&property.key, &property.value, Origin::File, None)
                .map_err(|source| ConfigError::InFile {
                    path: path.to_path_buf(),
                    line: property.line,
                    source: Box::new(source),
                })?;
        }
        Ok(())
    }

    /// Validates and records one value without recomputing the typed view.
    fn insert(
        &mut self,
        key: &str,
        value: &str,
        origin: Origin,
        typed_as: Option<&str>,
    ) -> Result<(), ConfigError> {
        let given_as = typed_as.map(str::to_string);
        let Some(def) = broker_setting(key).or_else(|| listener_setting(key)) else {
            let value = value.to_string();
            self.ignored.insert(
                key.to_string(),
                ExplicitValue {
                    value,
                    origin,
                    given_as,
                },
            );
            return Ok(());
        };
        def.parse(value)
            .map_err(|e| named(typed_as, under_key(e, key)))?;
        if let Some(group) = synonym_group(key) {
            for name in group.iter().filter(|name| **name != key) {
                if self
                    .explicit
                    .get(*name)
                    .is_some_and(|old| old.origin < origin)
                {
                    self.explicit.remove(*name);
                }
            }
        }
        let value = value.trim().to_string();
        self.explicit.insert(
            key.to_string(),
            ExplicitValue {
                value,
                origin,
                given_as,
            },
        );
        Ok(())
    }

    /// Sets one value at `--set` precedence and recomputes the typed view;
    /// on error nothing changes.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let mut candidate = self.clone();
        candidate.insert(key, value, Origin::Set, None)?;
        let cluster_id = self.settings.cluster_id.take();
        candidate.settings = resolve_settings(&candidate.explicit_values())?;
        candidate.settings.cluster_id = cluster_id;
        *self = candidate;
        Ok(())
    }

    /// Records the cluster id the broker read from (or wrote to) its
    /// `meta.properties`. It is not a setting a user configures.
    pub fn set_cluster_id(&mut self, cluster_id: String) {
        self.settings.cluster_id = Some(cluster_id);
    }

    /// The typed settings the broker acts on.
    pub fn settings(&self) -> &BrokerSettings {
        &self.settings
    }

    /// `host:port` to bind, as `TcpListener::bind` takes it.
    pub fn listen_address(&self) -> String {
        self.settings.listener.to_string()
    }

    /// See [`BrokerSettings::advertised_for`].
    pub fn advertised_for(&self, bound: SocketAddr) -> HostPort {
        self.settings.advertised_for(bound)
    }

    /// The data directory (`log.dirs` / `log.dir`).
    pub fn data_dir(&self) -> PathBuf {
        self.settings.data_dir.clone()
    }

    /// `node.id` (or `broker.id`).
    pub fn node_id(&self) -> i32 {
        self.settings.node_id
    }

    /// The value set explicitly for a known key, by any source.
    pub fn explicit_value(&self, key: &str) -> Option<&str> {
        self.explicit.get(key).map(|v| v.value.as_str())
    }

    /// Which source set a key, if any.
    pub fn origin_of(&self, key: &str) -> Option<Origin> {
        self.explicit.get(key).map(|v| v.origin)
    }

    /// Keys supplied but unknown to Strom, with their values.
    pub fn ignored(&self) -> BTreeMap<&str, &str> {
        self.ignored
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect()
    }

    fn explicit_values(&self) -> BTreeMap<&str, &str> {
        self.explicit
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect()
    }

    /// DescribeConfigs rows for the BROKER resource: every known setting,
    /// sorted by name. All are read-only: Strom has no dynamic broker configs.
    pub fn describe(&self) -> Vec<ConfigEntry> {
        let mut entries: Vec<ConfigEntry> = BROKER_SETTINGS
            .iter()
            .map(|def| {
                let explicit = self.explicit_value(def.name);
                let source = match explicit {
                    Some(_) => ConfigSource::StaticBrokerConfig,
                    None => ConfigSource::DefaultConfig,
                };
                // Passwords are never sent, as Kafka never sends them.
                let sensitive = def.config_type == ConfigType::Password;
                let mut synonyms = self.broker_synonyms(def.name);
                if sensitive {
                    synonyms.iter_mut().for_each(|s| s.value = None);
                }
                ConfigEntry {
                    name: def.name.to_string(),
                    value: explicit
                        .or(def.default)
                        .map(str::to_string)
                        .filter(|_| !sensitive),
                    source,
                    read_only: true,
                    is_sensitive: sensitive,
                    is_default: explicit.is_none(),
                    synonyms,
                    config_type: def.config_type,
                    documentation: def.doc,
                }
            })
            .collect();
        // Per-listener settings that were set, as Kafka lists them.
        for (name, explicit) in &self.explicit {
            let Some(def) = listener_setting(name) else {
                continue;
            };
            let sensitive = def.config_type == ConfigType::Password;
            entries.push(ConfigEntry {
                name: name.clone(),
                value: Some(explicit.value.clone()).filter(|_| !sensitive),
                source: ConfigSource::StaticBrokerConfig,
                read_only: true,
                is_sensitive: sensitive,
                is_default: false,
                synonyms: Vec::new(),
                config_type: def.config_type,
                documentation: def.doc,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries
    }

    /// The names that could supply `name`'s value, from `name` itself down
    /// its synonym group: the explicit ones, then the first built-in default.
    fn broker_synonyms(&self, name: &str) -> Vec<ConfigSynonym> {
        let names: &[&str] = match synonym_group(name) {
            Some(group) => {
                let start = group.iter().position(|n| *n == name).unwrap_or(0);
                &group[start..]
            }
            None => std::slice::from_ref(&name),
        };
        let mut synonyms: Vec<ConfigSynonym> = names
            .iter()
            .filter_map(|n| {
                self.explicit_value(n).map(|value| ConfigSynonym {
                    name: n.to_string(),
                    value: Some(value.to_string()),
                    source: ConfigSource::StaticBrokerConfig,
                })
            })
            .collect();
        let default = names
            .iter()
            .find_map(|n| broker_setting(n).and_then(|d| d.default).map(|v| (n, v)));
        if let Some((n, value)) = default {
            synonyms.push(ConfigSynonym {
                name: n.to_string(),
                value: Some(value.to_string()),
                source: ConfigSource::DefaultConfig,
            });
        }
        synonyms
    }
}

/// `source`, naming the flag or environment variable the user typed, when
/// the value came from one.
/// `error` reported under `key`: a per-listener setting is checked by
/// its base key's definition, but the user should read the key they set.
fn under_key(error: ConfigError, key: &str) -> ConfigError {
    match error {
        ConfigError::InvalidValue { value, reason, .. } => ConfigError::InvalidValue {
            key: key.to_string(),
            value,
            reason,
        },
        other => other,
    }
}

fn named(typed_as: Option<&str>, source: ConfigError) -> ConfigError {
    match typed_as {
        Some(name) => ConfigError::GivenAs {
            given_as: name.to_string(),
            source: Box::new(source),
        },
        None => source,
    }
}

/// Maps `STROM_LOG_RETENTION_MS` to `log.retention.ms`; `None` for
/// variables that are not Strom settings.
fn env_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix(ENV_PREFIX)?;
    if rest.is_empty() {
        return None;
    }
    let key = rest
        .to_ascii_lowercase()
        .replace("__", "\u{0}")
        .replace('_', ".")
        .replace('\u{0}', "_");
    let prefixed = format!("strom.{key}");
    if broker_setting(&key).is_none() && broker_setting(&prefixed).is_some() {
        return Some(prefixed);
    }
    Some(key)
}

/// A host and port, as in `listeners` / `advertised.listeners`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    /// Parses `host:port`, `[v6]:port` or `:port` (empty host).
    pub fn parse(text: &str) -> Result<HostPort, String> {
        let text = text.trim();
        let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("'{text}' has no closing ']'"))?;
            let port = rest
                .strip_prefix(':')
                .ok_or_else(|| format!("'{text}' has no port"))?;
            (host, port)
        } else {
            text.rsplit_once(':')
                .ok_or_else(|| format!("'{text}' is not host:port"))?
        };
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("'{port}' is not a port number"))?;
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }

    /// True for an address that means "every interface", which clients
    /// cannot connect to.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.host.as_str(), "" | "0.0.0.0" | "::")
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl BrokerSettings {
    /// The address to advertise once the listener is bound: an advertised
    /// port of 0 (the default when listening on port 0) becomes the bound port.
    pub fn advertised_for(&self, bound: SocketAddr) -> HostPort {
        let mut advertised = self.advertised_listener.clone();
        if advertised.port == 0 {
            advertised.port = bound.port();
        }
        advertised
    }
}

#[cfg(test)]
#[path = "broker_tests.rs"]
mod tests;
