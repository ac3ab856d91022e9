//! `list_topics()`: the cluster's brokers and topics as confluent-kafka's
//! `ClusterMetadata`, `BrokerMetadata`, `TopicMetadata` and
//! `PartitionMetadata`.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use strom_client::blocking;
use strom_client::ClientConfig;

use crate::errors::KafkaError;
use crate::wait::{run, shared_runtime};

#[pyclass(module = "strom.admin", get_all)]
pub struct BrokerMetadata {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

#[pymethods]
impl BrokerMetadata {
    fn __repr__(&self) -> String {
        format!("BrokerMetadata({}, {}:{})", self.id, self.host, self.port)
    }

    fn __str__(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.id)
    }
}

#[pyclass(module = "strom.admin", get_all)]
pub struct PartitionMetadata {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isrs: Vec<i32>,
    pub error: Option<KafkaError>,
}

#[pymethods]
impl PartitionMetadata {
    fn __repr__(&self) -> String {
        format!("PartitionMetadata({})", self.id)
    }

    fn __str__(&self) -> String {
        self.id.to_string()
    }
}

#[pyclass(module = "strom.admin", get_all)]
pub struct TopicMetadata {
    pub topic: String,
    /// By partition id, in id order.
    pub partitions: Py<PyDict>,
    pub error: Option<KafkaError>,
}

#[pymethods]
impl TopicMetadata {
    fn __repr__(&self, py: Python<'_>) -> String {
        let partitions = self.partitions.bind(py).len();
        format!("TopicMetadata({}, {partitions} partitions)", self.topic)
    }

    fn __str__(&self) -> String {
        self.topic.clone()
    }
}

#[pyclass(module = "strom.admin", get_all)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    /// By node id, in id order.
    pub brokers: Py<PyDict>,
    /// By name, in name order.
    pub topics: Py<PyDict>,
    /// The broker that answered: unknown here (-1), kept for confluent-kafka's shape.
    pub orig_broker_id: i32,
    pub orig_broker_name: Option<String>,
}

#[pymethods]
impl ClusterMetadata {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ClusterMetadata({}, {} brokers, {} topics)",
            self.cluster_id.as_deref().unwrap_or("None"),
            self.brokers.bind(py).len(),
            self.topics.bind(py).len()
        )
    }
}

/// A Kafka error code (0: none) as an optional `KafkaError`.
fn code_error(code: i16) -> Option<KafkaError> {
    (code != 0).then(|| {
        let error = strom_client::ClientError::kafka(code, "reading metadata", None);
        KafkaError::from_client(&error)
    })
}

/// The cluster's metadata, via a short-lived admin connection.
pub fn list_topics(
    py: Python<'_>,
    config: &ClientConfig,
    topic: Option<String>,
    timeout: Option<Duration>,
) -> PyResult<ClusterMetadata> {
    let (bound, setting) = match timeout {
        Some(timeout) => (timeout, "the timeout argument"),
        None => (
            blocking::api_timeout_for(config),
            blocking::API_TIMEOUT_SETTING,
        ),
    };
    let config = config.clone();
    let reading = async move {
        let admin = strom_client::AdminClient::new(config).await?;
        let names: Option<Vec<&str>> = topic.as_deref().map(|topic| vec![topic]);
        admin.metadata(names.as_deref()).await
    };
    let runtime = shared_runtime(py)?;
    let metadata = run(py, &runtime, "reading metadata", bound, setting, reading)?;
    from_core(py, metadata)
}

pub fn from_core(
    py: Python<'_>,
    metadata: strom_client::metadata::Metadata,
) -> PyResult<ClusterMetadata> {
    let brokers = PyDict::new(py);
    let mut by_id: Vec<_> = metadata.brokers.into_values().collect();
    by_id.sort_by_key(|broker| broker.node_id);
    for broker in by_id {
        let entry = BrokerMetadata {
            id: broker.node_id,
            host: broker.host,
            port: broker.port,
        };
        brokers.set_item(broker.node_id, Py::new(py, entry)?)?;
    }
    let topics = PyDict::new(py);
    let mut by_name: Vec<_> = metadata.topics.into_values().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    for topic in by_name {
        let partitions = PyDict::new(py);
        // The core keeps them sorted by id.
        for partition in topic.partitions {
            let entry = PartitionMetadata {
                id: partition.partition,
                leader: partition.leader,
                replicas: partition.replicas,
                isrs: partition.in_sync_replicas,
                error: code_error(partition.error_code),
            };
            partitions.set_item(partition.partition, Py::new(py, entry)?)?;
        }
        let entry = TopicMetadata {
            topic: topic.name.clone(),
            partitions: partitions.unbind(),
            error: code_error(topic.error_code),
        };
        topics.set_item(&topic.name, Py::new(py, entry)?)?;
    }
    Ok(ClusterMetadata {
        cluster_id: metadata.cluster_id,
        controller_id: metadata.controller_id,
        brokers: brokers.unbind(),
        topics: topics.unbind(),
        orig_broker_id: -1,
        orig_broker_name: None,
    })
}
