//! The command tree: `strom server` and the rpk-style client commands
//! (`strom topic`, `produce`, `consume`, `group`, defined in
//! [`crate::commands`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use strom_broker::config::{BrokerConfig, ConfigError, FlagValue, CLUSTER_LISTEN, HTTP_LISTEN};

use crate::commands::acl::AclArgs;
use crate::commands::cluster::ClusterArgs;
use crate::commands::consume::ConsumeArgs;
use crate::commands::group::GroupArgs;
use crate::commands::produce::ProduceArgs;
use crate::commands::quota::QuotaArgs;
use crate::commands::storage::StorageArgs;
use crate::commands::topic::TopicArgs;
use crate::commands::user::UserArgs;

/// The end of `strom server --help`: where settings come from.
const SERVER_SETTINGS_HELP: &str = "\
Settings use Kafka's broker names (server.properties). Each comes from the
first of these that sets it:
  1. the flags above (--data-dir, --listen, --advertised-listener)
  2. --set KEY=VALUE
  3. STROM_* environment variables: drop STROM_, lowercase, '_' becomes '.'
     ('__' for a literal '_'), e.g. STROM_NUM_PARTITIONS=3 sets num.partitions
     and STROM_FLUSH_POLICY=page-cache sets strom.flush.policy
  4. --config FILE
  5. the defaults
The data dir is locked: one broker per data dir.";

/// Log filter used when neither `--log-level` nor `RUST_LOG` is given.
pub const DEFAULT_LOG_FILTER: &str = "info,openraft=warn";

#[derive(Debug, Parser)]
#[command(
    name = "strom",
    version,
    about = "Strom: a Kafka-compatible event streaming broker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a broker.
    Server(ServerArgs),
    /// Create, list, describe, delete and configure topics.
    Topic(TopicArgs),
    /// Produce one record per line of standard input.
    Produce(ProduceArgs),
    /// Print records of a topic.
    Consume(ConsumeArgs),
    /// List, describe, reset and delete consumer groups.
    Group(GroupArgs),
    /// Check a data dir's log files offline (no broker needed).
    Storage(StorageArgs),
    /// The cluster's brokers, metadata quorum and partitions needing care.
    Cluster(ClusterArgs),
    /// Create, delete and list SCRAM users (SASL logins).
    User(UserArgs),
    /// Create, list and delete ACLs (who may do what).
    Acl(AclArgs),
    /// Set, remove and list client quotas (byte rates, request time).
    Quota(QuotaArgs),
}

/// `strom server`. Settings use Kafka's broker names; sources, lowest
/// precedence first: defaults, --config FILE, STROM_* environment variables
/// (STROM_NUM_PARTITIONS=3 sets num.partitions), --set, then the flags below.
#[derive(Debug, Args)]
#[command(after_help = SERVER_SETTINGS_HELP)]
pub struct ServerArgs {
    /// Data directory (log.dirs). Default: ./strom-data
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (listeners). Default: 127.0.0.1:9092
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Address clients are told to connect to (advertised.listeners).
    /// Default: the listen address
    #[arg(long, value_name = "HOST:PORT")]
    pub advertised_listener: Option<String>,
    /// This node's id in the cluster (node.id). Default: 0
    #[arg(long, value_name = "N")]
    pub node_id: Option<i32>,
    /// Address of this node's cluster (Raft) listener (strom.cluster.listen).
    /// Default: its own entry in --voters
    #[arg(long, value_name = "HOST:PORT")]
    pub cluster_listen: Option<String>,
    /// Address of the HTTP listener: the web console, Prometheus metrics,
    /// health checks (strom.http.listen), or `off`. Default: 127.0.0.1:9644
    #[arg(long, value_name = "HOST:PORT|off")]
    pub http_listen: Option<String>,
    /// The metadata quorum, the same on every node
    /// (controller.quorum.voters), e.g. 1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194.
    /// Default: none, a one-node cluster
    #[arg(long, value_name = "ID@HOST:PORT,...")]
    pub voters: Option<String>,
    /// A server.properties-style file (key=value lines).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Set one broker setting, e.g. --set log.retention.hours=24 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Log filter (e.g. debug, or strom_broker=trace). Default: RUST_LOG, else info.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Stop, as on SIGTERM, once stdin reaches its end: a parent that
    /// holds the other end of a pipe takes the broker with it when it
    /// dies, even by SIGKILL (what the Python and Node test brokers do).
    #[arg(long)]
    pub stop_on_stdin_close: bool,
}

impl ServerArgs {
    /// The dedicated flags with their Kafka keys, highest precedence.
    pub fn flags(&self) -> Result<Vec<FlagValue>, ConfigError> {
        let flag = |flag, key, value: &str| FlagValue {
            flag,
            key,
            value: value.to_string(),
        };
        let mut flags = Vec::new();
        if let Some(dir) = &self.data_dir {
            let dir = dir.to_str().ok_or_else(|| ConfigError::InvalidValue {
                key: "--data-dir".into(),
                value: dir.display().to_string(),
                reason: "the path must be valid UTF-8".into(),
            })?;
            flags.push(flag("--data-dir", "log.dirs", dir));
        }
        if let Some(listen) = &self.listen {
            flags.push(flag("--listen", "listeners", listen));
        }
        if let Some(advertised) = &self.advertised_listener {
            flags.push(flag(
                "--advertised-listener",
                "advertised.listeners",
                advertised,
            ));
        }
        if let Some(id) = self.node_id {
            flags.push(flag("--node-id", "node.id", &id.to_string()));
        }
        if let Some(address) = &self.cluster_listen {
            flags.push(flag("--cluster-listen", CLUSTER_LISTEN, address));
        }
        if let Some(address) = &self.http_listen {
            flags.push(flag("--http-listen", HTTP_LISTEN, address));
        }
        if let Some(voters) = &self.voters {
            flags.push(flag("--voters", "controller.quorum.voters", voters));
        }
        Ok(flags)
    }

    /// Builds the broker configuration from every source; `env` is the
    /// process environment (only `STROM_*` variables are read).
    pub fn broker_config(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<BrokerConfig, ConfigError> {
        BrokerConfig::from_sources(self.config.as_deref(), env, &self.sets, &self.flags()?)
    }

    /// The tracing filter: --log-level, else `RUST_LOG`, else info.
    pub fn log_filter(&self, rust_log: Option<String>) -> String {
        self.log_level
            .clone()
            .or(rust_log.filter(|value| !value.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string())
    }
}

/// The process environment as UTF-8 pairs; variables that are not valid
/// UTF-8 are skipped (`std::env::vars` would panic on them).
pub fn utf8_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use clap::CommandFactory;

    use super::*;

    fn server_args(args: &[&str]) -> ServerArgs {
        let mut argv = vec!["strom", "server"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Server(server) => server,
            other => panic!("expected `server`, parsed {other:?}"),
        }
    }

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_every_server_flag() {
        let args = server_args(&[
            "--data-dir",
            "d",
            "--listen",
            "127.0.0.1:0",
            "--advertised-listener",
            "h:1",
            "--config",
            "f.properties",
            "--set",
            "a=b",
            "--set",
            "c=d",
            "--log-level",
            "debug",
        ]);
        assert_eq!(args.data_dir, Some(PathBuf::from("d")));
        assert_eq!(args.listen.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(args.advertised_listener.as_deref(), Some("h:1"));
        assert_eq!(args.config, Some(PathBuf::from("f.properties")));
        assert_eq!(args.sets, vec!["a=b".to_string(), "c=d".to_string()]);
        assert_eq!(args.log_level.as_deref(), Some("debug"));
    }

    #[test]
    fn a_subcommand_is_required_and_unknown_flags_are_refused() {
        assert!(Cli::try_parse_from(["strom"]).is_err());
        assert!(Cli::try_parse_from(["strom", "server", "--no-such-flag"]).is_err());
        assert!(Cli::try_parse_from(["strom", "server", "--set"]).is_err());
    }

    #[test]
    fn flags_beat_set_which_beats_env_which_beats_the_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "listeners=PLAINTEXT://127.0.0.1:1\nnum.partitions=2\nlog.dirs=/from/file\nmessage.max.bytes=7").unwrap();
        let path = file.path().to_str().unwrap();
        let args = server_args(&[
            "--config",
            path,
            "--set",
            "num.partitions=4",
            "--set",
            "listeners=127.0.0.1:3",
            "--listen",
            "127.0.0.1:5",
            "--data-dir",
            "/from/flag",
        ]);
        let env = vec![
            ("STROM_NUM_PARTITIONS".to_string(), "3".to_string()),
            ("STROM_MESSAGE_MAX_BYTES".to_string(), "8".to_string()),
        ];
        let config = args.broker_config(env).unwrap();
        let settings = config.settings();
        assert_eq!(settings.listener.port, 5);
        assert_eq!(settings.advertised_listener.port, 5);
        assert_eq!(settings.num_partitions, 4);
        assert_eq!(settings.message_max_bytes, 8);
        assert_eq!(settings.data_dir, PathBuf::from("/from/flag"));
    }

    #[test]
    fn advertised_listener_flag_is_used() {
        let args = server_args(&[
            "--listen",
            "0.0.0.0:9092",
            "--advertised-listener",
            "broker.example:9092",
        ]);
        let config = args.broker_config(no_env()).unwrap();
        assert_eq!(
            config.settings().advertised_listener.to_string(),
            "broker.example:9092"
        );
    }

    #[test]
    fn bad_flags_give_errors_that_name_the_setting() {
        let err = server_args(&["--listen", "nowhere"])
            .broker_config(no_env())
            .unwrap_err();
        assert!(err.to_string().contains("listeners"), "{err}");
        let err = server_args(&["--listen", "127.0.0.1:99999"])
            .broker_config(no_env())
            .unwrap_err();
        assert!(err.to_string().starts_with("--listen: "), "{err}");
        assert!(err.to_string().contains("99999"), "{err}");
        let env = vec![("STROM_NUM_PARTITIONS".to_string(), "zero".to_string())];
        let err = server_args(&[]).broker_config(env).unwrap_err();
        assert!(
            err.to_string().starts_with("STROM_NUM_PARTITIONS: "),
            "{err}"
        );
        let err = server_args(&["--listen", "0.0.0.0:9092"])
            .broker_config(no_env())
            .unwrap_err();
        assert!(err.to_string().contains("--advertised-listener"), "{err}");
        let err = server_args(&["--set", "num.partitions=zero"])
            .broker_config(no_env())
            .unwrap_err();
        assert!(err.to_string().contains("num.partitions"), "{err}");
    }

    #[test]
    fn log_filter_prefers_the_flag_then_rust_log() {
        assert_eq!(
            server_args(&["--log-level", "debug"]).log_filter(Some("warn".into())),
            "debug"
        );
        assert_eq!(server_args(&[]).log_filter(Some("warn".into())), "warn");
        assert_eq!(
            server_args(&[]).log_filter(Some(" ".into())),
            DEFAULT_LOG_FILTER
        );
        assert_eq!(server_args(&[]).log_filter(None), DEFAULT_LOG_FILTER);
    }
}
