//! Prints every record of `strom-example` from the beginning to the end it
//! had at start, reading each partition by manual assignment.
//!
//! `cargo run -p strom-examples --example consumer -- [HOST:PORT]`
//! (or STROM_BOOTSTRAP; default 127.0.0.1:9092).

use std::process::ExitCode;

use strom_examples::{bootstrap_from_process, consumer, EXAMPLE_TOPIC};

#[tokio::main]
async fn main() -> ExitCode {
    let bootstrap = bootstrap_from_process();
    match consumer::run(&bootstrap, EXAMPLE_TOPIC, &mut std::io::stdout()).await {
        Ok(records) => {
            eprintln!("{} records", records.len());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("consumer example: {err}");
            ExitCode::FAILURE
        }
    }
}
