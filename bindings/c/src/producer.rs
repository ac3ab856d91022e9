//! The producer: strom_producer_new(), strom_produce(), delivery reports
//! served by strom_poll() and strom_flush(), strom_outq_len().
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_int, c_void};

use strom_client::{blocking, CallbackQueue, ClientConfig, RecordRef};

use crate::client::{timeout, Client, Role};
use crate::codes::RespErr;
use crate::conf::Conf;
use crate::error::CError;
use crate::ffi::{self, SendPtr};
use crate::message::{Headers, OwnedMessage};
use crate::partitions::STROM_PARTITION_UA;

/// A producer made from `conf`. On success it owns `conf` (do not destroy
/// it); on failure it returns NULL, writes why to `errstr` (at most
/// `errstr_size` bytes, NUL-terminated; may be NULL) and `conf` is still
/// the caller's. It connects to the cluster before it returns (bounded by
/// default.api.timeout.ms): with no broker reachable it fails, naming the
/// addresses it tried. Free it with strom_destroy().
#[unsafe(no_mangle)]
pub extern "C" fn strom_producer_new(
    conf: *mut Conf,
    errstr: *mut c_char,
    errstr_size: usize,
) -> *mut Client {
    ffi::guard(std::ptr::null_mut(), || {
        let build = |config: &ClientConfig| {
            let producer =
                blocking::Producer::with_callback_queue(config.clone(), CallbackQueue::new())?;
            Ok(Role::Producer(producer))
        };
        Client::make(conf, errstr, errstr_size, build, |_| Ok(()))
    })
}

/// Queues one record for `topic` and returns at once; its delivery report
/// comes later from strom_poll() or strom_flush(). `partition` is a
/// partition or STROM_PARTITION_UA (the partitioner picks: murmur2 of the
/// key as librdkafka's consistent_random). `key`/`payload` (NULL: null)
/// and the headers `hdrs` (NULL: none) are copied; the caller keeps them.
/// `timestamp` is milliseconds since the epoch, 0 for now. `opaque` comes
/// back in the delivery report as `msg->opaque`.
///
/// Returns STROM_RESP_ERR_NO_ERROR, or without queueing:
/// STROM_RESP_ERR__QUEUE_FULL (the queue is full: serve delivery reports
/// with strom_poll() and try again), STROM_RESP_ERR__INVALID_ARG,
/// STROM_RESP_ERR_MSG_SIZE_TOO_LARGE, STROM_RESP_ERR__DESTROY (closed).
#[allow(clippy::too_many_arguments)] // librdkafka's produce call, flat
#[unsafe(no_mangle)]
pub extern "C" fn strom_produce(
    rk: *mut Client,
    topic: *const c_char,
    partition: i32,
    key: *const c_void,
    key_len: usize,
    payload: *const c_void,
    len: usize,
    hdrs: *const Headers,
    timestamp: i64,
    opaque: *mut c_void,
) -> RespErr {
    ffi::status(|| {
        let client = ffi::object(rk, "rk")?;
        let producer = client.producer("strom_produce")?;
        let topic = ffi::str_arg(topic, "topic")?;
        if partition < STROM_PARTITION_UA {
            return Err(CError::invalid_arg(format!(
                "partition {partition} is neither a partition nor STROM_PARTITION_UA"
            )));
        }
        if timestamp < 0 {
            return Err(CError::invalid_arg(
                "timestamp must be 0 (now) or milliseconds since the epoch",
            ));
        }
        let headers = match hdrs.is_null() {
            true => Vec::new(),
            false => ffi::object(hdrs, "hdrs")?.as_refs(),
        };
        let record = RecordRef {
            topic,
            partition: (partition != STROM_PARTITION_UA).then_some(partition),
            key: ffi::bytes_arg(key, key_len),
            value: ffi::bytes_arg(payload, len),
            headers: &headers,
            timestamp: (timestamp != 0).then_some(timestamp),
        };
        let queued = match client.callbacks.dr_msg {
            Some(dr_msg_cb) => {
                let report = DeliveryReport {
                    alive: client.alive.clone(),
                    rk: SendPtr(client.as_ptr().cast()),
                    topic: client.topic_name(topic),
                    msg_opaque: SendPtr(opaque),
                    app_opaque: client.callbacks.opaque,
                    dr_msg_cb: Some(dr_msg_cb),
                };
                producer.try_send_ref_with_callback(record, move |outcome| report.deliver(outcome))
            }
            None => producer.try_send_ref(record),
        };
        queued.map_err(|failed| CError::from(failed.error))
    })
}

/// What a record's delivery callback needs, carried to the thread that
/// serves it.
struct DeliveryReport {
    /// The handle is still there (see `Client::alive`).
    alive: std::sync::Arc<std::sync::atomic::AtomicBool>,
    rk: SendPtr,
    topic: std::sync::Arc<std::ffi::CStr>,
    msg_opaque: SendPtr,
    app_opaque: SendPtr,
    dr_msg_cb: crate::callbacks::DrMsgCb,
}

impl DeliveryReport {
    fn deliver(self, outcome: strom_client::DeliveryResult) {
        if !self.alive.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let message = OwnedMessage::delivery(self.topic, outcome, self.msg_opaque.get());
        // A panic must not unwind out of the application's callback's
        // caller either; the guard only records it.
        if let Some(dr_msg_cb) = self.dr_msg_cb {
            ffi::guard((), || {
                dr_msg_cb(
                    self.rk.get().cast(),
                    message.public(),
                    self.app_opaque.get(),
                );
            });
        }
    }
}

/// Sends everything queued and waits until every record produced so far
/// is delivered or failed, at most `timeout_ms` (negative: no limit),
/// serving delivery reports meanwhile. STROM_RESP_ERR__TIMED_OUT if records
/// are still outstanding (strom_outq_len() says how many).
#[unsafe(no_mangle)]
pub extern "C" fn strom_flush(rk: *mut Client, timeout_ms: c_int) -> RespErr {
    ffi::status(|| {
        let client = ffi::object(rk, "rk")?;
        let producer = client.producer("strom_flush")?;
        client.serve_errors();
        producer.flush(timeout(timeout_ms))?;
        Ok(())
    })
}

/// Records not yet delivered or failed, plus delivery reports not yet
/// served: 0 once strom_flush() has returned successfully. -1 for a
/// handle that is not a producer.
#[unsafe(no_mangle)]
pub extern "C" fn strom_outq_len(rk: *mut Client) -> c_int {
    ffi::value(-1, || {
        let queued = ffi::object(rk, "rk")?
            .producer("strom_outq_len")?
            .outq_len();
        Ok(c_int::try_from(queued).unwrap_or(c_int::MAX))
    })
}
