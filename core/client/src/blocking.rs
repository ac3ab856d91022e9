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
//!   Every client of the process runs its background work (the
//!   producer's sender, heartbeats, prefetched fetches, metadata
//!   refreshes) on one shared runtime ([`ClientRuntime::shared`], two
//!   worker threads, restarted in a child after `fork()`), or on one the
//!   caller passes (`with_runtime`); each call is the async call under
//!   `block_on` on the caller's thread. The clients are cheap to clone and
//!   `Send + Sync`.
//! - **Deliveries** come either as a handle ([`Producer::send`] →
//!   [`DeliveryHandle::wait`], or a [`crate::DeliveryFuture`] from the
//!   async `send`) or as a callback ([`Producer::send_with_callback`], the
//!   same on the async producer): use the callback when holding one handle
//!   per record is a burden, e.g. a C function pointer or a Python callable
//!   for millions of records. Callbacks run on a client thread and must
//!   not block, unless the producer was made with a
//!   [`crate::CallbackQueue`] ([`Producer::with_callback_queue`]): then
//!   they run in [`Producer::poll`] and [`Producer::flush`], on the
//!   caller's thread, as librdkafka's delivery reports do.
//!
//! # Rules every blocking call follows
//!
//! - It waits at most its `timeout` argument or, for calls without one,
//!   the client's api timeout (the larger of default.api.timeout.ms,
//!   60 s by default as in Java, and request.timeout.ms; `set_api_timeout`
//!   changes it); running out gives [`ClientError::Timeout`].
//! - Called from inside a tokio runtime (an async task, or a delivery
//!   callback that runs on a client thread) a call that would block
//!   returns [`ClientError::InvalidArgument`] instead of blocking the
//!   runtime or panicking; use the async client there. That includes the
//!   consumer's quick calls (`assign`, `seek`, `pause`, ...), which wait
//!   their turn on the consumer's state. The producer's `send` and
//!   `send_with_callback` never block and work anywhere.
//! - Call `close(timeout)` before dropping the last clone, to deliver what
//!   is queued and leave the group cleanly. The shared runtime outlives
//!   the clients; [`ClientRuntime::shutdown_shared`] stops it (at exit),
//!   after which its clients' calls fail with [`ClientError::Closed`].
//!
//! The handle types have no lifetimes and no generic parameters, so a
//! binding can keep them behind a pointer or in a host-language object.
//!
//! [`ClientError::Timeout`]: crate::ClientError::Timeout
//! [`ClientError::InvalidArgument`]: crate::ClientError::InvalidArgument
//! [`ClientError::Closed`]: crate::ClientError::Closed

mod admin;
mod consumer;
mod producer;

use std::time::Duration;

use crate::config::ClientConfig;

pub use crate::runtime::ClientRuntime;
pub use admin::AdminClient;
pub use consumer::{CommitHandle, Consumer};
pub use producer::{DeliveryHandle, Producer};

/// How a timeout error names the api timeout, so the user knows what to
/// raise.
pub const API_TIMEOUT_SETTING: &str = "default.api.timeout.ms (or set_api_timeout)";

/// The api timeout a new blocking client starts with: long enough for one
/// request to time out on its own first. A binding that connects a client
/// itself (to wait in slices it can interrupt, then wrap the async client
/// with `from_async`) bounds the connection by it too.
pub fn api_timeout_for(config: &ClientConfig) -> Duration {
    config.default_api_timeout.max(config.request_timeout)
}
