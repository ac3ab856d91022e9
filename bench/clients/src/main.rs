//! `client-perf`: one load generator for the Strom client and for
//! librdkafka, so both run under the same harness with the same settings.
//!
//!     client-perf --client strom|rdkafka produce --bootstrap B --topic T \
//!         --records N --record-size S [--acks all] [--rate R]
//!     client-perf --client strom|rdkafka consume --bootstrap B --topic T \
//!         --records N [--partitions 6]
//!
//! Prints one JSON line on stdout: records, records_per_s, mib_per_s, for
//! produce latency_ms {avg, p50, p95, p99, p999, max} (send to delivery
//! report), for consume the rate from the first record to the last; plus
//! the errors. `bench/run-clients` drives it.
//!
//! - [`settings`]: the run's parameters and the settings both clients get.
//! - [`strom_load`], [`rdkafka_load`]: the same loads through each client.
//! - [`pacer`]: the fixed-rate schedule; [`report`]: the JSON line.

mod error;
mod pacer;
mod rdkafka_load;
mod report;
mod settings;
mod strom_load;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;

use error::Result;
use settings::{ConsumeSpec, ProduceSpec};

#[derive(Parser)]
#[command(
    name = "client-perf",
    about = "Kafka client load generator: Strom client or librdkafka"
)]
struct Cli {
    #[arg(long, value_enum)]
    client: Client,
    #[command(subcommand)]
    load: Load,
}

#[derive(Clone, Copy, ValueEnum)]
enum Client {
    Strom,
    Rdkafka,
}

#[derive(Subcommand)]
enum Load {
    /// Send --records records of --record-size bytes, no key.
    Produce {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        records: u64,
        #[arg(long)]
        record_size: usize,
        #[arg(long, default_value = "all")]
        acks: String,
        /// Records per second (the latency run); unthrottled without it.
        #[arg(long)]
        rate: Option<u64>,
        #[arg(long, default_value_t = 5)]
        linger_ms: u64,
        #[arg(long, default_value_t = 16384)]
        batch_size: usize,
        /// Bound on unacknowledged records for the Strom client (librdkafka's
        /// queue.buffering.max.messages default).
        #[arg(long, default_value_t = 100_000)]
        max_outstanding: usize,
    },
    /// Read --records records from every partition, earliest first, no group.
    Consume {
        #[arg(long)]
        bootstrap: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 6)]
        partitions: i32,
        #[arg(long, default_value_t = 30)]
        idle_timeout_s: u64,
    },
}

fn run(cli: Cli) -> Result<Value> {
    match cli.load {
        Load::Produce {
            bootstrap,
            topic,
            records,
            record_size,
            acks,
            rate,
            linger_ms,
            batch_size,
            max_outstanding,
        } => {
            let spec = ProduceSpec {
                bootstrap,
                topic,
                records,
                record_size,
                acks,
                rate,
                linger_ms,
                batch_size,
                max_outstanding,
            };
            match cli.client {
                Client::Strom => tokio_runtime()?.block_on(strom_load::produce(&spec)),
                Client::Rdkafka => rdkafka_load::produce(&spec),
            }
        }
        Load::Consume {
            bootstrap,
            topic,
            records,
            partitions,
            idle_timeout_s,
        } => {
            let spec = ConsumeSpec {
                bootstrap,
                topic,
                records,
                partitions,
                idle_timeout: Duration::from_secs(idle_timeout_s),
            };
            match cli.client {
                Client::Strom => tokio_runtime()?.block_on(strom_load::consume(&spec)),
                Client::Rdkafka => rdkafka_load::consume(&spec),
            }
        }
    }
}

/// The multi-threaded runtime a Strom client application would use
/// (one worker per CPU).
fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("client-perf: {error}");
            ExitCode::FAILURE
        }
    }
}
