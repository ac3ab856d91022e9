//! `strom_conf_t`: settings by librdkafka's names, checked as they are set
//! (the client core refuses unknown keys and bad values), and the
//! callbacks a client calls.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::ffi::{c_char, c_void};

use strom_client::{ClientConfig, ClientError};

use crate::callbacks::{
    token_provider, Callbacks, DrMsgCb, ErrorCb, OauthbearerTokenCb, OffsetCommitCb, RebalanceCb,
    StatsCb,
};
use crate::error::CError;
use crate::ffi::{self, SendPtr};

/// The outcome of strom_conf_set().
pub type ConfRes = i32;
/// The setting was applied.
pub const STROM_CONF_OK: ConfRes = 0;
/// The value is not valid for the setting; `errstr` says why.
pub const STROM_CONF_INVALID: ConfRes = -1;
/// No such setting (librdkafka's and the Java client's names are known).
pub const STROM_CONF_UNKNOWN: ConfRes = -2;

/// A client configuration: settings and callbacks. Made by
/// strom_conf_new(), consumed by the strom_*_new() call that succeeds with
/// it, else freed with strom_conf_destroy(). Not thread-safe.
#[derive(Clone)]
pub struct Conf {
    /// The settings in the order they were set; a client applies them
    /// over librdkafka's defaults.
    pairs: Vec<(String, String)>,
    /// `sasl.oauthbearer.config`: handed to the token callback, not a
    /// setting of the client core.
    oauthbearer_config: String,
    pub(crate) callbacks: Callbacks,
}

impl Conf {
    /// The client config these settings make.
    pub(crate) fn client_config(&self) -> Result<ClientConfig, CError> {
        let pairs = self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let mut config = ClientConfig::librdkafka_defaults();
        if let Some(callback) = self.callbacks.oauthbearer_token {
            config.security.oauth_token_provider = Some(token_provider(
                callback,
                &self.oauthbearer_config,
                self.callbacks.opaque,
            ));
        }
        Ok(config.with_pairs(pairs)?)
    }
}

/// A new, empty configuration (librdkafka's defaults). Free it with
/// strom_conf_destroy() unless a strom_*_new() call took it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_new() -> *mut Conf {
    ffi::guard(std::ptr::null_mut(), || {
        ffi::into_raw(Conf {
            pairs: Vec::new(),
            oauthbearer_config: String::new(),
            callbacks: Callbacks::default(),
        })
    })
}

/// A copy of `conf`, settings and callbacks; NULL if `conf` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_dup(conf: *const Conf) -> *mut Conf {
    ffi::value(std::ptr::null_mut(), || {
        Ok(ffi::into_raw(ffi::object(conf, "conf")?.clone()))
    })
}

/// Frees a configuration no client took. NULL does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_destroy(conf: *mut Conf) {
    ffi::guard((), || ffi::free::<Conf, Conf>(conf));
}

/// Sets `name` to `value` (librdkafka's and the Java client's names:
/// `bootstrap.servers`, `group.id`, `acks`, `compression.type`, ...).
/// Returns STROM_CONF_OK, or STROM_CONF_UNKNOWN / STROM_CONF_INVALID with
/// the reason written to `errstr` (at most `errstr_size` bytes, always
/// NUL-terminated; `errstr` may be NULL). The setting is checked now;
/// settings that only make sense together (e.g. idempotence and acks)
/// are checked again by strom_*_new().
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set(
    conf: *mut Conf,
    name: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    errstr_size: usize,
) -> ConfRes {
    ffi::guard(STROM_CONF_INVALID, || {
        let applied = (|| {
            let conf = ffi::object_mut(conf, "conf")?;
            let name = ffi::str_arg(name, "name")?;
            let value = ffi::str_arg(value, "value")?;
            if name == "sasl.oauthbearer.config" {
                conf.oauthbearer_config = value.to_string();
                return Ok(());
            }
            // Checked against a scratch config: a bad value never lands.
            let mut scratch = ClientConfig::librdkafka_defaults();
            scratch.set(name, value)?;
            conf.pairs.push((name.to_string(), value.to_string()));
            Ok::<(), ConfError>(())
        })();
        match applied {
            Ok(()) => STROM_CONF_OK,
            Err(error) => {
                ffi::write_errstr(errstr, errstr_size, &error.message);
                crate::error::set_last(&CError::invalid_arg(error.message));
                if error.unknown {
                    STROM_CONF_UNKNOWN
                } else {
                    STROM_CONF_INVALID
                }
            }
        }
    })
}

/// Why a setting was refused.
struct ConfError {
    unknown: bool,
    message: String,
}

impl From<ClientError> for ConfError {
    fn from(error: ClientError) -> ConfError {
        ConfError {
            unknown: matches!(error, ClientError::UnknownConfig { .. }),
            message: error.to_string(),
        }
    }
}

impl From<CError> for ConfError {
    fn from(error: CError) -> ConfError {
        ConfError {
            unknown: false,
            message: error.message,
        }
    }
}

/// Sets the producer's delivery-report callback, called once per record
/// (delivered or failed) from strom_poll() and strom_flush() on the
/// calling thread. NULL removes it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_dr_msg_cb(conf: *mut Conf, dr_msg_cb: DrMsgCb) {
    with_callbacks(conf, |callbacks| callbacks.dr_msg = dr_msg_cb);
}

/// Sets the consumer's rebalance callback, called from
/// strom_consumer_poll() (and strom_consumer_close()) when partitions are
/// assigned (`err` STROM_RESP_ERR__ASSIGN_PARTITIONS) or revoked
/// (STROM_RESP_ERR__REVOKE_PARTITIONS; strom_assignment_lost() tells
/// whether they were lost). The consumer takes and gives up the
/// partitions itself; inside the callback, strom_assign() and
/// strom_incremental_assign() with offsets set where the partitions
/// start, and strom_commit() commits before the partitions go.
/// strom_assignment(), strom_position(), strom_seek(), strom_pause(),
/// strom_resume(), strom_subscription(), strom_rebalance_protocol() and
/// strom_memberid() work there too; other consumer calls (poll,
/// subscribe, committed, close) fail with STROM_RESP_ERR__STATE. NULL
/// removes it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_rebalance_cb(conf: *mut Conf, rebalance_cb: RebalanceCb) {
    with_callbacks(conf, |callbacks| callbacks.rebalance = rebalance_cb);
}

/// Sets the consumer's commit callback: the outcome of each commit
/// (automatic or strom_commit() with `async`), called from
/// strom_consumer_poll(). NULL removes it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_offset_commit_cb(
    conf: *mut Conf,
    offset_commit_cb: OffsetCommitCb,
) {
    with_callbacks(conf, |callbacks| callbacks.offset_commit = offset_commit_cb);
}

/// Sets the error callback: client-wide errors (a broker unreachable, all
/// brokers down, a subscribed topic missing), called from strom_poll() and
/// strom_consumer_poll(). Without one, a consumer returns them from
/// strom_consumer_poll() as messages with `err` set. NULL removes it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_error_cb(conf: *mut Conf, error_cb: ErrorCb) {
    with_callbacks(conf, |callbacks| callbacks.error = error_cb);
}

/// Sets the callback that gives OAUTHBEARER tokens (see
/// strom_oauthbearer_token_cb_t); without one, a client logging in with
/// OAUTHBEARER reads `sasl.oauthbearer.token.endpoint.url` (a `file:`
/// URL). NULL removes it. librdkafka's refresh callback sets the token
/// with a second call instead; this one returns it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_oauthbearer_token_cb(
    conf: *mut Conf,
    oauthbearer_token_cb: OauthbearerTokenCb,
) {
    with_callbacks(conf, |callbacks| {
        callbacks.oauthbearer_token = oauthbearer_token_cb
    });
}

/// Sets the statistics callback (librdkafka's `stats_cb`, see
/// strom_stats_cb_t): with `statistics.interval.ms` above 0, a producer or
/// consumer hands it a JSON object in librdkafka's STATISTICS.md shape
/// every interval, called from strom_poll() and strom_flush() (a
/// producer) or strom_consumer_poll() (a consumer) on the calling thread.
/// A statistics object not served before the next one is made is replaced
/// by it. NULL removes it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_stats_cb(conf: *mut Conf, stats_cb: StatsCb) {
    with_callbacks(conf, |callbacks| callbacks.stats = stats_cb);
}

/// Sets the `opaque` value every callback of the client receives.
#[unsafe(no_mangle)]
pub extern "C" fn strom_conf_set_opaque(conf: *mut Conf, opaque: *mut c_void) {
    with_callbacks(conf, |callbacks| callbacks.opaque = SendPtr(opaque));
}

fn with_callbacks(conf: *mut Conf, set: impl FnOnce(&mut Callbacks)) {
    ffi::value((), || {
        set(&mut ffi::object_mut(conf, "conf")?.callbacks);
        Ok(())
    });
}
