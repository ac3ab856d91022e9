//! `strom._strom`, the native half of the Python package `strom`: thin
//! glue over `strom-client`. It converts arguments, errors and callbacks
//! and holds no Kafka logic; the Python half (`python/strom`) gives it
//! confluent-kafka's module layout.
//!
//! - `errors`: `KafkaError` and the mapping of `ClientError` to the
//!   exceptions of `strom/error.py`; `client_errors`: the core's
//!   client-level errors to `error_cb` and `poll`;
//! - `config`: a confluent-kafka config dict into `ClientConfig`;
//! - `wait`: blocking without the GIL, interruptible by Ctrl-C;
//! - `message`: `Message`, `TopicPartition`; `metadata`: `list_topics`;
//! - `record`: `produce`'s arguments lent to the core without copies;
//! - `producer`, `consumer` (with `rebalance`: callbacks that may call
//!   the consumer back), `admin` (with `admin_convert`): the clients;
//! - `futures`: Rust futures completing `concurrent.futures` and asyncio
//!   futures; `aio`: the native half of `strom.aio`;
//! - `logging`: the core's `tracing` events into Python's `logging`.

use pyo3::prelude::*;

mod admin;
mod admin_convert;
mod aio;
mod client_errors;
mod config;
mod consumer;
mod errors;
mod futures;
mod logging;
mod message;
mod metadata;
mod producer;
mod rebalance;
mod record;
mod wait;

/// Runs the `strom` command line (the broker and the client commands):
/// the package's `strom` console script, so the wheel needs no second
/// binary.
#[pyfunction]
fn run_cli(py: Python<'_>, args: Vec<String>) -> u8 {
    py.detach(|| strom_server::entry::run(args.into_iter().map(Into::into)))
}

/// Stops the client runtime shared by every client of this process,
/// waiting at most `timeout` seconds for its threads. The package calls it
/// at interpreter exit: a client thread that took the GIL while Python
/// finalizes would be ended by the interpreter mid-call and abort the
/// process.
#[pyfunction]
fn shutdown_runtime(py: Python<'_>, timeout: f64) {
    let timeout = std::time::Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
    py.detach(|| strom_client::ClientRuntime::shutdown_shared(timeout));
}

/// Called in the child after `os.fork()` (the package registers it with
/// `os.register_at_fork`): clients made before the fork refuse to run
/// here, checked without a system call per record.
#[pyfunction]
fn after_fork_in_child() {
    strom_client::ClientRuntime::after_fork_in_child();
}

#[pymodule]
fn _strom(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(run_cli, module)?)?;
    module.add_function(wrap_pyfunction!(shutdown_runtime, module)?)?;
    module.add_function(wrap_pyfunction!(after_fork_in_child, module)?)?;
    module.add_class::<errors::KafkaError>()?;
    errors::add_code_constants(&module.py().get_type::<errors::KafkaError>())?;
    module.add_class::<message::Message>()?;
    module.add_class::<producer::Producer>()?;
    module.add_class::<consumer::Consumer>()?;
    module.add_class::<aio::AioProducer>()?;
    module.add_class::<aio::AioConsumer>()?;
    module.add_class::<metadata::ClusterMetadata>()?;
    module.add_class::<metadata::BrokerMetadata>()?;
    module.add_class::<metadata::TopicMetadata>()?;
    module.add_class::<metadata::PartitionMetadata>()?;
    module.add_function(wrap_pyfunction!(logging::install_logging, module)?)?;
    module.add_function(wrap_pyfunction!(logging::set_log_level, module)?)?;
    module.add_function(wrap_pyfunction!(logging::dropped_log_events, module)?)?;
    module.add_class::<message::TopicPartition>()?;
    module.add("OFFSET_BEGINNING", message::OFFSET_BEGINNING)?;
    module.add("OFFSET_END", message::OFFSET_END)?;
    module.add("OFFSET_STORED", message::OFFSET_STORED)?;
    module.add("OFFSET_INVALID", message::OFFSET_INVALID)?;
    module.add("TIMESTAMP_NOT_AVAILABLE", message::TIMESTAMP_NOT_AVAILABLE)?;
    module.add("TIMESTAMP_CREATE_TIME", message::TIMESTAMP_CREATE_TIME)?;
    module.add(
        "TIMESTAMP_LOG_APPEND_TIME",
        message::TIMESTAMP_LOG_APPEND_TIME,
    )?;
    admin::register(module)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
