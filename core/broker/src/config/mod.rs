//! Broker and topic configuration, under Kafka's setting names.
//!
//! - [`BrokerConfig`]: the broker's static settings, merged from defaults, a
//!   `server.properties` file, `STROM_*` environment variables, `--set`
//!   arguments and explicit flags (in that order of precedence).
//! - [`TopicConfigs`]: per-topic overrides, validated against Kafka's topic
//!   setting registry and resolved against the broker's settings, for
//!   CreateTopics, DescribeConfigs and (Incremental)AlterConfigs.
//! - `properties`: the file format; `types`: the shared vocabulary.

mod alter;
mod broker;
mod broker_defs;
mod listeners;
mod properties;
mod settings;
mod topic;
mod topic_defs;
mod types;

use std::path::PathBuf;

use strom_protocol::error_codes;

pub use alter::{apply_incremental_alter, AlterConfigOp, AlterOpType};
pub use broker::{BrokerConfig, FlagValue, HostPort, Origin};
pub use broker_defs::{CLUSTER_LISTEN, HTTP_LISTEN, HTTP_READ_ONLY};
pub use listeners::{
    ClientAuth, KeyPassword, ListenerSpec, SecurityProtocol, SecuritySettings, JWKS_URL,
    SASL_MECHANISMS,
};
pub use properties::{escape_value, parse_properties, Property};
pub use settings::{BrokerSettings, CleanupPolicy, FlushPolicy, TimestampType, Voter};
pub use topic::{CompressionType, EffectiveTopicConfig, TopicConfigs};
pub use topic_defs::{topic_setting, TopicSettingDef, TOPIC_SETTINGS};
pub use types::{ConfigEntry, ConfigSource, ConfigSynonym, ConfigType};
pub use types::{SettingDef, Unit, Validator};

/// A setting that could not be read or accepted. Messages name the key (and
/// the file and line when there is one) so the user knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {source}")]
    InFile {
        path: PathBuf,
        line: usize,
        source: Box<ConfigError>,
    },
    #[error("invalid value '{value}' for {key}: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error("unknown topic config '{key}'")]
    UnknownTopicConfig { key: String },
    #[error("--set expects key=value, got '{0}'")]
    InvalidSetArgument(String),
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("config '{key}' appears more than once in the request")]
    DuplicateKey { key: String },
    /// A setting given by a flag or an environment variable: the error
    /// names what the user typed (`--listen`, `STROM_LISTENERS`).
    #[error("{given_as}: {source}")]
    GivenAs {
        given_as: String,
        source: Box<ConfigError>,
    },
}

impl ConfigError {
    /// The setting the error is about, where it names one.
    fn key(&self) -> Option<&str> {
        match self {
            ConfigError::InvalidValue { key, .. } | ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The Kafka error code to answer a client with: INVALID_REQUEST for a
    /// request that names one key twice, INVALID_CONFIG for any rejected
    /// setting.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            ConfigError::GivenAs { source, .. } => source.kafka_error_code(),
            ConfigError::DuplicateKey { .. } => error_codes::INVALID_REQUEST,
            _ => error_codes::INVALID_CONFIG,
        }
    }
}
