//! The rpk-style client commands (`strom topic`, `produce`, `consume`,
//! `group`), built on `strom-client`. Each runs on its own tokio runtime
//! and reports a failure as one line on stderr with a non-zero exit.
//!
//! - `topic`: create, list, describe, delete, alter-config;
//! - `produce` / `consume`: stdin lines to records, records to stdout;
//! - `group`: list, describe (with lag), reset-offsets, delete;
//! - `cluster`: status (brokers, metadata quorum, partitions needing care);
//! - `storage`: check (offline, no broker: verifies the log files);
//! - `output`: tables, key=value parsing, the JSON record form.

pub mod cluster;
pub mod consume;
pub mod group;
pub mod output;
pub mod produce;
pub mod storage;
pub mod topic;

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
}

impl BrokersArg {
    /// A client config for these brokers plus `extra` settings.
    pub fn client_config(&self, extra: &[(&str, &str)]) -> Result<ClientConfig, CliError> {
        let mut pairs = vec![
            ("bootstrap.servers", self.brokers.as_str()),
            ("client.id", "strom-cli"),
        ];
        pairs.extend_from_slice(extra);
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
