use std::io::Write;
use std::path::PathBuf;

use super::*;
use crate::config::{ConfigSource, FlushPolicy, TimestampType};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file_with(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn sets(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn defaults_are_kafkas_with_strom_listener_and_data_dir() {
    let config = BrokerConfig::from_pairs(&[]).unwrap();
    let s = config.settings();
    assert_eq!(s.node_id, 0);
    assert_eq!(s.listener.to_string(), "127.0.0.1:9092");
    assert_eq!(s.advertised_listener, s.listener);
    assert_eq!(s.data_dir, PathBuf::from("./strom-data"));
    assert_eq!(s.num_partitions, 1);
    assert_eq!(s.default_replication_factor, 1);
    assert!(s.auto_create_topics_enable && s.delete_topic_enable);
    assert_eq!(s.socket_request_max_bytes, 104_857_600);
    assert_eq!(s.socket_send_buffer_bytes, 102_400);
    assert_eq!(s.message_max_bytes, 1_048_588);
    assert_eq!(s.log_segment_bytes, 1_073_741_824);
    assert_eq!(s.log_roll_ms, 168 * 3_600_000);
    assert_eq!(s.log_retention_ms, 168 * 3_600_000);
    assert_eq!(s.log_retention_bytes, -1);
    assert_eq!(s.log_index_interval_bytes, 4096);
    assert_eq!(s.log_retention_check_interval_ms, 300_000);
    assert_eq!(s.log_segment_delete_delay_ms, 60_000);
    assert_eq!(s.log_message_timestamp_type, TimestampType::CreateTime);
    assert_eq!(s.log_message_timestamp_before_max_ms, i64::MAX);
    assert!(s.log_cleanup_policy.delete && !s.log_cleanup_policy.compact);
    assert_eq!(s.flush_policy, FlushPolicy::Fsync);
    // The setting's default is the storage's own default budget.
    assert_eq!(s.fetch_cache_bytes, strom_storage::TAIL_CACHE_BUDGET as i64);
    assert_eq!(s.cluster_id, None);
}

#[test]
fn precedence_is_file_then_env_then_set_then_flags() {
    let file = file_with(
        "num.partitions=2\nlog.segment.bytes=1000\nmessage.max.bytes=5\n\
         default.replication.factor=1\nlisteners=PLAINTEXT://127.0.0.1:1111\n",
    );
    let config = BrokerConfig::from_sources(
        Some(file.path()),
        env(&[
            ("STROM_NUM_PARTITIONS", "3"),
            ("STROM_MESSAGE_MAX_BYTES", "6"),
            ("STROM_LISTENERS", "127.0.0.1:2222"),
        ]),
        &sets(&["num.partitions=4", "listeners=127.0.0.1:3333"]),
        &[FlagValue {
            flag: "--listen",
            key: "listeners",
            value: "127.0.0.1:4444".to_string(),
        }],
    )
    .unwrap();
    let s = config.settings();
    assert_eq!(s.log_segment_bytes, 1000, "file beats default");
    assert_eq!(s.message_max_bytes, 6, "env beats file");
    assert_eq!(s.num_partitions, 4, "--set beats env");
    assert_eq!(s.listener.port, 4444, "flags beat --set");
    assert_eq!(config.origin_of("log.segment.bytes"), Some(Origin::File));
    assert_eq!(config.origin_of("message.max.bytes"), Some(Origin::Env));
    assert_eq!(config.origin_of("num.partitions"), Some(Origin::Set));
    assert_eq!(config.origin_of("listeners"), Some(Origin::Flag));
    assert_eq!(config.origin_of("log.retention.hours"), None);
}

#[test]
fn environment_names_map_to_keys() {
    let config = BrokerConfig::from_sources(
        None,
        env(&[
            ("STROM_LOG_RETENTION_MS", "1234"),
            ("STROM_FLUSH_POLICY", "page-cache"),
            ("STROM_AUTO_CREATE_TOPICS_ENABLE", "false"),
            ("STROM_SOME__UNDERSCORED_KEY", "x"),
            ("NUM_PARTITIONS", "9"),
            ("STROM_", "ignored"),
        ]),
        &[],
        &[],
    )
    .unwrap();
    let s = config.settings();
    assert_eq!(s.log_retention_ms, 1234);
    assert_eq!(s.flush_policy, FlushPolicy::PageCache);
    assert!(!s.auto_create_topics_enable);
    assert_eq!(
        s.num_partitions, 1,
        "variables without STROM_ are not settings"
    );
    assert_eq!(
        config.ignored().get("some_underscored.key").copied(),
        Some("x")
    );
}

#[test]
fn unknown_keys_are_kept_and_malformed_values_name_the_key_and_line() {
    let file = file_with("zookeeper.connect=localhost:2181\nnum.network.threads=3\n");
    let config = BrokerConfig::from_sources(Some(file.path()), env(&[]), &[], &[]).unwrap();
    assert_eq!(config.ignored().len(), 2);
    assert!(config.ignored().contains_key("zookeeper.connect"));

    let file = file_with("# header\nnum.partitions=many\n");
    let err = BrokerConfig::from_sources(Some(file.path()), env(&[]), &[], &[]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("num.partitions") && message.contains(":2:"),
        "{message}"
    );

    let err = BrokerConfig::from_sources(None, env(&[("STROM_LOG_SEGMENT_BYTES", "10")]), &[], &[])
        .unwrap_err();
    assert!(err.to_string().contains("log.segment.bytes"), "{err}");

    let err = BrokerConfig::from_pairs(&[("auto.create.topics.enable", "maybe")]).unwrap_err();
    assert!(
        err.to_string().contains("auto.create.topics.enable"),
        "{err}"
    );

    let err =
        BrokerConfig::from_sources(None, env(&[]), &sets(&["num.partitions"]), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidSetArgument(_)), "{err}");
}

#[test]
fn missing_config_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.properties");
    let err = BrokerConfig::from_sources(Some(&path), env(&[]), &[], &[]).unwrap_err();
    assert!(err.to_string().contains("absent.properties"), "{err}");
}

#[test]
fn retention_prefers_ms_then_minutes_then_hours() {
    let retention = |pairs: &[(&str, &str)]| {
        BrokerConfig::from_pairs(pairs)
            .unwrap()
            .settings()
            .log_retention_ms
    };
    assert_eq!(retention(&[("log.retention.hours", "2")]), 7_200_000);
    assert_eq!(
        retention(&[("log.retention.hours", "2"), ("log.retention.minutes", "3")]),
        180_000
    );
    assert_eq!(
        retention(&[
            ("log.retention.hours", "2"),
            ("log.retention.minutes", "3"),
            ("log.retention.ms", "5")
        ]),
        5
    );
    assert_eq!(retention(&[("log.retention.ms", "-1")]), -1);
    assert_eq!(
        retention(&[("log.retention.hours", "-7")]),
        -1,
        "negative means forever"
    );
    let roll = BrokerConfig::from_pairs(&[("log.roll.hours", "1"), ("log.roll.ms", "99")]).unwrap();
    assert_eq!(roll.settings().log_roll_ms, 99);
}

#[test]
fn a_higher_source_replaces_the_synonyms_of_a_lower_one() {
    let file = file_with("log.retention.ms=5\n");
    let config = BrokerConfig::from_sources(
        Some(file.path()),
        env(&[("STROM_LOG_RETENTION_HOURS", "1")]),
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(config.settings().log_retention_ms, 3_600_000);
}

#[test]
fn node_id_and_broker_id_must_agree() {
    let by_broker_id = BrokerConfig::from_pairs(&[("broker.id", "7")]).unwrap();
    assert_eq!(by_broker_id.settings().node_id, 7);
    let agreeing = BrokerConfig::from_pairs(&[("broker.id", "3"), ("node.id", "3")]).unwrap();
    assert_eq!(agreeing.settings().node_id, 3);
    let err = BrokerConfig::from_pairs(&[("broker.id", "1"), ("node.id", "2")]).unwrap_err();
    assert!(err.to_string().contains("node.id"), "{err}");
}

#[test]
fn listeners_accept_kafka_forms() {
    let config =
        BrokerConfig::from_pairs(&[("listeners", "CONTROLLER://:9093,PLAINTEXT://localhost:9092")])
            .unwrap();
    assert_eq!(config.settings().listener.to_string(), "localhost:9092");

    let v6 = BrokerConfig::from_pairs(&[("listeners", "PLAINTEXT://[::1]:9092")]).unwrap();
    assert_eq!(v6.settings().listener.host, "::1");
    assert_eq!(v6.settings().listener.to_string(), "[::1]:9092");

    // A TLS listener needs the broker's key and certificate.
    let err = BrokerConfig::from_pairs(&[("listeners", "SSL://localhost:9093")]).unwrap_err();
    assert!(err.to_string().contains("ssl.keystore.location"), "{err}");
    let secured = BrokerConfig::from_pairs(&[
        (
            "listeners",
            "PLAINTEXT://localhost:9092,SASL_SSL://localhost:9093",
        ),
        ("ssl.keystore.location", "/etc/strom/broker.pem"),
    ])
    .unwrap();
    let names: Vec<_> = secured
        .settings()
        .listeners
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(names, ["PLAINTEXT", "SASL_SSL"]);
    assert!(BrokerConfig::from_pairs(&[("listeners", "localhost:port")]).is_err());
}

#[test]
fn inter_broker_tls_needs_certificates_an_ssl_first_listener_and_client_certificates() {
    let tls = [
        ("ssl.keystore.location", "/etc/strom/broker.pem"),
        ("ssl.truststore.location", "/etc/strom/ca.pem"),
        ("ssl.client.auth", "requested"),
        ("security.inter.broker.protocol", "SSL"),
    ];
    let with = |listeners: &str, leave_out: &str| {
        let mut pairs = vec![("listeners", listeners)];
        pairs.extend(tls.iter().copied().filter(|(key, _)| *key != leave_out));
        BrokerConfig::from_pairs(&pairs)
    };
    let ok = with("SSL://localhost:9093,PLAINTEXT://localhost:9092", "").unwrap();
    assert!(ok.settings().inter_broker_tls);
    let plaintext_first = with("PLAINTEXT://localhost:9092,SSL://localhost:9093", "").unwrap_err();
    assert!(
        plaintext_first.to_string().contains("first listener"),
        "{plaintext_first}"
    );
    let no_truststore = with("SSL://localhost:9093", "ssl.truststore.location").unwrap_err();
    assert!(
        no_truststore
            .to_string()
            .contains("ssl.truststore.location"),
        "{no_truststore}"
    );
    let no_client_certs = with("SSL://localhost:9093", "ssl.client.auth").unwrap_err();
    assert!(
        no_client_certs.to_string().contains("ssl.client.auth"),
        "{no_client_certs}"
    );
    let plain = BrokerConfig::from_pairs(&[("listeners", "PLAINTEXT://localhost:9092")]).unwrap();
    assert!(!plain.settings().inter_broker_tls);
}

#[test]
fn the_console_is_read_only_with_the_authorizer_and_cannot_be_made_otherwise() {
    let settings = |pairs: &[(&str, &str)]| {
        BrokerConfig::from_pairs(pairs).map(|c| c.settings().http_read_only)
    };
    assert!(!settings(&[]).unwrap());
    assert!(settings(&[("strom.http.read.only", "true")]).unwrap());
    assert!(settings(&[("authorizer.class.name", "strom")]).unwrap());
    let refused = settings(&[
        ("authorizer.class.name", "strom"),
        ("strom.http.read.only", "false"),
    ])
    .unwrap_err();
    assert!(refused.to_string().contains("no login"), "{refused}");
}

#[test]
fn a_listener_may_override_its_tls_and_sasl_settings() {
    let config = BrokerConfig::from_pairs(&[
        (
            "listeners",
            "INTERNAL://localhost:9093,SASL_PLAINTEXT://localhost:9094",
        ),
        (
            "listener.security.protocol.map",
            "INTERNAL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        ),
        ("ssl.keystore.location", "/etc/strom/broker.pem"),
        (
            "listener.name.internal.ssl.truststore.location",
            "/etc/strom/ca.pem",
        ),
        ("listener.name.internal.ssl.client.auth", "required"),
        ("sasl.enabled.mechanisms", "SCRAM-SHA-512,PLAIN"),
        (
            "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
            "SCRAM-SHA-512",
        ),
        // Not one a listener may set here: kept aside as unknown.
        ("listener.name.sasl_plaintext.plain.sasl.jaas.config", "x"),
    ])
    .unwrap();
    let settings = config.settings();
    let internal = settings.security_for("INTERNAL");
    assert_eq!(internal.client_auth, crate::config::ClientAuth::Required);
    assert!(internal.truststore.is_some());
    assert_eq!(
        settings.security.client_auth,
        crate::config::ClientAuth::None
    );
    assert_eq!(
        settings.security_for("SASL_PLAINTEXT").sasl_mechanisms,
        ["SCRAM-SHA-512"]
    );
    assert_eq!(
        settings.security.sasl_mechanisms,
        ["SCRAM-SHA-512", "PLAIN"]
    );
    assert!(config
        .ignored()
        .contains_key("listener.name.sasl_plaintext.plain.sasl.jaas.config"));
    let described = config.describe();
    let internal_auth = described
        .iter()
        .find(|e| e.name == "listener.name.internal.ssl.client.auth")
        .expect("per-listener settings are described");
    assert_eq!(internal_auth.value.as_deref(), Some("required"));
    // Each listener is checked with its own values: client certificates
    // asked for without a truststore.
    let err = BrokerConfig::from_pairs(&[
        ("listeners", "SSL://localhost:9093"),
        ("ssl.keystore.location", "/etc/strom/broker.pem"),
        ("listener.name.ssl.ssl.client.auth", "required"),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("ssl.truststore.location"), "{err}");
}

#[test]
fn a_wildcard_listener_needs_an_advertised_address() {
    let err = BrokerConfig::from_pairs(&[("listeners", "PLAINTEXT://:9092")]).unwrap_err();
    assert!(err.to_string().contains("advertised.listeners"), "{err}");
    let config = BrokerConfig::from_pairs(&[
        ("listeners", "PLAINTEXT://:9092"),
        ("advertised.listeners", "PLAINTEXT://broker1.example:19092"),
    ])
    .unwrap();
    assert_eq!(config.settings().listener.to_string(), "0.0.0.0:9092");
    assert_eq!(
        config.settings().advertised_listener.to_string(),
        "broker1.example:19092"
    );
}

#[test]
fn advertised_port_zero_becomes_the_bound_port() {
    let config = BrokerConfig::from_pairs(&[("listeners", "127.0.0.1:0")]).unwrap();
    let bound = "127.0.0.1:40123".parse().unwrap();
    assert_eq!(
        config.settings().advertised_for(bound).to_string(),
        "127.0.0.1:40123"
    );
}

#[test]
fn only_one_data_directory() {
    let config = BrokerConfig::from_pairs(&[("log.dir", "/a"), ("log.dirs", "/b")]).unwrap();
    assert_eq!(
        config.settings().data_dir,
        PathBuf::from("/b"),
        "log.dirs wins over log.dir"
    );
    let err = BrokerConfig::from_pairs(&[("log.dirs", "/a,/b")]).unwrap_err();
    assert!(err.to_string().contains("one data directory"), "{err}");
}

#[test]
fn set_is_all_or_nothing_and_keeps_the_cluster_id() {
    let mut config = BrokerConfig::from_pairs(&[]).unwrap();
    config.set_cluster_id("abc".into());
    config.set("num.partitions", "5").unwrap();
    assert_eq!(config.settings().num_partitions, 5);
    assert_eq!(config.settings().cluster_id.as_deref(), Some("abc"));
    assert!(config.set("num.partitions", "0").is_err());
    assert!(config.set("listeners", "0.0.0.0:1").is_err());
    assert_eq!(config.settings().num_partitions, 5);
    assert_eq!(config.settings().listener.port, 9092);
}

#[test]
fn describe_reports_sources_and_synonyms() {
    let config =
        BrokerConfig::from_pairs(&[("num.partitions", "3"), ("log.retention.minutes", "10")])
            .unwrap();
    let entries = config.describe();
    assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
    let find = |name: &str| entries.iter().find(|e| e.name == name).unwrap();

    let partitions = find("num.partitions");
    assert_eq!(partitions.value.as_deref(), Some("3"));
    assert_eq!(partitions.source, ConfigSource::StaticBrokerConfig);
    assert!(!partitions.is_default && partitions.read_only);

    let segment = find("log.segment.bytes");
    assert_eq!(segment.source, ConfigSource::DefaultConfig);
    assert!(segment.is_default);

    let retention_ms = find("log.retention.ms");
    assert_eq!(retention_ms.value, None);
    let names: Vec<_> = retention_ms
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.source))
        .collect();
    assert_eq!(
        names,
        vec![
            ("log.retention.minutes", ConfigSource::StaticBrokerConfig),
            ("log.retention.hours", ConfigSource::DefaultConfig),
        ]
    );
}
