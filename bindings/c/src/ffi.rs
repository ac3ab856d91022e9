//! Every `unsafe` block of the library: C pointers and strings turned into
//! Rust values and back.
//!
//! The exported functions take raw pointers straight from C. The header
//! states each pointer's contract (NULL or valid; NUL-terminated text;
//! `len` readable bytes; a handle made by this library and not yet
//! destroyed). These helpers check what can be checked (NULL, UTF-8, the
//! length of a C string) and trust the rest, as every C library must.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use strom_client::error::local;
use strom_client::RebalanceContext;

use crate::codes::RespErr;
use crate::error::{self, CError};

/// A C pointer (an application's opaque value, or a handle) carried into
/// a callback that may run on another thread. The application owns what
/// it points to; the header says on which thread each callback runs.
#[derive(Clone, Copy, Debug)]
pub struct SendPtr(pub *mut c_void);

// SAFETY: the pointer is never dereferenced here, only handed back to the
// application's own callbacks, which the header documents as its concern.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer. A method, so that a closure calling it captures the
    /// whole `SendPtr` (which is `Send`), not the bare pointer field.
    pub fn get(self) -> *mut c_void {
        self.0
    }
}

impl Default for SendPtr {
    fn default() -> SendPtr {
        SendPtr(std::ptr::null_mut())
    }
}

/// Runs an exported function's body, catching a panic so that it never
/// unwinds into C: the call then returns `on_panic` and the thread's last
/// error says what happened.
/// The thread's last error is cleared first: it tells this call's outcome.
pub fn guard<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    error::clear_last();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            error::set_last(&CError::fail(format!(
                "internal error in libstrom (please report it): {what}"
            )));
            on_panic
        }
    }
}

/// An exported call that returns a code: [`guard`]ed, a failure recorded
/// as the thread's last error and its code returned.
pub fn status(body: impl FnOnce() -> Result<(), CError>) -> RespErr {
    guard(local::FAIL, || error::code_of(body()))
}

/// An exported call that returns a value (a pointer, a count): [`guard`]ed,
/// `failed` returned on a failure, which is recorded as the last error.
pub fn value<T: Copy>(failed: T, body: impl FnOnce() -> Result<T, CError>) -> T {
    guard(failed, || error::value_or(body(), failed))
}

/// A NUL-terminated UTF-8 argument; `what` names it in the error.
pub fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, CError> {
    opt_str_arg(ptr, what)?.ok_or_else(|| CError::invalid_arg(format!("{what} is NULL")))
}

/// [`str_arg`], NULL allowed.
pub fn opt_str_arg<'a>(ptr: *const c_char, what: &str) -> Result<Option<&'a str>, CError> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and, by the header's contract, NUL-terminated.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map(Some)
        .map_err(|_| CError::invalid_arg(format!("{what} is not valid UTF-8")))
}

/// `len` bytes at `ptr`, or `None` for NULL (Kafka's null key or value).
pub fn bytes_arg<'a>(ptr: *const c_void, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL and, by the header's contract, `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The length of a NUL-terminated C string.
pub fn c_strlen(ptr: *const c_void) -> usize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: non-NULL and, by the header's contract, NUL-terminated.
    unsafe { CStr::from_ptr(ptr.cast::<c_char>()) }
        .to_bytes()
        .len()
}

/// `count` string pointers at `ptr` (each NUL-terminated, none NULL).
pub fn str_array<'a>(
    ptr: *const *const c_char,
    count: usize,
    what: &str,
) -> Result<Vec<&'a str>, CError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(CError::invalid_arg(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and, by the header's contract, `count` pointers.
    let pointers = unsafe { std::slice::from_raw_parts(ptr, count) };
    pointers.iter().map(|&item| str_arg(item, what)).collect()
}

/// `count` structs at `ptr` (NULL only when `count` is 0).
pub fn slice_arg<'a, T>(ptr: *const T, count: usize, what: &str) -> Result<&'a [T], CError> {
    if count == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(CError::invalid_arg(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and, by the header's contract, `count` structs.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// A handle or object this library made, borrowed; NULL is an error.
pub fn object<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, CError> {
    // SAFETY: by the header's contract, made by this library and alive.
    unsafe { ptr.as_ref() }.ok_or_else(|| CError::invalid_arg(format!("{what} is NULL")))
}

/// [`object`], mutably.
pub fn object_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, CError> {
    // SAFETY: by the header's contract, made by this library, alive, and
    // not used by another thread during the call.
    unsafe { ptr.as_mut() }.ok_or_else(|| CError::invalid_arg(format!("{what} is NULL")))
}

/// A public struct handed to C as a pointer to the owning struct's first
/// field; `Owner` must be `#[repr(C)]` with the public struct first.
pub fn owner<'a, Owner, Public>(public: *const Public, what: &str) -> Result<&'a Owner, CError> {
    object(public.cast::<Owner>(), what)
}

/// [`owner`], mutably.
pub fn owner_mut<'a, Owner, Public>(
    public: *mut Public,
    what: &str,
) -> Result<&'a mut Owner, CError> {
    object_mut(public.cast::<Owner>(), what)
}

/// Moves `value` to the heap and hands C the pointer; [`free`] takes it
/// back.
pub fn into_raw<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back and drops what [`into_raw`] handed out (through a pointer to
/// its first field, for an owner of a public struct). NULL does nothing.
pub fn free<T, P>(ptr: *mut P) {
    if !ptr.is_null() {
        // SAFETY: by the header's contract, made by `into_raw::<T>` and
        // not freed before.
        drop(unsafe { Box::from_raw(ptr.cast::<T>()) });
    }
}

/// Takes back and drops a string handed out by `CString::into_raw`. NULL
/// does nothing.
pub fn free_c_string(ptr: *mut c_char) {
    if !ptr.is_null() {
        // SAFETY: by the header's contract, made by `CString::into_raw` in
        // this library and not freed before.
        drop(unsafe { CString::from_raw(ptr) });
    }
}

/// Writes `value` to an out-parameter; NULL is an error.
pub fn write_out<T>(out: *mut T, value: T, what: &str) -> Result<(), CError> {
    // SAFETY: non-NULL (checked) and, by the header's contract, writable.
    match unsafe { out.as_mut() } {
        Some(slot) => {
            *slot = value;
            Ok(())
        }
        None => Err(CError::invalid_arg(format!("{what} is NULL"))),
    }
}

/// Writes `value` to an optional out-parameter (NULL: not wanted).
pub fn write_opt<T>(out: *mut T, value: T) {
    // SAFETY: as in `write_out`; NULL skipped.
    if let Some(slot) = unsafe { out.as_mut() } {
        *slot = value;
    }
}

/// Copies `text` into the caller's `errstr` buffer of `size` bytes,
/// truncated (at a character boundary) and NUL-terminated, as librdkafka
/// does. NULL or zero size: nothing is written.
pub fn write_errstr(buf: *mut c_char, size: usize, text: &str) {
    if buf.is_null() || size == 0 {
        return;
    }
    let mut len = text.len().min(size - 1);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    // SAFETY: non-NULL and, by the header's contract, `size` writable
    // bytes; `len + 1 <= size`.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), len);
        *buf.add(len) = 0;
    }
}

thread_local! {
    /// The rebalance callback running on this thread: the client it runs
    /// for and its context, while the application's callback runs.
    static REBALANCE: Cell<Option<(usize, *mut RebalanceContext<'static>)>> =
        const { Cell::new(None) };
}

/// Runs `callback` (the application's rebalance callback) with `context`
/// reachable through [`in_rebalance`] for calls about `client` made on
/// this thread meanwhile: the consumer is busy running the callback, so
/// assign, seek, position and commit called from it go to the context.
pub fn with_rebalance<R>(
    client: usize,
    context: &mut RebalanceContext<'_>,
    callback: impl FnOnce() -> R,
) -> R {
    let erased = (context as *mut RebalanceContext<'_>).cast::<RebalanceContext<'static>>();
    let outer = REBALANCE.with(|slot| slot.replace(Some((client, erased))));
    let result = catch_unwind(AssertUnwindSafe(callback));
    REBALANCE.with(|slot| slot.set(outer));
    match result {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `f` on the running rebalance callback's context, if one runs on this
/// thread for `client`.
pub fn in_rebalance<R>(client: usize, f: impl FnOnce(&mut RebalanceContext<'_>) -> R) -> Option<R> {
    let (owner, context) = REBALANCE.with(Cell::get)?;
    if owner != client {
        return None;
    }
    // SAFETY: set by `with_rebalance` from a live `&mut` for exactly the
    // duration of the callback, on this thread, and cleared before it
    // returns; the callback's calls run one at a time on this thread.
    Some(f(unsafe { &mut *context }))
}
