//! The rpk-style client commands (`strom topic`, `produce`, `consume`,
//! `group`), built on `strom-client`. Each runs on its own tokio runtime
//! and reports a failure as one line on stderr with a non-zero exit.
//!
//! - `topic`: create, list, describe, delete, alter-config;
//! - `produce` / `consume`: stdin lines to records, records to stdout;
//! - `group`: list, describe (with lag), reset-offsets, delete;
//! - `cluster`: status (brokers, metadata quorum, partitions needing care);
//! - `storage`: check (offline, no broker: verifies the log files);
//! - `user`: SCRAM users (create, delete, list);
//! - `acl`: ACLs (create, list, delete);
//! - `quota`: client quotas (alter, list);
//! - `output`: tables, key=value parsing, the JSON record form.

pub mod acl;
pub mod cluster;
pub mod consume;
pub mod group;
pub mod output;
pub mod produce;
pub mod quota;
pub mod storage;
pub mod topic;
pub mod user;

use std::future::Future;

use clap::Args;
use strom_client::ClientConfig;

use crate::error::CliError;

/// The broker list every client command takes.
#[derive(Debug, Clone, Args)]
pub struct BrokersArg {
    // No environment variable on purpose: STROM_* names are read as
    // `strom server` settings.
    /// Bootstrap brokers, comma-separated host:port.
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT,...",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Client settings from a properties file, as Kafka's tools take
    /// them (librdkafka names, e.g. security.protocol=SASL_SSL,
    /// sasl.mechanisms, sasl.username, sasl.password, ssl.ca.location).
    #[arg(long = "command-config", global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// One client setting, e.g. -X security.protocol=SASL_SSL (repeatable;
    /// wins over --command-config).
    #[arg(short = 'X', global = true, value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
}

impl BrokersArg {
    /// A client config for these brokers, then `defaults`, then
    /// --command-config, then -X, then `fixed` settings: a later one wins.
    /// A command's own defaults yield to the user's settings; what its
    /// flags set, or what it needs to work, does not.
    pub fn client_config(
        &self,
        defaults: &[(&str, &str)],
        fixed: &[(&str, &str)],
    ) -> Result<ClientConfig, CliError> {
        let mut pairs: Vec<(String, String)> = vec![
            ("bootstrap.servers".into(), self.brokers.clone()),
            ("client.id".into(), "strom-cli".into()),
        ];
        pairs.extend(defaults.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::Usage(format!(
                    "cannot read --command-config {}: {e}",
                    path.display()
                ))
            })?;
            pairs.extend(
                strom_broker::config::parse_properties(&text)
                    .into_iter()
                    .map(|p| (p.key, p.value)),
            );
        }
        for setting in &self.settings {
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| CliError::Usage(format!("-X expects key=value, got `{setting}`")))?;
            pairs.push((key.trim().to_string(), value.to_string()));
        }
        pairs.extend(fixed.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(ClientConfig::from_pairs(pairs)?)
    }
}

/// Runs one client command to completion and turns its outcome into the
/// process exit status.
pub fn run_client(command: impl Future<Output = Result<(), CliError>>) -> u8 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(command),
        Err(err) => Err(CliError::Runtime(err)),
    };
    match outcome {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("strom: {err}");
            1
        }
    }
}

/// Reports per-item outcomes of a multi-item command (delete topics or
/// groups): successes on stdout, failures on stderr, then the summary.
pub fn report_outcomes(
    verb: &str,
    what: &'static str,
    outcomes: Vec<(String, strom_client::Result<()>)>,
) -> Result<(), CliError> {
    let total = outcomes.len();
    let mut failed = 0;
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => println!("{verb} {name}"),
            Err(err) => {
                failed += 1;
                eprintln!("strom: {err}");
            }
        }
    }
    partial(failed, total, what)
}

/// `Ok` when nothing failed, else the summary error of a multi-item command.
pub fn partial(failed: usize, total: usize, what: &'static str) -> Result<(), CliError> {
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::Partial {
            failed,
            total,
            what,
        })
    }
}
