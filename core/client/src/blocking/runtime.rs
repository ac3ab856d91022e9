//! The tokio runtime a blocking client owns, and the rules every blocking
//! call follows: refuse to run inside an async context, and never wait
//! longer than a bound.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::{ClientError, Result};

/// Worker threads per blocking client. The application's thread runs the
/// calls themselves (under `block_on`); the workers keep the background
/// tasks going between calls: the producer's sender, heartbeats, fetches
/// prefetched for the next `poll`, metadata refreshes.
const WORKER_THREADS: usize = 2;

/// How long dropping the last handle on a runtime waits for its threads
/// (a DNS lookup in the blocking pool, say) before leaving them behind.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A runtime shared by a blocking client and the handles it gave out
/// (a [`super::DeliveryHandle`] keeps it alive to be waited on). It shuts
/// down, within [`SHUTDOWN_GRACE`], when the last of them is dropped.
pub(crate) struct ClientRuntime {
    runtime: Option<Runtime>,
}

impl ClientRuntime {
    /// A new multi-thread runtime for one blocking client.
    pub(crate) fn start(name: &'static str) -> Result<Arc<ClientRuntime>> {
        refuse_async_context(name)?;
        let runtime = Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|error| {
                ClientError::InvalidArgument(format!(
                    "cannot start the threads of a blocking {name} ({error}): the process may be out of threads or memory"
                ))
            })?;
        Ok(Arc::new(ClientRuntime {
            runtime: Some(runtime),
        }))
    }

    pub(crate) fn handle(&self) -> Result<&Handle> {
        match &self.runtime {
            Some(runtime) => Ok(runtime.handle()),
            None => Err(ClientError::Closed {
                what: "blocking client's runtime",
            }),
        }
    }

    /// Runs `future` to completion on the calling thread, giving up after
    /// `bound` with a [`ClientError::Timeout`] that names `what` and the
    /// `setting` that chose the bound. Refuses to run inside an async
    /// context, where blocking the thread would stall (or panic) tokio.
    pub(crate) fn block_on<T>(
        &self,
        what: &str,
        bound: Duration,
        setting: &'static str,
        future: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.block_on_within(what, bound, future)? {
            Some(outcome) => outcome,
            None => Err(ClientError::Timeout {
                what: what.to_string(),
                after: bound,
                setting,
            }),
        }
    }

    /// Runs `future` on the calling thread for at most `bound`: `None`
    /// when it did not finish in time (it is dropped then, or, when passed
    /// by `&mut`, left to be polled again).
    pub(crate) fn block_on_within<F: Future>(
        &self,
        what: &str,
        bound: Duration,
        future: F,
    ) -> Result<Option<F::Output>> {
        refuse_async_context(what)?;
        let handle = self.handle()?;
        Ok(handle
            .block_on(async { tokio::time::timeout(bound, future).await })
            .ok())
    }

    /// Runs `f` inside the runtime's context without blocking, for calls
    /// that may spawn a task (like `send`).
    pub(crate) fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        // The runtime is only taken by `drop`, when nobody can call this.
        let _entered = self.runtime.as_ref().map(|runtime| runtime.enter());
        f()
    }
}

impl Drop for ClientRuntime {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if Handle::try_current().is_ok() {
            // Dropped inside some async context (a handle moved into a
            // task, say): waiting there is not allowed, so let the threads
            // finish on their own.
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
        }
    }
}

/// The error a blocking call returns when made from inside a tokio
/// runtime: blocking a runtime thread stalls every task on it, and tokio
/// panics on a nested `block_on`. Use the async client there instead.
pub(crate) fn refuse_async_context(what: &str) -> Result<()> {
    if Handle::try_current().is_ok() {
        return Err(ClientError::InvalidArgument(format!(
            "{what}: a blocking strom-client call was made from inside a tokio runtime, where it would block the runtime's thread; use the async client (strom_client::Producer, Consumer, AdminClient) there"
        )));
    }
    Ok(())
}
