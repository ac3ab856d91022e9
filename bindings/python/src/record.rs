//! A record from `produce`'s arguments, lent to the core as a
//! `RecordRef` borrowed from the Python objects: the key and value bytes
//! are encoded into the open batch in the call, with no owned copy per
//! record (only a record that must wait for its topic's metadata, or is
//! refused, is copied by the core).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use strom_client::RecordRef;

use crate::message::headers_arg;

/// A key or value object as given to `produce` (`None` dropped): its
/// delivery report hands back the object itself.
pub type KeyValue = Option<Py<PyAny>>;

/// The UTF-8 name of the topic last produced to, kept with the `str`
/// object it came from. A producer mostly writes to a few topics and gets
/// the same object each time: that one is recognised by identity (a `str`
/// is immutable, and the reference held here keeps its identity from
/// being reused), and costs no encoding per record.
#[derive(Default)]
pub struct TopicCache(Mutex<Option<(Py<PyString>, Arc<str>)>>);

impl TopicCache {
    pub fn name(&self, topic: &Bound<'_, PyString>) -> PyResult<Arc<str>> {
        if let Ok(slot) = self.0.lock() {
            if let Some((object, name)) = slot.as_ref() {
                if object.as_ptr() == topic.as_ptr() {
                    return Ok(name.clone());
                }
            }
        }
        let name: Arc<str> = Arc::from(topic.to_cow()?.as_ref());
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((topic.clone().unbind(), name.clone()));
        }
        Ok(name)
    }
}

/// Key or value bytes from what `produce` accepts: `bytes` (borrowed),
/// `str` (encoded as UTF-8), `bytearray` and other buffers (copied).
pub fn payload_ref<'a>(value: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(bytes.as_bytes()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(match text.to_cow()? {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        });
    }
    match value.extract::<Vec<u8>>() {
        Ok(data) if !value.is_instance_of::<PyList>() => Ok(Cow::Owned(data)),
        _ => Err(PyTypeError::new_err(format!(
            "{what} must be bytes or str, not {}",
            value.get_type().name()?
        ))),
    }
}

/// Builds the record `produce` describes (partition -1 and timestamp 0
/// mean "not given"; `None` key or value: none) and hands it to `send`
/// with the key and value objects, which its delivery report returns.
#[allow(clippy::too_many_arguments)]
pub fn with_record<R>(
    topics: &TopicCache,
    topic: &Bound<'_, PyString>,
    key: Option<Bound<'_, PyAny>>,
    value: Option<Bound<'_, PyAny>>,
    partition: i32,
    timestamp: i64,
    headers: Option<Bound<'_, PyAny>>,
    send: impl FnOnce(RecordRef<'_>, KeyValue, KeyValue) -> R,
) -> PyResult<R> {
    let key = key.filter(|key| !key.is_none());
    let value = value.filter(|value| !value.is_none());
    let key_bytes = key
        .as_ref()
        .map(|key| payload_ref(key, "key"))
        .transpose()?;
    let value_bytes = value
        .as_ref()
        .map(|value| payload_ref(value, "value"))
        .transpose()?;
    let owned_headers = match headers.filter(|headers| !headers.is_none()) {
        Some(headers) => headers_arg(&headers)?,
        None => Vec::new(),
    };
    let headers: Vec<(&str, Option<&[u8]>)> = owned_headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_deref()))
        .collect();
    let topic_name = topics.name(topic)?;
    let record = RecordRef {
        topic: &topic_name,
        partition: (partition >= 0).then_some(partition),
        key: key_bytes.as_deref(),
        value: value_bytes.as_deref(),
        headers: &headers,
        timestamp: (timestamp > 0).then_some(timestamp),
    };
    let objects = |object: &Option<Bound<'_, PyAny>>| object.as_ref().map(|o| o.clone().unbind());
    Ok(send(record, objects(&key), objects(&value)))
}
