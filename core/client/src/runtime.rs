//! The runtime the clients' background work runs on when the caller has
//! none of its own: the blocking clients, and the bindings (Python, Node,
//! C), which hand futures to it from host-language threads.
//!
//! One process-wide runtime ([`ClientRuntime::shared`]) serves every
//! client: it starts with the first client that needs it, with
//! [`WORKER_THREADS`] worker threads however many clients there are, and
//! is started anew in a child after `fork()` (the parent's threads do not
//! exist there; clients created before the fork refuse to run in the
//! child with a clear error). [`ClientRuntime::shutdown_shared`] stops it
//! at exit (Python `atexit`, Node `process.on('exit')`, C
//! `strom_shutdown`); a later client starts a new one. A binding that has
//! a tokio runtime of its own passes it with [`ClientRuntime::from_handle`].

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::{ClientError, Result};

/// Worker threads of the shared runtime. Client work is I/O and small
/// encodes; the calls themselves run on the callers' threads (blocking
/// clients use `block_on`), so two workers keep every client's background
/// tasks (sender, heartbeats, prefetches, metadata) going.
pub const WORKER_THREADS: usize = 2;

/// Threads for blocking work (DNS lookups when connecting) at most.
const MAX_BLOCKING_THREADS: usize = 16;

/// The process-wide runtime, once started.
static SHARED: Mutex<Option<ClientRuntime>> = Mutex::new(None);

/// A runtime clients run on; cheap to clone. Calls that block the caller
/// go through [`ClientRuntime::block_on`], which refuses to block inside
/// an async context and never waits longer than its bound.
#[derive(Clone)]
pub struct ClientRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    handle: Handle,
    /// The runtime when the client library started it: `Some` until shut
    /// down. `None` from the start for a caller's runtime.
    owned: Mutex<Option<Runtime>>,
    /// Whether the library started it (and may shut it down).
    started_here: bool,
    /// The process the runtime's threads live in.
    pid: u32,
}

impl Inner {
    /// In a child after `fork()`: the runtime's threads stayed in the
    /// parent, so shutting it down would wait for threads that do not
    /// exist. Its memory is left behind instead.
    fn abandon_after_fork(&self) {
        let runtime = self
            .owned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        std::mem::forget(runtime);
    }
}

impl ClientRuntime {
    /// The process-wide runtime: started on first use, after a `fork()`
    /// in the child, and after [`ClientRuntime::shutdown_shared`].
    pub fn shared() -> Result<ClientRuntime> {
        let mut slot = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(runtime) = slot.as_ref() {
            if runtime.inner.pid != std::process::id() {
                runtime.inner.abandon_after_fork();
            } else if !runtime.is_shut_down() {
                return Ok(runtime.clone());
            }
        }
        let runtime = ClientRuntime::start()?;
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// Stops the process-wide runtime, waiting at most `timeout` for its
    /// threads: its clients' background work ends, and their calls fail
    /// with [`ClientError::Closed`]. Call it at exit, after closing the
    /// clients. A client created later starts a new runtime.
    pub fn shutdown_shared(timeout: Duration) {
        let runtime = SHARED.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(runtime) = runtime {
            runtime.shutdown(timeout);
        }
    }

    /// Clients on a tokio runtime the caller owns and shuts down
    /// (multi-threaded: the clients' background tasks must run while the
    /// caller's threads block in calls).
    pub fn from_handle(handle: Handle) -> ClientRuntime {
        ClientRuntime {
            inner: Arc::new(Inner {
                handle,
                owned: Mutex::new(None),
                started_here: false,
                pid: std::process::id(),
            }),
        }
    }

    fn start() -> Result<ClientRuntime> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .thread_name("strom-client")
            .enable_all()
            .build()
            .map_err(|error| {
                ClientError::InvalidArgument(format!(
                    "cannot start the client runtime's threads ({error}): the process may be out of threads or memory"
                ))
            })?;
        Ok(ClientRuntime {
            inner: Arc::new(Inner {
                handle: runtime.handle().clone(),
                owned: Mutex::new(Some(runtime)),
                started_here: true,
                pid: std::process::id(),
            }),
        })
    }

    fn is_shut_down(&self) -> bool {
        self.inner.started_here
            && self
                .inner
                .owned
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_none()
    }

    /// The tokio handle, for spawning client futures (a binding's async
    /// calls); an error once shut down, or in the child of a `fork()` made
    /// after this runtime started.
    pub fn handle(&self) -> Result<&Handle> {
        if self.inner.pid != std::process::id() {
            return Err(ClientError::InvalidArgument(
                "this client was created before fork(), and its threads stayed in the parent process: create a new client in the child".into(),
            ));
        }
        if self.is_shut_down() {
            return Err(ClientError::Closed {
                what: "client runtime (shut down)",
            });
        }
        Ok(&self.inner.handle)
    }

    /// Stops the runtime if the library started it, waiting at most
    /// `timeout` for its threads. A caller's runtime is left alone.
    pub fn shutdown(&self, timeout: Duration) {
        let runtime = self
            .inner
            .owned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = runtime {
            if Handle::try_current().is_ok() {
                // Waiting is not allowed inside an async context.
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(timeout);
            }
        }
    }

    /// Runs `future` to completion on the calling thread, giving up after
    /// `bound` with a [`ClientError::Timeout`] that names `what` and the
    /// `setting` that chose the bound. Refuses to run inside an async
    /// context, where blocking the thread would stall (or panic) tokio.
    pub fn block_on<T>(
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
    pub fn block_on_within<F: Future>(
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
    /// that may spawn a task (like `send`); fails like [`Self::handle`].
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let _entered = self.handle()?.enter();
        Ok(f())
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
