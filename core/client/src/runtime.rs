//! The runtime the clients' background work runs on when the caller has
//! none of its own: the blocking clients, and the bindings (Python, Node,
//! C), which hand futures to it from host-language threads.
//!
//! One process-wide runtime ([`ClientRuntime::shared`]) serves every
//! client: it starts with the first client that needs it, with
//! [`WORKER_THREADS`] worker threads however many clients there are, and
//! is started anew in a child after `fork()` (the parent's threads do not
//! exist there; clients created before the fork refuse to run in the
//! child with a clear error). A host that can announce a fork (Python's
//! `os.register_at_fork`) calls [`ClientRuntime::after_fork_in_child`],
//! which lets the per-record calls check for a fork with one atomic load
//! instead of a `getpid` system call. [`ClientRuntime::shutdown_shared`] stops it
//! at exit (Python `atexit`, Node `process.on('exit')`, C
//! `strom_shutdown`); a later client starts a new one. A binding that has
//! a tokio runtime of its own passes it with [`ClientRuntime::from_handle`].

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
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

/// The process that started the runtime in [`SHARED`]; another value
/// than ours means this is a child after `fork()`.
static SHARED_PID: AtomicU32 = AtomicU32::new(0);

/// How many forks the host announced in this process's line of descent
/// ([`ClientRuntime::after_fork_in_child`]); a runtime started under an
/// older value lives in an ancestor process.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

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
    /// The process the runtime's threads live in.
    pid: u32,
    /// [`FORK_GENERATION`] when the runtime started.
    fork_generation: u64,
    /// Set once the library's own runtime is shut down: checked on every
    /// call without taking the `owned` lock.
    shut_down: AtomicBool,
}

impl Inner {
    fn new(handle: Handle, owned: Option<Runtime>) -> Inner {
        Inner {
            handle,
            owned: Mutex::new(owned),
            pid: std::process::id(),
            fork_generation: FORK_GENERATION.load(Ordering::Acquire),
            shut_down: AtomicBool::new(false),
        }
    }
}

impl ClientRuntime {
    /// The process-wide runtime: started on first use, after a `fork()`
    /// in the child, and after [`ClientRuntime::shutdown_shared`].
    pub fn shared() -> Result<ClientRuntime> {
        let pid = std::process::id();
        let owner = SHARED_PID.load(Ordering::Acquire);
        let forked = owner != 0 && owner != pid;
        let mut slot = match SHARED.try_lock() {
            Ok(slot) => slot,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Forked while a parent thread held the slot: that thread does
            // not exist here and never lets go. This client gets a runtime
            // of its own rather than waiting forever.
            Err(TryLockError::WouldBlock) if forked => return ClientRuntime::start(),
            Err(TryLockError::WouldBlock) => SHARED.lock().unwrap_or_else(PoisonError::into_inner),
        };
        if let Some(runtime) = slot.as_ref() {
            if runtime.inner.pid != pid || runtime.is_forked_away() {
                // The parent's runtime: its threads stayed in the parent,
                // and dropping it would wait for them. Left behind, never
                // dropped (nothing here is locked to do so).
                std::mem::forget(runtime.clone());
            } else if !runtime.is_shut_down() {
                return Ok(runtime.clone());
            }
        }
        let runtime = ClientRuntime::start()?;
        *slot = Some(runtime.clone());
        SHARED_PID.store(pid, Ordering::Release);
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
            inner: Arc::new(Inner::new(handle, None)),
        }
    }

    /// Tells the library that this process is the child of a `fork()`,
    /// for hosts that can say so (Python's `os.register_at_fork`): every
    /// client made before it refuses to run here with a clear error, also
    /// in the calls that skip the `getpid` check ([`Self::check_usable`]).
    pub fn after_fork_in_child() {
        FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
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
            inner: Arc::new(Inner::new(runtime.handle().clone(), Some(runtime))),
        })
    }

    fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire)
    }

    fn is_forked_away(&self) -> bool {
        self.inner.fork_generation != FORK_GENERATION.load(Ordering::Acquire)
    }

    /// The tokio handle, for spawning client futures (a binding's async
    /// calls); an error once shut down, or in the child of a `fork()` made
    /// after this runtime started.
    pub fn handle(&self) -> Result<&Handle> {
        if self.inner.pid != std::process::id() {
            return Err(forked_error());
        }
        self.check_usable()?;
        Ok(&self.inner.handle)
    }

    /// The checks of [`Self::handle`] that cost no system call, for calls
    /// made once per record that only queue work (`try_send`): an error
    /// once shut down, or after a fork the host announced with
    /// [`Self::after_fork_in_child`]. (A fork nobody announced is found by
    /// the next call that waits: `poll`, `flush`, `close`.)
    pub fn check_usable(&self) -> Result<()> {
        if self.is_forked_away() {
            return Err(forked_error());
        }
        if self.is_shut_down() {
            return Err(ClientError::Closed {
                what: "client runtime (shut down)",
            });
        }
        Ok(())
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
            self.inner.shut_down.store(true, Ordering::Release);
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

fn forked_error() -> ClientError {
    ClientError::InvalidArgument(
        "this client was created before fork(), and its threads stayed in the parent process: create a new client in the child".into(),
    )
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A pre-fork server forks while one of its threads creates a client
    /// (and holds the runtime slot): the child's clients must still start.
    #[test]
    fn a_child_forked_while_the_slot_is_held_still_gets_a_runtime() {
        ClientRuntime::shared().expect("the parent's runtime");
        let (held, slot_held) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let _slot = SHARED.lock();
            held.send(()).expect("tell the test");
            let _ = released.recv();
        });
        slot_held.recv().expect("the slot is held");
        let outcome = tempfile::NamedTempFile::new().expect("outcome file");
        let path = outcome.path().to_path_buf();
        match fork::fork().expect("fork") {
            fork::Fork::Child => {
                let ran = ClientRuntime::shared().and_then(|runtime| {
                    runtime.block_on("probing", Duration::from_secs(5), "a probe", async {
                        tokio::task::yield_now().await;
                        Ok(7)
                    })
                });
                let _ = std::fs::write(&path, format!("{ran:?}"));
                std::process::exit(0);
            }
            fork::Fork::Parent(child) => {
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut written = String::new();
                while written.is_empty() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                    written = std::fs::read_to_string(&path).unwrap_or_default();
                }
                if written.is_empty() {
                    // Hung: do not leave it behind.
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &child.to_string()])
                        .status();
                }
                let _ = fork::waitpid(child);
                release.send(()).expect("release the slot");
                holder.join().expect("holder thread");
                assert_eq!(written, "Ok(7)", "the child's client runtime");
            }
        }
    }
}
