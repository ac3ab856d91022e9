//! The `strom` command line as a function: the binary's `main` calls it,
//! and so does the Python package's `strom` console script, which ships
//! the broker inside its extension module instead of a second binary.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Parser;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{utf8_env, Cli, Command, ServerArgs};
use crate::commands::{
    acl, cluster, consume, group, produce, quota, run_client, storage, topic, user,
};
use crate::log_limit::openraft_repeats_limited;
use crate::signals::{shutdown_signal, stdin_closed};

/// Exit status for a configuration mistake (bad flag, file or setting).
const EXIT_CONFIG_ERROR: u8 = 2;
/// How long a stopped broker waits for blocking work it started (a disk
/// read for a fetch, a periodic checkpoint) before the process exits.
const LEFTOVER_WORK_WAIT: Duration = Duration::from_secs(5);

/// Runs `strom` with these arguments (the first is the program name) and
/// returns the process exit status. `--help`, `--version` and usage errors
/// print as clap prints them.
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // Printing help can only fail on a closed stdout; nothing to add.
            let _ = err.print();
            return u8::try_from(err.exit_code()).unwrap_or(EXIT_CONFIG_ERROR);
        }
    };
    match cli.command {
        Command::Server(args) => run_server(args),
        Command::Topic(args) => run_client(topic::run(args)),
        Command::Produce(args) => run_client(produce::run(args)),
        Command::Consume(args) => run_client(consume::run(args)),
        Command::Group(args) => run_client(group::run(args)),
        Command::Storage(args) => storage::run(args),
        Command::Cluster(args) => run_client(cluster::run(args)),
        Command::User(args) => run_client(user::run(args)),
        Command::Acl(args) => run_client(acl::run(args)),
        Command::Quota(args) => run_client(quota::run(args)),
    }
}

fn run_server(args: ServerArgs) -> u8 {
    let stop_on_stdin_close = args.stop_on_stdin_close;
    let filter = args.log_filter(std::env::var("RUST_LOG").ok());
    let filter = match EnvFilter::try_new(&filter) {
        Ok(filter) => filter,
        Err(err) => {
            return fail(
                EXIT_CONFIG_ERROR,
                &format!("invalid log level '{filter}': {err}"),
            )
        }
    };
    // A subscriber may already be set (never in this binary); logging then
    // goes there, which is harmless.
    let log_lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A stderr whose reader is gone (a closed pipe) loses log lines;
        // reporting that failure would print to the same stderr, and
        // `eprintln!` panics there, taking the broker down mid-shutdown.
        .log_internal_errors(false)
        .with_filter(filter)
        .with_filter(openraft_repeats_limited());
    let _ = tracing_subscriber::registry().with(log_lines).try_init();

    let config = match args.broker_config(utf8_env()) {
        Ok(config) => config,
        Err(err) => return fail(EXIT_CONFIG_ERROR, &err.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(1, &format!("cannot start the async runtime: {err}")),
    };
    let status = runtime.block_on(async {
        let signalled = match shutdown_signal() {
            Ok(shutdown) => shutdown,
            Err(err) => return fail(1, &format!("cannot install signal handlers: {err}")),
        };
        let stdin_closed = stop_on_stdin_close.then(stdin_closed);
        let shutdown = async move {
            match stdin_closed {
                Some(closed) => tokio::select! {
                    () = signalled => {}
                    () = closed => {}
                },
                None => signalled.await,
            }
        };
        match strom_broker::server::run(config, shutdown).await {
            Ok(()) => 0,
            Err(err) => fail(1, &err.to_string()),
        }
    });
    // The broker has closed its logs by now (or never opened them). Work
    // still running on the blocking pool after the wait is abandoned as a
    // crash would abandon it, which the logs survive; dropping the runtime
    // instead would wait for it without limit and keep a stopped broker's
    // process alive.
    let started = Instant::now();
    runtime.shutdown_timeout(LEFTOVER_WORK_WAIT);
    if started.elapsed() >= LEFTOVER_WORK_WAIT {
        tracing::warn!("exiting with background work still running after {LEFTOVER_WORK_WAIT:?}");
    }
    status
}

/// Prints a one-line error to stderr and returns the exit status. A
/// stderr nobody reads any more (a closed pipe) loses the line rather than
/// panicking, as `eprintln!` would.
fn fail(status: u8, message: &str) -> u8 {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "strom: {message}");
    status
}
