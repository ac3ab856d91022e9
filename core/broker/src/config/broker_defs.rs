//! The broker settings Strom reads, under Kafka's names and with Kafka's
//! defaults (3.9), except where a Strom default is called out.

use super::types::{ConfigType as T, SettingDef, Validator as V};

const LONG_MAX: &str = "9223372036854775807";

pub const FLUSH_POLICY: &str = "strom.flush.policy";
pub const CLUSTER_LISTEN: &str = "strom.cluster.listen";
pub const HTTP_LISTEN: &str = "strom.http.listen";
pub const HTTP_READ_ONLY: &str = "strom.http.read.only";

const fn def(
    name: &'static str,
    config_type: T,
    default: Option<&'static str>,
    validator: V,
    doc: &'static str,
) -> SettingDef {
    SettingDef {
        name,
        config_type,
        default,
        validator,
        doc,
    }
}

/// Every broker setting Strom understands. Keys outside this table are kept
/// and reported as ignored, never rejected: Kafka files carry many settings
/// (ZooKeeper, SASL, thread pools) that mean nothing here.
#[rustfmt::skip]
pub static BROKER_SETTINGS: &[SettingDef] = &[
    def("node.id", T::Int, Some("0"), V::AtLeast(0), "This broker's id in the cluster."),
    def("broker.id", T::Int, Some("0"), V::AtLeast(0), "Older name of node.id; both must agree when both are set."),
    def("listeners", T::String, Some("PLAINTEXT://127.0.0.1:9092"), V::Any, "Address the broker listens on (PLAINTEXT://host:port or host:port)."),
    def("advertised.listeners", T::String, None, V::Any, "Address clients are told to connect to; defaults to listeners. Port 0 means the bound port."),
    def("listener.security.protocol.map", T::String, None, V::Any, "NAME:PROTOCOL pairs for listeners whose name is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)."),
    def("controller.listener.names", T::List, None, V::Any, "Listeners of Kafka's controller quorum; skipped (Strom's quorum has its own listener, strom.cluster.listen)."),
    def("ssl.keystore.location", T::String, None, V::Any, "PEM file with the broker's private key (PKCS#8, PKCS#1 or SEC1; an encrypted PKCS#8 key with ssl.key.password) and its certificate chain, for SSL and SASL_SSL listeners."),
    def("ssl.key.password", T::Password, None, V::Any, "Password of the private key in ssl.keystore.location when it is encrypted (PKCS#8 with PBES2: openssl pkcs8 -topk8 -v2 aes-256-cbc)."),
    def("ssl.keystore.type", T::String, Some("PEM"), V::OneOf(&["PEM"]), "Format of the keystore: PEM (convert JKS or PKCS12 with keytool and openssl)."),
    def("ssl.truststore.location", T::String, None, V::Any, "PEM file with the CA certificates that client certificates must chain to (mutual TLS)."),
    def("ssl.truststore.type", T::String, Some("PEM"), V::OneOf(&["PEM"]), "Format of the truststore: PEM."),
    def("ssl.client.auth", T::String, Some("none"), V::OneOf(&["none", "requested", "required"]), "Whether SSL listeners ask clients for a certificate: required refuses clients without one that chains to the truststore (SASL_SSL clients log in with SASL instead, as in Kafka)."),
    def("connections.max.reauth.ms", T::Long, Some("0"), V::AtLeast(0), "How long a SASL login lasts: clients are told (KIP-368) and log in again on the same connection before it ends; a connection whose login expired is closed at its next request. 0: a login lasts as long as its connection."),
    def("sasl.enabled.mechanisms", T::List, Some("SCRAM-SHA-256,SCRAM-SHA-512"), V::Any, "SASL mechanisms SASL listeners accept: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN (checked against the same SCRAM credentials; send it over SASL_SSL only), OAUTHBEARER (signed JWTs, see sasl.oauthbearer.*). Kafka's default: GSSAPI."),
    def("authorizer.class.name", T::String, Some(""), V::OneOf(&["", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer", "strom"]), "Turns ACL authorization on: Kafka's StandardAuthorizer or AclAuthorizer class name, or strom (all three mean Strom's authorizer). Empty: every client may do everything."),
    def("security.inter.broker.protocol", T::String, Some("PLAINTEXT"), V::OneOf(&["PLAINTEXT", "SSL"]), "How brokers of a cluster talk to each other. SSL: mutual TLS with the keystore's certificate on the cluster (Raft) port and for replica fetching (the first listener must then be SSL); a peer's certificate must chain to ssl.truststore.location and, with the authorizer on, name a super user."),
    def("super.users", T::String, Some(""), V::Any, "Principals allowed everything whatever the ACLs say, separated by semicolons: User:admin;User:CN=ops,O=example."),
    def("allow.everyone.if.no.acl.found", T::Boolean, Some("false"), V::Any, "With the authorizer on, whether a resource that no ACL covers is open to everyone."),
    def("quota.window.num", T::Int, Some("11"), V::AtLeast(2), "Samples a client quota's rate is measured over."),
    def("quota.window.size.seconds", T::Int, Some("1"), V::AtLeast(1), "Length of each sample of a client quota's rate."),
    def("sasl.oauthbearer.jwks.endpoint.url", T::String, Some(""), V::Any, "The identity provider's public keys (JWKS) that OAUTHBEARER tokens must be signed by, as a file: URL (Strom does not fetch them over HTTP)."),
    def("sasl.oauthbearer.expected.issuer", T::String, None, V::Any, "The iss claim OAUTHBEARER tokens must carry, if set."),
    def("sasl.oauthbearer.expected.audience", T::List, Some(""), V::Any, "Audiences (aud claim) an OAUTHBEARER token must name one of, if set."),
    def("sasl.oauthbearer.sub.claim.name", T::String, Some("sub"), V::Any, "The claim an OAUTHBEARER token's principal is read from."),
    def("sasl.oauthbearer.clock.skew.seconds", T::Long, Some("30"), V::AtLeast(0), "Clock difference tolerated when checking a token's exp and nbf."),
    def("log.dir", T::String, Some("./strom-data"), V::Any, "Data directory (Strom's default: ./strom-data)."),
    def("log.dirs", T::List, None, V::Any, "Data directory; overrides log.dir. Strom supports exactly one."),
    def("num.partitions", T::Int, Some("1"), V::AtLeast(1), "Partitions of an auto-created topic or a CreateTopics request that leaves the count to the broker."),
    def("default.replication.factor", T::Int, Some("1"), V::AtLeast(1), "Replication factor of topics created without one."),
    def("auto.create.topics.enable", T::Boolean, Some("true"), V::Any, "Create a topic when a client asks for metadata of one that does not exist."),
    def("delete.topic.enable", T::Boolean, Some("true"), V::Any, "Allow DeleteTopics."),
    def("socket.send.buffer.bytes", T::Int, Some("102400"), V::AtLeast(-1), "SO_SNDBUF of the connections the broker accepts, as Kafka's; -1: the OS's own (autotuned up to megabytes)."),
    def("socket.request.max.bytes", T::Int, Some("104857600"), V::AtLeast(1), "Largest request frame accepted; larger frames close the connection."),
    def("max.request.partition.size.limit", T::Int, Some("2000"), V::AtLeast(1), "Most partitions one DescribeTopicPartitions response describes; the client pages on with the cursor it returns."),
    def("max.incremental.fetch.session.cache.slots", T::Int, Some("1000"), V::AtLeast(0), "Most fetch sessions (KIP-227) held at once; a consumer that gets none sends full fetches. 0: none. All sessions together hold at most 100,000 partitions."),
    def("fetch.max.bytes", T::Int, Some("57671680"), V::AtLeast(1024), "Most record bytes one Fetch response carries, whatever the request asks (55 MiB)."),
    def("queued.max.request.bytes", T::Long, Some("536870912"), V::AtLeast(-1), "Bytes of requests being read or handled, all connections together; a connection waits to read its next request beyond it. -1: no limit (Kafka's default; Strom's is 512 MiB)."),
    def("max.connections", T::Int, Some("2147483647"), V::AtLeast(0), "Most client connections at once; beyond it the broker stops accepting until one closes."),
    def("max.connections.per.ip", T::Int, Some("2147483647"), V::AtLeast(0), "Most connections from one IP address; beyond it a new connection is closed at once."),
    def("connections.max.idle.ms", T::Long, Some("600000"), V::Any, "A connection that sends nothing for this long is closed; 0 or less: never."),
    def("message.max.bytes", T::Int, Some("1048588"), V::AtLeast(0), "Largest record batch accepted (topic: max.message.bytes)."),
    def("log.segment.bytes", T::Int, Some("1073741824"), V::AtLeast(14), "Size at which a log segment is rolled (topic: segment.bytes)."),
    def("log.roll.ms", T::Long, None, V::AtLeast(1), "Age at which a segment is rolled; overrides log.roll.hours."),
    def("log.roll.hours", T::Int, Some("168"), V::AtLeast(1), "Age in hours at which a segment is rolled (topic: segment.ms)."),
    def("log.roll.jitter.ms", T::Long, None, V::AtLeast(0), "Random jitter subtracted from the roll time; overrides log.roll.jitter.hours."),
    def("log.roll.jitter.hours", T::Int, Some("0"), V::AtLeast(0), "Random jitter in hours subtracted from the roll time."),
    def("log.retention.ms", T::Long, None, V::Any, "Time a segment is kept; -1 keeps forever. Overrides minutes and hours."),
    def("log.retention.minutes", T::Int, None, V::Any, "Retention in minutes; overrides log.retention.hours."),
    def("log.retention.hours", T::Int, Some("168"), V::Any, "Retention in hours (topic: retention.ms)."),
    def("log.retention.bytes", T::Long, Some("-1"), V::Any, "Size a partition is trimmed to; -1 means no limit (topic: retention.bytes)."),
    def("log.retention.check.interval.ms", T::Long, Some("300000"), V::AtLeast(1), "How often retention is enforced."),
    def("log.cleaner.enable", T::Boolean, Some("true"), V::Any, "Whether compacted topics are cleaned."),
    def("log.cleaner.backoff.ms", T::Long, Some("15000"), V::AtLeast(0), "Pause between log cleaner passes."),
    def("log.index.interval.bytes", T::Int, Some("4096"), V::AtLeast(0), "Bytes of log between offset index entries."),
    def("log.index.size.max.bytes", T::Int, Some("10485760"), V::AtLeast(4), "Maximum size of an offset or time index file (topic: segment.index.bytes)."),
    def("log.segment.delete.delay.ms", T::Long, Some("60000"), V::AtLeast(0), "Delay before a deleted segment's files are removed."),
    def("log.flush.interval.messages", T::Long, Some(LONG_MAX), V::AtLeast(1), "Kafka's count-based flush. In Strom a value of 1 makes the page-cache policy fsync that topic."),
    def("log.flush.interval.ms", T::Long, None, V::AtLeast(0), "Kafka's time-based flush (topic: flush.ms); accepted, reported, not used."),
    def("log.flush.scheduler.interval.ms", T::Long, Some(LONG_MAX), V::Any, "Kafka's flush scheduler period; accepted, reported, not used."),
    def("log.message.timestamp.type", T::String, Some("CreateTime"), V::OneOf(&["CreateTime", "LogAppendTime"]), "Whether record timestamps are the producer's or the broker's append time."),
    def("log.message.timestamp.before.max.ms", T::Long, Some(LONG_MAX), V::AtLeast(0), "How far in the past a CreateTime timestamp may be."),
    def("log.message.timestamp.after.max.ms", T::Long, Some(LONG_MAX), V::AtLeast(0), "How far in the future a CreateTime timestamp may be."),
    def("log.message.timestamp.difference.max.ms", T::Long, Some(LONG_MAX), V::AtLeast(0), "Deprecated by the before/after settings; accepted, not used."),
    def("log.message.downconversion.enable", T::Boolean, Some("true"), V::Any, "Kafka's down-conversion for old fetchers; accepted, not used."),
    def("log.cleanup.policy", T::List, Some("delete"), V::ListOf(&["compact", "delete"]), "delete, compact, or both."),
    def("log.cleaner.delete.retention.ms", T::Long, Some("86400000"), V::AtLeast(0), "How long tombstones survive compaction."),
    def("log.cleaner.min.compaction.lag.ms", T::Long, Some("0"), V::AtLeast(0), "Minimum age before a record may be compacted."),
    def("log.cleaner.max.compaction.lag.ms", T::Long, Some(LONG_MAX), V::AtLeast(1), "Maximum age before a record must be compacted."),
    def("log.cleaner.min.cleanable.ratio", T::Double, Some("0.5"), V::Between(0.0, 1.0), "Dirty ratio that triggers compaction."),
    def("log.preallocate", T::Boolean, Some("false"), V::Any, "Preallocate segment files."),
    def("log.local.retention.ms", T::Long, Some("-2"), V::AtLeast(-2), "Tiered storage local retention; accepted, not used."),
    def("log.local.retention.bytes", T::Long, Some("-2"), V::AtLeast(-2), "Tiered storage local retention; accepted, not used."),
    def("min.insync.replicas", T::Int, Some("1"), V::AtLeast(1), "In-sync replicas an acks=all write needs."),
    def("compression.type", T::String, Some("producer"), V::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]), "Compression of stored batches; producer keeps what the producer sent."),
    def("compression.gzip.level", T::Int, Some("-1"), V::IntBetween(-1, 9), "gzip level when the broker compresses."),
    def("compression.lz4.level", T::Int, Some("9"), V::IntBetween(1, 17), "lz4 level when the broker compresses."),
    def("compression.zstd.level", T::Int, Some("3"), V::IntBetween(-131072, 22), "zstd level when the broker compresses."),
    def("unclean.leader.election.enable", T::Boolean, Some("false"), V::Any, "Allow an out-of-sync replica to become leader."),
    def("group.initial.rebalance.delay.ms", T::Int, Some("3000"), V::AtLeast(0), "Wait for more members before the first rebalance of an empty group."),
    def("group.min.session.timeout.ms", T::Int, Some("6000"), V::Any, "Smallest session timeout a consumer may ask for."),
    def("group.max.session.timeout.ms", T::Int, Some("1800000"), V::Any, "Largest session timeout a consumer may ask for."),
    def("group.max.size", T::Int, Some("2147483647"), V::AtLeast(1), "Most members a consumer group may have."),
    def("offsets.retention.minutes", T::Int, Some("10080"), V::AtLeast(1), "How long committed offsets of an empty group are kept."),
    def("offsets.retention.check.interval.ms", T::Long, Some("600000"), V::AtLeast(1), "How often expired committed offsets are removed."),
    def("offset.metadata.max.bytes", T::Int, Some("4096"), V::AtLeast(0), "Largest metadata string a commit may carry with an offset."),
    def("offsets.topic.segment.bytes", T::Int, Some("104857600"), V::AtLeast(1), "Segment size of __consumer_offsets."),
    def("offsets.topic.num.partitions", T::Int, Some("50"), V::AtLeast(1), "Partitions of __consumer_offsets."),
    def("producer.id.expiration.ms", T::Int, Some("86400000"), V::AtLeast(1), "How long an idle producer's id and sequence state is kept."),
    def("strom.fetch.cache.bytes", T::Long, Some("33554432"), V::AtLeast(0), "Memory for the newest batches of the partitions being written, kept as they arrived, so that fetches at the end of a log (consumers that keep up, several groups, followers) are answered without reading the segment file and checking its CRCs again. A partition keeps its appends while fetches read its newest segment (until 10 s without one); the partitions that do hold at most this together, each at most its share of it and at most 4 MiB; 0 turns it off."),
    def("strom.max.partitions.per.request", T::Int, Some("10000"), V::AtLeast(1), "Most partitions one CreateTopics or CreatePartitions request may create, all topics together; beyond it the topics past the limit get POLICY_VIOLATION."),
    def("controller.quorum.voters", T::List, Some(""), V::Any, "The metadata quorum: id@host:port of every voter's cluster listener (same on every node). Empty: a one-node cluster that keeps its metadata in topic files."),
    def(HTTP_LISTEN, T::String, Some("127.0.0.1:9644"), V::Any, "Address of the HTTP listener (the web console at /, Prometheus metrics at /metrics, health at /healthz and /readyz), or off. When the default port is taken the broker starts without it and says so; an address set explicitly must bind."),
    def(HTTP_READ_ONLY, T::Boolean, Some("false"), V::Any, "The web console shows but does not act: no creating or deleting topics, no resetting offsets. With the authorizer on the console is always read-only and shows no records (it has no login), and setting this false is refused."),
    def(CLUSTER_LISTEN, T::String, None, V::Any, "Address of this node's cluster (Raft) listener; defaults to its own entry in controller.quorum.voters."),
    def("strom.metadata.snapshot.records", T::Int, Some("1000"), V::AtLeast(1), "Committed metadata records between two snapshots of the metadata log; the log behind a snapshot is then dropped (but for its last 500 records, or this many when fewer), and a broker that was away longer catches up from the snapshot. Kafka counts bytes instead (metadata.log.max.record.bytes.between.snapshots)."),
    def("broker.heartbeat.interval.ms", T::Int, Some("500"), V::AtLeast(10), "How often a broker tells the controller it is alive (Kafka: 2000)."),
    def("broker.session.timeout.ms", T::Int, Some("6000"), V::AtLeast(100), "A broker silent this long is fenced and its partitions get new leaders (Kafka: 9000)."),
    def("replica.lag.time.max.ms", T::Long, Some("30000"), V::AtLeast(1), "A follower that has not caught up for this long leaves the ISR."),
    def("replica.fetch.max.bytes", T::Int, Some("1048576"), V::AtLeast(0), "Record bytes a follower asks for per partition in one fetch."),
    def("replica.fetch.wait.max.ms", T::Int, Some("500"), V::AtLeast(0), "How long a follower's fetch waits at the leader for new records."),
    def("offsets.topic.replication.factor", T::Short, Some("3"), V::AtLeast(1), "Replication factor of __consumer_offsets (capped at the brokers registered when it is created)."),
    def("auto.leader.rebalance.enable", T::Boolean, Some("true"), V::Any, "Move leadership back to preferred replicas once they are in sync."),
    def("leader.imbalance.check.interval.seconds", T::Long, Some("10"), V::AtLeast(1), "How often the controller looks for partitions led away from their preferred replica (Kafka: 300)."),
    def(FLUSH_POLICY, T::String, Some("fsync"), V::OneOf(&["fsync", "page-cache"]), "fsync: an acknowledged write has been fdatasync'ed (group commit). page-cache: acknowledged once in the OS page cache, as Kafka does by default."),
];

/// The definition of a broker setting, if Strom knows it.
pub fn broker_setting(name: &str) -> Option<&'static SettingDef> {
    BROKER_SETTINGS.iter().find(|def| def.name == name)
}

/// Kafka's per-listener settings: `listener.name.<listener>.<key>`.
pub const LISTENER_PREFIX: &str = "listener.name.";

/// The settings a listener may set for itself.
const PER_LISTENER: &[&str] = &[
    "ssl.keystore.location",
    "ssl.key.password",
    "ssl.truststore.location",
    "ssl.client.auth",
    "sasl.enabled.mechanisms",
];

/// The definition a `listener.name.<listener>.<key>` setting is checked
/// against: `<key>`'s, when it is one a listener may set for itself.
pub fn listener_setting(name: &str) -> Option<&'static SettingDef> {
    let (_listener, key) = name.strip_prefix(LISTENER_PREFIX)?.split_once('.')?;
    PER_LISTENER
        .contains(&key)
        .then(|| broker_setting(key))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_satisfies_its_own_validator() {
        for def in BROKER_SETTINGS {
            if let Some(default) = def.default {
                assert!(def.parse(default).is_ok(), "{}", def.name);
            }
        }
    }

    #[test]
    fn names_are_unique() {
        for (index, def) in BROKER_SETTINGS.iter().enumerate() {
            assert!(
                BROKER_SETTINGS[index + 1..]
                    .iter()
                    .all(|other| other.name != def.name),
                "{}",
                def.name
            );
        }
    }
}
