//! Client-level errors (the core's `take_errors`) handed out the way
//! librdkafka hands them: to the config's `error_cb`, served by the
//! clients' `poll`; and, for a consumer, a subscribed topic that does not
//! exist as an error message from `poll` (what confluent-kafka's users
//! check `msg.error()` for).

use std::collections::VecDeque;
use std::sync::Mutex;

use pyo3::prelude::*;
use strom_client::ClientError;
use strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION;

use crate::errors::KafkaError;
use crate::producer::CallbackFailure;

/// Where a client's errors go.
#[derive(Default)]
pub struct ClientErrors {
    /// `error_cb` from the config.
    pub error_cb: Option<Py<PyAny>>,
    /// Missing-topic errors not yet returned by a consumer's `poll`.
    topics: Mutex<VecDeque<ClientError>>,
}

impl ClientErrors {
    pub fn new(error_cb: Option<Py<PyAny>>) -> ClientErrors {
        ClientErrors {
            error_cb,
            topics: Mutex::new(VecDeque::new()),
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

    /// A consumer's errors: missing topics are queued for `poll`, up to
    /// `max` of them returned now; the others are served to `error_cb`.
    pub fn serve_consumer(
        &self,
        py: Python<'_>,
        errors: Vec<ClientError>,
        max: usize,
        failure: &CallbackFailure,
    ) -> Vec<ClientError> {
        let (topics, others): (Vec<_>, Vec<_>) = errors
            .into_iter()
            .partition(|error| error.kafka_code() == Some(UNKNOWN_TOPIC_OR_PARTITION));
        self.serve(py, others, failure);
        let Ok(mut queued) = self.topics.lock() else {
            return Vec::new();
        };
        queued.extend(topics);
        let now = queued.len().min(max);
        queued.drain(..now).collect()
    }

    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.error_cb {
            Some(callback) => visit.call(callback),
            None => Ok(()),
        }
    }
}
