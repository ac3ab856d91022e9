//! [`CallbackQueue`]: delivery callbacks served on a thread the caller
//! chooses, instead of on the client's own threads.
//!
//! Without a queue, a `send_with_callback` callback runs on the producer's
//! sender task (a client runtime thread). A binding often needs it
//! elsewhere: librdkafka's model (C, synchronous Python) calls delivery
//! reports from `poll()` on the application's thread; asyncio and Node
//! must run them on their event loop. With a queue, the producer hands
//! each settled batch's callbacks to the queue under one lock, and the
//! chosen thread runs them with [`CallbackQueue::serve`]. Nothing is
//! spawned and nothing is sent through a channel per record; an event
//! loop is woken once per batch of work, not per record
//! ([`CallbackQueue::with_wake`]). A consumer made with a queue hands it
//! its commit callbacks (`commit_async_with`) the same way, as
//! librdkafka's `offset_commit_cb` is served by `rd_kafka_consumer_poll`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::producer::memory::BufferMemory;
use crate::producer::settle::CallbackSlot;
use crate::producer::DeliveryResult;

/// A queue of callbacks waiting for a thread to run them; cheap to clone
/// (clones share the queue).
#[derive(Clone, Default)]
pub struct CallbackQueue {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    items: Mutex<VecDeque<Queued>>,
    /// Signalled when items arrive, for `serve` waiting on a thread.
    arrived: Condvar,
    /// Called when the queue goes from empty to non-empty.
    wake: Option<Box<dyn Fn() + Send + Sync>>,
    /// Callbacks queued and not yet served: `len` without walking the
    /// queue (a producer checks it for every record).
    callbacks: AtomicUsize,
}

/// Callbacks still queued when the last clone goes are called with their
/// outcome then, on the thread that drops it: every callback is called
/// exactly once.
impl Drop for Inner {
    fn drop(&mut self) {
        let items = std::mem::take(self.items.get_mut().unwrap_or_else(PoisonError::into_inner));
        items.into_iter().for_each(Queued::run);
    }
}

/// One queued callback with the outcome it is to be called with.
pub(crate) enum Queued {
    Delivery(CallbackSlot, DeliveryResult),
    /// After a batch's deliveries: the buffer.memory bytes their records
    /// held, freed once their callbacks have run.
    Release(Arc<BufferMemory>, usize),
    /// Any other callback with its outcome bound in (a commit's).
    Call(Box<dyn FnOnce() + Send>),
}

impl Queued {
    fn run(self) {
        match self {
            Queued::Delivery(mut slot, outcome) => slot.call(outcome),
            Queued::Release(memory, bytes) => memory.release(bytes),
            Queued::Call(call) => {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).is_err() {
                    tracing::error!("a client callback panicked; the client goes on");
                }
            }
        }
    }

    fn is_callback(&self) -> bool {
        !matches!(self, Queued::Release(..))
    }
}

impl CallbackQueue {
    /// A queue served by threads that call [`CallbackQueue::serve`].
    pub fn new() -> CallbackQueue {
        CallbackQueue::default()
    }

    /// A queue that calls `wake` (from a client thread) each time it goes
    /// from empty to non-empty: for an event loop, `wake` schedules a call
    /// to `serve` on the loop (asyncio's `call_soon_threadsafe`, a napi
    /// threadsafe function). It must not block, and need not be fast to
    /// repeat: it runs at most once per batch of callbacks.
    pub fn with_wake(wake: impl Fn() + Send + Sync + 'static) -> CallbackQueue {
        CallbackQueue {
            inner: Arc::new(Inner {
                items: Mutex::default(),
                arrived: Condvar::new(),
                wake: Some(Box::new(wake)),
                callbacks: AtomicUsize::new(0),
            }),
        }
    }

    /// Runs the queued callbacks on the calling thread, waiting up to
    /// `timeout` for the first to arrive (`Duration::ZERO`: only those
    /// already queued). Returns how many ran. Callbacks that arrive while
    /// serving run in the same call.
    pub fn serve(&self, timeout: Duration) -> usize {
        // Polled once per record by some bindings: an empty queue with
        // nothing to wait for answers without reading the clock.
        if timeout.is_zero() && self.lock().is_empty() {
            return 0;
        }
        let deadline = Instant::now().checked_add(timeout);
        let mut served = 0;
        loop {
            let batch = {
                let mut items = self.lock();
                while items.is_empty() && served == 0 {
                    let now = Instant::now();
                    let Some(left) =
                        deadline.map_or(Some(Duration::MAX), |d| d.checked_duration_since(now))
                    else {
                        return served;
                    };
                    if left.is_zero() {
                        return served;
                    }
                    items = self
                        .inner
                        .arrived
                        .wait_timeout(items, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                std::mem::take(&mut *items)
            };
            if batch.is_empty() {
                return served;
            }
            // Run outside the lock: a callback may send again, whose own
            // callback lands in this queue.
            let callbacks = batch.iter().filter(|item| item.is_callback()).count();
            served += callbacks;
            batch.into_iter().for_each(Queued::run);
            self.inner.callbacks.fetch_sub(callbacks, Ordering::AcqRel);
        }
    }

    /// Waits up to `timeout` until something is queued, without running
    /// it; returns whether something is. For a binding that must wait
    /// without its interpreter's lock but run callbacks holding it (Python:
    /// wait with the GIL released, then `serve(Duration::ZERO)` with it
    /// held, instead of taking the GIL once per callback).
    pub fn wait(&self, timeout: Duration) -> bool {
        let items = self.lock();
        if !items.is_empty() {
            return true;
        }
        let (items, _) = self
            .inner
            .arrived
            .wait_timeout_while(items, timeout, |items| items.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        !items.is_empty()
    }

    /// Callbacks waiting to be served (or being served).
    pub fn len(&self) -> usize {
        self.inner.callbacks.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues callbacks under one lock, one signal and at most one wake.
    pub(crate) fn push_all(&self, queued: Vec<Queued>) {
        if queued.is_empty() {
            return;
        }
        let callbacks = queued.iter().filter(|item| item.is_callback()).count();
        let was_empty = {
            let mut items = self.lock();
            let was_empty = items.is_empty();
            self.inner.callbacks.fetch_add(callbacks, Ordering::AcqRel);
            items.extend(queued);
            was_empty
        };
        self.inner.arrived.notify_all();
        if was_empty {
            if let Some(wake) = &self.inner.wake {
                // Runs on a client thread: a panic here must not stop the
                // producer's sender.
                let woke = std::panic::catch_unwind(std::panic::AssertUnwindSafe(wake));
                if woke.is_err() {
                    tracing::error!("a callback queue's wake function panicked");
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        self.inner
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for CallbackQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackQueue")
            .field("queued", &self.len())
            .finish()
    }
}
