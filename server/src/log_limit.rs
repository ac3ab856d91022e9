//! Keeps the Raft library's repeated complaints from flooding the log.
//!
//! While a peer is down, openraft reports every failed replication and
//! vote attempt (three WARN/ERROR lines per try, several tries a second),
//! for as long as the peer stays away. One line per call site every
//! [`OPENRAFT_REPEAT`] says the same; the broker logs the fence itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::callsite::Identifier;
use tracing::Metadata;
use tracing_subscriber::filter::{dynamic_filter_fn, DynFilterFn};
use tracing_subscriber::layer::Context;

/// How often one openraft log statement may print.
pub const OPENRAFT_REPEAT: Duration = Duration::from_secs(10);

/// A filter passing everything except openraft events repeated within
/// [`OPENRAFT_REPEAT`] of the same statement's last printed line.
pub fn openraft_repeats_limited<S>(
) -> DynFilterFn<S, impl Fn(&Metadata<'_>, &Context<'_, S>) -> bool> {
    let last_printed: Mutex<HashMap<Identifier, Instant>> = Mutex::new(HashMap::new());
    // Dynamic: asked for every event, not once per call site.
    dynamic_filter_fn(move |meta, _| {
        if !meta.is_event() || !meta.target().starts_with("openraft") {
            return true;
        }
        let mut last = last_printed.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match last.get(&meta.callsite()) {
            Some(at) if now.duration_since(*at) < OPENRAFT_REPEAT => false,
            _ => {
                last.insert(meta.callsite(), now);
                true
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn an_openraft_statement_prints_once_per_period_and_others_always() {
        let lines = Lines::default();
        let writer = lines.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_filter(openraft_repeats_limited());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            for attempt in 0..5 {
                tracing::warn!(target: "openraft::replication", attempt, "peer unreachable");
                tracing::warn!(target: "strom_broker::cluster", attempt, "our own");
            }
        });
        let printed = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(printed.matches("peer unreachable").count(), 1, "{printed}");
        assert_eq!(printed.matches("our own").count(), 5, "{printed}");
    }
}
