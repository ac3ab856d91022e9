//! The bodies of the strom-client examples, kept as library functions so
//! the crate's tests can run exactly what `cargo run --example ...` runs
//! against a broker they start.
//!
//! Run them against a broker on 127.0.0.1:9092 (`strom server`):
//!
//! ```text
//! cargo run -p strom-examples --example admin
//! cargo run -p strom-examples --example producer -- 127.0.0.1:9092
//! STROM_BOOTSTRAP=127.0.0.1:9092 cargo run -p strom-examples --example consumer
//! cargo run -p strom-examples --example group_consumer
//! ```

pub mod admin;
pub mod consumer;
pub mod error;
pub mod group_consumer;
pub mod producer;

pub use error::ExampleError;

/// Broker address used when neither argv nor STROM_BOOTSTRAP gives one.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";

/// The topic the examples write to and read from.
pub const EXAMPLE_TOPIC: &str = "strom-example";

/// The bootstrap address: the first argument, else STROM_BOOTSTRAP, else
/// 127.0.0.1:9092.
pub fn bootstrap_address(first_arg: Option<String>, env_value: Option<String>) -> String {
    first_arg
        .or(env_value)
        .filter(|address| !address.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_BOOTSTRAP.to_string())
}

/// [`bootstrap_address`] from this process's argv and environment.
pub fn bootstrap_from_process() -> String {
    bootstrap_address(
        std::env::args().nth(1),
        std::env::var("STROM_BOOTSTRAP").ok(),
    )
}

/// A client config for `bootstrap`.
pub fn client_config(bootstrap: &str) -> Result<strom_client::ClientConfig, ExampleError> {
    Ok(strom_client::ClientConfig::with_bootstrap(bootstrap)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_beats_env_which_beats_the_default() {
        assert_eq!(
            bootstrap_address(Some("a:1".into()), Some("b:2".into())),
            "a:1"
        );
        assert_eq!(bootstrap_address(None, Some("b:2".into())), "b:2");
        assert_eq!(bootstrap_address(None, None), DEFAULT_BOOTSTRAP);
    }
}
