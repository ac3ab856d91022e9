//! `strom.Producer`: confluent-kafka's `Producer` on the core's blocking
//! producer. Delivery callbacks and statistics (`stats_cb`) go through a
//! `CallbackQueue` and run in `poll()` and `flush()` on the caller's
//! thread, as librdkafka's delivery reports and statistics do; an
//! exception a callback raises comes out of that call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use strom_client::blocking;
use strom_client::{CallbackQueue, ClientConfig, DeliveryResult, RecordRef};

use crate::client_errors::ClientErrors;
use crate::config;
use crate::errors::{ignore_closed, to_py_err, IntoPyResult, KafkaError};
use crate::message::{Message, TIMESTAMP_CREATE_TIME};
use crate::metadata::{self, ClusterMetadata};
use crate::record::{with_record, TopicCache};
use crate::wait::{connect, timeout_arg, wait_for};

/// The first exception a Python callback raised, waiting to be raised
/// again from the call that served the callback.
#[derive(Clone, Default)]
pub struct CallbackFailure(Arc<Mutex<Option<PyErr>>>);

impl CallbackFailure {
    pub fn keep(&self, error: PyErr) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(error);
        }
    }

    /// Raises the kept exception, if any.
    pub fn raise(&self) -> PyResult<()> {
        match self.0.lock().ok().and_then(|mut slot| slot.take()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[pyclass(module = "strom", subclass)]
pub struct Producer {
    producer: blocking::Producer,
    /// The producer's delivery reports: waited for without the GIL, run
    /// with it held (one GIL hand-over per batch, not per record).
    deliveries: CallbackQueue,
    config: ClientConfig,
    /// `on_delivery` from the config: the callback of records produced
    /// without one.
    on_delivery: Option<Py<PyAny>>,
    /// Client-level errors, to `error_cb` in `poll` and `flush`.
    errors: ClientErrors,
    failure: CallbackFailure,
    topics: TopicCache,
}

#[pymethods]
impl Producer {
    #[new]
    #[pyo3(signature = (conf = None, **kwargs))]
    fn new(
        py: Python<'_>,
        conf: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Producer> {
        let (mut config, callbacks) = config::parse(py, conf, kwargs)?;
        let failure = CallbackFailure::default();
        config.stats_callback = callbacks.stats(py, &failure);
        let deliveries = CallbackQueue::new();
        let connecting =
            strom_client::Producer::with_callback_queue(config.clone(), deliveries.clone());
        let (connected, runtime) = connect(py, &config, "connecting the producer", connecting)?;
        let queue = Some(deliveries.clone());
        let producer = blocking::Producer::from_async(connected, &config, queue, runtime);
        Ok(Producer {
            producer,
            deliveries,
            config,
            on_delivery: callbacks.on_delivery,
            errors: ClientErrors::new(callbacks.error_cb),
            failure,
            topics: TopicCache::default(),
        })
    }

    /// Queues a record; never blocks. Raises `BufferError`
    /// (`strom.QueueFullError`) when the queue is full: call `poll()` to
    /// serve delivery reports, then produce again.
    #[pyo3(signature = (topic, value = None, key = None, partition = -1, on_delivery = None, callback = None, timestamp = 0, headers = None))]
    #[allow(clippy::too_many_arguments)]
    fn produce(
        &self,
        py: Python<'_>,
        topic: Bound<'_, PyString>,
        value: Option<Bound<'_, PyAny>>,
        key: Option<Bound<'_, PyAny>>,
        partition: i32,
        on_delivery: Option<Py<PyAny>>,
        callback: Option<Py<PyAny>>,
        timestamp: i64,
        headers: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let callback = callback
            .or(on_delivery)
            .or_else(|| self.on_delivery.as_ref().map(|cb| cb.clone_ref(py)));
        let send = |record: RecordRef<'_>, key, value| match callback {
            Some(callback) => {
                let report = DeliveryReport {
                    callback,
                    topic: topic.clone().into_any().unbind(),
                    key,
                    value,
                    sent_at: Instant::now(),
                    failure: self.failure.clone(),
                };
                self.producer
                    .try_send_ref_with_callback(record, move |result| report.deliver(result))
            }
            None => self.producer.try_send_ref(record),
        };
        let topics = &self.topics;
        with_record(
            topics, &topic, key, value, partition, timestamp, headers, send,
        )?
        .map_err(|refusal| to_py_err(py, &refusal.error))
    }

    /// Serves delivery reports (and `stats_cb`), waiting up to `timeout`
    /// seconds (`None` or negative: until one arrives) for the first;
    /// returns how many callbacks ran.
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let mut served = self.deliveries.serve(Duration::ZERO);
        if served == 0 {
            let deliveries = &self.deliveries;
            let arrived = wait_for(py, timeout_arg(timeout), |slice| {
                deliveries.wait(slice).then_some(())
            })?;
            if arrived.is_some() {
                served = self.deliveries.serve(Duration::ZERO);
            }
        }
        self.serve_errors(py);
        self.failure.raise()?;
        Ok(served)
    }

    /// Waits until every record produced is delivered or failed and its
    /// report served, at most `timeout` seconds (`None` or negative: no
    /// limit); returns how many are still waiting (0: all done).
    #[pyo3(signature = (timeout = None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let deadline = timeout_arg(timeout).map(|timeout| Instant::now() + timeout);
        loop {
            // Reports that arrived run here, with the GIL held.
            self.deliveries.serve(Duration::ZERO);
            self.serve_errors(py);
            self.failure.raise()?;
            let left = self.producer.outq_len();
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == 0 || remaining == Some(Duration::ZERO) {
                return Ok(left);
            }
            let (producer, deliveries) = (&self.producer, &self.deliveries);
            wait_for(py, remaining, |slice| {
                let flushing = producer.as_async().flush(slice);
                // Running out of the slice only means: not done yet.
                let _ =
                    producer
                        .runtime()
                        .block_on_within("flushing the producer", slice, flushing);
                (producer.as_async().in_flight() == 0 || !deliveries.is_empty()).then_some(())
            })?;
        }
    }

    // The config's on_delivery and error_cb may hold this producer (a
    // bound method): let Python's collector see them.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(callback) = &self.on_delivery {
            visit.call(callback)?;
        }
        self.errors.traverse(&visit)
    }

    fn __clear__(&mut self) {
        self.on_delivery = None;
        self.errors = ClientErrors::default();
    }

    /// Records waiting for delivery plus reports waiting to be served.
    fn __len__(&self) -> usize {
        self.producer.outq_len()
    }

    /// The cluster's brokers and topics (one topic if `topic` is given).
    #[pyo3(signature = (topic = None, timeout = None))]
    fn list_topics(
        &self,
        py: Python<'_>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<ClusterMetadata> {
        metadata::list_topics(py, &self.config, topic, timeout_arg(timeout))
    }

    /// Flushes for at most `timeout` seconds, then fails what is left
    /// and stops the producer; later calls raise `ClosedError`.
    #[pyo3(signature = (timeout = None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let left = self.flush(py, timeout)?;
        let producer = &self.producer;
        py.detach(|| producer.close(Duration::ZERO))
            .or_else(ignore_closed)
            .into_py_result(py)?;
        self.producer.poll(Duration::ZERO);
        self.failure.raise()?;
        Ok(left)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py, None)?;
        Ok(false)
    }

    // Transactions are not supported yet; confluent-kafka code that calls
    // them gets a clear error instead of an AttributeError.
    #[pyo3(signature = (*_args))]
    fn init_transactions(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        Err(crate::errors::not_supported("transactions"))
    }
}

impl Producer {
    fn serve_errors(&self, py: Python<'_>) {
        let errors = self.producer.take_errors();
        self.errors.serve(py, errors, &self.failure);
    }
}

/// What a delivery callback gets: the record as produced (its key and
/// value objects, not copies) with where it was written, or why not.
struct DeliveryReport {
    callback: Py<PyAny>,
    topic: Py<PyAny>,
    key: Option<Py<PyAny>>,
    value: Option<Py<PyAny>>,
    sent_at: Instant,
    failure: CallbackFailure,
}

impl DeliveryReport {
    fn deliver(self, result: DeliveryResult) {
        let latency = self.sent_at.elapsed().as_secs_f64();
        Python::attach(|py| {
            let message = delivery_message(py, self.topic, self.key, self.value, &result, latency);
            let error = message.error.clone();
            let called =
                Py::new(py, message).and_then(|message| self.callback.call1(py, (error, message)));
            if let Err(raised) = called {
                self.failure.keep(raised);
            }
        });
    }
}

/// The `Message` a delivery report carries: the record as produced (its
/// key and value as bytes) with where it was written, or its error.
pub fn delivery_message(
    py: Python<'_>,
    topic: Py<PyAny>,
    key: Option<Py<PyAny>>,
    value: Option<Py<PyAny>>,
    result: &DeliveryResult,
    latency: f64,
) -> Message {
    let (error, partition, offset, timestamp, headers) = match result {
        Ok(written) => (
            None,
            Some(written.partition),
            Some(written.offset),
            written.timestamp,
            None,
        ),
        Err(failed) => {
            let record = failed.record.as_deref();
            (
                Some(KafkaError::from_client(&failed.error)),
                record.and_then(|r| r.partition),
                None,
                record.and_then(|r| r.timestamp).unwrap_or(0),
                record.and_then(|r| crate::message::headers_list(py, &r.headers)),
            )
        }
    };
    // The record's key and value as the broker has them: bytes.
    let as_bytes = |object: Py<PyAny>| match object.bind(py).cast::<PyString>() {
        Ok(text) => text
            .to_cow()
            .map(|text| crate::message::bytes_object(py, text.as_bytes()))
            .unwrap_or(object.clone_ref(py)),
        Err(_) => object,
    };
    Message {
        topic: Some(topic),
        partition,
        offset,
        key: key.map(as_bytes),
        value: value.map(as_bytes),
        headers,
        timestamp: (TIMESTAMP_CREATE_TIME, timestamp),
        error,
        latency: Some(latency),
        leader_epoch: None,
    }
}
