//! The callbacks a configuration carries, by librdkafka's shapes.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::Arc;

use strom_client::security::TokenProvider;
use strom_client::StatsCallback;

use crate::client::Client;
use crate::codes::RespErr;
use crate::ffi::SendPtr;
use crate::message::Message;
use crate::partitions::TopicPartitionList;

/// A delivery report (NULL: none): `msg` is the record (`err` 0 when delivered, with
/// its partition and offset; else why it failed) and `msg->opaque` the
/// value given to strom_produce(). `msg` is valid during the call only.
pub type DrMsgCb = Option<extern "C" fn(rk: *mut Client, msg: *const Message, opaque: *mut c_void)>;

/// A rebalance: `err` is STROM_RESP_ERR__ASSIGN_PARTITIONS or
/// STROM_RESP_ERR__REVOKE_PARTITIONS; `partitions` (valid during the call
/// only, owned by the library) the partitions concerned.
pub type RebalanceCb = Option<
    extern "C" fn(
        rk: *mut Client,
        err: RespErr,
        partitions: *mut TopicPartitionList,
        opaque: *mut c_void,
    ),
>;

/// A commit's outcome: `err` for the whole commit, `offsets` (valid
/// during the call only, owned by the library) the offsets it carried.
pub type OffsetCommitCb = Option<
    extern "C" fn(
        rk: *mut Client,
        err: RespErr,
        offsets: *mut TopicPartitionList,
        opaque: *mut c_void,
    ),
>;

/// A client-wide error: its code and, for a person, `reason` (valid during
/// the call only).
pub type ErrorCb = Option<
    extern "C" fn(rk: *mut Client, err: RespErr, reason: *const c_char, opaque: *mut c_void),
>;

/// An OAUTHBEARER token, asked for at every login (`sasl.mechanisms`
/// OAUTHBEARER): write the token, NUL-terminated, into `token` (`token_size`
/// bytes) and return 0; or write why into `errstr` (`errstr_size` bytes)
/// and return -1, which fails that login. `oauthbearer_config` is the
/// `sasl.oauthbearer.config` setting ("" when unset). Called on the
/// library's threads (several connections may log in at once), also while
/// strom_producer_new() and the others connect; it may block until it has
/// a token.
pub type OauthbearerTokenCb = Option<
    extern "C" fn(
        oauthbearer_config: *const c_char,
        token: *mut c_char,
        token_size: usize,
        errstr: *mut c_char,
        errstr_size: usize,
        opaque: *mut c_void,
    ) -> c_int,
>;

/// Statistics (librdkafka's `stats_cb`): `json` is a JSON object of
/// `json_len` bytes (NUL-terminated too) in librdkafka's STATISTICS.md
/// shape, every `statistics.interval.ms`. Return 0 and the library frees
/// `json` after the call; return 1 to keep it, and free it later with
/// strom_mem_free().
pub type StatsCb = Option<
    extern "C" fn(
        rk: *mut Client,
        json: *mut c_char,
        json_len: usize,
        opaque: *mut c_void,
    ) -> c_int,
>;

/// The callbacks of one client, and the opaque value they all receive.
#[derive(Clone, Copy, Default)]
pub struct Callbacks {
    pub dr_msg: DrMsgCb,
    pub rebalance: RebalanceCb,
    pub offset_commit: OffsetCommitCb,
    pub error: ErrorCb,
    pub oauthbearer_token: OauthbearerTokenCb,
    pub stats: StatsCb,
    pub opaque: SendPtr,
}

/// The core's statistics callback over the application's: served by
/// strom_poll(), strom_flush() and strom_consumer_poll() (the core hands
/// statistics to the client's callback queue). `handle` is the client's
/// handle once made; `alive` goes false when strom_destroy() frees it.
pub fn stats_callback(
    callback: extern "C" fn(*mut Client, *mut c_char, usize, *mut c_void) -> c_int,
    handle: Arc<AtomicPtr<Client>>,
    alive: Arc<AtomicBool>,
    opaque: SendPtr,
) -> StatsCallback {
    StatsCallback::new(move |json| {
        let rk = handle.load(Ordering::Acquire);
        if rk.is_null() || !alive.load(Ordering::Acquire) {
            return;
        }
        let len = json.len();
        let Ok(json) = CString::new(json) else {
            return;
        };
        let json = json.into_raw();
        let kept = crate::ffi::guard(0, || callback(rk, json, len, opaque.get()));
        if kept != 1 {
            crate::ffi::free_c_string(json);
        }
    })
}

/// Longest token the callback may write, with its NUL.
const MAX_TOKEN: usize = 64 * 1024;

/// The core's token provider over the application's C callback.
pub fn token_provider(
    callback: extern "C" fn(
        *const c_char,
        *mut c_char,
        usize,
        *mut c_char,
        usize,
        *mut c_void,
    ) -> c_int,
    oauthbearer_config: &str,
    opaque: SendPtr,
) -> TokenProvider {
    let config = CString::new(oauthbearer_config.replace('\0', " ")).unwrap_or_default();
    TokenProvider::from_fn(move || {
        let mut token = vec![0u8; MAX_TOKEN];
        let mut errstr = vec![0u8; 512];
        let outcome = callback(
            config.as_ptr(),
            token.as_mut_ptr().cast(),
            token.len(),
            errstr.as_mut_ptr().cast(),
            errstr.len(),
            opaque.get(),
        );
        let text = |buf: &[u8]| {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        };
        match outcome {
            0 => Ok(text(&token)),
            _ => Err(text(&errstr)),
        }
    })
}
