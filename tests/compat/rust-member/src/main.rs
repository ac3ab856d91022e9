//! strom-compat-member: Strom's Rust client as a consumer-group member in
//! the compat suite's groups (tests/compat/groups.py), beside the drivers
//! of the other clients (groups_member.py, java/GroupMember.java,
//! node/group_member.js), speaking the same protocol:
//!
//!     strom-compat-member CONFIG_JSON
//!
//! - [`config`]: the JSON config and the client settings it gives.
//! - [`commands`]: "status" and "close" on stdin; SIGTERM closes too.
//! - [`events`]: the JSON lines printed on stdout.
//! - [`member`]: the subscribe / poll / commit loop.
//!
//! The client's log (tracing) goes to stderr, which the suite keeps per
//! member; RUST_LOG chooses what is logged (default: info).

mod commands;
mod config;
mod error;
mod events;
mod member;

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use config::MemberConfig;

fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let config = match MemberConfig::from_args(std::env::args()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("strom-compat-member: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("strom-compat-member: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(member::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("strom-compat-member: {error}");
            ExitCode::FAILURE
        }
    }
}
