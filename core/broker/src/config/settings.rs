//! The typed view of the broker configuration, and how it is computed from
//! the explicit values (Kafka's synonym precedence included).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::broker::HostPort;
use super::broker_defs::{
    broker_setting, CLUSTER_LISTEN, FLUSH_POLICY, HTTP_LISTEN, HTTP_READ_ONLY, LISTENER_PREFIX,
};
use super::listeners::{
    jwks_file, resolve_listeners, ClientAuth, ListenerSpec, SecuritySettings, JWKS_URL,
};
use super::types::{split_list, TypedValue};
use super::ConfigError;
use crate::security::authorizer::AuthorizerSettings;
use crate::security::oauth::OAuthSettings;
use strom_protocol::security_protocol::SecurityProtocol;

/// `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamp is kept.
    CreateTime,
    /// The broker stamps each batch with its append time.
    LogAppendTime,
}

impl TimestampType {
    pub fn from_name(name: &str) -> Option<TimestampType> {
        match name {
            "CreateTime" => Some(TimestampType::CreateTime),
            "LogAppendTime" => Some(TimestampType::LogAppendTime),
            _ => None,
        }
    }
}

/// `cleanup.policy`: a list that may hold both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Old segments are deleted by time and size retention.
    pub delete: bool,
    /// Older records with a newer record of the same key are compacted away.
    pub compact: bool,
}

impl CleanupPolicy {
    pub fn from_list(items: &[String]) -> CleanupPolicy {
        CleanupPolicy {
            delete: items.iter().any(|item| item == "delete"),
            compact: items.iter().any(|item| item == "compact"),
        }
    }
}

/// `strom.flush.policy`: what an acknowledged produce guarantees.
///
/// Kafka's `log.flush.interval.messages=1` (or topic `flush.messages=1`)
/// is honoured as a request for fsync on that topic under `page-cache`; no
/// other flush setting changes the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// The write was fdatasync'ed before the ack (one fdatasync shared by
    /// all requests waiting on that log): it survives power loss.
    Fsync,
    /// The write is in the OS page cache, like Kafka's default: it survives
    /// a broker crash, not an OS crash or power loss (replicas cover that).
    PageCache,
}

/// The settings the broker acts on, typed. Read-only outside this module:
/// change values through [`super::BrokerConfig::set`].
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerSettings {
    /// `node.id` (or `broker.id`).
    pub node_id: i32,
    /// Where to bind (`listeners`); an empty host was turned into 0.0.0.0.
    pub listener: HostPort,
    /// What Metadata tells clients (`advertised.listeners`); port 0 means
    /// the bound port, see [`BrokerSettings::advertised_for`].
    pub advertised_listener: HostPort,
    /// Every client listener; the first is `listener` above, the one other
    /// brokers and the ready line name.
    pub listeners: Vec<ListenerSpec>,
    /// TLS and SASL settings as set for every listener.
    pub security: SecuritySettings,
    /// Each listener's own (in `listeners` order): the settings above with
    /// its `listener.name.<name>.*` overrides.
    pub listener_security: Vec<SecuritySettings>,
    /// Whether and how requests are authorized by ACLs.
    pub authorizer: AuthorizerSettings,
    /// `quota.window.num` and `quota.window.size.seconds`.
    pub quota_window_num: i32,
    pub quota_window_size_seconds: i32,
    /// `log.dirs` / `log.dir`.
    pub data_dir: PathBuf,
    /// From `meta.properties`, once the broker has read or created it.
    pub cluster_id: Option<String>,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub delete_topic_enable: bool,
    pub socket_request_max_bytes: i32,
    /// SO_SNDBUF of accepted connections; -1: the OS's.
    pub socket_send_buffer_bytes: i32,
    pub fetch_max_bytes: i32,
    /// `max.incremental.fetch.session.cache.slots`.
    pub fetch_session_cache_slots: i32,
    /// Most partitions one DescribeTopicPartitions response describes.
    pub max_request_partition_size_limit: i32,
    /// -1: no limit.
    pub queued_max_request_bytes: i64,
    pub max_connections: i32,
    pub max_connections_per_ip: i32,
    /// 0 or less: never.
    pub connections_max_idle_ms: i64,
    /// `connections.max.reauth.ms`: a SASL login lasts this long, then the
    /// client must log in again on the same connection (KIP-368); 0: for
    /// the connection's life.
    pub connections_max_reauth_ms: i64,
    pub max_partitions_per_request: i32,
    /// `strom.fetch.cache.bytes`: the tail cache budget of the data dir
    /// (`strom_storage::DirHealth::with_tail_cache_budget`).
    pub fetch_cache_bytes: i64,
    pub message_max_bytes: i32,
    pub log_segment_bytes: i32,
    /// `log.roll.ms`, else `log.roll.hours` in ms.
    pub log_roll_ms: i64,
    /// `log.retention.ms`, else minutes, else hours, in ms; -1 = forever.
    pub log_retention_ms: i64,
    pub log_retention_bytes: i64,
    pub log_retention_check_interval_ms: i64,
    pub log_cleaner_enable: bool,
    pub log_cleaner_backoff_ms: i64,
    pub log_index_interval_bytes: i32,
    pub log_index_size_max_bytes: i32,
    pub log_segment_delete_delay_ms: i64,
    pub log_message_timestamp_type: TimestampType,
    pub log_message_timestamp_before_max_ms: i64,
    pub log_message_timestamp_after_max_ms: i64,
    pub log_cleanup_policy: CleanupPolicy,
    pub min_insync_replicas: i32,
    pub flush_policy: FlushPolicy,
    pub group_initial_rebalance_delay_ms: i32,
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    pub group_max_size: i32,
    pub offsets_retention_ms: i64,
    pub offsets_retention_check_interval_ms: i64,
    pub offset_metadata_max_bytes: i32,
    pub offsets_topic_segment_bytes: i32,
    pub offsets_topic_num_partitions: i32,
    pub producer_id_expiration_ms: i32,
    /// `controller.quorum.voters`; empty on a one-node cluster.
    pub quorum_voters: Vec<Voter>,
    /// `strom.cluster.listen`, else this node's voter address.
    pub cluster_listen: Option<String>,
    /// `strom.http.listen`: where the HTTP listener binds (None: off), and
    /// whether that address was set rather than the default.
    pub http_listen: Option<String>,
    pub http_listen_explicit: bool,
    /// `strom.http.read.only`, or the authorizer is on: the console offers
    /// no actions.
    pub http_read_only: bool,
    /// `security.inter.broker.protocol=SSL`: brokers talk to each other
    /// over mutual TLS (the cluster port and replica fetching).
    pub inter_broker_tls: bool,
    /// `strom.metadata.snapshot.records`: committed metadata records
    /// between two snapshots of the metadata log.
    pub metadata_snapshot_records: i32,
    pub broker_heartbeat_interval_ms: i64,
    pub broker_session_timeout_ms: i64,
    pub replica_lag_time_max_ms: i64,
    pub replica_fetch_max_bytes: i32,
    pub replica_fetch_wait_max_ms: i32,
    pub offsets_topic_replication_factor: i16,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_check_interval_ms: i64,
}

/// One member of the metadata quorum (`id@host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub id: i32,
    /// host:port of its cluster listener.
    pub address: String,
}

impl BrokerSettings {
    /// Whether this node is part of a multi-node cluster (a metadata quorum
    /// is configured) rather than a one-node broker.
    /// The TLS and SASL settings of the first listener, which brokers
    /// replicate over: the ones inter-broker TLS uses.
    pub fn inter_broker_security(&self) -> &SecuritySettings {
        self.listener_security.first().unwrap_or(&self.security)
    }

    /// The TLS and SASL settings of the listener named `name`.
    pub fn security_for(&self, name: &str) -> &SecuritySettings {
        self.listeners
            .iter()
            .position(|l| l.name == name)
            .and_then(|i| self.listener_security.get(i))
            .unwrap_or(&self.security)
    }

    pub fn is_clustered(&self) -> bool {
        !self.quorum_voters.is_empty()
    }

    /// The address this node's cluster listener binds.
    pub fn cluster_listen_address(&self) -> Option<String> {
        self.cluster_listen.clone().or_else(|| {
            self.quorum_voters
                .iter()
                .find(|v| v.id == self.node_id)
                .map(|v| v.address.clone())
        })
    }
}

impl BrokerSettings {
    /// Stands in until the first resolution; never visible to callers.
    pub(super) fn placeholder() -> BrokerSettings {
        BrokerSettings {
            node_id: 0,
            listener: HostPort {
                host: String::new(),
                port: 0,
            },
            advertised_listener: HostPort {
                host: String::new(),
                port: 0,
            },
            listeners: Vec::new(),
            security: SecuritySettings::default(),
            listener_security: Vec::new(),
            authorizer: AuthorizerSettings::default(),
            quota_window_num: 11,
            quota_window_size_seconds: 1,
            data_dir: PathBuf::new(),
            cluster_id: None,
            num_partitions: 1,
            default_replication_factor: 1,
            auto_create_topics_enable: true,
            delete_topic_enable: true,
            socket_request_max_bytes: 0,
            socket_send_buffer_bytes: -1,
            fetch_max_bytes: 0,
            fetch_session_cache_slots: 0,
            max_request_partition_size_limit: 0,
            queued_max_request_bytes: -1,
            max_connections: 0,
            max_connections_per_ip: 0,
            connections_max_idle_ms: 0,
            connections_max_reauth_ms: 0,
            max_partitions_per_request: 0,
            fetch_cache_bytes: 0,
            message_max_bytes: 0,
            log_segment_bytes: 0,
            log_roll_ms: 0,
            log_retention_ms: 0,
            log_retention_bytes: -1,
            log_retention_check_interval_ms: 0,
            log_cleaner_enable: true,
            log_cleaner_backoff_ms: 0,
            log_index_interval_bytes: 0,
            log_index_size_max_bytes: 0,
            log_segment_delete_delay_ms: 0,
            log_message_timestamp_type: TimestampType::CreateTime,
            log_message_timestamp_before_max_ms: 0,
            log_message_timestamp_after_max_ms: 0,
            log_cleanup_policy: CleanupPolicy {
                delete: true,
                compact: false,
            },
            min_insync_replicas: 1,
            flush_policy: FlushPolicy::Fsync,
            group_initial_rebalance_delay_ms: 0,
            group_min_session_timeout_ms: 0,
            group_max_session_timeout_ms: 0,
            group_max_size: 1,
            offsets_retention_ms: 0,
            offsets_retention_check_interval_ms: 0,
            offset_metadata_max_bytes: 0,
            offsets_topic_segment_bytes: 0,
            offsets_topic_num_partitions: 1,
            producer_id_expiration_ms: 0,
            quorum_voters: Vec::new(),
            cluster_listen: None,
            http_listen: None,
            http_listen_explicit: false,
            http_read_only: false,
            inter_broker_tls: false,
            metadata_snapshot_records: 1,
            broker_heartbeat_interval_ms: 0,
            broker_session_timeout_ms: 0,
            replica_lag_time_max_ms: 0,
            replica_fetch_max_bytes: 0,
            replica_fetch_wait_max_ms: 0,
            offsets_topic_replication_factor: 1,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_ms: 0,
        }
    }
}

/// Reads typed values: the explicit value, else the built-in default.
struct Lookup<'a> {
    explicit: &'a BTreeMap<&'a str, &'a str>,
}

impl Lookup<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.explicit
            .get(key)
            .copied()
            .or_else(|| broker_setting(key).and_then(|def| def.default))
    }

    fn typed(&self, key: &str) -> Result<Option<TypedValue>, ConfigError> {
        let Some(def) = broker_setting(key) else {
            return Ok(None);
        };
        self.raw(key).map(|raw| def.parse(raw)).transpose()
    }

    fn opt_long(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        match self.typed(key)? {
            Some(TypedValue::Integer(n)) => Ok(Some(n)),
            _ => Ok(None),
        }
    }

    fn long(&self, key: &str) -> Result<i64, ConfigError> {
        self.opt_long(key)?.ok_or_else(|| missing(key))
    }

    fn int(&self, key: &str) -> Result<i32, ConfigError> {
        let n = self.long(key)?;
        i32::try_from(n).map_err(|_| out_of_range(key, n, "a 32-bit integer"))
    }

    fn boolean(&self, key: &str) -> Result<bool, ConfigError> {
        match self.typed(key)? {
            Some(TypedValue::Bool(b)) => Ok(b),
            _ => Err(missing(key)),
        }
    }

    fn text(&self, key: &str) -> Result<&str, ConfigError> {
        self.raw(key).ok_or_else(|| missing(key))
    }
}

fn missing(key: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: "has no value".into(),
    }
}

fn out_of_range(key: &str, value: i64, wanted: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason: format!("must fit in {wanted}"),
    }
}

/// A time setting given in ms, else minutes, else hours (the first set
/// wins, as in Kafka); negative means "forever" and is normalised to -1.
fn millis_from(
    lookup: &Lookup<'_>,
    ms: &str,
    minutes: Option<&str>,
    hours: &str,
) -> Result<i64, ConfigError> {
    let overflow = |key: &str, n: i64| out_of_range(key, n, "64-bit milliseconds");
    let in_minutes = match minutes {
        Some(key) => lookup.opt_long(key)?.map(|n| (key, n)),
        None => None,
    };
    let millis = if let Some(ms) = lookup.opt_long(ms)? {
        ms
    } else if let Some((key, n)) = in_minutes {
        n.checked_mul(60_000).ok_or_else(|| overflow(key, n))?
    } else {
        let n = lookup.long(hours)?;
        n.checked_mul(3_600_000).ok_or_else(|| overflow(hours, n))?
    };
    Ok(if millis < 0 { -1 } else { millis })
}

pub(super) fn resolve_settings(
    explicit: &BTreeMap<&str, &str>,
) -> Result<BrokerSettings, ConfigError> {
    let lookup = Lookup { explicit };
    let listeners = resolve_listeners(
        lookup.text("listeners")?,
        lookup.explicit.get("advertised.listeners").copied(),
        lookup.raw("listener.security.protocol.map"),
        lookup.raw("controller.listener.names"),
    )?;
    // `resolve_listeners` returns at least one.
    let first = listeners
        .first()
        .cloned()
        .ok_or_else(|| missing("listeners"))?;
    let security = security_settings(&lookup, None)?;
    let listener_security = listeners
        .iter()
        .map(|listener| security_settings(&lookup, Some(listener)))
        .collect::<Result<Vec<_>, _>>()?;
    // Replication goes over the first listener: its settings are the
    // inter-broker ones.
    let first_security = listener_security.first().unwrap_or(&security);
    let inter_broker_tls = inter_broker_tls(&lookup, &listeners, first_security)?;
    let replication = lookup.long("default.replication.factor")?;
    Ok(BrokerSettings {
        node_id: node_id(explicit)?,
        data_dir: data_dir(&lookup)?,
        listener: first.bind,
        advertised_listener: first.advertised,
        listeners,
        security,
        listener_security,
        cluster_id: None,
        num_partitions: lookup.int("num.partitions")?,
        default_replication_factor: i16::try_from(replication).map_err(|_| {
            out_of_range(
                "default.replication.factor",
                replication,
                "a 16-bit integer",
            )
        })?,
        auto_create_topics_enable: lookup.boolean("auto.create.topics.enable")?,
        delete_topic_enable: lookup.boolean("delete.topic.enable")?,
        socket_request_max_bytes: lookup.int("socket.request.max.bytes")?,
        socket_send_buffer_bytes: lookup.int("socket.send.buffer.bytes")?,
        fetch_max_bytes: lookup.int("fetch.max.bytes")?,
        fetch_session_cache_slots: lookup.int("max.incremental.fetch.session.cache.slots")?,
        max_request_partition_size_limit: lookup.int("max.request.partition.size.limit")?,
        queued_max_request_bytes: lookup.long("queued.max.request.bytes")?,
        max_connections: lookup.int("max.connections")?,
        max_connections_per_ip: lookup.int("max.connections.per.ip")?,
        connections_max_idle_ms: lookup.long("connections.max.idle.ms")?,
        connections_max_reauth_ms: lookup.long("connections.max.reauth.ms")?,
        authorizer: AuthorizerSettings {
            enabled: !lookup.text("authorizer.class.name")?.is_empty(),
            super_users: lookup
                .text("super.users")?
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            allow_if_no_acl: lookup.boolean("allow.everyone.if.no.acl.found")?,
        },
        quota_window_num: lookup.int("quota.window.num")?,
        quota_window_size_seconds: lookup.int("quota.window.size.seconds")?,
        max_partitions_per_request: lookup.int("strom.max.partitions.per.request")?,
        fetch_cache_bytes: lookup.long("strom.fetch.cache.bytes")?,
        message_max_bytes: lookup.int("message.max.bytes")?,
        log_segment_bytes: lookup.int("log.segment.bytes")?,
        log_roll_ms: millis_from(&lookup, "log.roll.ms", None, "log.roll.hours")?,
        log_retention_ms: millis_from(
            &lookup,
            "log.retention.ms",
            Some("log.retention.minutes"),
            "log.retention.hours",
        )?,
        log_retention_bytes: lookup.long("log.retention.bytes")?,
        log_retention_check_interval_ms: lookup.long("log.retention.check.interval.ms")?,
        log_cleaner_enable: lookup.boolean("log.cleaner.enable")?,
        log_cleaner_backoff_ms: lookup.long("log.cleaner.backoff.ms")?,
        log_index_interval_bytes: lookup.int("log.index.interval.bytes")?,
        log_index_size_max_bytes: lookup.int("log.index.size.max.bytes")?,
        log_segment_delete_delay_ms: lookup.long("log.segment.delete.delay.ms")?,
        log_message_timestamp_type: TimestampType::from_name(
            lookup.text("log.message.timestamp.type")?,
        )
        .ok_or_else(|| missing("log.message.timestamp.type"))?,
        log_message_timestamp_before_max_ms: lookup.long("log.message.timestamp.before.max.ms")?,
        log_message_timestamp_after_max_ms: lookup.long("log.message.timestamp.after.max.ms")?,
        log_cleanup_policy: CleanupPolicy::from_list(&split_list(
            lookup.text("log.cleanup.policy")?,
        )),
        min_insync_replicas: lookup.int("min.insync.replicas")?,
        flush_policy: match lookup.text(FLUSH_POLICY)? {
            "page-cache" => FlushPolicy::PageCache,
            _ => FlushPolicy::Fsync,
        },
        group_initial_rebalance_delay_ms: lookup.int("group.initial.rebalance.delay.ms")?,
        group_min_session_timeout_ms: lookup.int("group.min.session.timeout.ms")?,
        group_max_session_timeout_ms: lookup.int("group.max.session.timeout.ms")?,
        group_max_size: lookup.int("group.max.size")?,
        offsets_retention_ms: lookup
            .long("offsets.retention.minutes")?
            .saturating_mul(60_000),
        offsets_retention_check_interval_ms: lookup.long("offsets.retention.check.interval.ms")?,
        offset_metadata_max_bytes: lookup.int("offset.metadata.max.bytes")?,
        offsets_topic_segment_bytes: lookup.int("offsets.topic.segment.bytes")?,
        offsets_topic_num_partitions: lookup.int("offsets.topic.num.partitions")?,
        producer_id_expiration_ms: lookup.int("producer.id.expiration.ms")?,
        quorum_voters: voters(lookup.text("controller.quorum.voters")?)?,
        cluster_listen: lookup.raw(CLUSTER_LISTEN).map(str::to_string),
        http_listen: lookup
            .raw(HTTP_LISTEN)
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("off"))
            .map(str::to_string),
        http_listen_explicit: lookup.explicit.contains_key(HTTP_LISTEN),
        http_read_only: http_read_only(&lookup)?,
        inter_broker_tls,
        metadata_snapshot_records: lookup.int("strom.metadata.snapshot.records")?,
        broker_heartbeat_interval_ms: lookup.long("broker.heartbeat.interval.ms")?,
        broker_session_timeout_ms: lookup.long("broker.session.timeout.ms")?,
        replica_lag_time_max_ms: lookup.long("replica.lag.time.max.ms")?,
        replica_fetch_max_bytes: lookup.int("replica.fetch.max.bytes")?,
        replica_fetch_wait_max_ms: lookup.int("replica.fetch.wait.max.ms")?,
        offsets_topic_replication_factor: short(&lookup, "offsets.topic.replication.factor")?,
        auto_leader_rebalance_enable: lookup.boolean("auto.leader.rebalance.enable")?,
        leader_imbalance_check_interval_ms: lookup
            .long("leader.imbalance.check.interval.seconds")?
            .saturating_mul(1000),
    })
}

/// The TLS and SASL settings of `listener` (its
/// `listener.name.<name>.<key>` values where set, as in Kafka), checked
/// against what that listener needs; without one, the broker-wide values.
fn security_settings(
    lookup: &Lookup<'_>,
    listener: Option<&ListenerSpec>,
) -> Result<SecuritySettings, ConfigError> {
    let value = |key: &str| {
        listener
            .and_then(|l| {
                let own = format!("{LISTENER_PREFIX}{}.{key}", l.name.to_ascii_lowercase());
                lookup.explicit.get(own.as_str()).copied()
            })
            .or_else(|| lookup.raw(key))
    };
    let text = |key: &str| value(key).ok_or_else(|| missing(key));
    SecuritySettings::new(
        listener.map(std::slice::from_ref).unwrap_or_default(),
        value("ssl.keystore.location"),
        value("ssl.key.password"),
        value("ssl.truststore.location"),
        text("ssl.client.auth")?,
        text("sasl.enabled.mechanisms")?,
        OAuthSettings {
            jwks_file: jwks_file(lookup.text(JWKS_URL)?)?,
            expected_issuer: lookup
                .raw("sasl.oauthbearer.expected.issuer")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            expected_audience: split_list(lookup.text("sasl.oauthbearer.expected.audience")?),
            sub_claim: lookup.text("sasl.oauthbearer.sub.claim.name")?.to_string(),
            clock_skew: std::time::Duration::from_secs(
                u64::try_from(lookup.long("sasl.oauthbearer.clock.skew.seconds")?).unwrap_or(0),
            ),
        },
    )
}

/// `security.inter.broker.protocol`: SSL needs the keystore and the
/// truststore (each side checks the other), and replication goes over the
/// first listener, which must then be SSL.
fn inter_broker_tls(
    lookup: &Lookup<'_>,
    listeners: &[ListenerSpec],
    security: &SecuritySettings,
) -> Result<bool, ConfigError> {
    const KEY: &str = "security.inter.broker.protocol";
    let value = lookup.text(KEY)?;
    if value != "SSL" {
        return Ok(false);
    }
    let invalid = |reason: &str| ConfigError::InvalidValue {
        key: KEY.into(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    if security.keystore.is_none() || security.truststore.is_none() {
        return Err(invalid(
            "needs ssl.keystore.location (this broker's certificate) and ssl.truststore.location (the CA of the others')",
        ));
    }
    if listeners.first().map(|l| l.protocol) != Some(SecurityProtocol::Ssl) {
        return Err(invalid(
            "the first listener carries replication between brokers and must be an SSL listener",
        ));
    }
    if security.client_auth == ClientAuth::None {
        return Err(invalid(
            "set ssl.client.auth=requested (or required) so that brokers show their certificates when they fetch from each other",
        ));
    }
    Ok(true)
}

/// `strom.http.read.only`; always true with the authorizer on, since the
/// console has no login and would act for anyone who reaches it.
fn http_read_only(lookup: &Lookup<'_>) -> Result<bool, ConfigError> {
    let read_only = lookup.boolean(HTTP_READ_ONLY)?;
    let authorizer = !lookup.text("authorizer.class.name")?.is_empty();
    if authorizer && !read_only && lookup.explicit.contains_key(HTTP_READ_ONLY) {
        return Err(ConfigError::InvalidValue {
            key: HTTP_READ_ONLY.into(),
            value: "false".into(),
            reason: "the web console has no login, so with the authorizer on it stays read-only (use the Kafka APIs, which check ACLs)".into(),
        });
    }
    Ok(read_only || authorizer)
}

fn short(lookup: &Lookup<'_>, key: &str) -> Result<i16, ConfigError> {
    let n = lookup.long(key)?;
    i16::try_from(n).map_err(|_| out_of_range(key, n, "a 16-bit integer"))
}

/// Parses `controller.quorum.voters`: `1@host:port,2@host:port,...`.
fn voters(list: &str) -> Result<Vec<Voter>, ConfigError> {
    const KEY: &str = "controller.quorum.voters";
    let invalid = |reason: String| ConfigError::InvalidValue {
        key: KEY.into(),
        value: list.to_string(),
        reason,
    };
    let mut voters: Vec<Voter> = Vec::new();
    for entry in split_list(list) {
        let (id, address) = entry
            .split_once('@')
            .ok_or_else(|| invalid(format!("'{entry}' is not id@host:port")))?;
        let id = id
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|id| *id >= 0)
            .ok_or_else(|| invalid(format!("'{id}' is not a node id")))?;
        HostPort::parse(address.trim()).map_err(invalid)?;
        if voters.iter().any(|v| v.id == id) {
            return Err(invalid(format!("node {id} is listed twice")));
        }
        voters.push(Voter {
            id,
            address: address.trim().to_string(),
        });
    }
    Ok(voters)
}

fn node_id(explicit: &BTreeMap<&str, &str>) -> Result<i32, ConfigError> {
    let parse = |key: &str| -> Result<Option<i32>, ConfigError> {
        explicit
            .get(key)
            .map(|raw| raw.trim().parse::<i32>().map_err(|_| missing(key)))
            .transpose()
    };
    match (parse("node.id")?, parse("broker.id")?) {
        (Some(node), Some(broker)) if node != broker => Err(ConfigError::Invalid {
            key: "node.id".into(),
            reason: format!("node.id={node} and broker.id={broker} disagree; set one of them"),
        }),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Ok(0),
    }
}

fn data_dir(lookup: &Lookup<'_>) -> Result<PathBuf, ConfigError> {
    let (key, dirs) = match lookup.explicit.get("log.dirs") {
        Some(list) => ("log.dirs", split_list(list)),
        None => ("log.dir", vec![lookup.text("log.dir")?.trim().to_string()]),
    };
    match dirs.as_slice() {
        [one] if !one.is_empty() => Ok(PathBuf::from(one)),
        [] | [_] => Err(ConfigError::Invalid {
            key: key.into(),
            reason: "the data directory is empty".into(),
        }),
        _ => Err(ConfigError::Invalid {
            key: key.into(),
            reason: "Strom supports exactly one data directory".into(),
        }),
    }
}
