//! The `strom` binary's library half: command-line parsing and the glue
//! that turns it into a broker configuration, kept out of `main.rs` so it
//! can be tested without starting a broker.
//!
//! - `cli`: the clap command tree and the mapping from `strom server`'s
//!   flags to Kafka setting names;
//! - `commands`: the rpk-style client commands, on `strom-client`;
//! - `entry`: the whole command line as one function, `entry::run(args)`,
//!   for the binary and for the Python package's console script;
//! - `error`: the client commands' error type;
//! - `signals`: the shutdown future (SIGINT / SIGTERM).

pub mod cli;
pub mod commands;
pub mod entry;
pub mod error;
mod log_limit;
pub mod signals;
