//! `strom_message_t` (a consumed record, a delivery report, or an error
//! event) and `strom_headers_t`.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Arc;

use bytes::Bytes;
use strom_client::ConsumerRecord;

use crate::codes::{RespErr, STROM_RESP_ERR_NO_ERROR};
use crate::error::CError;
use crate::ffi;
use strom_client::error::local;

/// A record, as strom_consumer_poll() returns it and delivery reports
/// show it, or an event (`err` set) such as a partition end or an error.
/// The fields are read-only. A message from strom_consumer_poll() is the
/// caller's: free it with strom_message_destroy(); one passed to a
/// callback is valid during the call only.
#[repr(C)]
pub struct Message {
    /// 0 for a record; else what this message reports
    /// (STROM_RESP_ERR__PARTITION_EOF, a delivery failure, an error),
    /// with strom_message_errstr() saying more.
    pub err: RespErr,
    /// The topic (NUL-terminated), or NULL for an error about no topic.
    pub topic: *const c_char,
    /// The partition, or -1.
    pub partition: i32,
    /// The value: `len` bytes, or NULL for a null value. For an error
    /// message, the error string (as librdkafka does).
    pub payload: *const c_void,
    pub len: usize,
    /// The key: `key_len` bytes, or NULL for a null key.
    pub key: *const c_void,
    pub key_len: usize,
    /// The record's offset (a delivery report's: where it was written;
    /// -1 when unknown, e.g. with acks=0). For STROM_RESP_ERR__PARTITION_EOF,
    /// the end offset.
    pub offset: i64,
    /// Milliseconds since the epoch (create or log-append time), -1 if none.
    pub timestamp: i64,
    /// A delivery report's `opaque` given to strom_produce(); NULL otherwise.
    pub opaque: *mut c_void,
}

/// A message and what its pointers point into.
#[repr(C)]
pub(crate) struct OwnedMessage {
    public: Message,
    topic: Option<Arc<CStr>>,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Option<Headers>,
    errstr: Option<CString>,
}

impl OwnedMessage {
    fn blank(err: RespErr, topic: Option<Arc<CStr>>, partition: i32, offset: i64) -> OwnedMessage {
        OwnedMessage {
            public: Message {
                err,
                topic: std::ptr::null(),
                partition,
                payload: std::ptr::null(),
                len: 0,
                key: std::ptr::null(),
                key_len: 0,
                offset,
                timestamp: -1,
                opaque: std::ptr::null_mut(),
            },
            topic,
            key: None,
            value: None,
            headers: None,
            errstr: None,
        }
    }

    /// Points the public fields at the owned data (heap buffers, which
    /// stay put when the message moves).
    fn finish(mut self) -> OwnedMessage {
        let public = &mut self.public;
        public.topic = self.topic.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
        if let Some(key) = &self.key {
            public.key = key.as_ptr().cast();
            public.key_len = key.len();
        }
        if let Some(value) = &self.value {
            public.payload = value.as_ptr().cast();
            public.len = value.len();
        } else if let Some(errstr) = &self.errstr {
            public.payload = errstr.as_ptr().cast();
            public.len = errstr.as_bytes().len();
        }
        self
    }

    /// A record where it is (or was just written) in its partition.
    fn placed(topic: Arc<CStr>, partition: i32, offset: i64, timestamp: i64) -> OwnedMessage {
        let mut message =
            OwnedMessage::blank(STROM_RESP_ERR_NO_ERROR, Some(topic), partition, offset);
        message.public.timestamp = timestamp;
        message
    }

    /// A consumed record.
    pub fn consumed(record: ConsumerRecord, topic: Arc<CStr>) -> OwnedMessage {
        let mut message =
            OwnedMessage::placed(topic, record.partition, record.offset, record.timestamp);
        message.hold(record.key, record.value, record.headers);
        message.finish()
    }

    /// Keeps a record's key, value and headers (none: no headers object).
    fn hold(
        &mut self,
        key: Option<Bytes>,
        value: Option<Bytes>,
        headers: Vec<(String, Option<Bytes>)>,
    ) {
        self.key = key;
        self.value = value;
        if !headers.is_empty() {
            self.headers = Some(Headers::from_pairs(headers));
        }
    }

    /// An event or error; `place` is the partition it is about, if any.
    pub fn event(error: &CError, place: Option<(Arc<CStr>, i32, i64)>) -> OwnedMessage {
        let (topic, partition, offset) = match place {
            Some((topic, partition, offset)) => (Some(topic), partition, offset),
            None => (None, -1, -1),
        };
        let mut message = OwnedMessage::blank(error.code, topic, partition, offset);
        message.errstr = Some(error_text(error));
        message.finish()
    }

    /// A delivery report: where the record went, or why it failed (with
    /// the record's key, value and headers, as the producer gives them
    /// back).
    pub fn delivery(
        topic: Arc<CStr>,
        outcome: strom_client::DeliveryResult,
        opaque: *mut c_void,
    ) -> OwnedMessage {
        let mut message = match outcome {
            Ok(delivered) => OwnedMessage::placed(
                topic,
                delivered.partition,
                delivered.offset,
                delivered.timestamp,
            ),
            Err(failed) => {
                let error = CError::from(&failed.error);
                let mut message = OwnedMessage::blank(error.code, Some(topic), -1, -1);
                message.errstr = Some(error_text(&error));
                if let Some(record) = failed.record {
                    message.public.partition = record.partition.unwrap_or(-1);
                    message.public.timestamp = record.timestamp.unwrap_or(-1);
                    message.hold(record.key, record.value, record.headers);
                }
                message
            }
        };
        message.public.opaque = opaque;
        message.finish()
    }

    pub fn public(&self) -> &Message {
        &self.public
    }

    /// Hands the message to C; strom_message_destroy() frees it.
    pub fn into_raw(self) -> *mut Message {
        ffi::into_raw(self).cast()
    }
}

/// An error's message as a C string (a NUL inside becomes a space).
fn error_text(error: &CError) -> CString {
    CString::new(error.message.replace('\0', " ")).unwrap_or_default()
}

/// Frees a message strom_consumer_poll() returned. NULL does nothing.
/// Never call it on a message passed to a callback.
#[unsafe(no_mangle)]
pub extern "C" fn strom_message_destroy(msg: *mut Message) {
    ffi::guard((), || ffi::free::<OwnedMessage, Message>(msg));
}

/// For a message with `err` set, what went wrong (NUL-terminated; valid
/// as long as the message); "" for a record.
#[unsafe(no_mangle)]
pub extern "C" fn strom_message_errstr(msg: *const Message) -> *const c_char {
    ffi::guard(c"".as_ptr(), || {
        let owned = ffi::owner::<OwnedMessage, Message>(msg, "msg");
        match owned.ok().and_then(|owned| owned.errstr.as_ref()) {
            Some(errstr) => errstr.as_ptr(),
            None => c"".as_ptr(),
        }
    })
}

/// Sets `*hdrsp` to the message's headers, owned by the message (do not
/// destroy them; valid as long as the message). Returns
/// STROM_RESP_ERR__NOENT if it has none.
#[unsafe(no_mangle)]
pub extern "C" fn strom_message_headers(
    msg: *const Message,
    hdrsp: *mut *const Headers,
) -> RespErr {
    ffi::status(|| {
        let owned = ffi::owner::<OwnedMessage, Message>(msg, "msg")?;
        let headers = owned
            .headers
            .as_ref()
            .ok_or_else(|| CError::new(local::NOENT, "the message has no headers"))?;
        ffi::write_out(hdrsp, headers as *const Headers, "hdrsp")
    })
}

/// Record headers: an ordered list of (name, value) pairs; a name may
/// repeat and a value may be NULL. Made by strom_headers_new() (free with
/// strom_headers_destroy()) or owned by a message. Not thread-safe.
#[derive(Clone)]
pub struct Headers {
    entries: Vec<Header>,
}

#[derive(Clone)]
struct Header {
    name: CString,
    value: Option<Bytes>,
}

impl Headers {
    pub(crate) fn from_pairs(pairs: Vec<(String, Option<Bytes>)>) -> Headers {
        let entries = pairs
            .into_iter()
            .map(|(name, value)| Header {
                name: CString::new(name.replace('\0', " ")).unwrap_or_default(),
                value,
            })
            .collect();
        Headers { entries }
    }

    /// The headers as the producer takes them.
    pub(crate) fn as_refs(&self) -> Vec<(&str, Option<&[u8]>)> {
        self.entries
            .iter()
            .map(|header| {
                let name = header.name.to_str().unwrap_or_default();
                (name, header.value.as_deref())
            })
            .collect()
    }
}

/// A new, empty header list with room for `initial_count` headers. Free it
/// with strom_headers_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_headers_new(initial_count: usize) -> *mut Headers {
    ffi::guard(std::ptr::null_mut(), || {
        ffi::into_raw(Headers {
            entries: Vec::with_capacity(initial_count.min(1024)),
        })
    })
}

/// Frees headers made by strom_headers_new() or strom_headers_copy().
/// NULL does nothing. Never call it on a message's headers.
#[unsafe(no_mangle)]
pub extern "C" fn strom_headers_destroy(hdrs: *mut Headers) {
    ffi::guard((), || ffi::free::<Headers, Headers>(hdrs));
}

/// A copy of `hdrs` (a message's included), to free with
/// strom_headers_destroy(); NULL if `hdrs` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn strom_headers_copy(hdrs: *const Headers) -> *mut Headers {
    ffi::value(std::ptr::null_mut(), || {
        Ok(ffi::into_raw(ffi::object(hdrs, "hdrs")?.clone()))
    })
}

/// Appends a header: `name` of `name_size` bytes (-1: NUL-terminated) and
/// `value` of `value_size` bytes (-1: NUL-terminated; `value` NULL: a
/// null value). Both are copied.
#[unsafe(no_mangle)]
pub extern "C" fn strom_header_add(
    hdrs: *mut Headers,
    name: *const c_char,
    name_size: isize,
    value: *const c_void,
    value_size: isize,
) -> RespErr {
    ffi::status(|| {
        let hdrs = ffi::object_mut(hdrs, "hdrs")?;
        if name.is_null() {
            return Err(CError::invalid_arg("header name is NULL"));
        }
        let name_bytes = sized(name.cast(), name_size, "name_size")?.unwrap_or_default();
        let name = std::str::from_utf8(name_bytes)
            .ok()
            .and_then(|name| CString::new(name).ok())
            .ok_or_else(|| CError::invalid_arg("header name is not UTF-8 text without NUL"))?;
        let value = sized(value, value_size, "value_size")?.map(Bytes::copy_from_slice);
        hdrs.entries.push(Header { name, value });
        Ok(())
    })
}

/// Bytes given with a size, -1 meaning NUL-terminated.
fn sized<'a>(ptr: *const c_void, size: isize, what: &str) -> Result<Option<&'a [u8]>, CError> {
    let len = match size {
        -1 => ffi::c_strlen(ptr),
        size => usize::try_from(size)
            .map_err(|_| CError::invalid_arg(format!("{what} must be -1 or a length")))?,
    };
    Ok(ffi::bytes_arg(ptr, len))
}

/// How many headers `hdrs` holds (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn strom_header_cnt(hdrs: *const Headers) -> usize {
    ffi::guard(0, || {
        ffi::object(hdrs, "hdrs").map_or(0, |h| h.entries.len())
    })
}

/// The header at `idx`: `*namep` (NUL-terminated), `*valuep` (NULL for a
/// null value) and `*sizep`, owned by `hdrs`. STROM_RESP_ERR__NOENT past
/// the end.
#[unsafe(no_mangle)]
pub extern "C" fn strom_header_get_all(
    hdrs: *const Headers,
    idx: usize,
    namep: *mut *const c_char,
    valuep: *mut *const c_void,
    sizep: *mut usize,
) -> RespErr {
    ffi::status(|| {
        let hdrs = ffi::object(hdrs, "hdrs")?;
        let header = hdrs
            .entries
            .get(idx)
            .ok_or_else(|| CError::new(local::NOENT, format!("no header at index {idx}")))?;
        write_header(header, valuep, sizep)?;
        ffi::write_out(namep, header.name.as_ptr(), "namep")
    })
}

/// The value of the last header named `name`, as strom_header_get_all()
/// gives it. STROM_RESP_ERR__NOENT if there is none.
#[unsafe(no_mangle)]
pub extern "C" fn strom_header_get_last(
    hdrs: *const Headers,
    name: *const c_char,
    valuep: *mut *const c_void,
    sizep: *mut usize,
) -> RespErr {
    ffi::status(|| {
        let hdrs = ffi::object(hdrs, "hdrs")?;
        let name = ffi::str_arg(name, "name")?;
        let header = hdrs
            .entries
            .iter()
            .rev()
            .find(|h| h.name.to_bytes() == name.as_bytes())
            .ok_or_else(|| CError::new(local::NOENT, format!("no header named `{name}`")))?;
        write_header(header, valuep, sizep)
    })
}

fn write_header(
    header: &Header,
    valuep: *mut *const c_void,
    sizep: *mut usize,
) -> Result<(), CError> {
    let (value, size) = match &header.value {
        Some(value) => (value.as_ptr().cast::<c_void>(), value.len()),
        None => (std::ptr::null(), 0),
    };
    ffi::write_out(valuep, value, "valuep")?;
    ffi::write_opt(sizep, size);
    Ok(())
}
