//! Blocking clients, for C and synchronous Python: the same producer,
//! consumer and admin client, with calls that block the calling thread
//! instead of returning futures.
//!
//! # Which API to use
//!
//! - **Async** ([`crate::Producer`], [`crate::Consumer`],
//!   [`crate::AdminClient`]): inside a tokio application, and for bindings
//!   whose host language awaits (Python `asyncio` via pyo3 futures, Node
//!   promises via napi). Every future is owned, `Send + 'static` and safe
//!   to drop.
//! - **Blocking** (this module): when the caller has a thread but no
//!   event loop — a C program, synchronous Python, a plain Rust `main`.
//!   Each client owns a small tokio runtime (two worker threads) on which
//!   its background work (the producer's sender, heartbeats, prefetched
//!   fetches, metadata refreshes) runs between calls; each call is the
//!   async call under `block_on` on the caller's thread.
//! - **Deliveries** come either as a handle ([`Producer::send`] →
//!   [`DeliveryHandle::wait`], or a [`crate::DeliveryFuture`] from the
//!   async `send`) or as a callback ([`Producer::send_with_callback`], the
//!   same on the async producer): use the callback when holding one handle
//!   per record is a burden, e.g. a C function pointer or a Python callable
//!   for millions of records. Callbacks run on a client thread and must
//!   not block.
//!
//! # Rules every blocking call follows
//!
//! - It waits at most its `timeout` argument or, for calls without one,
//!   the client's api timeout (the larger of default.api.timeout.ms,
//!   60 s by default as in Java, and request.timeout.ms; `set_api_timeout`
//!   changes it); running out gives [`ClientError::Timeout`].
//! - Called from inside a tokio runtime (an async task, or a delivery
//!   callback, which runs on a client thread) a call that would block
//!   returns [`ClientError::InvalidArgument`] instead of blocking the
//!   runtime or panicking; use the async client there. Calls that never
//!   block (`send`, `send_with_callback`, `assign`, `seek`, ...) work
//!   anywhere.
//! - Dropping a client stops its threads, waiting at most a couple of
//!   seconds; call `close(timeout)` first to deliver what is queued and
//!   leave the group cleanly. Handles ([`DeliveryHandle`],
//!   [`CommitHandle`]) keep the threads alive until they are dropped.
//!
//! The handle types have no lifetimes and no generic parameters, so a
//! binding can keep them behind a pointer or in a host-language object.
//!
//! [`ClientError::Timeout`]: crate::ClientError::Timeout
//! [`ClientError::InvalidArgument`]: crate::ClientError::InvalidArgument

mod admin;
mod consumer;
mod producer;
mod runtime;

use std::time::Duration;

use crate::config::ClientConfig;

pub use admin::AdminClient;
pub use consumer::{CommitHandle, Consumer};
pub use producer::{DeliveryHandle, Producer};

/// How a timeout error names the api timeout, so the user knows what to
/// raise.
const API_TIMEOUT_SETTING: &str = "default.api.timeout.ms (or set_api_timeout)";

/// The api timeout a new blocking client starts with: long enough for one
/// request to time out on its own first.
fn api_timeout_for(config: &ClientConfig) -> Duration {
    config.default_api_timeout.max(config.request_timeout)
}
