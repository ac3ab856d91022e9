//! Creates `strom-example-admin`, describes it, lists its offsets and
//! deletes it again.
//!
//! `cargo run -p strom-examples --example admin -- [HOST:PORT]`
//! (or STROM_BOOTSTRAP; default 127.0.0.1:9092).

use std::process::ExitCode;

use strom_examples::{admin, bootstrap_from_process};

#[tokio::main]
async fn main() -> ExitCode {
    let bootstrap = bootstrap_from_process();
    match admin::run(&bootstrap, "strom-example-admin", &mut std::io::stdout()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("admin example: {err}");
            ExitCode::FAILURE
        }
    }
}
