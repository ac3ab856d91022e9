//! `strom.Consumer`: confluent-kafka's `Consumer` on the core's blocking
//! consumer. `poll()` hands out one record at a time from the core's
//! fetched batches (the core's `poll_max`), so a commit never covers a
//! record the application has not seen; commit callbacks (`on_commit`),
//! statistics (`stats_cb`) and rebalance callbacks run inside `poll()` on
//! the caller's thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyWeakrefReference};
use strom_client::admin::OffsetSpec;
use strom_client::{blocking, CallbackQueue, ClientConfig, ClientError, ConsumerRecord};

use crate::client_errors::ClientErrors;
use crate::config;
use crate::errors::{ignore_closed, to_py_err, IntoPyResult, KafkaError};
use crate::message::{
    partition_list, partitions_arg, Message, TopicNames, TopicPartition, OFFSET_INVALID,
};
use crate::metadata::{self, ClusterMetadata};
use crate::producer::CallbackFailure;
use crate::rebalance::{self, Change, ScopeSlot};
use crate::wait::{connect, run, run_outcome, timeout_arg, wait_for};

#[pyclass(module = "strom", subclass, weakref)]
pub struct Consumer {
    consumer: blocking::Consumer,
    config: ClientConfig,
    on_commit: Option<Py<PyAny>>,
    scope: ScopeSlot,
    failure: CallbackFailure,
    closed: AtomicBool,
    /// Client-level errors: missing topics out of `poll`, the others to
    /// `error_cb`.
    errors: ClientErrors,
    /// The admin client `get_watermark_offsets` and `offsets_for_times`
    /// ask, connected on first use.
    admin: OnceLock<strom_client::AdminClient>,
}

#[pymethods]
impl Consumer {
    #[new]
    #[pyo3(signature = (conf = None, **kwargs))]
    fn new(
        py: Python<'_>,
        conf: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Consumer> {
        let (mut config, callbacks) = config::parse(py, conf, kwargs)?;
        let failure = CallbackFailure::default();
        config.stats_callback = callbacks.stats(py, &failure);
        let commits = CallbackQueue::new();
        let connecting =
            strom_client::Consumer::with_callback_queue(config.clone(), commits.clone());
        let (connected, runtime) = connect(py, &config, "connecting the consumer", connecting)?;
        let consumer = blocking::Consumer::from_async(connected, &config, Some(commits), runtime);
        Ok(Consumer {
            consumer,
            config,
            on_commit: callbacks.on_commit,
            scope: ScopeSlot::default(),
            failure,
            closed: AtomicBool::new(false),
            errors: ClientErrors::new(callbacks.error_cb),
            admin: OnceLock::new(),
        })
    }

    /// Joins the group subscribed to `topics`; a name starting with `^`
    /// is a regular expression matched against every topic's name.
    #[pyo3(signature = (topics, on_assign = None, on_revoke = None, on_lost = None))]
    fn subscribe(
        slf: &Bound<'_, Self>,
        topics: Vec<String>,
        on_assign: Option<Py<PyAny>>,
        on_revoke: Option<Py<PyAny>>,
        on_lost: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        this.check_open()?;
        let callbacks = rebalance::Callbacks {
            consumer: PyWeakrefReference::new(slf)?.unbind(),
            on_assign,
            on_revoke,
            on_lost,
            scope: this.scope.clone(),
            failure: this.failure.clone(),
        };
        let consumer = &this.consumer;
        py.detach(|| {
            consumer.on_rebalance(
                move |event,
                      context: &mut strom_client::RebalanceContext<'_>,
                      partitions: &[strom_client::TopicPartition]| {
                    callbacks.run(event, context, partitions)
                },
            )?;
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            consumer.subscribe_names_or_patterns(&names)
        })
        .into_py_result(py)
    }

    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open()?;
        let consumer = &self.consumer;
        py.detach(|| consumer.unsubscribe()).into_py_result(py)
    }

    /// The next record, `None` if none arrived within `timeout` seconds
    /// (`None` or negative: wait for one), or a `Message` whose `error()`
    /// says what went wrong.
    #[pyo3(signature = (timeout = None))]
    fn poll(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Message>> {
        let mut messages = self.consume_up_to(py, 1, timeout)?;
        Ok(messages.pop())
    }

    /// Up to `num_messages` records, waiting at most `timeout` seconds
    /// for them all (`None` or negative: no limit).
    #[pyo3(signature = (num_messages = 1, timeout = None))]
    fn consume(
        &self,
        py: Python<'_>,
        num_messages: usize,
        timeout: Option<f64>,
    ) -> PyResult<Vec<Message>> {
        if num_messages == 0 || num_messages > 1_000_000 {
            return Err(config_error(
                py,
                "num_messages must be between 1 and 1000000",
            ));
        }
        self.consume_up_to(py, num_messages, timeout)
    }

    /// Commits offsets: the positions (no argument), past one message
    /// (`message=`), or the given ones (`offsets=`, the next offset to
    /// read). Synchronous commits return the partitions committed;
    /// asynchronous ones return None and report to `on_commit`.
    #[pyo3(signature = (message = None, offsets = None, asynchronous = true))]
    fn commit(
        &self,
        py: Python<'_>,
        message: Option<PyRef<'_, Message>>,
        offsets: Option<Bound<'_, PyAny>>,
        asynchronous: bool,
    ) -> PyResult<Option<Py<PyList>>> {
        self.check_open()?;
        let offsets: Option<Vec<(strom_client::TopicPartition, i64)>> = match (message, offsets) {
            (Some(message), _) => Some(vec![past(py, &message)?]),
            (None, Some(offsets)) => Some(
                partitions_arg(&offsets)?
                    .iter()
                    .map(|tp| (tp.core(), tp.offset))
                    .collect(),
            ),
            (None, None) => None,
        };
        if self.scope.record(|| Change::Commit(offsets.clone())) {
            return Ok(None);
        }
        let consumer = &self.consumer;
        if asynchronous {
            let report = self.on_commit.as_ref().map(|cb| cb.clone_ref(py));
            let failure = self.failure.clone();
            py.detach(|| {
                consumer.commit_offsets_async_with(offsets.as_deref(), move |outcome, committed| {
                    if let Some(callback) = report {
                        report_commit(callback, outcome, committed, failure);
                    }
                })
            })
            .into_py_result(py)?;
            return Ok(None);
        }
        let handle = consumer.as_async();
        let committing = async move {
            match offsets {
                Some(offsets) => handle.commit_offsets(&offsets).await.map(|()| offsets),
                None => handle.commit_sync_offsets().await,
            }
        };
        let committed = run(
            py,
            consumer.runtime(),
            "committing offsets",
            consumer.api_timeout(),
            blocking::API_TIMEOUT_SETTING,
            committing,
        )?;
        let listed = committed
            .iter()
            .map(|(tp, offset)| TopicPartition::at(tp, *offset));
        Ok(Some(partition_list(py, listed)?))
    }

    /// The group's committed offsets of `partitions` (offset -1001 where
    /// nothing is committed).
    #[pyo3(signature = (partitions, timeout = None))]
    fn committed(
        &self,
        py: Python<'_>,
        partitions: Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyList>> {
        self.check_open()?;
        let partitions = partitions_arg(&partitions)?;
        let (bound, setting) = match timeout_arg(timeout) {
            Some(timeout) => (timeout, "the timeout argument"),
            None => (self.consumer.api_timeout(), blocking::API_TIMEOUT_SETTING),
        };
        let handle = self.consumer.as_async();
        let reading = async move {
            let mut offsets = Vec::with_capacity(partitions.len());
            for tp in partitions {
                let offset = handle.committed(tp.core()).await?;
                offsets.push(TopicPartition {
                    offset: offset.unwrap_or(OFFSET_INVALID),
                    ..tp
                });
            }
            Ok(offsets)
        };
        let runtime = self.consumer.runtime();
        let offsets = run(
            py,
            runtime,
            "reading committed offsets",
            bound,
            setting,
            reading,
        )?;
        partition_list(py, offsets)
    }

    /// The next offset to read of each partition (-1001 when unknown).
    fn position(&self, py: Python<'_>, partitions: Bound<'_, PyAny>) -> PyResult<Py<PyList>> {
        self.check_open()?;
        let partitions = partitions_arg(&partitions)?;
        let in_callback = self.scope.with(|scope| {
            partitions
                .iter()
                .map(|tp| {
                    let core = tp.core();
                    let offset = scope
                        .positions
                        .iter()
                        .find(|(assigned, _)| *assigned == core)
                        .and_then(|(_, offset)| *offset);
                    TopicPartition {
                        offset: offset.unwrap_or(OFFSET_INVALID),
                        ..tp.clone()
                    }
                })
                .collect::<Vec<_>>()
        });
        if let Some(positions) = in_callback {
            return partition_list(py, positions);
        }
        let consumer = &self.consumer;
        let positions = py.detach(|| {
            partitions
                .iter()
                .map(|tp| {
                    // A partition not assigned has no position.
                    let offset = consumer.position(tp.core()).unwrap_or(None);
                    TopicPartition {
                        offset: offset.unwrap_or(OFFSET_INVALID),
                        ..tp.clone()
                    }
                })
                .collect::<Vec<_>>()
        });
        partition_list(py, positions)
    }

    /// Reads exactly these partitions, without a group rebalance; each
    /// starts at its `offset` when one is set (or at the beginning / end
    /// for OFFSET_BEGINNING / OFFSET_END), else where the group committed.
    fn assign(&self, py: Python<'_>, partitions: Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        let partitions = partitions_arg(&partitions)?;
        if self.record_starts(&partitions) {
            return Ok(());
        }
        let starts: Vec<_> = partitions.iter().map(TopicPartition::start).collect();
        let consumer = &self.consumer;
        py.detach(|| consumer.assign_at(&starts)).into_py_result(py)
    }

    /// Adds partitions to the assignment, keeping the others' positions.
    fn incremental_assign(&self, py: Python<'_>, partitions: Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        let partitions = partitions_arg(&partitions)?;
        if self.record_starts(&partitions) {
            return Ok(());
        }
        let starts: Vec<_> = partitions.iter().map(TopicPartition::start).collect();
        let consumer = &self.consumer;
        py.detach(|| consumer.incremental_assign(&starts))
            .into_py_result(py)
    }

    /// Removes partitions from the assignment.
    fn incremental_unassign(&self, py: Python<'_>, partitions: Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        let partitions = partitions_arg(&partitions)?;
        if self.scope.with(|_| ()).is_some() {
            // Inside a rebalance callback the group decides; as librdkafka
            // does after on_revoke, the core unassigns them itself.
            return Ok(());
        }
        let removed: Vec<_> = partitions.iter().map(TopicPartition::core).collect();
        let consumer = &self.consumer;
        py.detach(|| consumer.incremental_unassign(&removed))
            .into_py_result(py)
    }

    fn unassign(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open()?;
        if self.scope.with(|_| ()).is_some() {
            return Ok(());
        }
        let consumer = &self.consumer;
        py.detach(|| consumer.assign(&[])).into_py_result(py)
    }

    /// The partitions assigned to this consumer.
    fn assignment(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        self.check_open()?;
        let assigned = match self.scope.with(|scope| scope.assignment.clone()) {
            Some(assigned) => assigned,
            None => {
                let consumer = &self.consumer;
                py.detach(|| consumer.assignment()).into_py_result(py)?
            }
        };
        partition_list(
            py,
            assigned
                .iter()
                .map(|tp| TopicPartition::at(tp, OFFSET_INVALID)),
        )
    }

    /// Moves a partition's position: the next `poll` reads from
    /// `partition.offset`.
    fn seek(&self, py: Python<'_>, partition: TopicPartition) -> PyResult<()> {
        self.check_open()?;
        if self.record_starts(std::slice::from_ref(&partition)) {
            return Ok(());
        }
        let (tp, start) = partition.start();
        let consumer = &self.consumer;
        py.detach(|| consumer.start_at(tp, start))
            .into_py_result(py)
    }

    fn pause(&self, py: Python<'_>, partitions: Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        let cores: Vec<_> = partitions_arg(&partitions)?
            .iter()
            .map(TopicPartition::core)
            .collect();
        if self.scope.record(|| Change::Pause(cores.clone())) {
            return Ok(());
        }
        let consumer = &self.consumer;
        py.detach(|| consumer.pause(&cores)).into_py_result(py)
    }

    fn resume(&self, py: Python<'_>, partitions: Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        let cores: Vec<_> = partitions_arg(&partitions)?
            .iter()
            .map(TopicPartition::core)
            .collect();
        if self.scope.record(|| Change::Resume(cores.clone())) {
            return Ok(());
        }
        let consumer = &self.consumer;
        py.detach(|| consumer.resume(&cores)).into_py_result(py)
    }

    /// `(low, high)`: the partition's first offset and the offset the
    /// next record written gets. With `cached=True`, as the consumer's last
    /// fetch of the partition told them, without a request (librdkafka's
    /// OFFSET_INVALID, -1001, for what is not known yet).
    #[pyo3(signature = (partition, timeout = None, cached = false))]
    fn get_watermark_offsets(
        &self,
        py: Python<'_>,
        partition: TopicPartition,
        timeout: Option<f64>,
        cached: bool,
    ) -> PyResult<(i64, i64)> {
        let tp = partition.core();
        if cached {
            let consumer = &self.consumer;
            let known = py
                .detach(|| consumer.fetched_watermarks(std::slice::from_ref(&tp)))
                .into_py_result(py)?;
            return Ok(match known.first().copied().flatten() {
                Some((low, high)) => (if low < 0 { OFFSET_INVALID } else { low }, high),
                None => (OFFSET_INVALID, OFFSET_INVALID),
            });
        }
        let listed = self.list_offsets(
            py,
            vec![(tp.clone(), OffsetSpec::Earliest), (tp, OffsetSpec::Latest)],
            timeout,
        )?;
        Ok((listed[0], listed[1]))
    }

    /// For each partition, the first offset whose timestamp is at or
    /// after `partition.offset` (milliseconds); -1 when there is none.
    #[pyo3(signature = (partitions, timeout = None))]
    fn offsets_for_times(
        &self,
        py: Python<'_>,
        partitions: Bound<'_, PyAny>,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyList>> {
        let partitions = partitions_arg(&partitions)?;
        let queries = partitions
            .iter()
            .map(|tp| (tp.core(), OffsetSpec::Timestamp(tp.offset)))
            .collect();
        let offsets = self.list_offsets(py, queries, timeout)?;
        let found = partitions
            .iter()
            .zip(offsets)
            .map(|(tp, offset)| TopicPartition {
                offset,
                ..tp.clone()
            });
        partition_list(py, found)
    }

    #[pyo3(signature = (topic = None, timeout = None))]
    fn list_topics(
        &self,
        py: Python<'_>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<ClusterMetadata> {
        metadata::list_topics(py, &self.config, topic, timeout_arg(timeout))
    }

    /// The member id the group coordinator gave this consumer.
    fn memberid(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let consumer = &self.consumer;
        py.detach(|| consumer.member_id()).into_py_result(py)
    }

    /// Commits (with auto commit), leaves the group and closes the
    /// consumer; later calls raise. Returns within the api timeout
    /// (default.api.timeout.ms) even if the broker is gone.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let consumer = &self.consumer;
        let timeout = self.consumer.api_timeout();
        let closing = consumer.as_async().close(timeout);
        let bound = timeout.saturating_add(self.config.request_timeout);
        let runtime = consumer.runtime();
        let closed = run_outcome(
            py,
            runtime,
            "closing the consumer",
            bound,
            "the close timeout",
            closing,
        )?;
        // Commit reports due now are served before the consumer goes.
        let consumer = &self.consumer;
        let _ = py.detach(|| consumer.poll_max(Duration::ZERO, 1));
        // The rebalance callbacks often hold the consumer (a lambda that
        // calls it): drop them, or that cycle through Rust, which Python's
        // collector cannot see, would keep both alive for good.
        let _ = py.detach(|| {
            consumer.on_rebalance(
                |_,
                 _: &mut strom_client::RebalanceContext<'_>,
                 _: &[strom_client::TopicPartition]| {},
            )
        });
        self.failure.raise()?;
        closed.or_else(ignore_closed).into_py_result(py)
    }

    // on_commit and error_cb may hold this consumer: let Python's
    // collector see them.
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(callback) = &self.on_commit {
            visit.call(callback)?;
        }
        self.errors.traverse(&visit)
    }

    fn __clear__(&mut self) {
        self.on_commit = None;
        self.errors = ClientErrors::default();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    /// Stores offsets for the next commit without offsets (automatic or
    /// not): past `message`, or the given `offsets` (the next offset to
    /// read). Needs `enable.auto.offset.store=false`.
    #[pyo3(signature = (message = None, offsets = None))]
    fn store_offsets(
        &self,
        py: Python<'_>,
        message: Option<PyRef<'_, Message>>,
        offsets: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.check_open()?;
        let offsets = match (message, offsets) {
            (Some(message), None) => vec![past(py, &message)?],
            (None, Some(offsets)) => partitions_arg(&offsets)?
                .iter()
                .map(|tp| (tp.core(), tp.offset))
                .collect(),
            _ => {
                return Err(config_error(
                    py,
                    "store_offsets takes either message= or offsets=",
                ))
            }
        };
        let consumer = &self.consumer;
        py.detach(|| consumer.store_offsets(&offsets))
            .into_py_result(py)
    }
}

impl Consumer {
    fn check_open(&self) -> PyResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PyRuntimeError::new_err("Consumer closed"));
        }
        Ok(())
    }

    /// Polls until `max` records are in hand or `timeout` passes; serves
    /// commit reports meanwhile and raises what a callback raised.
    fn consume_up_to(
        &self,
        py: Python<'_>,
        max: usize,
        timeout: Option<f64>,
    ) -> PyResult<Vec<Message>> {
        self.check_open()?;
        let errors = self.consumer.take_errors();
        self.errors.serve_consumer(py, errors, &self.failure);
        let queued = self.errors.take_pending(max);
        if !queued.is_empty() {
            self.failure.raise()?;
            return Ok(queued);
        }
        let consumer = &self.consumer;
        let report_ends = self.config.enable_partition_eof;
        let mut records: Vec<ConsumerRecord> = Vec::new();
        let mut ends = Vec::new();
        let mut failed: Option<ClientError> = None;
        wait_for(py, timeout_arg(timeout), |slice| {
            match consumer.poll_max(slice, max - records.len()) {
                Ok(batch) => records.extend(batch),
                Err(error) => failed = Some(error),
            }
            if report_ends {
                ends.extend(consumer.take_partition_eofs().unwrap_or_default());
            }
            (records.len() >= max || failed.is_some() || !ends.is_empty()).then_some(())
        })?;
        self.failure.raise()?;
        let mut names = TopicNames::default();
        let mut messages: Vec<Message> = records
            .into_iter()
            .map(|record| {
                let topic = names.get(py, &record.topic);
                Message::consumed(py, topic, record)
            })
            .collect();
        if let Some(error) = failed {
            match error {
                ClientError::Closed { .. } => return Err(to_py_err(py, &error)),
                error => messages.push(error_message(&error)),
            }
        }
        // Partition ends follow the records read up to them; what does not
        // fit in `max` comes out of the next call.
        self.errors.queue_partition_eofs(py, ends);
        let room = max.saturating_sub(messages.len());
        messages.extend(self.errors.take_pending(room));
        Ok(messages)
    }

    /// In a rebalance callback, records where partitions start; returns
    /// whether it did.
    fn record_starts(&self, partitions: &[TopicPartition]) -> bool {
        self.scope
            .with(|scope| {
                for tp in partitions {
                    scope.changes.push(Change::Seek(tp.core(), tp.offset));
                }
            })
            .is_some()
    }

    fn list_offsets(
        &self,
        py: Python<'_>,
        queries: Vec<(strom_client::TopicPartition, OffsetSpec)>,
        timeout: Option<f64>,
    ) -> PyResult<Vec<i64>> {
        let (bound, setting) = match timeout_arg(timeout) {
            Some(timeout) => (timeout, "the timeout argument"),
            None => (self.consumer.api_timeout(), blocking::API_TIMEOUT_SETTING),
        };
        let cached = self.admin.get().cloned();
        let config = self.config.clone();
        let listing = async move {
            let admin = match cached {
                Some(admin) => admin,
                None => strom_client::AdminClient::new(config).await?,
            };
            // One query per request: a partition may be asked twice
            // (earliest and latest), and answers are matched by partition.
            let mut offsets = Vec::with_capacity(queries.len());
            for query in &queries {
                let listed = admin.list_offsets(std::slice::from_ref(query)).await?;
                offsets.push(listed.first().map_or(-1, |found| found.offset));
            }
            Ok((admin, offsets))
        };
        let runtime = self.consumer.runtime();
        let (admin, offsets) = run(py, runtime, "listing offsets", bound, setting, listing)?;
        let _ = self.admin.set(admin);
        Ok(offsets)
    }
}

/// The offset just past a consumed message, for its partition.
fn past(py: Python<'_>, message: &Message) -> PyResult<(strom_client::TopicPartition, i64)> {
    let (Some(topic), Some(partition), Some(offset)) =
        (&message.topic, message.partition, message.offset)
    else {
        return Err(config_error(
            py,
            "a consumed message is needed (it has no topic, partition or offset)",
        ));
    };
    let topic: String = topic.extract(py)?;
    Ok((
        strom_client::TopicPartition::new(topic.as_str(), partition),
        offset + 1,
    ))
}

/// An error event as `poll()` returns it: a message with only `error()`.
pub fn error_message(error: &ClientError) -> Message {
    Message::error_event(KafkaError::from_client(error))
}

fn config_error(py: Python<'_>, message: &str) -> PyErr {
    to_py_err(py, &ClientError::InvalidArgument(message.to_string()))
}

/// Calls `on_commit(err, partitions)` on the thread serving the queue.
fn report_commit(
    callback: Py<PyAny>,
    outcome: strom_client::Result<()>,
    committed: Vec<(strom_client::TopicPartition, i64)>,
    failure: CallbackFailure,
) {
    Python::attach(|py| {
        let error = outcome.err().map(|error| KafkaError::from_client(&error));
        let partitions = committed
            .iter()
            .map(|(tp, offset)| TopicPartition::at(tp, *offset));
        let called = partition_list(py, partitions)
            .and_then(|partitions| callback.call1(py, (error, partitions)));
        if let Err(raised) = called {
            failure.keep(raised);
        }
    });
}
