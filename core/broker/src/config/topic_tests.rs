use strom_protocol::error_codes;

use super::*;
use crate::config::ConfigType;

fn broker(pairs: &[(&str, &str)]) -> BrokerConfig {
    BrokerConfig::from_pairs(pairs).unwrap()
}

#[test]
fn validation_rejects_unknown_keys_and_bad_values_by_name() {
    let bad = [
        ("no.such.setting", "1"),
        ("segment.bytes", "13"),
        ("segment.bytes", "big"),
        ("cleanup.policy", "delete,archive"),
        ("message.timestamp.type", "createtime"),
        ("min.cleanable.dirty.ratio", "1.5"),
        ("retention.ms", "-2"),
        ("preallocate", "1"),
        ("max.message.bytes", "2147483648"),
    ];
    for (key, value) in bad {
        let err = TopicConfigs::new([(key, value)]).unwrap_err();
        assert_eq!(err.kafka_error_code(), error_codes::INVALID_CONFIG);
        assert!(err.to_string().contains(key), "{key}={value}: {err}");
    }
    let good = TopicConfigs::new([
        ("segment.bytes", "14"),
        ("cleanup.policy", "compact, delete"),
        ("retention.ms", "-1"),
        ("message.timestamp.type", "LogAppendTime"),
        ("compression.type", "zstd"),
    ])
    .unwrap();
    assert_eq!(good.overrides().len(), 5);
}

#[test]
fn describe_names_the_source_of_every_value() {
    let broker = broker(&[("log.retention.hours", "2"), ("log.segment.bytes", "4096")]);
    let topic = TopicConfigs::new([("segment.bytes", "2048")]).unwrap();
    let entries = topic.describe(&broker);
    let find = |name: &str| entries.iter().find(|e| e.name == name).unwrap();

    let segment = find("segment.bytes");
    assert_eq!(segment.value.as_deref(), Some("2048"));
    assert_eq!(segment.source, ConfigSource::DynamicTopicConfig);
    assert_eq!(segment.source.code(), 1);
    assert_eq!(segment.config_type, ConfigType::Int);
    let synonyms: Vec<_> = segment
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.source.code()))
        .collect();
    assert_eq!(
        synonyms,
        vec![
            ("segment.bytes", Some("2048"), 1),
            ("log.segment.bytes", Some("4096"), 4),
            ("log.segment.bytes", Some("1073741824"), 5),
        ]
    );

    let retention = find("retention.ms");
    assert_eq!(
        retention.value.as_deref(),
        Some("7200000"),
        "hours converted to ms"
    );
    assert_eq!(retention.source.code(), 4);
    assert_eq!(retention.config_type.code(), 5);
    assert_eq!(
        retention.synonyms.last().map(|s| s.name.as_str()),
        Some("log.retention.hours")
    );

    let cleanup = find("cleanup.policy");
    assert_eq!(cleanup.source.code(), 5);
    assert!(cleanup.is_default && !cleanup.read_only);
    assert_eq!(cleanup.config_type.code(), 7);
    assert_eq!(entries.len(), TOPIC_SETTINGS.len());
}

#[test]
fn value_resolves_one_setting() {
    let broker = broker(&[("message.max.bytes", "500")]);
    let topic = TopicConfigs::default();
    assert_eq!(
        topic.value("max.message.bytes", &broker),
        Some(("500".to_string(), ConfigSource::StaticBrokerConfig))
    );
    assert_eq!(
        topic.value("log.segment.bytes", &broker),
        None,
        "broker names are not topic names"
    );
}

#[test]
fn effective_config_combines_overrides_broker_and_defaults() {
    let broker = broker(&[("log.retention.minutes", "3"), ("log.roll.hours", "1")]);
    let topic = TopicConfigs::new([
        ("retention.bytes", "1000"),
        ("message.timestamp.type", "LogAppendTime"),
        ("cleanup.policy", "compact"),
    ])
    .unwrap();
    let effective = topic.effective(&broker);
    assert_eq!(effective.retention_ms, 180_000);
    assert_eq!(effective.segment_ms, 3_600_000);
    assert_eq!(effective.retention_bytes, 1000);
    assert_eq!(effective.segment_bytes, 1_073_741_824);
    assert_eq!(effective.segment_index_bytes, 10_485_760);
    assert_eq!(effective.index_interval_bytes, 4096);
    assert_eq!(effective.max_message_bytes, 1_048_588);
    assert_eq!(
        effective.message_timestamp_type,
        TimestampType::LogAppendTime
    );
    assert_eq!(effective.message_timestamp_after_max_ms, i64::MAX);
    assert!(effective.cleanup_policy.compact && !effective.cleanup_policy.delete);
    assert_eq!(effective.compression_type, CompressionType::Producer);
    assert_eq!(effective.flush_policy, FlushPolicy::Fsync);
}

#[test]
fn negative_broker_retention_means_forever() {
    let broker = broker(&[("log.retention.hours", "-1")]);
    let effective = TopicConfigs::default().effective(&broker);
    assert_eq!(effective.retention_ms, -1);
}

#[test]
fn flush_messages_one_makes_a_page_cache_topic_fsync() {
    let page_cache = broker(&[("strom.flush.policy", "page-cache")]);
    let plain = TopicConfigs::default().effective(&page_cache);
    assert_eq!(plain.flush_policy, FlushPolicy::PageCache);
    let strict = TopicConfigs::new([("flush.messages", "1")]).unwrap();
    assert_eq!(
        strict.effective(&page_cache).flush_policy,
        FlushPolicy::Fsync
    );
    let broker_wide = broker(&[
        ("strom.flush.policy", "page-cache"),
        ("log.flush.interval.messages", "1"),
    ]);
    let effective = TopicConfigs::default().effective(&broker_wide);
    assert_eq!(effective.flush_policy, FlushPolicy::Fsync);
}

#[test]
fn effective_defaults_are_kafkas() {
    let effective = TopicConfigs::default().effective(&broker(&[]));
    let expected = EffectiveTopicConfig {
        segment_bytes: 1_073_741_824,
        segment_ms: 604_800_000,
        segment_jitter_ms: 0,
        segment_index_bytes: 10_485_760,
        index_interval_bytes: 4096,
        retention_ms: 604_800_000,
        retention_bytes: -1,
        max_message_bytes: 1_048_588,
        message_timestamp_type: TimestampType::CreateTime,
        message_timestamp_before_max_ms: i64::MAX,
        message_timestamp_after_max_ms: i64::MAX,
        cleanup_policy: CleanupPolicy {
            delete: true,
            compact: false,
        },
        min_insync_replicas: 1,
        compression_type: CompressionType::Producer,
        file_delete_delay_ms: 60_000,
        delete_retention_ms: 86_400_000,
        min_compaction_lag_ms: 0,
        max_compaction_lag_ms: i64::MAX,
        min_cleanable_dirty_ratio: 0.5,
        preallocate: false,
        unclean_leader_election_enable: false,
        flush_policy: FlushPolicy::Fsync,
    };
    assert_eq!(effective, expected);
}

#[test]
fn effective_values_follow_overrides_of_every_type() {
    let topic = TopicConfigs::new([
        ("preallocate", "true"),
        ("min.cleanable.dirty.ratio", "0.25"),
        ("compression.type", "zstd"),
        ("segment.index.bytes", "4096"),
    ])
    .unwrap();
    let effective = topic.effective(&broker(&[]));
    assert!(effective.preallocate);
    assert_eq!(effective.min_cleanable_dirty_ratio, 0.25);
    assert_eq!(effective.compression_type, CompressionType::Zstd);
    assert_eq!(effective.segment_index_bytes, 4096);
}
