//! Per-topic configuration: validated overrides, resolved against the
//! broker's settings the way Kafka does, for DescribeConfigs and for the
//! storage layer.

use std::collections::BTreeMap;

use super::broker::BrokerConfig;
use super::broker_defs::broker_setting;
use super::settings::{CleanupPolicy, FlushPolicy, TimestampType};
use super::topic_defs::{topic_setting, TopicSettingDef, TOPIC_SETTINGS};
use super::types::{parse_value, ConfigEntry, ConfigSource, ConfigSynonym, TypedValue, Validator};
use super::ConfigError;

/// `compression.type` of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    /// Keep batches as the producer compressed them.
    Producer,
    Uncompressed,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl CompressionType {
    fn from_name(name: &str) -> Option<CompressionType> {
        Some(match name {
            "producer" => CompressionType::Producer,
            "uncompressed" => CompressionType::Uncompressed,
            "gzip" => CompressionType::Gzip,
            "snappy" => CompressionType::Snappy,
            "lz4" => CompressionType::Lz4,
            "zstd" => CompressionType::Zstd,
            _ => return None,
        })
    }
}

/// The numbers a partition log of this topic runs with, after overrides
/// and broker defaults. The lead maps this onto the storage `LogConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveTopicConfig {
    pub segment_bytes: i32,
    pub segment_ms: i64,
    pub segment_jitter_ms: i64,
    pub segment_index_bytes: i32,
    pub index_interval_bytes: i32,
    /// -1 keeps data forever (any negative value is normalised to -1).
    pub retention_ms: i64,
    /// -1 means no size limit.
    pub retention_bytes: i64,
    pub max_message_bytes: i32,
    pub message_timestamp_type: TimestampType,
    pub message_timestamp_before_max_ms: i64,
    pub message_timestamp_after_max_ms: i64,
    pub cleanup_policy: CleanupPolicy,
    pub min_insync_replicas: i32,
    pub compression_type: CompressionType,
    pub file_delete_delay_ms: i64,
    pub delete_retention_ms: i64,
    pub min_compaction_lag_ms: i64,
    pub max_compaction_lag_ms: i64,
    pub min_cleanable_dirty_ratio: f64,
    pub preallocate: bool,
    pub unclean_leader_election_enable: bool,
    /// The broker's `strom.flush.policy`, upgraded to `Fsync` when the topic
    /// asks for `flush.messages=1` (Kafka's way to say "flush every write").
    pub flush_policy: FlushPolicy,
}

/// A topic's config overrides (what CreateTopics / AlterConfigs set),
/// always valid: every key is a known topic setting with a legal value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfigs {
    overrides: BTreeMap<String, String>,
}

/// Checks one override; values are returned trimmed.
pub(super) fn validate_override(key: &str, value: &str) -> Result<String, ConfigError> {
    let setting = topic_setting(key).ok_or_else(|| ConfigError::UnknownTopicConfig {
        key: key.to_string(),
    })?;
    setting.def.parse(value)?;
    Ok(value.trim().to_string())
}

impl TopicConfigs {
    /// Validates every override: an unknown key or a bad value is an error
    /// naming it (Kafka answers INVALID_CONFIG).
    pub fn new<K, V>(
        overrides: impl IntoIterator<Item = (K, V)>,
    ) -> Result<TopicConfigs, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut checked = BTreeMap::new();
        for (key, value) in overrides {
            let key = key.as_ref().trim();
            checked.insert(key.to_string(), validate_override(key, value.as_ref())?);
        }
        Ok(TopicConfigs { overrides: checked })
    }

    /// The overrides, for persisting.
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    pub(super) fn overrides_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.overrides
    }

    /// The effective value of one setting and where it came from; `None`
    /// for a name that is not a topic setting.
    pub fn value(&self, name: &str, broker: &BrokerConfig) -> Option<(String, ConfigSource)> {
        let setting = topic_setting(name)?;
        Some(resolve(setting, &self.overrides, broker))
    }

    /// DescribeConfigs rows for a TOPIC resource, sorted by name, with the
    /// synonyms (override, broker settings, default) most specific first.
    pub fn describe(&self, broker: &BrokerConfig) -> Vec<ConfigEntry> {
        TOPIC_SETTINGS
            .iter()
            .map(|setting| {
                let (value, source) = resolve(setting, &self.overrides, broker);
                ConfigEntry {
                    name: setting.def.name.to_string(),
                    value: Some(value),
                    source,
                    read_only: false,
                    is_sensitive: false,
                    is_default: source == ConfigSource::DefaultConfig,
                    synonyms: synonyms(setting, &self.overrides, broker),
                    config_type: setting.def.config_type,
                    documentation: setting.def.doc,
                }
            })
            .collect()
    }

    /// The settings a partition log of this topic runs with.
    pub fn effective(&self, broker: &BrokerConfig) -> EffectiveTopicConfig {
        let typed = |name: &str| self.typed_value(name, broker);
        let long = |name: &str| match typed(name) {
            TypedValue::Integer(n) => n,
            _ => 0,
        };
        let int = |name: &str| i32::try_from(long(name)).unwrap_or(i32::MAX);
        let boolean = |name: &str| matches!(typed(name), TypedValue::Bool(true));
        let text = |name: &str| match typed(name) {
            TypedValue::Text(t) => t,
            _ => String::new(),
        };
        let cleanup_policy = match typed("cleanup.policy") {
            TypedValue::List(items) => CleanupPolicy::from_list(&items),
            _ => CleanupPolicy {
                delete: true,
                compact: false,
            },
        };
        let min_cleanable_dirty_ratio = match typed("min.cleanable.dirty.ratio") {
            TypedValue::Double(x) => x,
            _ => 0.5,
        };
        let flush_policy = match long("flush.messages") {
            1 => FlushPolicy::Fsync,
            _ => broker.settings().flush_policy,
        };
        EffectiveTopicConfig {
            segment_bytes: int("segment.bytes"),
            segment_ms: long("segment.ms"),
            segment_jitter_ms: long("segment.jitter.ms"),
            segment_index_bytes: int("segment.index.bytes"),
            index_interval_bytes: int("index.interval.bytes"),
            retention_ms: long("retention.ms").max(-1),
            retention_bytes: long("retention.bytes"),
            max_message_bytes: int("max.message.bytes"),
            message_timestamp_type: TimestampType::from_name(&text("message.timestamp.type"))
                .unwrap_or(TimestampType::CreateTime),
            message_timestamp_before_max_ms: long("message.timestamp.before.max.ms"),
            message_timestamp_after_max_ms: long("message.timestamp.after.max.ms"),
            cleanup_policy,
            min_insync_replicas: int("min.insync.replicas"),
            compression_type: CompressionType::from_name(&text("compression.type"))
                .unwrap_or(CompressionType::Producer),
            file_delete_delay_ms: long("file.delete.delay.ms"),
            delete_retention_ms: long("delete.retention.ms"),
            min_compaction_lag_ms: long("min.compaction.lag.ms"),
            max_compaction_lag_ms: long("max.compaction.lag.ms"),
            min_cleanable_dirty_ratio,
            preallocate: boolean("preallocate"),
            unclean_leader_election_enable: boolean("unclean.leader.election.enable"),
            flush_policy,
        }
    }

    /// One effective value, typed. Overrides and broker values were
    /// validated on entry and every broker synonym has its topic setting's
    /// type, so parsing does not fail; were it ever to, the built-in default
    /// is used and the problem logged rather than failing a partition.
    fn typed_value(&self, name: &str, broker: &BrokerConfig) -> TypedValue {
        let Some(setting) = topic_setting(name) else {
            tracing::error!("'{name}' is not a topic setting");
            return TypedValue::Text(String::new());
        };
        let (value, _) = resolve(setting, &self.overrides, broker);
        let parse = |raw: &str| parse_value(name, raw, setting.def.config_type, Validator::Any);
        parse(&value).unwrap_or_else(|err| {
            tracing::error!("{err}; using the built-in default");
            parse(setting.def.default.unwrap_or_default())
                .unwrap_or(TypedValue::Text(String::new()))
        })
    }
}

/// Override, else the first broker synonym set explicitly (converted to
/// this setting's unit), else the built-in default.
pub(super) fn resolve(
    setting: &TopicSettingDef,
    overrides: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> (String, ConfigSource) {
    if let Some(value) = overrides.get(setting.def.name) {
        return (value.clone(), ConfigSource::DynamicTopicConfig);
    }
    let from_broker = setting.broker_synonyms.iter().find_map(|(name, unit)| {
        broker
            .explicit_value(name)
            .and_then(|raw| unit.convert(raw))
    });
    match from_broker {
        Some(value) => (value, ConfigSource::StaticBrokerConfig),
        None => (
            setting.def.default.unwrap_or_default().to_string(),
            ConfigSource::DefaultConfig,
        ),
    }
}

fn synonyms(
    setting: &TopicSettingDef,
    overrides: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> Vec<ConfigSynonym> {
    let mut list = Vec::new();
    if let Some(value) = overrides.get(setting.def.name) {
        list.push(ConfigSynonym {
            name: setting.def.name.to_string(),
            value: Some(value.clone()),
            source: ConfigSource::DynamicTopicConfig,
        });
    }
    for (name, _) in setting.broker_synonyms {
        if let Some(raw) = broker.explicit_value(name) {
            list.push(ConfigSynonym {
                name: name.to_string(),
                value: Some(raw.to_string()),
                source: ConfigSource::StaticBrokerConfig,
            });
        }
    }
    // Kafka names the default after the broker setting that holds it
    // (retention.ms defaults from log.retention.hours=168).
    let broker_default = setting.broker_synonyms.iter().find_map(|(name, _)| {
        broker_setting(name)
            .and_then(|d| d.default)
            .map(|value| (*name, value))
    });
    let (name, value) =
        broker_default.unwrap_or((setting.def.name, setting.def.default.unwrap_or_default()));
    list.push(ConfigSynonym {
        name: name.to_string(),
        value: Some(value.to_string()),
        source: ConfigSource::DefaultConfig,
    });
    list
}

#[cfg(test)]
#[path = "topic_tests.rs"]
mod tests;
