//! The `strom` binary's library half: command-line parsing and the glue
//! that turns it into a broker configuration, kept out of `main.rs` so it
//! can be tested without starting a broker.
//!
//! - `cli`: the clap command tree (`strom server`, room for the client
//!   commands) and the mapping from flags to Kafka setting names;
//! - `signals`: the shutdown future (SIGINT / SIGTERM).

pub mod cli;
pub mod signals;
