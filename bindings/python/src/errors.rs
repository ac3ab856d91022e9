//! Errors as Python sees them: `KafkaError`, the value confluent-kafka
//! users know (a code, librdkafka's name for it, a message, retriable and
//! fatal), and the exceptions raised with one inside, defined in
//! `strom/error.py` (one tree under `strom.StromError`).

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use strom_client::error::local;
use strom_client::ClientError;
use strom_protocol::error_codes;

/// An error code with its name, message and what it means for a retry
/// (confluent-kafka's `KafkaError`). Compares equal to its code.
#[pyclass(module = "strom", frozen)]
#[derive(Clone)]
pub struct KafkaError {
    code: i32,
    reason: String,
    fatal: bool,
    retriable: bool,
    txn_requires_abort: bool,
}

#[pymethods]
impl KafkaError {
    #[new]
    #[pyo3(signature = (error, reason = None, fatal = false, retriable = false, txn_requires_abort = false))]
    fn new(
        error: i32,
        reason: Option<String>,
        fatal: bool,
        retriable: bool,
        txn_requires_abort: bool,
    ) -> KafkaError {
        KafkaError {
            code: error,
            reason: reason.unwrap_or_else(|| local::description(error).to_string()),
            fatal,
            retriable,
            txn_requires_abort,
        }
    }

    /// The error code: Kafka's (>= -1) or librdkafka's local (< -1).
    fn code(&self) -> i32 {
        self.code
    }

    /// librdkafka's name for the code (`UNKNOWN_TOPIC_OR_PART`, `_TIMED_OUT`).
    fn name(&self) -> &'static str {
        local::rdkafka_name(self.code)
    }

    /// What happened and what to check.
    fn str(&self) -> &str {
        &self.reason
    }

    fn fatal(&self) -> bool {
        self.fatal
    }

    /// Whether the same call may succeed if made again.
    fn retriable(&self) -> bool {
        self.retriable
    }

    fn txn_requires_abort(&self) -> bool {
        self.txn_requires_abort
    }

    fn __str__(&self) -> String {
        format!(
            "KafkaError{{code={},val={},str=\"{}\"}}",
            self.name(),
            self.code,
            self.reason
        )
    }

    fn __repr__(&self) -> String {
        self.__str__()
    }

    fn __hash__(&self) -> u64 {
        // Hashes as its code does, since it compares equal to it.
        self.code as u64
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        let other_code = match other.extract::<PyRef<'_, KafkaError>>() {
            Ok(error) => Some(error.code),
            Err(_) => other.extract::<i32>().ok(),
        };
        let Some(other_code) = other_code else {
            return py.NotImplemented();
        };
        op.matches(self.code.cmp(&other_code))
            .into_pyobject(py)
            .map_or_else(
                |_| py.NotImplemented(),
                |b| b.to_owned().into_any().unbind(),
            )
    }
}

impl KafkaError {
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// An event with a local code and no `ClientError` behind it (a
    /// partition end).
    pub fn event(code: i32, reason: String) -> KafkaError {
        KafkaError {
            code,
            reason,
            fatal: false,
            retriable: false,
            txn_requires_abort: false,
        }
    }

    pub fn from_client(error: &ClientError) -> KafkaError {
        KafkaError {
            code: error.code(),
            reason: error.to_string(),
            fatal: error.is_fatal(),
            retriable: error.is_retriable(),
            txn_requires_abort: false,
        }
    }
}

/// Sets every error code as a class attribute of `KafkaError`, under
/// Kafka's name and, where librdkafka spells it otherwise, under that too
/// (`KafkaError.UNKNOWN_TOPIC_OR_PART`, `KafkaError._PARTITION_EOF`).
pub fn add_code_constants(class: &Bound<'_, PyType>) -> PyResult<()> {
    for code in error_codes::known_codes() {
        class.setattr(code.name(), i32::from(code.code()))?;
    }
    for (code, name) in local::RDKAFKA_KAFKA_NAMES {
        class.setattr(*name, *code)?;
    }
    for (code, name, _) in local::TABLE {
        class.setattr(*name, *code)?;
    }
    Ok(())
}

/// The exception class in `strom.error` for this kind of failure.
fn exception_class(error: &ClientError) -> &'static str {
    match error {
        ClientError::UnknownConfig { .. }
        | ClientError::InvalidConfig { .. }
        | ClientError::InvalidArgument(_) => "ConfigError",
        ClientError::Unreachable { .. }
        | ClientError::Disconnected { .. }
        | ClientError::NoBrokerAvailable { .. } => "BrokerUnavailableError",
        ClientError::Timeout { .. } | ClientError::DeliveryTimeout { .. } => "KafkaTimeoutError",
        ClientError::Closed { .. } => "ClosedError",
        ClientError::BufferFull { .. } => "QueueFullError",
        _ if error.kafka_code().is_some() => "BrokerError",
        _ => "KafkaException",
    }
}

/// The `strom.error` module, imported once.
fn error_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("strom.error")?.unbind()))
        .map(|module| module.bind(py))
}

/// A `ClientError` as the exception to raise, carrying its `KafkaError`.
pub fn to_py_err(py: Python<'_>, error: &ClientError) -> PyErr {
    let raised = error_module(py).and_then(|module| {
        let class = module.getattr(exception_class(error))?;
        class.call1((KafkaError::from_client(error),))
    });
    match raised {
        Ok(exception) => PyErr::from_value(exception),
        // strom.error failed to import: still say what went wrong.
        Err(import_error) => PyException::new_err(format!("{error} ({import_error})")),
    }
}

/// `Result<T, ClientError>` into `PyResult<T>`.
pub trait IntoPyResult<T> {
    fn into_py_result(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, ClientError> {
    fn into_py_result(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|error| to_py_err(py, &error))
    }
}

/// A confluent-kafka feature Strom does not have yet, named in the error.
pub fn not_supported(feature: &str) -> PyErr {
    let error = ClientError::InvalidArgument(format!("{feature} are not supported by strom yet"));
    Python::attach(|py| to_py_err(py, &error))
}

/// Closing what is already closed is no error: `close()` may be called
/// twice, or after the runtime stopped.
pub fn ignore_closed(error: ClientError) -> Result<(), ClientError> {
    match error {
        ClientError::Closed { .. } => Ok(()),
        error => Err(error),
    }
}
