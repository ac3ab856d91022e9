//! Errors as C sees them: a `strom_resp_err_t` code (Kafka's codes and
//! librdkafka's local ones, from the client core) returned by the call,
//! and a message kept per thread for `strom_last_error_string()`.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::sync::OnceLock;

use strom_client::error::local;
use strom_client::ClientError;

use crate::codes::{RespErr, STROM_RESP_ERR_NO_ERROR};

/// A failed call: its code and what to tell the user.
#[derive(Debug, Clone)]
pub struct CError {
    pub code: RespErr,
    pub message: String,
}

impl CError {
    pub fn new(code: RespErr, message: impl Into<String>) -> CError {
        CError {
            code,
            message: message.into(),
        }
    }

    /// A NULL, malformed or out-of-range argument.
    pub fn invalid_arg(message: impl Into<String>) -> CError {
        CError::new(local::INVALID_ARG, message)
    }

    /// A call the handle's kind or state does not allow.
    pub fn state(message: impl Into<String>) -> CError {
        CError::new(local::STATE, message)
    }

    /// A failure inside this library.
    pub fn fail(message: impl Into<String>) -> CError {
        CError::new(local::FAIL, message)
    }
}

impl From<ClientError> for CError {
    fn from(error: ClientError) -> CError {
        CError::new(error.code(), error.to_string())
    }
}

impl From<&ClientError> for CError {
    fn from(error: &ClientError) -> CError {
        CError::new(error.code(), error.to_string())
    }
}

thread_local! {
    static LAST: RefCell<(RespErr, CString)> = RefCell::new((STROM_RESP_ERR_NO_ERROR, CString::default()));
}

/// Records `error` as this thread's last error.
pub fn set_last(error: &CError) {
    let text = CString::new(error.message.replace('\0', " ")).unwrap_or_default();
    LAST.with(|last| *last.borrow_mut() = (error.code, text));
}

/// Forgets the thread's last error: each call starts with a clean slate,
/// so that after it strom_last_error() tells its outcome.
pub fn clear_last() {
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != STROM_RESP_ERR_NO_ERROR || !last.1.is_empty() {
            *last = (STROM_RESP_ERR_NO_ERROR, CString::default());
        }
    });
}

/// The code of a call's outcome, recording a failure as the thread's last
/// error.
pub fn code_of(outcome: Result<(), CError>) -> RespErr {
    match outcome {
        Ok(()) => STROM_RESP_ERR_NO_ERROR,
        Err(error) => {
            set_last(&error);
            error.code
        }
    }
}

/// The value of a call that returns a pointer or count, or `failed` with
/// the error recorded.
pub fn value_or<T>(outcome: Result<T, CError>, failed: T) -> T {
    outcome.unwrap_or_else(|error| {
        set_last(&error);
        failed
    })
}

/// A code's name and description as C strings, made once for all codes.
/// (A vector, not a hash map: leak checkers see its strings as reachable
/// from the start of each block.)
fn texts(code: RespErr) -> Option<&'static (RespErr, CString, CString)> {
    static TEXTS: OnceLock<Vec<(RespErr, CString, CString)>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        crate::codes::ALL
            .iter()
            .map(|&code| {
                let name = CString::new(local::rdkafka_name(code)).unwrap_or_default();
                let text = CString::new(local::description(code)).unwrap_or_default();
                (code, name, text)
            })
            .collect()
    });
    texts.iter().find(|row| row.0 == code)
}

static UNKNOWN_NAME: &std::ffi::CStr = c"_UNKNOWN";
static UNKNOWN_TEXT: &std::ffi::CStr = c"An unknown error code.";

/// What `err` means, in one sentence (librdkafka's `rd_kafka_err2str`).
/// The string is static: never free it. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn strom_err2str(err: RespErr) -> *const c_char {
    texts(err).map_or(UNKNOWN_TEXT.as_ptr(), |row| row.2.as_ptr())
}

/// The name of `err` without the `STROM_RESP_ERR_` prefix:
/// `"_TIMED_OUT"`, `"UNKNOWN_TOPIC_OR_PART"` (librdkafka's
/// `rd_kafka_err2name`). The string is static: never free it.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn strom_err2name(err: RespErr) -> *const c_char {
    texts(err).map_or(UNKNOWN_NAME.as_ptr(), |row| row.1.as_ptr())
}

/// 1 if an error with this code may go away when the call is made again
/// (a lost connection, a timeout, a leader moving, a full queue), else 0.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn strom_err_retriable(err: RespErr) -> c_int {
    c_int::from(local::is_retriable(err))
}

/// The outcome of the last call made on this thread: its error code, or
/// `STROM_RESP_ERR_NO_ERROR` if it succeeded (so after a NULL from
/// strom_consumer_poll(), NO_ERROR means no record came in time).
#[unsafe(no_mangle)]
pub extern "C" fn strom_last_error() -> RespErr {
    LAST.with(|last| last.borrow().0)
}

/// What went wrong in the last call made on this thread, for a person:
/// what was being done, what the broker or the library said, and what to
/// check; empty if it succeeded. The string belongs to the library and
/// stays valid until the next call on this thread: never free it; copy it
/// to keep it. (strom_last_error(), strom_last_error_string(),
/// strom_err2str() and strom_err2name() leave it as it is.)
#[unsafe(no_mangle)]
pub extern "C" fn strom_last_error_string() -> *const c_char {
    LAST.with(|last| last.borrow().1.as_ptr())
}
