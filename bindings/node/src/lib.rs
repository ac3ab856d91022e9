//! The Node package's native addon (`node/strom.node`): the kafkajs-style
//! API in `node/index.js` drives these classes. Like the Python module it
//! holds no Kafka logic: it converts arguments, results and errors, and
//! runs `strom-client`'s futures on the shared client runtime.
//!
//! Every call returns a promise. Its work runs as a task on
//! [`ClientRuntime::shared`]; napi's own (one-thread) runtime only waits
//! for that task and settles the promise on the JS thread.

// napi registers exports only outside `cfg(test)`; clippy's test build of
// this library would call every export dead.
#![cfg_attr(test, allow(dead_code))]

mod acls;
mod admin;
mod consumer;
mod convert;
mod errors;
mod outcomes;
mod packed;
mod producer;

use std::future::Future;
use std::time::Duration;

use napi::bindgen_prelude::{create_custom_tokio_runtime, Object, ToNapiValue};
use napi::Env;
use napi_derive::napi;
use strom_client::{ClientError, ClientRuntime};

pub use errors::to_js_error;

#[napi_derive::module_init]
fn init() {
    // napi only settles promises: one thread is plenty.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("strom-node-napi")
        .enable_all()
        .build()
        .expect("a one-thread tokio runtime for napi");
    create_custom_tokio_runtime(runtime);
}

/// Runs `work` on the shared client runtime and waits for it there.
pub(crate) async fn on_client<T: Send + 'static>(
    work: impl Future<Output = Result<T, ClientError>> + Send + 'static,
) -> napi::Result<T> {
    let runtime = ClientRuntime::shared().map_err(|e| to_js_error(&e))?;
    let handle = runtime.handle().map_err(|e| to_js_error(&e))?;
    match handle.spawn(work).await {
        Ok(outcome) => outcome.map_err(|e| to_js_error(&e)),
        Err(join) => Err(napi::Error::from_reason(format!(
            "the client task ended abnormally: {join}"
        ))),
    }
}

/// A promise for `work`, run as a task on the shared client runtime that
/// settles the promise itself when done: one wake of the JS thread and no
/// hop through napi's runtime (what `on_client` in an `async fn` costs).
/// For the calls made once per batch of records (send, poll).
pub(crate) fn promise<'env, T>(
    env: &'env Env,
    work: impl Future<Output = napi::Result<T>> + Send + 'static,
) -> napi::Result<Object<'env>>
where
    T: ToNapiValue + Send + 'static,
{
    let runtime = ClientRuntime::shared().map_err(|e| to_js_error(&e))?;
    let handle = runtime.handle().map_err(|e| to_js_error(&e))?;
    let (deferred, promise) = env.create_deferred()?;
    handle.spawn(async move {
        match work.await {
            Ok(value) => deferred.resolve(move |_| Ok(value)),
            Err(error) => deferred.reject(error),
        }
    });
    Ok(promise)
}

/// Runs `work` on the client runtime (for [`promise`]), its error as JS's.
pub(crate) async fn client_work<T>(
    work: impl Future<Output = Result<T, ClientError>>,
) -> napi::Result<T> {
    work.await.map_err(|e| to_js_error(&e))
}

/// A mutex's guard even if a holder panicked (the data is plain
/// bookkeeping, still usable).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Milliseconds from JS, clamped to something a `Duration` holds.
pub(crate) fn millis(ms: f64) -> Duration {
    Duration::from_millis(ms.clamp(0.0, 1e12) as u64)
}

/// Runs the `strom` command line (the broker and the client commands):
/// the package's `strom` bin script, so the package needs no second
/// binary. Blocks the calling thread until the command ends.
#[napi]
pub fn run_cli(args: Vec<String>) -> u32 {
    restore_default_signal_handling();
    u32::from(strom_server::entry::run(args.into_iter().map(Into::into)))
}

/// Node handles SIGINT and SIGTERM itself (it restores the terminal, then
/// raises the signal again). The broker's own handlers chain to the
/// handler they replace, so with Node's in place a SIGTERM would raise
/// itself forever instead of stopping the broker. In the `strom` command's
/// process, JS never runs again, so both go back to the default and the
/// broker's handlers are the only ones.
fn restore_default_signal_handling() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `signal` with SIG_DFL installs no code of ours, and no
        // other thread of this process is changing signal handlers now
        // (the command runs before any client or broker thread starts).
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
}

/// Stops the client runtime shared by every client of this process,
/// waiting at most `timeout_ms` for its threads (the package calls it at
/// process exit, after its clients are closed).
#[napi]
pub fn shutdown_runtime(timeout_ms: f64) {
    ClientRuntime::shutdown_shared(millis(timeout_ms));
}
