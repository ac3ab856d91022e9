//! One module per API family. Each handler takes the decoded request and
//! returns the response body; errors become Kafka error codes in it.

pub mod api_versions;
pub mod cluster;
pub mod configs;
pub mod delete_records;
pub mod fetch;
pub mod group_offsets;
pub mod groups;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod topics;

/// True at most once per `period_ms` for one `last` (the time it was last
/// true): for log lines that would otherwise repeat on every request.
pub fn once_every(last: &std::sync::atomic::AtomicI64, period_ms: i64) -> bool {
    use std::sync::atomic::Ordering;
    let now = produce::now_ms();
    let before = last.load(Ordering::Relaxed);
    now - before >= period_ms
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}
