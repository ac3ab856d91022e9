//! Reads `strom-example` as a member of the consumer group
//! `strom-example-group`: from the group's committed offsets until no
//! record has come for two seconds, then commits and leaves. Run it twice:
//! the second run prints only what was produced in between. Run two at
//! once: they share the partitions.
//!
//! `cargo run -p strom-examples --example group_consumer -- [HOST:PORT]`
//! (or STROM_BOOTSTRAP; default 127.0.0.1:9092).

use std::process::ExitCode;
use std::time::Duration;

use strom_examples::{bootstrap_from_process, group_consumer, EXAMPLE_TOPIC};

#[tokio::main]
async fn main() -> ExitCode {
    let bootstrap = bootstrap_from_process();
    let idle = Duration::from_secs(2);
    let mut out = std::io::stdout();
    match group_consumer::run(
        &bootstrap,
        EXAMPLE_TOPIC,
        "strom-example-group",
        idle,
        &mut out,
    )
    .await
    {
        Ok(records) => {
            eprintln!("{} records", records.len());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("group consumer example: {err}");
            ExitCode::FAILURE
        }
    }
}
