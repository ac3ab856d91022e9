//! Disk work that async code cannot hand to `spawn_blocking` because it
//! borrows the broker: creating or deleting a topic of thousands of
//! partitions (thousands of files) takes a fraction of a second to seconds.

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
