//! `Message` and `TopicPartition`, with confluent-kafka's accessors, and
//! the conversions between them and the core's records.

use std::sync::Arc;

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use strom_client::{ConsumerRecord, StartOffset, TopicPartition as CoreTopicPartition};

use crate::errors::KafkaError;

/// Offsets with special meanings, as librdkafka numbers them.
pub const OFFSET_BEGINNING: i64 = -2;
pub const OFFSET_END: i64 = -1;
pub const OFFSET_STORED: i64 = -1000;
pub const OFFSET_INVALID: i64 = -1001;

/// Timestamp types, as `Message.timestamp()` returns them.
pub const TIMESTAMP_NOT_AVAILABLE: i32 = 0;
pub const TIMESTAMP_CREATE_TIME: i32 = 1;
pub const TIMESTAMP_LOG_APPEND_TIME: i32 = 2;

/// A record consumed, a delivery report's record, or an error event.
#[pyclass(module = "strom")]
pub struct Message {
    pub topic: Option<Py<PyAny>>,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub key: Option<Py<PyAny>>,
    pub value: Option<Py<PyAny>>,
    /// A list of `(str, bytes | None)`, or `None` when the record has none.
    pub headers: Option<Py<PyAny>>,
    pub timestamp: (i32, i64),
    pub error: Option<KafkaError>,
    pub latency: Option<f64>,
    /// The leader epoch of a consumed record's batch.
    pub leader_epoch: Option<i32>,
}

#[pymethods]
impl Message {
    fn topic(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.topic.as_ref().map(|topic| topic.clone_ref(py))
    }

    fn partition(&self) -> Option<i32> {
        self.partition
    }

    fn offset(&self) -> Option<i64> {
        self.offset
    }

    fn key(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.key.as_ref().map(|key| key.clone_ref(py))
    }

    fn value(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.value.as_ref().map(|value| value.clone_ref(py))
    }

    fn headers(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.headers.as_ref().map(|headers| headers.clone_ref(py))
    }

    /// `(timestamp type, milliseconds since the epoch)`.
    fn timestamp(&self) -> (i32, i64) {
        self.timestamp
    }

    fn error(&self) -> Option<KafkaError> {
        self.error.clone()
    }

    /// Seconds from `produce` to the delivery report (delivery reports only).
    fn latency(&self) -> Option<f64> {
        self.latency
    }

    /// The leader epoch of the record's batch (consumed records; `None`
    /// for others, or when the broker wrote none).
    fn leader_epoch(&self) -> Option<i32> {
        self.leader_epoch
    }

    fn set_key(&mut self, key: Py<PyAny>) {
        self.key = Some(key);
    }

    fn set_value(&mut self, value: Py<PyAny>) {
        self.value = Some(value);
    }

    fn set_headers(&mut self, headers: Py<PyAny>) {
        self.headers = Some(headers);
    }

    /// The value's length in bytes (0 without a value).
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        match &self.value {
            Some(value) => value.bind(py).len(),
            None => Ok(0),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let topic = self
            .topic
            .as_ref()
            .map_or_else(|| "None".to_string(), |topic| topic.bind(py).to_string());
        format!(
            "<strom.Message topic={topic} partition={:?} offset={:?} error={}>",
            self.partition,
            self.offset,
            self.error.as_ref().map_or("None", |_| "set")
        )
    }
}

impl Message {
    /// A message that only reports an event or error (`error()` set; topic,
    /// partition and offset where the event has them).
    pub fn error_event(error: KafkaError) -> Message {
        Message {
            topic: None,
            partition: None,
            offset: None,
            key: None,
            value: None,
            headers: None,
            timestamp: (TIMESTAMP_NOT_AVAILABLE, -1),
            error: Some(error),
            latency: None,
            leader_epoch: None,
        }
    }

    /// A consumed record. `topic` is the record's topic as a Python str,
    /// made once per batch by the caller.
    pub fn consumed(py: Python<'_>, topic: Py<PyAny>, record: ConsumerRecord) -> Message {
        Message {
            topic: Some(topic),
            partition: Some(record.partition),
            offset: Some(record.offset),
            key: record.key.map(|key| bytes_object(py, &key)),
            value: record.value.map(|value| bytes_object(py, &value)),
            headers: headers_list(py, &record.headers),
            timestamp: (TIMESTAMP_CREATE_TIME, record.timestamp),
            error: None,
            latency: None,
            leader_epoch: record.leader_epoch,
        }
    }
}

pub fn bytes_object(py: Python<'_>, data: &[u8]) -> Py<PyAny> {
    PyBytes::new(py, data).into_any().unbind()
}

/// Headers as confluent-kafka returns them: a list of `(str, bytes)`
/// tuples (`None` for a null value), or `None` when there are none.
pub fn headers_list(py: Python<'_>, headers: &[(String, Option<Bytes>)]) -> Option<Py<PyAny>> {
    if headers.is_empty() {
        return None;
    }
    let items = headers.iter().map(|(name, value)| {
        let value = value.as_ref().map(|value| bytes_object(py, value));
        (name.as_str(), value)
    });
    PyList::new(py, items)
        .ok()
        .map(|list| list.into_any().unbind())
}

/// Headers from what `produce` accepts: a dict or a list of `(key,
/// value)` pairs; values are bytes, str or None.
pub fn headers_arg(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Option<Bytes>)>> {
    let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = match headers.cast::<PyDict>() {
        Ok(dict) => dict.iter().collect(),
        Err(_) => headers
            .try_iter()?
            .map(|item| item?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>())
            .collect::<PyResult<_>>()?,
    };
    pairs
        .into_iter()
        .map(|(name, value)| {
            let name: String = name.extract()?;
            let value = if value.is_none() {
                None
            } else {
                let bytes = crate::record::payload_ref(&value, "a header value")?;
                Some(Bytes::from(bytes.into_owned()))
            };
            Ok((name, value))
        })
        .collect()
}

/// A topic, a partition, an offset and what else rides with them
/// (confluent-kafka's `TopicPartition`).
#[pyclass(module = "strom", eq, ord, get_all, set_all)]
#[derive(Clone)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: Option<String>,
    pub leader_epoch: Option<i32>,
    pub error: Option<KafkaErrorSlot>,
}

// As in confluent-kafka, a partition is compared (and hashed, in
// `__hash__`) by topic and partition only: `tp in assignment` and dict
// lookups work whatever offsets the two carry.
impl PartialEq for TopicPartition {
    fn eq(&self, other: &Self) -> bool {
        (&self.topic, self.partition) == (&other.topic, other.partition)
    }
}

impl Eq for TopicPartition {}

impl PartialOrd for TopicPartition {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TopicPartition {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.topic, self.partition).cmp(&(&other.topic, other.partition))
    }
}

/// A `KafkaError` held by a `TopicPartition`.
#[derive(Clone)]
pub struct KafkaErrorSlot(pub KafkaError);

impl<'py> IntoPyObject<'py> for KafkaErrorSlot {
    type Target = KafkaError;
    type Output = Bound<'py, KafkaError>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Bound::new(py, self.0)
    }
}

impl<'py> FromPyObject<'_, 'py> for KafkaErrorSlot {
    type Error = PyErr;
    fn extract(object: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        Ok(KafkaErrorSlot(object.extract::<KafkaError>()?))
    }
}

#[pymethods]
impl TopicPartition {
    #[new]
    #[pyo3(signature = (topic, partition = -1, offset = OFFSET_INVALID, metadata = None, leader_epoch = None))]
    fn new(
        topic: String,
        partition: i32,
        offset: i64,
        metadata: Option<String>,
        leader_epoch: Option<i32>,
    ) -> TopicPartition {
        TopicPartition {
            topic,
            partition,
            offset,
            metadata,
            leader_epoch,
            error: None,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "TopicPartition{{topic={},partition={},offset={},leader_epoch={},error={}}}",
            self.topic,
            self.partition,
            self.offset,
            self.leader_epoch
                .map_or_else(|| "None".to_string(), |epoch| epoch.to_string()),
            self.error
                .as_ref()
                .map_or_else(|| "None".to_string(), |error| error.0.reason().to_string()),
        )
    }

    fn __str__(&self) -> String {
        self.__repr__()
    }

    /// Hashes by topic and partition only (confluent-kafka's rule), so a
    /// partition finds its entry in a dict whatever its offset.
    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&self.topic, self.partition).hash(&mut hasher);
        hasher.finish()
    }
}

impl TopicPartition {
    pub fn at(tp: &CoreTopicPartition, offset: i64) -> TopicPartition {
        TopicPartition {
            topic: tp.topic.to_string(),
            partition: tp.partition,
            offset,
            metadata: None,
            leader_epoch: None,
            error: None,
        }
    }

    pub fn core(&self) -> CoreTopicPartition {
        CoreTopicPartition::new(self.topic.as_str(), self.partition)
    }

    /// The partition with where its `offset` says to start (librdkafka's
    /// special offsets included).
    pub fn start(&self) -> (CoreTopicPartition, StartOffset) {
        (self.core(), StartOffset::from_librdkafka(self.offset))
    }
}

/// The core's partitions as a Python list of `TopicPartition`s.
pub fn partition_list(
    py: Python<'_>,
    partitions: impl IntoIterator<Item = TopicPartition>,
) -> PyResult<Py<PyList>> {
    let objects = partitions
        .into_iter()
        .map(|tp| Py::new(py, tp))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, objects)?.unbind())
}

/// A list argument of `TopicPartition`s.
pub fn partitions_arg(partitions: &Bound<'_, PyAny>) -> PyResult<Vec<TopicPartition>> {
    if let Ok(tp) = partitions.extract::<TopicPartition>() {
        return Ok(vec![tp]);
    }
    partitions
        .try_iter()?
        .map(|item| Ok(item?.extract::<TopicPartition>()?))
        .collect::<PyResult<_>>()
        .map_err(|_| PyTypeError::new_err("expected a list of TopicPartition"))
}

/// Caches one Python str per topic name within a batch of records.
#[derive(Default)]
pub struct TopicNames {
    last: Option<(Arc<str>, Py<PyAny>)>,
}

impl TopicNames {
    pub fn get(&mut self, py: Python<'_>, topic: &Arc<str>) -> Py<PyAny> {
        if let Some((name, object)) = &self.last {
            if Arc::ptr_eq(name, topic) || **name == **topic {
                return object.clone_ref(py);
            }
        }
        let object = PyString::new(py, topic).into_any().unbind();
        self.last = Some((topic.clone(), object.clone_ref(py)));
        object
    }
}
