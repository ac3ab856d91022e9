//! Client-level errors (the core's `take_errors`) and events handed out
//! the way librdkafka hands them: errors to the config's `error_cb`,
//! served by the clients' `poll`; and, for a consumer, a subscribed topic
//! that does not exist and a partition end (enable.partition.eof) as
//! messages from `poll` whose `error()` says so (what confluent-kafka's
//! users check `msg.error()` for).

use std::collections::VecDeque;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyString;
use strom_client::error::local::PARTITION_EOF;
use strom_client::{ClientError, TopicPartition};
use strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION;

use crate::consumer::error_message;
use crate::errors::KafkaError;
use crate::message::Message;
use crate::producer::CallbackFailure;

/// Where a client's errors go.
#[derive(Default)]
pub struct ClientErrors {
    /// `error_cb` from the config.
    pub error_cb: Option<Py<PyAny>>,
    /// Error messages not yet returned by a consumer's `poll`.
    pending: Mutex<VecDeque<Message>>,
}

impl ClientErrors {
    pub fn new(error_cb: Option<Py<PyAny>>) -> ClientErrors {
        ClientErrors {
            error_cb,
            pending: Mutex::new(VecDeque::new()),
        }
    }

    /// Calls `error_cb` with each error; what it raises is kept in
    /// `failure`. Without an `error_cb` the errors are only logged (the
    /// core logs each as it happens).
    pub fn serve(&self, py: Python<'_>, errors: Vec<ClientError>, failure: &CallbackFailure) {
        let Some(error_cb) = &self.error_cb else {
            return;
        };
        for error in errors {
            if let Err(raised) = error_cb.call1(py, (KafkaError::from_client(&error),)) {
                failure.keep(raised);
            }
        }
    }

    /// A consumer's errors: missing topics are queued as messages for
    /// `poll`; the others are served to `error_cb`.
    pub fn serve_consumer(
        &self,
        py: Python<'_>,
        errors: Vec<ClientError>,
        failure: &CallbackFailure,
    ) {
        let (topics, others): (Vec<_>, Vec<_>) = errors
            .into_iter()
            .partition(|error| error.kafka_code() == Some(UNKNOWN_TOPIC_OR_PARTITION));
        self.serve(py, others, failure);
        self.queue(topics.iter().map(error_message));
    }

    /// Queues partition ends as `_PARTITION_EOF` messages (topic,
    /// partition, and the end offset), as librdkafka's consumer returns
    /// them.
    pub fn queue_partition_eofs(&self, py: Python<'_>, ends: Vec<(TopicPartition, i64)>) {
        self.queue(ends.into_iter().map(|(tp, offset)| {
            let reason = format!(
                "reached the end of `{}` [{}] at offset {offset}",
                tp.topic, tp.partition
            );
            let mut message = Message::error_event(KafkaError::event(PARTITION_EOF, reason));
            message.topic = Some(PyString::new(py, &tp.topic).into_any().unbind());
            message.partition = Some(tp.partition);
            message.offset = Some(offset);
            message
        }));
    }

    /// Up to `max` queued messages, oldest first.
    pub fn take_pending(&self, max: usize) -> Vec<Message> {
        let Ok(mut queued) = self.pending.lock() else {
            return Vec::new();
        };
        let now = queued.len().min(max);
        queued.drain(..now).collect()
    }

    fn queue(&self, messages: impl IntoIterator<Item = Message>) {
        if let Ok(mut queued) = self.pending.lock() {
            queued.extend(messages);
        }
    }

    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.error_cb {
            Some(callback) => visit.call(callback),
            None => Ok(()),
        }
    }
}
