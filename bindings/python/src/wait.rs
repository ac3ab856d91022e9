//! Blocking calls from Python: the GIL is released while Rust waits, and
//! the wait is cut into short slices with a signal check between them, so
//! Ctrl-C interrupts `poll(30)` within a moment (as polars' `enter_polars`
//! does), and other Python threads run meanwhile.

use std::future::Future;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use strom_client::{blocking, ClientConfig, ClientError, ClientRuntime};

use crate::errors::IntoPyResult;

/// The longest a blocking call waits before it checks for signals.
const SLICE: Duration = Duration::from_millis(100);

/// A timeout in seconds as confluent-kafka takes it: `None` or negative is
/// no limit.
pub fn timeout_arg(seconds: Option<f64>) -> Option<Duration> {
    match seconds {
        Some(seconds) if seconds >= 0.0 => Some(Duration::from_secs_f64(seconds.min(1e9))),
        _ => None,
    }
}

/// Calls `step(slice)` without the GIL until it returns `Some`, or until
/// `timeout` has passed (`None`: never); signals are checked between
/// calls, and a pending `KeyboardInterrupt` (or any exception a signal
/// handler raises) ends the wait. `step` is called at least once.
pub fn wait_for<T: Send>(
    py: Python<'_>,
    timeout: Option<Duration>,
    mut step: impl FnMut(Duration) -> Option<T> + Send,
) -> PyResult<Option<T>> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        let slice = match deadline {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(SLICE),
            None => SLICE,
        };
        if let Some(done) = py.detach(|| step(slice)) {
            return Ok(Some(done));
        }
        py.check_signals()?;
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(None);
        }
    }
}

/// Runs a client future on the client runtime for at most `bound`,
/// without the GIL and in slices with a signal check between them: Ctrl-C
/// interrupts it (the future is dropped), as it does `poll`. Past `bound`
/// the error is a timeout naming `what` and the `setting` that chose the
/// bound. The blocking clients' own calls wait in one piece; the calls
/// that can wait long (connecting, commit, committed, close, metadata)
/// come through here instead.
pub fn run<T: Send>(
    py: Python<'_>,
    runtime: &ClientRuntime,
    what: &str,
    bound: Duration,
    setting: &'static str,
    future: impl Future<Output = strom_client::Result<T>> + Send,
) -> PyResult<T> {
    run_outcome(py, runtime, what, bound, setting, future)?.into_py_result(py)
}

/// [`run`], with the client's outcome handed back as it is (the `PyErr`
/// only for an interruption), for callers that sort its errors.
pub fn run_outcome<T: Send>(
    py: Python<'_>,
    runtime: &ClientRuntime,
    what: &str,
    bound: Duration,
    setting: &'static str,
    future: impl Future<Output = strom_client::Result<T>> + Send,
) -> PyResult<strom_client::Result<T>> {
    let mut future = Box::pin(future);
    let outcome = wait_for(py, Some(bound), |slice| {
        match runtime.block_on_within(what, slice, &mut future) {
            Ok(done) => done,
            Err(refused) => Some(Err(refused)),
        }
    })?;
    Ok(outcome.unwrap_or_else(|| {
        Err(ClientError::Timeout {
            what: what.to_string(),
            after: bound,
            setting,
        })
    }))
}

/// Connects a client (`connecting`, one of the core's async constructors)
/// within the api timeout, interruptibly; returns it with the runtime it
/// runs on, for the blocking facade's `from_async`.
pub fn connect<T: Send>(
    py: Python<'_>,
    config: &ClientConfig,
    what: &str,
    connecting: impl Future<Output = strom_client::Result<T>> + Send,
) -> PyResult<(T, ClientRuntime)> {
    let runtime = shared_runtime(py)?;
    let bound = blocking::api_timeout_for(config);
    let connected = run(
        py,
        &runtime,
        what,
        bound,
        blocking::API_TIMEOUT_SETTING,
        connecting,
    )?;
    Ok((connected, runtime))
}

/// The process's client runtime, or the error that it cannot run here.
pub fn shared_runtime(py: Python<'_>) -> PyResult<ClientRuntime> {
    ClientRuntime::shared().into_py_result(py)
}
