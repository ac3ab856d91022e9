//! Client settings under the librdkafka/Java names, parsed into one typed
//! struct. An existing client's configuration should just work: unknown
//! keys are refused (a typo must not be silently ignored) and every bad
//! value names its key.

use std::time::Duration;

use strom_protocol::records::CompressionType;

use crate::error::{ClientError, Result};
use crate::producer::partitioner::Partitioner;
use crate::security::SecurityConfig;
use crate::statistics::{StatsCallback, MAX_INTERVAL_MS};

/// How many replicas must have the write before the broker answers (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: the broker sends no response; delivery is not confirmed.
    None,
    /// `acks=1`: the leader wrote it.
    Leader,
    /// `acks=all` / `-1`: every in-sync replica has it.
    All,
}

impl Acks {
    pub fn wire_value(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// Where a consumer starts when it has no valid position (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    /// Fail with OFFSET_OUT_OF_RANGE instead of jumping.
    None,
}

/// `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
}

impl IsolationLevel {
    pub fn wire_value(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// Every setting the client understands, with the Java client's defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub bootstrap_servers: Vec<String>,
    pub client_id: String,
    // Producer.
    pub acks: Acks,
    pub linger: Duration,
    pub batch_size: usize,
    pub compression: CompressionType,
    /// `partitioner`, by librdkafka's names; Java's (`murmur2_random`) by
    /// default.
    pub partitioner: Partitioner,
    pub enable_idempotence: bool,
    pub max_in_flight_per_connection: usize,
    pub max_request_size: usize,
    pub delivery_timeout: Duration,
    pub retries: u32,
    pub retry_backoff: Duration,
    /// Bytes of records accepted but not yet acknowledged or failed
    /// (`buffer.memory`); past it `send` fails fast and `send_wait` waits.
    pub buffer_memory: usize,
    /// How long `send_wait` waits for room in buffer.memory (`max.block.ms`).
    pub max_block: Duration,
    /// Records accepted but not yet acknowledged or failed, at most
    /// (librdkafka's `queue.buffering.max.messages`); past it `send` fails
    /// fast like a full buffer.memory. No limit by default (Java has none).
    pub buffer_max_records: usize,
    /// Records in one batch, at most (librdkafka's `batch.num.messages`);
    /// a batch is closed at this count or at batch.size bytes, whichever
    /// comes first. No limit by default (Java has none).
    pub batch_max_records: usize,
    // Consumer.
    pub group_id: Option<String>,
    pub group_instance_id: Option<String>,
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    /// enable.auto.offset.store (librdkafka): `true` commits the
    /// positions (the offset after the last record `poll` returned);
    /// `false` commits only what the application stored with
    /// `store_offsets`, for at-least-once processing with auto commit.
    pub enable_auto_offset_store: bool,
    pub auto_commit_interval: Duration,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_poll_interval: Duration,
    pub max_poll_records: usize,
    /// check.crcs: verify each fetched batch's CRC32C before reading it.
    pub check_crcs: bool,
    /// default.api.timeout.ms: the bound of blocking calls that take no
    /// timeout argument (the blocking facade's `commit_sync`, admin calls).
    pub default_api_timeout: Duration,
    pub fetch_min_bytes: i32,
    pub fetch_max_wait: Duration,
    pub max_partition_fetch_bytes: i32,
    pub fetch_max_bytes: i32,
    pub isolation_level: IsolationLevel,
    pub partition_assignment_strategy: Vec<String>,
    /// enable.partition.eof (librdkafka): report each time a partition's
    /// position reaches its end ([`crate::Consumer::take_partition_eofs`]).
    pub enable_partition_eof: bool,
    /// allow.auto.create.topics (librdkafka's, for both roles): whether
    /// the broker may create the topics a producer writes to (`None`: yes,
    /// as the Java producer and librdkafka's do) or a group consumer
    /// subscribes to by name (`None`: no, as librdkafka's consumer).
    pub allow_auto_create_topics: Option<bool>,
    // Connections and metadata.
    pub request_timeout: Duration,
    pub metadata_max_age: Duration,
    pub socket_connection_setup_timeout: Duration,
    pub reconnect_backoff: Duration,
    pub reconnect_backoff_max: Duration,
    /// Largest response frame accepted from a broker (librdkafka's
    /// `receive.message.max.bytes`): a bigger length prefix is refused
    /// before anything is allocated.
    pub receive_message_max_bytes: usize,
    /// librdkafka's `debug` contexts (`all`, `broker`, `msg`, ...): a
    /// binding turns the client's log level to debug when any is set.
    pub debug: Vec<String>,
    /// TLS and SASL (`security.protocol`, `ssl.*`, `sasl.*`).
    pub security: SecurityConfig,
    /// statistics.interval.ms (librdkafka's): how often producers and
    /// consumers hand [`Self::stats_callback`] a statistics JSON object;
    /// zero (the default) for never.
    pub statistics_interval: Duration,
    /// What gets the statistics (librdkafka's `stats_cb`); set by the
    /// embedding code, not by a setting. Statistics need both this and
    /// statistics.interval.ms. See [`crate::statistics`].
    pub stats_callback: Option<StatsCallback>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            bootstrap_servers: Vec::new(),
            client_id: "strom-client".to_string(),
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16 * 1024,
            compression: CompressionType::None,
            partitioner: Partitioner::default(),
            enable_idempotence: true,
            max_in_flight_per_connection: 5,
            max_request_size: 1024 * 1024,
            delivery_timeout: Duration::from_secs(120),
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_secs(60),
            buffer_max_records: usize::MAX,
            batch_max_records: usize::MAX,
            group_id: None,
            group_instance_id: None,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            enable_auto_offset_store: true,
            auto_commit_interval: Duration::from_secs(5),
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            max_poll_records: 500,
            check_crcs: true,
            default_api_timeout: Duration::from_secs(60),
            fetch_min_bytes: 1,
            fetch_max_wait: Duration::from_millis(500),
            max_partition_fetch_bytes: 1024 * 1024,
            fetch_max_bytes: 50 * 1024 * 1024,
            isolation_level: IsolationLevel::ReadUncommitted,
            partition_assignment_strategy: vec!["range".into(), "cooperative-sticky".into()],
            enable_partition_eof: false,
            allow_auto_create_topics: None,
            request_timeout: Duration::from_secs(30),
            metadata_max_age: Duration::from_secs(300),
            socket_connection_setup_timeout: Duration::from_secs(10),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            receive_message_max_bytes: 100 * 1024 * 1024 + 512,
            debug: Vec::new(),
            security: SecurityConfig::new(),
            statistics_interval: Duration::ZERO,
            stats_callback: None,
        }
    }
}

impl ClientConfig {
    /// Whether clients made with this config report statistics: an
    /// interval and a callback are both set.
    pub fn reports_statistics(&self) -> bool {
        !self.statistics_interval.is_zero() && self.stats_callback.is_some()
    }

    /// A config with just `bootstrap.servers` set (comma-separated).
    pub fn with_bootstrap(servers: &str) -> Result<ClientConfig> {
        ClientConfig::from_pairs([("bootstrap.servers", servers)])
    }

    /// Builds a config from `key = value` pairs, applied in order over the
    /// defaults. Keys are the librdkafka/Java names; a few librdkafka
    /// aliases (`metadata.broker.list`, `queue.buffering.max.ms`,
    /// `compression.codec`, `message.timeout.ms`, `request.required.acks`)
    /// are accepted too.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<ClientConfig>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        ClientConfig::default().with_pairs(pairs)
    }

    /// The defaults of librdkafka where they differ from the Java client's,
    /// for APIs that present themselves as librdkafka (confluent-kafka's, a
    /// C API in its style): an application moved over keeps its keys on
    /// the partitions they were on (`partitioner` consistent_random), and
    /// its producer batches and queue as large and as long
    /// (`batch.size` 1,000,000, `batch.num.messages` 10,000,
    /// `queue.buffering.max.kbytes` 1 GiB, `queue.buffering.max.messages`
    /// 100,000). Idempotence stays on, as everywhere in this client.
    pub fn librdkafka_defaults() -> ClientConfig {
        ClientConfig {
            partitioner: Partitioner::ConsistentRandom,
            batch_size: 1_000_000,
            batch_max_records: 10_000,
            buffer_memory: 1024 * 1024 * 1024,
            buffer_max_records: 100_000,
            ..ClientConfig::default()
        }
    }

    /// Applies `key = value` pairs over this config, as [`Self::from_pairs`]
    /// does over the defaults: `ClientConfig::librdkafka_defaults().with_pairs(..)`.
    pub fn with_pairs<K, V>(self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<ClientConfig>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = self;
        let mut idempotence_explicit = false;
        for (key, value) in pairs {
            idempotence_explicit |= key.as_ref() == "enable.idempotence";
            config.set(key.as_ref(), value.as_ref())?;
        }
        // As in the Java client (KIP-679): idempotence is on by default but
        // quietly yields to settings that conflict with it, unless the user
        // asked for it explicitly.
        if !idempotence_explicit
            && (config.acks != Acks::All || config.max_in_flight_per_connection > 5)
        {
            config.enable_idempotence = false;
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one setting by its Kafka name.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let raw = value;
        let value = value.trim();
        match key {
            "bootstrap.servers" | "metadata.broker.list" => {
                self.bootstrap_servers = list(value);
                if self.bootstrap_servers.is_empty() {
                    return Err(ClientError::invalid_config(
                        key,
                        raw,
                        "name at least one broker as host:port",
                    ));
                }
                for server in &self.bootstrap_servers {
                    if !server.contains(':') {
                        return Err(ClientError::invalid_config(
                            key,
                            raw,
                            format!("`{server}` has no port; write host:port, e.g. localhost:9092"),
                        ));
                    }
                }
            }
            "client.id" => self.client_id = value.to_string(),
            "acks" | "request.required.acks" => {
                self.acks = match value {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "all" | "-1" => Acks::All,
                    _ => {
                        return Err(ClientError::invalid_config(
                            key,
                            raw,
                            "expected 0, 1, all or -1",
                        ))
                    }
                }
            }
            "linger.ms" | "queue.buffering.max.ms" => self.linger = millis(key, value)?,
            "batch.size" => self.batch_size = positive(key, value)?,
            "compression.type" | "compression.codec" => {
                self.compression = match value {
                    "none" => CompressionType::None,
                    "gzip" => CompressionType::Gzip,
                    "snappy" => CompressionType::Snappy,
                    "lz4" => CompressionType::Lz4,
                    "zstd" => CompressionType::Zstd,
                    _ => {
                        return Err(ClientError::invalid_config(
                            key,
                            raw,
                            "expected none, gzip, snappy, lz4 or zstd",
                        ))
                    }
                }
            }
            "enable.idempotence" => self.enable_idempotence = boolean(key, value)?,
            "max.in.flight.requests.per.connection" | "max.in.flight" => {
                self.max_in_flight_per_connection = positive(key, value)?
            }
            "max.request.size" | "message.max.bytes" => {
                self.max_request_size = positive(key, value)?
            }
            // librdkafka's socket.timeout.ms is its default request timeout.
            "request.timeout.ms" | "socket.timeout.ms" => self.request_timeout = millis(key, value)?,
            "delivery.timeout.ms" | "message.timeout.ms" => {
                self.delivery_timeout = millis(key, value)?
            }
            "retries" | "message.send.max.retries" => self.retries = number(key, value)?,
            "retry.backoff.ms" => self.retry_backoff = millis(key, value)?,
            "buffer.memory" => self.buffer_memory = positive(key, value)?,
            // librdkafka's bound of the producer queue, in KiB.
            "queue.buffering.max.kbytes" => {
                let kbytes: usize = positive(key, value)?;
                self.buffer_memory = kbytes.saturating_mul(1024);
            }
            // Settings librdkafka users pass whose only meaning here is the
            // one value this client has: accepted with it, refused (naming
            // what is missing) with any other.
            "partitioner" => {
                self.partitioner = Partitioner::parse(value).ok_or_else(|| {
                    ClientError::invalid_config(
                        key,
                        raw,
                        "expected murmur2_random, murmur2, consistent_random, consistent, fnv1a_random, fnv1a or random",
                    )
                })?
            }
            "enable.partition.eof" => self.enable_partition_eof = boolean(key, value)?,
            "statistics.interval.ms" => {
                let interval = number::<u64>(key, value)
                    .ok()
                    .filter(|ms| *ms <= MAX_INTERVAL_MS)
                    .ok_or_else(|| {
                        ClientError::invalid_config(
                            key,
                            raw,
                            "expected milliseconds from 0 (no statistics) to 86400000",
                        )
                    })?;
                self.statistics_interval = Duration::from_millis(interval);
            }
            "api.version.request" => only(key, raw, &["true"], "this client always asks the broker's API versions")?,
            "max.block.ms" => self.max_block = millis(key, value)?,
            "queue.buffering.max.messages" => self.buffer_max_records = positive(key, value)?,
            "batch.num.messages" => self.batch_max_records = positive(key, value)?,
            "allow.auto.create.topics" => self.allow_auto_create_topics = Some(boolean(key, value)?),
            "debug" => self.debug = list(value),
            _ if self.security.set(key, value)? => {}
            "group.id" => self.group_id = non_empty(value),
            "group.instance.id" => self.group_instance_id = non_empty(value),
            "auto.offset.reset" => {
                self.auto_offset_reset = match value {
                    "earliest" | "smallest" | "beginning" => OffsetReset::Earliest,
                    "latest" | "largest" | "end" => OffsetReset::Latest,
                    "none" | "error" => OffsetReset::None,
                    _ => {
                        return Err(ClientError::invalid_config(
                            key,
                            raw,
                            "expected earliest, latest or none",
                        ))
                    }
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = boolean(key, value)?,
            "enable.auto.offset.store" => self.enable_auto_offset_store = boolean(key, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = millis(key, value)?,
            "session.timeout.ms" => self.session_timeout = millis(key, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = millis(key, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = millis(key, value)?,
            "max.poll.records" => self.max_poll_records = positive(key, value)?,
            "check.crcs" => self.check_crcs = boolean(key, value)?,
            "default.api.timeout.ms" => self.default_api_timeout = millis(key, value)?,
            "fetch.min.bytes" => self.fetch_min_bytes = number(key, value)?,
            "fetch.max.wait.ms" | "fetch.wait.max.ms" => self.fetch_max_wait = millis(key, value)?,
            "max.partition.fetch.bytes" | "fetch.message.max.bytes" => {
                self.max_partition_fetch_bytes = positive(key, value)?
            }
            "fetch.max.bytes" => self.fetch_max_bytes = positive(key, value)?,
            "isolation.level" => {
                self.isolation_level = match value {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    _ => {
                        return Err(ClientError::invalid_config(
                            key,
                            raw,
                            "expected read_uncommitted or read_committed",
                        ))
                    }
                }
            }
            "partition.assignment.strategy" => {
                self.partition_assignment_strategy = list(value);
                if self.partition_assignment_strategy.is_empty() {
                    return Err(ClientError::invalid_config(
                        key,
                        raw,
                        "name at least one assignor",
                    ));
                }
            }
            "metadata.max.age.ms" | "topic.metadata.refresh.interval.ms" => {
                self.metadata_max_age = millis(key, value)?
            }
            "socket.connection.setup.timeout.ms" => {
                self.socket_connection_setup_timeout = millis(key, value)?
            }
            "reconnect.backoff.ms" => self.reconnect_backoff = millis(key, value)?,
            "reconnect.backoff.max.ms" => self.reconnect_backoff_max = millis(key, value)?,
            "receive.message.max.bytes" => self.receive_message_max_bytes = positive(key, value)?,
            _ => {
                return Err(ClientError::UnknownConfig {
                    key: key.to_string(),
                })
            }
        }
        Ok(())
    }

    /// Checks rules that span settings, as the Java client does at startup.
    fn validate(&self) -> Result<()> {
        self.security.validate()?;
        if self.enable_idempotence {
            if self.acks != Acks::All {
                return Err(ClientError::invalid_config(
                    "acks",
                    &format!("{}", self.acks.wire_value()),
                    "enable.idempotence=true needs acks=all; set enable.idempotence=false to use other acks",
                ));
            }
            if self.max_in_flight_per_connection > 5 {
                return Err(ClientError::invalid_config(
                    "max.in.flight.requests.per.connection",
                    &self.max_in_flight_per_connection.to_string(),
                    "enable.idempotence=true allows at most 5",
                ));
            }
        }
        if self.reconnect_backoff_max < self.reconnect_backoff {
            return Err(ClientError::invalid_config(
                "reconnect.backoff.max.ms",
                &self.reconnect_backoff_max.as_millis().to_string(),
                "must be at least reconnect.backoff.ms",
            ));
        }
        Ok(())
    }
}

/// Accepts `value` (case-insensitive) only if it is one of `allowed`.
fn only(key: &str, value: &str, allowed: &[&str], otherwise: &str) -> Result<()> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim())) {
        return Ok(());
    }
    Err(ClientError::invalid_config(key, value, otherwise))
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| ClientError::invalid_config(key, value, "expected a whole number in range"))
}

fn positive<T: std::str::FromStr + Default + PartialOrd>(key: &str, value: &str) -> Result<T> {
    let parsed: T = number(key, value)?;
    if parsed <= T::default() {
        return Err(ClientError::invalid_config(
            key,
            value,
            "must be greater than 0",
        ));
    }
    Ok(parsed)
}

fn millis(key: &str, value: &str) -> Result<Duration> {
    number::<u64>(key, value)
        .map(Duration::from_millis)
        .map_err(|_| {
            ClientError::invalid_config(key, value, "expected milliseconds (a whole number >= 0)")
        })
}

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ClientError::invalid_config(
            key,
            value,
            "expected true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_java_client() {
        let config = ClientConfig::with_bootstrap("localhost:9092").unwrap();
        assert_eq!(config.bootstrap_servers, vec!["localhost:9092"]);
        assert!(config.enable_idempotence);
        assert_eq!(config.acks, Acks::All);
        assert_eq!(config.batch_size, 16384);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.buffer_memory, 33_554_432);
        assert_eq!(config.max_block, Duration::from_secs(60));
    }

    #[test]
    fn buffer_memory_and_max_block_are_parsed() {
        let config =
            ClientConfig::from_pairs([("buffer.memory", "4096"), ("max.block.ms", "250")]).unwrap();
        assert_eq!(config.buffer_memory, 4096);
        assert_eq!(config.max_block, Duration::from_millis(250));
        let error = ClientConfig::from_pairs([("buffer.memory", "0")]).unwrap_err();
        assert!(error.to_string().contains("`buffer.memory`"), "{error}");
    }

    #[test]
    fn parses_typed_values() {
        let config = ClientConfig::from_pairs([
            ("bootstrap.servers", "a:1, b:2"),
            ("acks", "1"),
            ("enable.idempotence", "false"),
            ("linger.ms", "20"),
            ("compression.type", "zstd"),
            ("auto.offset.reset", "earliest"),
            ("isolation.level", "read_committed"),
            ("group.id", "g1"),
        ])
        .unwrap();
        assert_eq!(config.bootstrap_servers, vec!["a:1", "b:2"]);
        assert_eq!(config.acks, Acks::Leader);
        assert_eq!(config.linger, Duration::from_millis(20));
        assert_eq!(config.compression, CompressionType::Zstd);
        assert_eq!(config.auto_offset_reset, OffsetReset::Earliest);
        assert_eq!(config.isolation_level, IsolationLevel::ReadCommitted);
        assert_eq!(config.group_id.as_deref(), Some("g1"));
    }

    #[test]
    fn crc_checks_and_the_api_timeout_are_settings() {
        let defaults = ClientConfig::default();
        assert!(defaults.check_crcs);
        assert_eq!(defaults.default_api_timeout, Duration::from_secs(60));
        let config =
            ClientConfig::from_pairs([("check.crcs", "false"), ("default.api.timeout.ms", "5000")])
                .unwrap();
        assert!(!config.check_crcs);
        assert_eq!(config.default_api_timeout, Duration::from_secs(5));
    }

    #[test]
    fn unknown_key_is_named() {
        let error = ClientConfig::from_pairs([("bootstrap.server", "a:1")]).unwrap_err();
        assert!(matches!(&error, ClientError::UnknownConfig { key } if key == "bootstrap.server"));
        assert!(error.to_string().contains("bootstrap.server"));
    }

    #[test]
    fn an_empty_bootstrap_list_is_refused_when_set() {
        for empty in ["", " ", ",,"] {
            let error = ClientConfig::from_pairs([("bootstrap.servers", empty)]).unwrap_err();
            assert!(error.to_string().contains("at least one broker"), "{error}");
        }
    }

    #[test]
    fn bad_value_names_key_and_value() {
        let error = ClientConfig::from_pairs([("linger.ms", "soon")]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("linger.ms") && message.contains("soon"),
            "{message}"
        );
        let error = ClientConfig::from_pairs([("acks", "2")]).unwrap_err();
        assert!(error.to_string().contains("`acks`"));
        let error = ClientConfig::from_pairs([("bootstrap.servers", "localhost")]).unwrap_err();
        assert!(error.to_string().contains("has no port"));
    }

    #[test]
    fn librdkafka_defaults_differ_only_where_librdkafka_does() {
        let config = ClientConfig::librdkafka_defaults()
            .with_pairs([("linger.ms", "7")])
            .unwrap();
        assert_eq!(config.partitioner, Partitioner::ConsistentRandom);
        assert_eq!(config.batch_size, 1_000_000);
        assert_eq!(config.buffer_memory, 1 << 30);
        assert_eq!(config.linger, Duration::from_millis(7));
        assert_eq!(config.batch_max_records, 10_000);
        assert_eq!(config.buffer_max_records, 100_000);
        assert!(config.enable_idempotence);
        let java = ClientConfig::from_pairs([("linger.ms", "7")]).unwrap();
        assert_eq!(java.partitioner, Partitioner::Murmur2Random);
        assert_eq!(java.batch_size, 16 * 1024);
        assert_eq!(java.batch_max_records, usize::MAX);
        assert_eq!(java.buffer_max_records, usize::MAX);
    }

    #[test]
    fn security_settings_are_checked_and_the_password_never_printed() {
        let config = ClientConfig::from_pairs([
            ("bootstrap.servers", "localhost:9093"),
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", "alice-secret"),
        ])
        .unwrap();
        assert!(config.security.protocol.uses_sasl());
        assert!(!format!("{config:?}").contains("alice-secret"));
        let no_user = ClientConfig::from_pairs([("security.protocol", "SASL_SSL")]);
        assert!(no_user.unwrap_err().to_string().contains("sasl.username"));
        let missing_ca = ClientConfig::from_pairs([
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/no/such/ca.pem"),
        ]);
        assert!(missing_ca
            .unwrap_err()
            .to_string()
            .contains("ssl.ca.location"));
    }

    #[test]
    fn librdkafka_settings_map_to_their_meaning_here() {
        let config = ClientConfig::from_pairs([
            ("socket.timeout.ms", "7000"),
            ("queue.buffering.max.kbytes", "2048"),
            ("security.protocol", "PLAINTEXT"),
            ("api.version.request", "true"),
            ("enable.auto.offset.store", "false"),
            ("queue.buffering.max.messages", "1000"),
            ("batch.num.messages", "50"),
            ("allow.auto.create.topics", "false"),
            ("enable.partition.eof", "true"),
            ("statistics.interval.ms", "0"),
            ("debug", "broker, msg"),
        ])
        .unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(7));
        assert_eq!(config.buffer_memory, 2048 * 1024);
        assert!(!config.enable_auto_offset_store);
        assert_eq!(config.buffer_max_records, 1000);
        assert_eq!(config.batch_max_records, 50);
        assert_eq!(config.debug, ["broker", "msg"]);
        assert!(config.enable_partition_eof);
        assert_eq!(config.allow_auto_create_topics, Some(false));
        for (key, value, says) in [
            ("security.protocol", "TLS", "sasl_ssl"),
            ("sasl.mechanisms", "GSSAPI", "SCRAM-SHA-512"),
            ("api.version.request", "false", "API versions"),
            ("statistics.interval.ms", "86400001", "86400000"),
            ("statistics.interval.ms", "-1", "milliseconds"),
        ] {
            let message = ClientConfig::from_pairs([(key, value)])
                .unwrap_err()
                .to_string();
            assert!(message.contains(key) && message.contains(says), "{message}");
        }
    }

    #[test]
    fn statistics_are_off_unless_an_interval_is_set() {
        let defaults = ClientConfig::default();
        assert_eq!(defaults.statistics_interval, Duration::ZERO);
        assert!(defaults.stats_callback.is_none());
        let config = ClientConfig::from_pairs([("statistics.interval.ms", "1500")]).unwrap();
        assert_eq!(config.statistics_interval, Duration::from_millis(1500));
        let most = ClientConfig::from_pairs([("statistics.interval.ms", "86400000")]).unwrap();
        assert_eq!(most.statistics_interval, Duration::from_secs(86_400));
        let mut with_callback = config.clone();
        with_callback.stats_callback = Some(StatsCallback::new(|_| {}));
        assert!(format!("{with_callback:?}").contains("StatsCallback"));
    }

    #[test]
    fn idempotence_requires_acks_all() {
        let config = ClientConfig::from_pairs([("acks", "1")]).unwrap();
        assert!(
            !config.enable_idempotence,
            "default idempotence yields to acks=1"
        );
        let error =
            ClientConfig::from_pairs([("acks", "1"), ("enable.idempotence", "true")]).unwrap_err();
        assert!(error.to_string().contains("enable.idempotence"));
    }
}
