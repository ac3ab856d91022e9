//! Log lines that a failing disk or damaged data would otherwise repeat
//! on every request.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// True at most once per `period_ms` for one `last` (the time, in ms since
/// the epoch, it was last true).
pub fn once_every(last: &AtomicI64, period_ms: i64) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let before = last.load(Ordering::Relaxed);
    now - before >= period_ms
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}
