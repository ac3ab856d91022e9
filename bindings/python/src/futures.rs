//! Rust futures completing Python futures, with no thread per call: the
//! work runs as a task on the client runtime, and its outcome is handed
//! to a `concurrent.futures.Future` (set from the runtime's thread, which
//! that class allows) or to an asyncio future (through the loop's
//! `call_soon_threadsafe`, the only way into a loop from another thread).
//! Cancelling the Python future aborts the task.

use std::future::Future;
use std::pin::Pin;

use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use strom_client::ClientError;
use tokio::task::AbortHandle;

use crate::errors::{to_py_err, IntoPyResult};

/// Where an outcome goes.
pub enum Target {
    /// A `concurrent.futures.Future`.
    Concurrent(Py<PyAny>),
    /// An asyncio future and its loop.
    Asyncio {
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
    },
}

impl Target {
    fn future(&self) -> &Py<PyAny> {
        match self {
            Target::Concurrent(future) | Target::Asyncio { future, .. } => future,
        }
    }

    /// Sets the outcome, unless the future was cancelled meanwhile.
    fn settle(self, py: Python<'_>, outcome: PyResult<Py<PyAny>>) {
        let (value, error) = match outcome {
            Ok(value) => (Some(value), None),
            Err(error) => (None, Some(error.into_value(py).into_any())),
        };
        let settled = match &self {
            Target::Concurrent(future) => resolve(py, future.bind(py), value, error),
            Target::Asyncio { future, event_loop } => {
                let resolver = wrap_pyfunction!(resolve_future, py);
                resolver.and_then(|resolver| {
                    event_loop
                        .bind(py)
                        .call_method1("call_soon_threadsafe", (resolver, future, value, error))
                        .map(drop)
                })
            }
        };
        // The loop is closed, or the future refused: nobody is left to tell.
        if let Err(error) = settled {
            tracing::debug!("a Python future could not be completed: {error}");
        }
    }
}

/// Sets a future's result or exception unless it is already done (it was
/// cancelled while the task ran).
#[pyfunction]
#[pyo3(signature = (future, value, error))]
fn resolve_future(
    future: &Bound<'_, PyAny>,
    value: Option<Py<PyAny>>,
    error: Option<Py<PyAny>>,
) -> PyResult<()> {
    resolve(future.py(), future, value, error)
}

fn resolve(
    _py: Python<'_>,
    future: &Bound<'_, PyAny>,
    value: Option<Py<PyAny>>,
    error: Option<Py<PyAny>>,
) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    match error {
        Some(error) => future.call_method1("set_exception", (error,))?,
        None => future.call_method1("set_result", (value,))?,
    };
    Ok(())
}

/// Spawns `work` on the shared client runtime; its outcome completes
/// `target`. Cancelling the Python future aborts the task (a cancelled
/// asyncio task therefore stops waiting at once; what the core already
/// sent, it keeps).
pub fn spawn<T: Send + 'static>(
    py: Python<'_>,
    target: Target,
    work: impl Future<Output = Result<T, ClientError>> + Send + 'static,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
) -> PyResult<()> {
    let runtime = crate::wait::shared_runtime(py)?;
    let future = target.future().clone_ref(py);
    let task = runtime.handle().into_py_result(py)?.spawn(async move {
        let outcome = work.await;
        Python::attach(move |py| {
            let outcome = match outcome {
                Ok(value) => convert(py, value),
                Err(error) => Err(to_py_err(py, &error)),
            };
            target.settle(py, outcome);
        });
    });
    abort_on_cancel(py, &future, task.abort_handle())
}

/// Adds a done-callback to `future` that aborts the task if the future
/// was cancelled.
fn abort_on_cancel(py: Python<'_>, future: &Py<PyAny>, task: AbortHandle) -> PyResult<()> {
    let on_done = PyCFunction::new_closure(
        py,
        None,
        None,
        move |args: &Bound<'_, pyo3::types::PyTuple>, _kwargs| -> PyResult<()> {
            let done = args.get_item(0)?;
            if done.call_method0("cancelled")?.is_truthy()? {
                task.abort();
            }
            Ok(())
        },
    )?;
    future
        .bind(py)
        .call_method1("add_done_callback", (on_done,))?;
    Ok(())
}

/// A future boxed, so calls whose futures differ by branch can share one
/// `spawn`.
pub fn boxed<T>(
    future: impl Future<Output = Result<T, ClientError>> + Send + 'static,
) -> Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send>> {
    Box::pin(future)
}
