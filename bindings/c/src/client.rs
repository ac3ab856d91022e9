//! `strom_t`: one handle for a producer, a consumer or an admin client,
//! as librdkafka's `rd_kafka_t`; admin calls work on any of them.
#![allow(unsafe_code)] // `#[no_mangle]` only; unsafe blocks live in ffi.rs

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use strom_client::{blocking, ClientConfig, ClientError};

use crate::callbacks::{stats_callback, Callbacks};
use crate::conf::Conf;
use crate::error::CError;
use crate::ffi;
use crate::message::OwnedMessage;

/// A client handle: made by strom_producer_new(), strom_consumer_new() or
/// strom_admin_new(), freed by strom_destroy(). Thread-safe.
pub struct Client {
    pub(crate) role: Role,
    pub(crate) config: ClientConfig,
    pub(crate) callbacks: Callbacks,
    /// The admin client behind admin calls on a producer or consumer,
    /// made on the first such call.
    admin: OnceLock<blocking::AdminClient>,
    topics: TopicNames,
    /// Events a consumer returns from strom_consumer_poll() before
    /// records: errors (without an error callback) and partition ends.
    pub(crate) pending: Mutex<VecDeque<OwnedMessage>>,
    /// Whether the last revoke was a loss (strom_assignment_lost()).
    pub(crate) lost: AtomicBool,
    /// The topics and `^` patterns of the last strom_subscribe(), as given
    /// (strom_subscription() returns them, as librdkafka does).
    pub(crate) subscribed: Mutex<Vec<String>>,
    /// False once strom_destroy() has closed the client: an outcome that
    /// arrives later (a record still in flight when the close timed out)
    /// no longer calls the application, whose handle is gone.
    pub(crate) alive: Arc<AtomicBool>,
}

pub(crate) enum Role {
    Producer(blocking::Producer),
    Consumer(blocking::Consumer),
    Admin(blocking::AdminClient),
}

impl Client {
    /// The key for this handle in the rebalance context (see ffi.rs).
    pub(crate) fn address(&self) -> usize {
        self as *const Client as usize
    }

    /// The handle as its callbacks receive it.
    pub(crate) fn as_ptr(&self) -> *mut Client {
        (self as *const Client).cast_mut()
    }

    pub(crate) fn producer(&self, call: &str) -> Result<&blocking::Producer, CError> {
        match &self.role {
            Role::Producer(producer) => Ok(producer),
            _ => Err(CError::state(format!(
                "{call} needs a producer handle (made by strom_producer_new)"
            ))),
        }
    }

    pub(crate) fn consumer(&self, call: &str) -> Result<&blocking::Consumer, CError> {
        match &self.role {
            Role::Consumer(consumer) => Ok(consumer),
            _ => Err(CError::state(format!(
                "{call} needs a consumer handle (made by strom_consumer_new)"
            ))),
        }
    }

    /// The admin client, bounded by `timeout` per call.
    pub(crate) fn admin(&self, timeout: Duration) -> Result<blocking::AdminClient, CError> {
        let mut admin = match &self.role {
            Role::Admin(admin) => admin.clone(),
            _ => match self.admin.get() {
                Some(admin) => admin.clone(),
                None => {
                    let made = blocking::AdminClient::new(self.config.clone())?;
                    self.admin.get_or_init(|| made).clone()
                }
            },
        };
        admin.set_api_timeout(timeout);
        Ok(admin)
    }

    /// The topic's name as a C string, shared by its messages.
    pub(crate) fn topic_name(&self, topic: &str) -> Arc<CStr> {
        self.topics.get(topic)
    }

    pub(crate) fn pending(&self) -> MutexGuard<'_, VecDeque<OwnedMessage>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands client-wide errors to the error callback or, for a consumer
    /// without one, to strom_consumer_poll() as messages. Returns how many
    /// callbacks ran.
    pub(crate) fn serve_errors(&self) -> usize {
        let errors: Vec<ClientError> = match &self.role {
            Role::Producer(producer) => producer.take_errors(),
            Role::Consumer(consumer) => consumer.take_errors(),
            Role::Admin(admin) => admin.take_errors(),
        };
        match self.callbacks.error {
            Some(error_cb) => {
                for error in &errors {
                    let reason =
                        CString::new(error.to_string().replace('\0', " ")).unwrap_or_default();
                    error_cb(
                        self.as_ptr(),
                        error.code(),
                        reason.as_ptr(),
                        self.callbacks.opaque.get(),
                    );
                }
                errors.len()
            }
            None => {
                if matches!(self.role, Role::Consumer(_)) {
                    let mut pending = self.pending();
                    for error in &errors {
                        pending.push_back(OwnedMessage::event(&CError::from(error), None));
                    }
                }
                0
            }
        }
    }

    /// Makes a client from `conf`: `build` makes its role, then `attach`
    /// (given the client at its final address, for callbacks that need
    /// the handle) finishes it. On success the client owns the
    /// configuration (it is freed); on failure the caller still does.
    pub(crate) fn make(
        conf: *mut Conf,
        errstr: *mut c_char,
        errstr_size: usize,
        build: impl FnOnce(&ClientConfig) -> Result<Role, CError>,
        attach: impl FnOnce(&Client) -> Result<(), CError>,
    ) -> *mut Client {
        let made = (|| {
            let conf_ref = ffi::object(conf, "conf")?;
            let mut config = conf_ref.client_config()?;
            let alive = Arc::new(AtomicBool::new(true));
            // The statistics callback gets the handle, made below.
            let handle = Arc::new(AtomicPtr::new(std::ptr::null_mut()));
            if let Some(callback) = conf_ref.callbacks.stats {
                config.stats_callback = Some(stats_callback(
                    callback,
                    handle.clone(),
                    alive.clone(),
                    conf_ref.callbacks.opaque,
                ));
            }
            let role = build(&config)?;
            let rk = ffi::into_raw(Client {
                role,
                config,
                callbacks: conf_ref.callbacks,
                admin: OnceLock::new(),
                topics: TopicNames::default(),
                pending: Mutex::new(VecDeque::new()),
                lost: AtomicBool::new(false),
                subscribed: Mutex::new(Vec::new()),
                alive,
            });
            handle.store(rk, Ordering::Release);
            match attach(ffi::object(rk, "rk")?) {
                Ok(()) => Ok(rk),
                Err(error) => {
                    strom_destroy(rk, 0);
                    Err(error)
                }
            }
        })();
        match made {
            Ok(rk) => {
                ffi::free::<Conf, Conf>(conf);
                rk
            }
            Err(error) => {
                ffi::write_errstr(errstr, errstr_size, &error.message);
                crate::error::set_last(&error);
                std::ptr::null_mut()
            }
        }
    }
}

/// Topic names as C strings, one per topic for the handle's life; the
/// last one asked for is found again without hashing (consecutive
/// records mostly share a topic).
#[derive(Default)]
struct TopicNames(Mutex<TopicNameCache>);

#[derive(Default)]
struct TopicNameCache {
    last: Option<(Arc<str>, Arc<CStr>)>,
    all: HashMap<Arc<str>, Arc<CStr>>,
}

impl TopicNames {
    fn get(&self, topic: &str) -> Arc<CStr> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((name, c_name)) = &cache.last {
            if **name == *topic {
                return c_name.clone();
            }
        }
        let (name, c_name) = match cache.all.get_key_value(topic) {
            Some((name, c_name)) => (name.clone(), c_name.clone()),
            None => {
                let c_name: Arc<CStr> = CString::new(topic.replace('\0', " "))
                    .unwrap_or_default()
                    .into();
                let name: Arc<str> = Arc::from(topic);
                cache.all.insert(name.clone(), c_name.clone());
                (name, c_name)
            }
        };
        cache.last = Some((name, c_name.clone()));
        c_name
    }
}

/// A C timeout in milliseconds: negative waits without limit (a century).
pub(crate) fn timeout(ms: c_int) -> Duration {
    match u64::try_from(ms) {
        Ok(ms) => Duration::from_millis(ms),
        Err(_) => Duration::from_secs(100 * 365 * 24 * 3600),
    }
}

/// Closes the client and frees the handle, waiting at most `timeout_ms`
/// (negative: until done): a producer delivers what is queued (records
/// not sent by then fail with STROM_RESP_ERR__DESTROY, and their delivery
/// reports run here; a record still awaiting its broker's answer at the
/// timeout gets no report); a consumer commits (with enable.auto.commit),
/// runs its revoke callback and leaves its group (at the timeout, the
/// group's session timeout removes it instead). NULL does nothing. It must
/// be the handle's last call: no other thread may use the handle meanwhile
/// or after, and none of its callbacks may call it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_destroy(rk: *mut Client, timeout_ms: c_int) {
    ffi::guard((), || {
        let Ok(client) = ffi::object(rk, "rk") else {
            return;
        };
        // Bounded by the timeout itself: a close still waiting then (for
        // a broker that does not answer) is dropped. The close's own wait
        // ends a tenth earlier, leaving it time to fail what is unsent.
        let bound = timeout(timeout_ms);
        let wait = bound.saturating_sub(bound / 10);
        let setting = "the strom_destroy timeout";
        let closed = match &client.role {
            Role::Producer(producer) => {
                let closing = producer.as_async().close(wait);
                let closed =
                    producer
                        .runtime()
                        .block_on("closing the producer", bound, setting, closing);
                producer.poll(Duration::ZERO);
                closed
            }
            Role::Consumer(consumer) => {
                let closing = consumer.as_async().close(wait);
                consumer
                    .runtime()
                    .block_on("closing the consumer", bound, setting, closing)
            }
            Role::Admin(_) => Ok(()),
        };
        if let Err(error) = closed {
            crate::error::set_last(&CError::from(error));
        }
        client.alive.store(false, Ordering::Release);
        ffi::free::<Client, Client>(rk);
    });
}

/// Serves the handle's callbacks on the calling thread: a producer's
/// delivery reports and statistics (waiting up to `timeout_ms` for the
/// first) and the error callback. Returns how many callbacks ran. For a
/// consumer, call strom_consumer_poll() instead.
#[unsafe(no_mangle)]
pub extern "C" fn strom_poll(rk: *mut Client, timeout_ms: c_int) -> c_int {
    ffi::value(0, || {
        let client = ffi::object(rk, "rk")?;
        let errors = client.serve_errors();
        let reports = match &client.role {
            Role::Producer(producer) => producer.poll(timeout(timeout_ms)),
            _ => 0,
        };
        Ok(c_int::try_from(errors + reports).unwrap_or(c_int::MAX))
    })
}

/// The library's version, e.g. "0.1.0". Static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn strom_version_str() -> *const c_char {
    static VERSION: OnceLock<CString> = OnceLock::new();
    VERSION
        .get_or_init(|| CString::new(env!("CARGO_PKG_VERSION")).unwrap_or_default())
        .as_ptr()
}

/// Stops the library's background threads (the client runtime), waiting
/// at most `timeout_ms`; call it at exit after destroying every handle.
/// Handles made afterwards start them again.
#[unsafe(no_mangle)]
pub extern "C" fn strom_shutdown(timeout_ms: c_int) {
    ffi::guard((), || {
        strom_client::ClientRuntime::shutdown_shared(timeout(timeout_ms));
    });
}
