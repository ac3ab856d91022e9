//! Blocking calls from Python: the GIL is released while Rust waits, and
//! the wait is cut into short slices with a signal check between them, so
//! Ctrl-C interrupts `poll(30)` within a moment (as polars' `enter_polars`
//! does), and other Python threads run meanwhile.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

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
