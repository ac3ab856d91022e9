//! Produces 10 keyed records to `strom-example` and prints each delivery.
//!
//! `cargo run -p strom-examples --example producer -- [HOST:PORT]`
//! (or STROM_BOOTSTRAP; default 127.0.0.1:9092).

use std::process::ExitCode;

use strom_examples::{bootstrap_from_process, producer, EXAMPLE_TOPIC};

#[tokio::main]
async fn main() -> ExitCode {
    let bootstrap = bootstrap_from_process();
    match producer::run(&bootstrap, EXAMPLE_TOPIC, 10, &mut std::io::stdout()).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("producer example: {err}");
            ExitCode::FAILURE
        }
    }
}
