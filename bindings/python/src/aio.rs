//! The native half of `strom.aio`: the core's async handles driven from
//! an asyncio loop, with no thread per call.
//!
//! - Calls (connect, flush, commit, a waiting poll, ...) run as tasks on
//!   the client runtime and complete an asyncio future through the loop's
//!   `call_soon_threadsafe` (`futures::spawn`).
//! - Deliveries, which come by the thousand, do not cost a loop wake-up
//!   each: they wait in a `CallbackQueue`, whose first arrival writes one
//!   byte to a socket pair that the loop watches (`add_reader`); the loop
//!   then runs `drain()`, which completes every waiting `send` future on
//!   the loop's own thread. A client thread never waits for the GIL.
//! - A poll first takes what is already fetched, on the caller's thread
//!   without waiting; only when there is nothing does it park a task.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use strom_client::{CallbackQueue, ClientError, ConsumerRecord, DeliveryResult, RecordRef};

use crate::client_errors::ClientErrors;
use crate::config;
use crate::errors::{ignore_closed, to_py_err, IntoPyResult};
use crate::futures::{self, Target};
use crate::message::{partition_list, partitions_arg, Message, TopicNames, TopicPartition};
use crate::producer::{delivery_message, CallbackFailure};
use crate::record::{with_record, TopicCache};
use crate::wait::{shared_runtime, timeout_arg};

fn asyncio(future: Py<PyAny>, event_loop: Py<PyAny>) -> Target {
    Target::Asyncio { future, event_loop }
}

/// A timeout for an async call: `None` is the core's own bound.
fn duration(seconds: Option<f64>, default: Duration) -> Duration {
    timeout_arg(seconds).unwrap_or(default)
}

#[pyclass(module = "strom._strom")]
pub struct AioProducer {
    producer: strom_client::Producer,
    deliveries: CallbackQueue,
    /// The loop watches this end; a byte on it means deliveries wait.
    wakeup: Mutex<UnixStream>,
    topics: TopicCache,
}

#[pymethods]
impl AioProducer {
    /// Connects a producer; `future` gets the `AioProducer`.
    #[staticmethod]
    #[pyo3(signature = (future, event_loop, conf = None, kwargs = None))]
    fn connect(
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        conf: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let (config, _) = config::parse(py, conf, kwargs)?;
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        let deliveries = CallbackQueue::with_wake(move || {
            // A full socket already holds a wake-up; nothing is lost.
            let _ = (&writer).write(&[1]);
        });
        let queue = deliveries.clone();
        futures::spawn(
            py,
            asyncio(future, event_loop),
            strom_client::Producer::with_callback_queue(config, queue),
            move |py, producer| {
                let native = AioProducer {
                    producer,
                    deliveries,
                    wakeup: Mutex::new(reader),
                    topics: TopicCache::default(),
                };
                Ok(Py::new(py, native)?.into_any())
            },
        )
    }

    /// The file descriptor the loop watches (`loop.add_reader(fd, drain)`).
    fn wakeup_fd(&self) -> PyResult<i32> {
        let wakeup = self.wakeup.lock().map_err(|_| poisoned())?;
        Ok(wakeup.as_raw_fd())
    }

    /// Completes the `send` futures whose deliveries arrived; called by
    /// the loop when the wake-up fd is readable. Returns how many.
    fn drain(&self) -> PyResult<usize> {
        if let Ok(mut wakeup) = self.wakeup.lock() {
            let mut sink = [0u8; 256];
            loop {
                match wakeup.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        }
        Ok(self.deliveries.serve(Duration::ZERO))
    }

    /// Queues a record; `future` gets its delivery `Message`, or a
    /// `DeliveryError`. When buffer.memory is full, waits for room (up
    /// to max.block.ms) on the runtime, without blocking the loop.
    #[pyo3(signature = (future, topic, value = None, key = None, partition = -1, timestamp = 0, headers = None))]
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        topic: Bound<'_, PyString>,
        value: Option<Bound<'_, PyAny>>,
        key: Option<Bound<'_, PyAny>>,
        partition: i32,
        timestamp: i64,
        headers: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let send = |record: RecordRef<'_>, key, value| {
            let delivery = Delivery {
                future,
                topic: topic.clone().into_any().unbind(),
                key,
                value,
                sent_at: Instant::now(),
            };
            // Kept for the wait-for-room path, should the quick one refuse.
            let fallback = delivery.clone_ref(py);
            self.producer
                .try_send_ref_with_callback(record, move |result| delivery.settle(result))
                .map_err(|refused| Box::new((refused, fallback)))
        };
        let topics = &self.topics;
        let sent = with_record(
            topics, &topic, key, value, partition, timestamp, headers, send,
        )?;
        let Err(refusal) = sent else {
            return Ok(());
        };
        let (refused, fallback) = *refusal;
        match (refused.error, refused.record) {
            (ClientError::BufferFull { .. }, Some(record)) => {
                let producer = self.producer.clone();
                let runtime = shared_runtime(py)?;
                runtime.handle().into_py_result(py)?.spawn(async move {
                    producer
                        .send_wait_with_callback(*record, move |result| fallback.settle(result))
                        .await;
                });
                Ok(())
            }
            (error, _) => Err(to_py_err(py, &error)),
        }
    }

    /// Waits for every record sent so far; `future` gets the number still
    /// waiting (0: all delivered or failed).
    #[pyo3(signature = (future, event_loop, timeout = None))]
    fn flush(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let producer = self.producer.clone();
        let timeout = duration(timeout, Duration::from_secs(3600));
        let flush = producer.flush(timeout);
        futures::spawn(
            py,
            asyncio(future, event_loop),
            async move {
                // Running out of time is an answer here, not an error.
                let _ = flush.await;
                Ok(producer.in_flight())
            },
            |py, left| Ok(left.into_pyobject(py)?.into_any().unbind()),
        )
    }

    /// Flushes for at most `timeout`, then closes the producer.
    #[pyo3(signature = (future, event_loop, timeout = None))]
    fn close(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let closing = self
            .producer
            .close(duration(timeout, Duration::from_secs(3600)));
        futures::spawn(
            py,
            asyncio(future, event_loop),
            async move { closing.await.or_else(ignore_closed) },
            |py, ()| Ok(py.None()),
        )
    }

    /// Records waiting for delivery plus deliveries not yet handed over.
    fn __len__(&self) -> usize {
        self.producer.in_flight() + self.deliveries.len()
    }
}

/// A `send` waiting for its delivery.
struct Delivery {
    future: Py<PyAny>,
    topic: Py<PyAny>,
    key: Option<Py<PyAny>>,
    value: Option<Py<PyAny>>,
    sent_at: Instant,
}

impl Delivery {
    fn clone_ref(&self, py: Python<'_>) -> Delivery {
        Delivery {
            future: self.future.clone_ref(py),
            topic: self.topic.clone_ref(py),
            key: self.key.as_ref().map(|key| key.clone_ref(py)),
            value: self.value.as_ref().map(|value| value.clone_ref(py)),
            sent_at: self.sent_at,
        }
    }

    /// The outcome into the future, on the loop's thread (from `drain`):
    /// the delivery `Message`, or `DeliveryError(KafkaError, message)`.
    fn settle(self, result: DeliveryResult) {
        Python::attach(|py| {
            if let Err(error) = self.try_settle(py, &result) {
                error.print(py);
            }
        });
    }

    fn try_settle(self, py: Python<'_>, result: &DeliveryResult) -> PyResult<()> {
        let future = self.future.bind(py);
        let latency = self.sent_at.elapsed().as_secs_f64();
        let message = delivery_message(py, self.topic, self.key, self.value, result, latency);
        match message.error.clone() {
            Some(error) => {
                let message = Py::new(py, message)?;
                let exception = py
                    .import("strom.error")?
                    .getattr("DeliveryError")?
                    .call1((error, message))?;
                let set = future.call_method1(intern!(py, "set_exception"), (exception,));
                settled_unless_cancelled(future, set)
            }
            None => {
                let set = future.call_method1(intern!(py, "set_result"), (Py::new(py, message)?,));
                settled_unless_cancelled(future, set)
            }
        }
    }
}

/// A future cancelled while its record was on its way refuses the
/// outcome (InvalidStateError): nobody waits for it any more. Asked only
/// then, not before every one of thousands of deliveries.
fn settled_unless_cancelled(
    future: &Bound<'_, PyAny>,
    set: PyResult<Bound<'_, PyAny>>,
) -> PyResult<()> {
    match set {
        Ok(_) => Ok(()),
        Err(_)
            if future
                .call_method0(intern!(future.py(), "cancelled"))?
                .is_truthy()? =>
        {
            Ok(())
        }
        Err(error) => Err(error),
    }
}

#[pyclass(module = "strom._strom")]
pub struct AioConsumer {
    consumer: strom_client::Consumer,
    /// Client-level errors: missing topics out of `poll_now`, the others
    /// to `error_cb`.
    errors: ClientErrors,
    failure: CallbackFailure,
    /// enable.partition.eof: partition ends come out of `poll_now` too.
    report_ends: bool,
}

#[pymethods]
impl AioConsumer {
    /// Connects a consumer; `future` gets the `AioConsumer`.
    #[staticmethod]
    #[pyo3(signature = (future, event_loop, conf = None, kwargs = None))]
    fn connect(
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        conf: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let (config, callbacks) = config::parse(py, conf, kwargs)?;
        let errors = ClientErrors::new(callbacks.error_cb);
        let report_ends = config.enable_partition_eof;
        futures::spawn(
            py,
            asyncio(future, event_loop),
            strom_client::Consumer::new(config),
            move |py, consumer| {
                let failure = CallbackFailure::default();
                let native = AioConsumer {
                    consumer,
                    errors,
                    failure,
                    report_ends,
                };
                Ok(Py::new(py, native)?.into_any())
            },
        )
    }

    /// Records already fetched, at most `max`, without waiting; or the
    /// client-level errors that `poll` returns (a missing topic).
    fn poll_now(&self, py: Python<'_>, max: usize) -> PyResult<Vec<Message>> {
        self.errors
            .serve_consumer(py, self.consumer.take_errors(), &self.failure);
        self.failure.raise()?;
        let queued = self.errors.take_pending(max.max(1));
        if !queued.is_empty() {
            return Ok(queued);
        }
        let runtime = shared_runtime(py)?;
        let polling = self.consumer.poll_max(Duration::ZERO, max.max(1));
        let ends = self
            .report_ends
            .then(|| self.consumer.take_partition_eofs());
        let handle = runtime.handle().into_py_result(py)?;
        let (records, ends) = py
            .detach(|| {
                handle.block_on(async move {
                    let records = polling.await?;
                    let ends = match ends {
                        Some(ends) => ends.await,
                        None => Vec::new(),
                    };
                    Ok((records, ends))
                })
            })
            .into_py_result(py)?;
        let mut messages = messages(py, records);
        // Partition ends follow the records read up to them.
        self.errors.queue_partition_eofs(py, ends);
        let room = max.max(1).saturating_sub(messages.len());
        messages.extend(self.errors.take_pending(room));
        Ok(messages)
    }

    /// Waits up to `timeout` for records; `future` gets a list of at most
    /// `max` messages (empty on timeout).
    #[pyo3(signature = (future, event_loop, timeout, max))]
    fn poll(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        timeout: f64,
        max: usize,
    ) -> PyResult<()> {
        let polling = self
            .consumer
            .poll_max(duration(Some(timeout.max(0.0)), Duration::ZERO), max.max(1));
        futures::spawn(py, asyncio(future, event_loop), polling, |py, records| {
            let objects = messages(py, records)
                .into_iter()
                .map(|message| Py::new(py, message))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyList::new(py, objects)?.into_any().unbind())
        })
    }

    #[pyo3(signature = (future, event_loop, topics))]
    fn subscribe(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        topics: Vec<String>,
    ) -> PyResult<()> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let subscribing = self.consumer.subscribe_names_or_patterns(&names);
        futures::spawn(py, asyncio(future, event_loop), subscribing, |py, ()| {
            Ok(py.None())
        })
    }

    #[pyo3(signature = (future, event_loop, partitions))]
    fn assign(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        partitions: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let starts: Vec<_> = partitions_arg(&partitions)?
            .iter()
            .map(TopicPartition::start)
            .collect();
        let assigning = self.consumer.assign_at(&starts);
        futures::spawn(py, asyncio(future, event_loop), assigning, |py, ()| {
            Ok(py.None())
        })
    }

    #[pyo3(signature = (future, event_loop))]
    fn assignment(&self, py: Python<'_>, future: Py<PyAny>, event_loop: Py<PyAny>) -> PyResult<()> {
        let reading = self.consumer.assignment();
        futures::spawn(
            py,
            asyncio(future, event_loop),
            async move { Ok(reading.await) },
            |py, assigned| {
                let listed = assigned
                    .iter()
                    .map(|tp| TopicPartition::at(tp, crate::message::OFFSET_INVALID));
                Ok(partition_list(py, listed)?.into_any())
            },
        )
    }

    #[pyo3(signature = (future, event_loop, partition))]
    fn seek(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        partition: TopicPartition,
    ) -> PyResult<()> {
        let (tp, start) = partition.start();
        let seeking = self.consumer.start_at(tp, start);
        futures::spawn(py, asyncio(future, event_loop), seeking, |py, ()| {
            Ok(py.None())
        })
    }

    /// Commits the positions (`offsets` None) or the given offsets.
    #[pyo3(signature = (future, event_loop, offsets = None))]
    fn commit(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        offsets: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let committing = match offsets {
            Some(offsets) => {
                let offsets: Vec<_> = partitions_arg(&offsets)?
                    .iter()
                    .map(|tp| (tp.core(), tp.offset))
                    .collect();
                futures::boxed(self.consumer.commit_offsets(&offsets))
            }
            None => futures::boxed(self.consumer.commit_sync()),
        };
        futures::spawn(py, asyncio(future, event_loop), committing, |py, ()| {
            Ok(py.None())
        })
    }

    /// The group's committed offsets (-1001 where none).
    #[pyo3(signature = (future, event_loop, partitions))]
    fn committed(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        partitions: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let partitions = partitions_arg(&partitions)?;
        let consumer = self.consumer.clone();
        let reading = async move {
            let mut found = Vec::with_capacity(partitions.len());
            for tp in partitions {
                let offset = consumer.committed(tp.core()).await?;
                found.push(TopicPartition {
                    offset: offset.unwrap_or(crate::message::OFFSET_INVALID),
                    ..tp
                });
            }
            Ok(found)
        };
        futures::spawn(py, asyncio(future, event_loop), reading, |py, found| {
            Ok(partition_list(py, found)?.into_any())
        })
    }

    /// Commits (with auto commit), leaves the group, closes.
    #[pyo3(signature = (future, event_loop, timeout = None))]
    fn close(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        event_loop: Py<PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<()> {
        let closing = self
            .consumer
            .close(duration(timeout, Duration::from_secs(30)));
        futures::spawn(
            py,
            asyncio(future, event_loop),
            async move { closing.await.or_else(ignore_closed) },
            |py, ()| Ok(py.None()),
        )
    }
}

fn messages(py: Python<'_>, records: Vec<ConsumerRecord>) -> Vec<Message> {
    let mut names = TopicNames::default();
    records
        .into_iter()
        .map(|record| {
            let topic = names.get(py, &record.topic);
            Message::consumed(py, topic, record)
        })
        .collect()
}

fn poisoned() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("the producer's wake-up socket lock was poisoned")
}
