//! Disk work that async code cannot hand to `spawn_blocking` because it
//! borrows the broker: creating or deleting a topic of thousands of
//! partitions (thousands of files) takes a fraction of a second to seconds;
//! and disk work split across threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work`, which blocks on the disk, without stalling the other
/// connections served by this async worker thread: on a multi-threaded
/// runtime (the broker's) the worker first hands its queued tasks to
/// another thread (`block_in_place`). On a current-thread runtime, where
/// that is not possible, it just runs.
pub(crate) fn off_the_worker<T>(work: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Runs `work` on every item, on up to `threads` threads (this one
/// included), each taking the next item when done with its last. For many
/// small fsyncs, such as closing thousands of logs: fsyncs issued together
/// share the filesystem's journal commits. If no thread can be started,
/// this thread does it all.
pub(crate) fn on_threads<T: Sync>(items: &[T], threads: usize, work: impl Fn(&T) + Sync) {
    let next = AtomicUsize::new(0);
    let take_turns = || {
        while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
            work(item);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.min(items.len()) {
            let started = std::thread::Builder::new()
                .name("strom-file-work".to_string())
                .spawn_scoped(scope, take_turns);
            if let Err(e) = started {
                tracing::warn!("file work runs on fewer threads: {e}");
                break;
            }
        }
        take_turns();
    });
}
