//! The client core's `tracing` events, handed to Python's `logging` under
//! the `strom` logger (`strom.client.consumer`, ... by the event's module).
//!
//! Events are never delivered on the thread that emits them: a tokio
//! worker that waited for the GIL while holding a client lock could
//! deadlock with a Python thread that holds the GIL and wants that lock.
//! They go through a bounded channel to one thread that takes the GIL and
//! calls the logger; when the channel is full, events are dropped and
//! counted, never waited for. The thread is started again in a child
//! after `fork()`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Events waiting for the logging thread, at most.
const QUEUE: usize = 4096;

/// Python's logging levels.
pub const DEBUG: u8 = 10;
const INFO: u8 = 20;
const WARNING: u8 = 30;
const ERROR: u8 = 40;
/// Above every level: forwarding is off (at interpreter exit).
const OFF: u8 = 100;

/// The lowest Python level forwarded; events below it are not even
/// formatted.
static THRESHOLD: AtomicU8 = AtomicU8::new(WARNING);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// The channel to the logging thread, with the pid that started it.
static SENDER: Mutex<Option<(u32, SyncSender<Record>)>> = Mutex::new(None);

struct Record {
    level: u8,
    target: String,
    message: String,
}

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => ERROR,
        Level::WARN => WARNING,
        Level::INFO => INFO,
        _ => DEBUG,
    }
}

struct ForwardToPython;

impl<S: Subscriber> Layer<S> for ForwardToPython {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let level = python_level(event.metadata().level());
        if level < THRESHOLD.load(Ordering::Relaxed) {
            return;
        }
        let mut message = MessageText(String::new());
        event.record(&mut message);
        let record = Record {
            level,
            target: event
                .metadata()
                .target()
                .replace("::", ".")
                .replace('_', "."),
            message: message.0,
        };
        send(record);
    }
}

fn send(record: Record) {
    let Ok(mut sender) = SENDER.lock() else {
        return;
    };
    let pid = std::process::id();
    if sender
        .as_ref()
        .is_none_or(|(started_by, _)| *started_by != pid)
    {
        let (tx, rx) = sync_channel(QUEUE);
        if std::thread::Builder::new()
            .name("strom-log".into())
            .spawn(move || deliver(rx))
            .is_err()
        {
            return;
        }
        *sender = Some((pid, tx));
    }
    if let Some((_, tx)) = sender.as_ref() {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = tx.try_send(record) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The logging thread: one `logging.getLogger(name).log(level, msg)` per
/// event, under the GIL.
fn deliver(records: Receiver<Record>) {
    for record in records {
        if record.level < THRESHOLD.load(Ordering::Relaxed) {
            continue;
        }
        Python::attach(|py| {
            let logged = py.import("logging").and_then(|logging| {
                let name = format!("strom.{}", record.target.trim_start_matches("strom."));
                let logger = logging.call_method1("getLogger", (name,))?;
                logger.call_method1("log", (record.level, record.message))
            });
            // A failing handler is the application's to see, not ours to
            // raise on a thread it does not know.
            if let Err(error) = logged {
                error.print(py);
            }
        });
    }
}

struct MessageText(String);

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let separator = if self.0.is_empty() { "" } else { " " };
            let _ = write!(self.0, "{separator}{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

/// Installs the bridge as the process's tracing subscriber (once; a
/// second call, or a subscriber set by someone else, is left as it is)
/// and sets the lowest level forwarded: the `strom` logger's effective
/// level, so `logging.getLogger("strom").setLevel(logging.DEBUG)` before
/// the first client is created shows the client's debug lines.
#[pyfunction]
pub fn install_logging(level: i64) {
    set_log_level(Some(level));
    let _ = tracing_subscriber::registry()
        .with(ForwardToPython)
        .try_init();
}

/// Sets the lowest Python level forwarded; `None` stops forwarding (the
/// package calls it at interpreter exit).
#[pyfunction]
#[pyo3(signature = (level))]
pub fn set_log_level(level: Option<i64>) {
    let level = level.map_or(OFF, |level| {
        level.clamp(i64::from(DEBUG), i64::from(OFF)) as u8
    });
    THRESHOLD.store(level, Ordering::Relaxed);
}

/// Installs the bridge on the first client's creation (see
/// `strom/_logging.py`).
pub fn ensure_installed(py: Python<'_>) -> PyResult<()> {
    py.import("strom._logging")?.call_method0("install")?;
    Ok(())
}

/// Log events dropped because the logging thread fell behind.
#[pyfunction]
pub fn dropped_log_events() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}
