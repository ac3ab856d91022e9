//! Kafka's topic-level settings (3.9): type, default, accepted values, and
//! the broker settings that supply the default when a topic has no override
//! (Kafka's `ServerTopicConfigSynonyms`), most specific first.

use super::types::{ConfigType as T, SettingDef, Unit, Validator as V};

const LONG_MAX: &str = "9223372036854775807";

/// A topic setting and the broker settings it defaults from.
#[derive(Debug, Clone, Copy)]
pub struct TopicSettingDef {
    pub def: SettingDef,
    /// Broker settings, in precedence order, with the conversion into this
    /// setting's unit. Empty when only the built-in default applies.
    pub broker_synonyms: &'static [(&'static str, Unit)],
}

const fn topic(
    name: &'static str,
    config_type: T,
    default: &'static str,
    validator: V,
    broker_synonyms: &'static [(&'static str, Unit)],
    doc: &'static str,
) -> TopicSettingDef {
    TopicSettingDef {
        def: SettingDef {
            name,
            config_type,
            default: Some(default),
            validator,
            doc,
        },
        broker_synonyms,
    }
}

const SAME: Unit = Unit::Same;
const HOURS: Unit = Unit::HoursToMillis;
const MINUTES: Unit = Unit::MinutesToMillis;

/// Every topic setting, sorted by name. Keys outside this table are
/// rejected with INVALID_CONFIG, as Kafka does.
#[rustfmt::skip]
pub static TOPIC_SETTINGS: &[TopicSettingDef] = &[
    topic("cleanup.policy", T::List, "delete", V::ListOf(&["compact", "delete"]), &[("log.cleanup.policy", SAME)], "delete, compact, or both."),
    topic("compression.gzip.level", T::Int, "-1", V::IntBetween(-1, 9), &[("compression.gzip.level", SAME)], "gzip level when the broker compresses."),
    topic("compression.lz4.level", T::Int, "9", V::IntBetween(1, 17), &[("compression.lz4.level", SAME)], "lz4 level when the broker compresses."),
    topic("compression.type", T::String, "producer", V::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]), &[("compression.type", SAME)], "Compression of stored batches; producer keeps what the producer sent."),
    topic("compression.zstd.level", T::Int, "3", V::IntBetween(-131072, 22), &[("compression.zstd.level", SAME)], "zstd level when the broker compresses."),
    topic("delete.retention.ms", T::Long, "86400000", V::AtLeast(0), &[("log.cleaner.delete.retention.ms", SAME)], "How long tombstones survive compaction."),
    topic("file.delete.delay.ms", T::Long, "60000", V::AtLeast(0), &[("log.segment.delete.delay.ms", SAME)], "Delay before a deleted segment's files are removed."),
    topic("flush.messages", T::Long, LONG_MAX, V::AtLeast(1), &[("log.flush.interval.messages", SAME)], "1 makes the page-cache policy fsync this topic; other values are accepted and not used."),
    topic("flush.ms", T::Long, LONG_MAX, V::AtLeast(0), &[("log.flush.interval.ms", SAME), ("log.flush.scheduler.interval.ms", SAME)], "Kafka's time-based flush; accepted, not used."),
    topic("follower.replication.throttled.replicas", T::List, "", V::Any, &[], "Replicas throttled on the follower side; accepted, not used."),
    topic("index.interval.bytes", T::Int, "4096", V::AtLeast(0), &[("log.index.interval.bytes", SAME)], "Bytes of log between offset index entries."),
    topic("leader.replication.throttled.replicas", T::List, "", V::Any, &[], "Replicas throttled on the leader side; accepted, not used."),
    topic("local.retention.bytes", T::Long, "-2", V::AtLeast(-2), &[("log.local.retention.bytes", SAME)], "Tiered storage local retention; accepted, not used."),
    topic("local.retention.ms", T::Long, "-2", V::AtLeast(-2), &[("log.local.retention.ms", SAME)], "Tiered storage local retention; accepted, not used."),
    topic("max.compaction.lag.ms", T::Long, LONG_MAX, V::AtLeast(1), &[("log.cleaner.max.compaction.lag.ms", SAME)], "Maximum age before a record must be compacted."),
    topic("max.message.bytes", T::Int, "1048588", V::AtLeast(0), &[("message.max.bytes", SAME)], "Largest record batch this topic accepts."),
    topic("message.downconversion.enable", T::Boolean, "true", V::Any, &[("log.message.downconversion.enable", SAME)], "Kafka's down-conversion for old fetchers; accepted, not used."),
    topic("message.format.version", T::String, "3.0-IV1", V::Any, &[("log.message.format.version", SAME)], "Deprecated; accepted, not used."),
    topic("message.timestamp.after.max.ms", T::Long, LONG_MAX, V::AtLeast(0), &[("log.message.timestamp.after.max.ms", SAME)], "How far in the future a CreateTime timestamp may be."),
    topic("message.timestamp.before.max.ms", T::Long, LONG_MAX, V::AtLeast(0), &[("log.message.timestamp.before.max.ms", SAME)], "How far in the past a CreateTime timestamp may be."),
    topic("message.timestamp.difference.max.ms", T::Long, LONG_MAX, V::AtLeast(0), &[("log.message.timestamp.difference.max.ms", SAME)], "Deprecated by the before/after settings; accepted, not used."),
    topic("message.timestamp.type", T::String, "CreateTime", V::OneOf(&["CreateTime", "LogAppendTime"]), &[("log.message.timestamp.type", SAME)], "Whether record timestamps are the producer's or the broker's append time."),
    topic("min.cleanable.dirty.ratio", T::Double, "0.5", V::Between(0.0, 1.0), &[("log.cleaner.min.cleanable.ratio", SAME)], "Dirty ratio that triggers compaction."),
    topic("min.compaction.lag.ms", T::Long, "0", V::AtLeast(0), &[("log.cleaner.min.compaction.lag.ms", SAME)], "Minimum age before a record may be compacted."),
    topic("min.insync.replicas", T::Int, "1", V::AtLeast(1), &[("min.insync.replicas", SAME)], "In-sync replicas an acks=all write needs."),
    topic("preallocate", T::Boolean, "false", V::Any, &[("log.preallocate", SAME)], "Preallocate segment files."),
    topic("remote.log.copy.disable", T::Boolean, "false", V::Any, &[], "Tiered storage; accepted, not used."),
    topic("remote.log.delete.on.disable", T::Boolean, "false", V::Any, &[], "Tiered storage; accepted, not used."),
    topic("remote.storage.enable", T::Boolean, "false", V::Any, &[], "Tiered storage; accepted, not used."),
    topic("retention.bytes", T::Long, "-1", V::Any, &[("log.retention.bytes", SAME)], "Size a partition is trimmed to; -1 means no limit."),
    topic("retention.ms", T::Long, "604800000", V::AtLeast(-1), &[("log.retention.ms", SAME), ("log.retention.minutes", MINUTES), ("log.retention.hours", HOURS)], "Time a segment is kept; -1 keeps forever."),
    topic("segment.bytes", T::Int, "1073741824", V::AtLeast(14), &[("log.segment.bytes", SAME)], "Size at which a log segment is rolled."),
    topic("segment.index.bytes", T::Int, "10485760", V::AtLeast(4), &[("log.index.size.max.bytes", SAME)], "Maximum size of an offset or time index file."),
    topic("segment.jitter.ms", T::Long, "0", V::AtLeast(0), &[("log.roll.jitter.ms", SAME), ("log.roll.jitter.hours", HOURS)], "Random jitter subtracted from segment.ms."),
    topic("segment.ms", T::Long, "604800000", V::AtLeast(1), &[("log.roll.ms", SAME), ("log.roll.hours", HOURS)], "Age at which a segment is rolled."),
    topic("unclean.leader.election.enable", T::Boolean, "false", V::Any, &[("unclean.leader.election.enable", SAME)], "Allow an out-of-sync replica to become leader."),
];

/// The definition of a topic setting, if Kafka has one by that name.
pub fn topic_setting(name: &str) -> Option<&'static TopicSettingDef> {
    TOPIC_SETTINGS
        .iter()
        .find(|setting| setting.def.name == name)
}

#[cfg(test)]
mod tests {
    use super::super::broker_defs::broker_setting;
    use super::*;

    #[test]
    fn defaults_are_valid_and_names_sorted() {
        for setting in TOPIC_SETTINGS {
            let def = setting.def;
            assert!(
                def.parse(def.default.unwrap_or_default()).is_ok(),
                "{}",
                def.name
            );
        }
        assert!(TOPIC_SETTINGS
            .windows(2)
            .all(|w| w[0].def.name < w[1].def.name));
    }

    #[test]
    fn broker_synonym_defaults_agree_with_topic_defaults() {
        for setting in TOPIC_SETTINGS {
            let from_broker = setting.broker_synonyms.iter().find_map(|(name, unit)| {
                broker_setting(name)
                    .and_then(|d| d.default)
                    .and_then(|raw| unit.convert(raw))
            });
            if let Some(value) = from_broker {
                assert_eq!(
                    Some(value.as_str()),
                    setting.def.default,
                    "{}",
                    setting.def.name
                );
            }
        }
    }
}
