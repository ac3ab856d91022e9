//! The admin client's conversions: confluent-kafka's argument numbers into
//! the core's types, the core's answers into the plain Python values
//! `strom/admin` builds its result classes from, and the fan-out of
//! per-item calls.

use std::collections::HashMap;
use std::future::Future;

use pyo3::prelude::*;
use pyo3::types::PyList;
use strom_client::admin::{
    AclBinding, AclFilter, AlterConfigOp, ConfigEntry, ConfigResource, GroupDescription,
    GroupOffset, OffsetSpec, UserScramChange, UserScramCredentials,
};
use strom_client::metadata::{BrokerInfo, Metadata};
use strom_client::ClientError;
use strom_protocol::sasl::ScramMechanism;
use tokio::task::JoinSet;

use crate::errors::to_py_err;
use crate::message::{partition_list, TopicPartition, OFFSET_INVALID};

use super::admin::{RESOURCE_BROKER, RESOURCE_TOPIC};

/// Runs `call` for every key at once; the outcomes in the keys' order.
/// Dropping the future aborts the calls still running.
pub(crate) fn each<K, T, F>(
    keys: Vec<K>,
    call: impl Fn(K) -> F,
) -> impl Future<Output = Result<Vec<Result<T, ClientError>>, ClientError>> + Send + 'static
where
    K: Send + 'static,
    T: Send + 'static,
    F: Future<Output = Result<T, ClientError>> + Send + 'static,
{
    let calls: Vec<F> = keys.into_iter().map(call).collect();
    async move {
        let count = calls.len();
        let mut tasks = JoinSet::new();
        for (index, call) in calls.into_iter().enumerate() {
            tasks.spawn(async move { (index, call.await) });
        }
        let mut outcomes: Vec<Option<Result<T, ClientError>>> = (0..count).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, outcome)) = joined {
                outcomes[index] = Some(outcome);
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or(Err(ClientError::Closed {
                    what: "admin call (its task ended early)",
                }))
            })
            .collect())
    }
}

/// One item's outcome: its converted result, or its exception.
pub(crate) fn item<T>(
    py: Python<'_>,
    outcome: Result<T, ClientError>,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    match outcome {
        Ok(value) => convert(py, value),
        Err(error) => Ok(to_py_err(py, &error).into_value(py).into_any()),
    }
}

/// Every item's outcome as a Python list.
pub(crate) fn items<T>(
    py: Python<'_>,
    outcomes: Vec<Result<T, ClientError>>,
    convert: impl Fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let entries = outcomes
        .into_iter()
        .map(|outcome| item(py, outcome, &convert))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, entries)?.into_any().unbind())
}

/// Per-topic outcomes answered by name, in the order `names` asked for
/// them; a topic the broker did not answer for fails.
pub(crate) fn by_name(
    py: Python<'_>,
    names: &[String],
    outcomes: Vec<(String, Result<(), ClientError>)>,
    doing: &str,
) -> PyResult<Py<PyAny>> {
    let mut answered: HashMap<String, Result<(), ClientError>> = outcomes.into_iter().collect();
    let ordered: Vec<Result<(), ClientError>> = names
        .iter()
        .map(|name| {
            answered.remove(name).unwrap_or_else(|| {
                Err(ClientError::Protocol {
                    addr: "the controller".into(),
                    reason: format!("the broker did not answer for topic `{name}` ({doing} it)"),
                })
            })
        })
        .collect();
    items(py, ordered, |py, ()| Ok(py.None()))
}

/// The error of a partition a broker's answer left out.
pub(crate) fn missing_answer(api: &str, tp: &strom_client::TopicPartition) -> ClientError {
    ClientError::Protocol {
        addr: "the partition's leader".into(),
        reason: format!("{api} answered nothing for {tp}"),
    }
}

pub(crate) fn invalid(py: Python<'_>, reason: String) -> PyErr {
    to_py_err(py, &ClientError::InvalidArgument(reason))
}

/// A confluent-kafka `ResourceType` number and name as the core's resource.
pub(crate) fn config_resource(py: Python<'_>, kind: i32, name: String) -> PyResult<ConfigResource> {
    match kind {
        RESOURCE_TOPIC => Ok(ConfigResource::Topic(name)),
        RESOURCE_BROKER => match name.parse::<i32>() {
            Ok(id) => Ok(ConfigResource::Broker(id)),
            Err(_) => Err(invalid(
                py,
                format!("a BROKER resource is named by its broker id, not `{name}`"),
            )),
        },
        _ => Err(crate::errors::not_supported(
            "config resources other than TOPIC and BROKER",
        )),
    }
}

/// A confluent-kafka `AlterConfigOpType` number as the core's operation.
pub(crate) fn alter_op(
    py: Python<'_>,
    name: String,
    op: i32,
    value: Option<String>,
) -> PyResult<AlterConfigOp> {
    let needs_value = |value: Option<String>| {
        value.ok_or_else(|| invalid(py, format!("altering `{name}` needs a value")))
    };
    Ok(match op {
        0 => AlterConfigOp::Set(name.clone(), needs_value(value)?),
        1 => AlterConfigOp::Delete(name),
        2 => AlterConfigOp::Append(name.clone(), needs_value(value)?),
        3 => AlterConfigOp::Subtract(name.clone(), needs_value(value)?),
        _ => {
            return Err(invalid(
                py,
                format!("unknown incremental operation {op} for `{name}`"),
            ))
        }
    })
}

/// A confluent-kafka `OffsetSpec` number as the core's.
pub(crate) fn offset_spec(py: Python<'_>, spec: i64) -> PyResult<OffsetSpec> {
    Ok(match spec {
        -2 => OffsetSpec::Earliest,
        -1 => OffsetSpec::Latest,
        -3 => OffsetSpec::MaxTimestamp,
        ms if ms >= 0 => OffsetSpec::Timestamp(ms),
        _ => return Err(invalid(py, format!("{spec} is not an OffsetSpec"))),
    })
}

pub(crate) fn config_entries(py: Python<'_>, entries: Vec<ConfigEntry>) -> PyResult<Py<PyAny>> {
    let rows = entries.into_iter().map(|entry| {
        (
            entry.name,
            entry.value,
            // Kafka's ConfigSource ids are confluent-kafka's; -1 (not
            // reported, DescribeConfigs v0) is UNKNOWN_CONFIG.
            i32::from(entry.source.max(0)),
            entry.read_only,
            entry.is_default,
            entry.is_sensitive,
        )
    });
    Ok(PyList::new(py, rows)?.into_any().unbind())
}

/// A broker as confluent-kafka's `Node` arguments.
pub(crate) fn node(broker: &BrokerInfo) -> (i32, String, i32, Option<String>) {
    (
        broker.node_id,
        broker.host.clone(),
        broker.port,
        broker.rack.clone(),
    )
}

pub(crate) fn group_description(
    py: Python<'_>,
    group: GroupDescription,
    brokers: &HashMap<i32, BrokerInfo>,
) -> PyResult<Py<PyAny>> {
    let members = group
        .members
        .into_iter()
        .map(|member| {
            let assignment = member
                .assignment
                .iter()
                .map(|tp| TopicPartition::at(tp, OFFSET_INVALID));
            let row = (
                member.member_id,
                member.client_id,
                member.client_host,
                partition_list(py, assignment)?,
                member.group_instance_id,
            );
            Ok(row.into_pyobject(py)?.into_any().unbind())
        })
        .collect::<PyResult<Vec<_>>>()?;
    let coordinator = brokers.get(&group.coordinator).map(node);
    let row = (
        group.group_id,
        group.state,
        group.protocol_type,
        group.protocol,
        members,
        coordinator,
    );
    Ok(row.into_pyobject(py)?.into_any().unbind())
}

pub(crate) fn group_offsets(py: Python<'_>, offsets: Vec<GroupOffset>) -> PyResult<Py<PyAny>> {
    let partitions = offsets.into_iter().map(|offset| {
        // No committed offset is librdkafka's OFFSET_INVALID.
        let committed = if offset.committed_offset < 0 {
            OFFSET_INVALID
        } else {
            offset.committed_offset
        };
        let mut tp = TopicPartition::at(&offset.tp, committed);
        tp.metadata = offset.metadata.filter(|metadata| !metadata.is_empty());
        tp
    });
    Ok(partition_list(py, partitions)?.into_any())
}

/// One topic out of a Metadata answer that asked for it alone, with the
/// brokers its partitions name.
pub(crate) fn described_topic(
    metadata: Metadata,
    topic: &str,
) -> Result<(Metadata, String), ClientError> {
    let error_code = metadata.topics.get(topic).map_or(3, |info| info.error_code);
    if error_code != 0 {
        return Err(ClientError::kafka(
            error_code,
            format!("describing topic `{topic}`"),
            None,
        ));
    }
    Ok((metadata, topic.to_string()))
}

pub(crate) fn topic_description(
    py: Python<'_>,
    (metadata, name): (Metadata, String),
) -> PyResult<Py<PyAny>> {
    let Some(topic) = metadata.topics.get(&name) else {
        return Ok(py.None());
    };
    let partitions: Vec<_> = topic
        .partitions
        .iter()
        .map(|partition| {
            (
                partition.partition,
                partition.leader,
                partition.replicas.clone(),
                partition.in_sync_replicas.clone(),
            )
        })
        .collect();
    let nodes: HashMap<i32, _> = metadata
        .brokers
        .values()
        .map(|broker| (broker.node_id, node(broker)))
        .collect();
    let topic_id = pyo3::types::PyBytes::new(py, &topic.topic_id);
    let row = (
        topic.name.clone(),
        topic_id,
        topic.is_internal,
        partitions,
        nodes,
    );
    Ok(row.into_pyobject(py)?.into_any().unbind())
}

/// One upsertion as Python passes it: user, mechanism (1|2), iterations,
/// password, salt or None.
pub(crate) type ScramUpsert = (String, i8, u32, Vec<u8>, Option<Vec<u8>>);

/// AlterUserScramCredentials's arguments as the core's changes.
pub(crate) fn scram_changes(
    upserts: Vec<ScramUpsert>,
    deletions: Vec<(String, i8)>,
) -> Result<Vec<UserScramChange>, ClientError> {
    let mechanism = |code: i8| {
        ScramMechanism::from_kafka_type(code).ok_or_else(|| {
            ClientError::InvalidArgument(format!(
                "unknown SCRAM mechanism {code} (1: SCRAM-SHA-256, 2: SCRAM-SHA-512)"
            ))
        })
    };
    let mut changes = Vec::new();
    for (user, code, iterations, password, salt) in upserts {
        let password = String::from_utf8(password).map_err(|_| {
            ClientError::InvalidArgument(format!("the password of `{user}` is not UTF-8"))
        })?;
        changes.push(UserScramChange::Upsert {
            mechanism: mechanism(code)?,
            user,
            iterations,
            password,
            salt,
        });
    }
    for (user, code) in deletions {
        changes.push(UserScramChange::Delete {
            mechanism: mechanism(code)?,
            user,
        });
    }
    Ok(changes)
}

/// DescribeUserScramCredentials's answer: `[(user, [(mechanism,
/// iterations)] or an exception)]`.
pub(crate) fn scram_descriptions(
    py: Python<'_>,
    described: Vec<(String, Result<UserScramCredentials, ClientError>)>,
) -> PyResult<Py<PyAny>> {
    let entries = described
        .into_iter()
        .map(|(user, outcome)| {
            let value = item(py, outcome, |py, credentials| {
                let infos: Vec<(i8, u32)> = credentials
                    .mechanisms
                    .iter()
                    .map(|(mechanism, iterations)| (mechanism.kafka_type(), *iterations))
                    .collect();
                Ok(infos.into_pyobject(py)?.into_any().unbind())
            })?;
            Ok((user, value).into_pyobject(py)?.into_any().unbind())
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, entries)?.into_any().unbind())
}

/// An ACL as Python passes it: Kafka's codes for resource type, name,
/// pattern type, principal, host, operation and permission.
pub(crate) type AclRow = (i8, String, i8, String, String, i8, i8);

/// An ACL filter: as [`AclRow`], with the strings optional (None: any).
pub(crate) type AclFilterRow = (
    i8,
    Option<String>,
    i8,
    Option<String>,
    Option<String>,
    i8,
    i8,
);

/// CreateAcls's arguments as the core's bindings.
pub(crate) fn acl_bindings(rows: Vec<AclRow>) -> Result<Vec<AclBinding>, ClientError> {
    rows.into_iter()
        .map(|(rt, name, pt, principal, host, op, perm)| {
            AclBinding::from_codes(rt, name, pt, principal, host, op, perm)
                .map_err(ClientError::InvalidArgument)
        })
        .collect()
}

pub(crate) fn acl_filter(row: AclFilterRow) -> Result<AclFilter, ClientError> {
    let (rt, name, pt, principal, host, op, perm) = row;
    AclFilter::from_codes(rt, name, pt, principal, host, op, perm)
        .map_err(ClientError::InvalidArgument)
}

/// ACLs as rows of codes, for `strom.admin.AclBinding`.
pub(crate) fn acl_rows(py: Python<'_>, acls: Vec<AclBinding>) -> PyResult<Py<PyAny>> {
    let rows = acls.into_iter().map(|acl| {
        (
            acl.resource_type as i8,
            acl.resource_name,
            acl.pattern_type as i8,
            acl.principal,
            acl.host,
            acl.operation as i8,
            acl.permission as i8,
        )
    });
    Ok(PyList::new(py, rows)?.into_any().unbind())
}
