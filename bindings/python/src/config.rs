//! A confluent-kafka configuration dict as the client core takes it:
//! settings as `key = value` strings under librdkafka's names (the core
//! refuses unknown keys), and the Python callables that librdkafka takes
//! in the same dict (`error_cb`, `on_delivery`, `logger`, ...) kept apart.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use strom_client::security::TokenProvider;
use strom_client::{ClientConfig, StatsCallback};

use crate::errors::IntoPyResult;
use crate::producer::CallbackFailure;

/// The callables a configuration may carry, by confluent-kafka's names.
#[derive(Default)]
pub struct Callbacks {
    /// `error_cb(KafkaError)`: client-wide errors.
    pub error_cb: Option<Py<PyAny>>,
    /// `on_delivery(err, msg)` / `delivery.report.cb`: the producer's
    /// default delivery callback.
    pub on_delivery: Option<Py<PyAny>>,
    /// `on_commit(err, partitions)`: the consumer's commit callback.
    pub on_commit: Option<Py<PyAny>>,
    /// `logger`: a `logging.Logger` for the client's log lines.
    pub logger: Option<Py<PyAny>>,
    /// `stats_cb(json_str)`: librdkafka's statistics every
    /// `statistics.interval.ms`, from the core (see [`Callbacks::stats`]);
    /// the `Producer` and `Consumer` call it from `poll()` (and
    /// `flush()`, `consume()`), as confluent-kafka does.
    pub stats_cb: Option<Py<PyAny>>,
    /// `throttle_cb`: accepted, never called (no throttle reports yet).
    pub throttle_cb: Option<Py<PyAny>>,
}

impl Callbacks {
    /// `stats_cb` as the core's statistics callback: the core hands it to
    /// the client's callback queue, so it runs on the thread serving that
    /// queue (`poll()` and the like), with the GIL taken for the call;
    /// what it raises is kept in `failure`, for that call to raise.
    pub fn stats(&self, py: Python<'_>, failure: &CallbackFailure) -> Option<StatsCallback> {
        let callback = self.stats_cb.as_ref()?.clone_ref(py);
        let failure = failure.clone();
        Some(StatsCallback::new(move |json| {
            Python::attach(|py| {
                if let Err(raised) = callback.call1(py, (json,)) {
                    failure.keep(raised);
                }
            })
        }))
    }
}

/// Splits `conf` (and keyword arguments, which confluent-kafka merges into
/// it) into the core's config and the callables; every client's
/// constructor starts here.
pub fn parse(
    py: Python<'_>,
    conf: Option<&Bound<'_, PyDict>>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<(ClientConfig, Callbacks)> {
    // A client is being made: its log lines go to `logging` from now on.
    crate::logging::ensure_installed(py)?;
    let py_dicts = conf.into_iter().chain(kwargs);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut callbacks = Callbacks::default();
    let mut oauth_cb: Option<Py<PyAny>> = None;
    let mut oauth_config = String::new();
    for dict in py_dicts {
        for (key, value) in dict.iter() {
            let key: String = key.extract()?;
            // OAUTHBEARER's token callback, and the string librdkafka
            // hands it (`sasl.oauthbearer.config`).
            if key == "oauth_cb" {
                oauth_cb = Some(value.unbind());
                continue;
            }
            if key == "sasl.oauthbearer.config" {
                oauth_config = setting_text(&value)?;
                continue;
            }
            let slot = match key.as_str() {
                "error_cb" => Some(&mut callbacks.error_cb),
                "on_delivery" | "delivery.report.cb" | "dr_msg_cb" | "dr_cb" => {
                    Some(&mut callbacks.on_delivery)
                }
                "on_commit" | "offset_commit_cb" => Some(&mut callbacks.on_commit),
                "logger" => Some(&mut callbacks.logger),
                "stats_cb" => Some(&mut callbacks.stats_cb),
                "throttle_cb" => Some(&mut callbacks.throttle_cb),
                _ => None,
            };
            match slot {
                Some(slot) => *slot = Some(value.unbind()),
                None => pairs.push((key, setting_text(&value)?)),
            }
        }
    }
    // confluent-kafka's users get librdkafka's defaults (its partitioner,
    // its batch and queue sizes), so a program moved over keeps its keys on
    // the same partitions.
    let mut config = ClientConfig::librdkafka_defaults();
    if let Some(callback) = oauth_cb {
        config.security.oauth_token_provider = Some(token_provider(callback, oauth_config));
    }
    let config = config.with_pairs(pairs).into_py_result(py)?;
    if !config.debug.is_empty() {
        // librdkafka's `debug`: the client's debug lines are logged.
        let logger = py
            .import("logging")?
            .call_method1("getLogger", ("strom",))?;
        logger.call_method1("setLevel", (crate::logging::DEBUG,))?;
        crate::logging::set_log_level(Some(i64::from(crate::logging::DEBUG)));
    }
    Ok((config, callbacks))
}

/// A setting's value as librdkafka reads it: booleans as `true`/`false`,
/// everything else by `str()`.
fn setting_text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_instance_of::<PyBool>() {
        let flag: bool = value.extract()?;
        return Ok(if flag { "true" } else { "false" }.to_string());
    }
    Ok(value.str()?.to_string())
}

/// confluent-kafka's `oauth_cb(oauthbearer_config)`, which returns
/// `(token, expiry_seconds)` (and optionally a principal and extensions,
/// which the broker reads from the token itself): asked for a token at
/// every login, on the client's runtime, holding the GIL only for the call.
fn token_provider(callback: Py<PyAny>, oauth_config: String) -> TokenProvider {
    TokenProvider::from_fn(move || {
        Python::attach(|py| {
            let answer = callback
                .call1(py, (oauth_config.clone(),))
                .map_err(|e| format!("oauth_cb raised {e}"))?;
            let answer = answer.bind(py);
            if let Ok(token) = answer.extract::<String>() {
                return Ok(token);
            }
            answer
                .get_item(0)
                .and_then(|token| token.extract::<String>())
                .map_err(|_| "oauth_cb must return (token, expiry): the token as a str".to_string())
        })
    })
}
