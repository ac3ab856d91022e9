//! `strom._strom._AdminClient`, the native half of `strom.admin.AdminClient`
//! (confluent-kafka's admin client): each call converts its arguments,
//! runs the core's async `AdminClient` call as a task on the shared client
//! runtime and completes a `concurrent.futures.Future` with plain Python
//! values (tuples, lists, `TopicPartition`s); `strom/admin/__init__.py`
//! turns them into confluent-kafka's result classes and hands one future
//! per topic, group or resource to the caller.
//!
//! A call's future gets, for calls about several items, a list with one
//! entry per item in the order given: the item's result, or the exception
//! (a `strom.KafkaException` subclass) that item failed with. A failure of
//! the whole call (no broker reachable, the call's timeout) is the
//! future's exception.
//!
//! The client connects on its first call, inside that call's task, so
//! making one never blocks (confluent-kafka's does not either); a failed
//! connection is tried again by the next call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use strom_client::admin::{ClusterDescription, GroupListing, ListedOffset, NewTopic};
use strom_client::{ClientConfig, ClientError};
use tokio::sync::OnceCell;

use crate::admin_convert::{
    acl_bindings, acl_filter, acl_rows, alter_op, by_name, config_entries, config_resource,
    described_topic, each, group_description, group_offsets, invalid, item, items, missing_answer,
    node, offset_spec, scram_changes, scram_descriptions, topic_description, AclFilterRow, AclRow,
    ScramUpsert,
};
use crate::config;
use crate::errors::to_py_err;
use crate::futures::{self, Target};
use crate::message::{partition_list, TopicPartition};
use crate::metadata::{self, ClusterMetadata};
use crate::wait::{run, shared_runtime, timeout_arg};

/// confluent-kafka's `ResourceType` values the core can describe and alter.
pub(crate) const RESOURCE_TOPIC: i32 = 2;
pub(crate) const RESOURCE_BROKER: i32 = 4;

/// How a call's timeout error names what bounds it.
const REQUEST_TIMEOUT: &str = "the call's request_timeout (default: default.api.timeout.ms)";
const LIST_TOPICS_TIMEOUT: &str = "list_topics' timeout (default: default.api.timeout.ms)";

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<AdminClient>()?;
    Ok(())
}

/// The native admin client behind `strom.admin.AdminClient`. Its methods
/// take the `concurrent.futures.Future` to complete last, and return at
/// once.
#[pyclass(module = "strom._strom", name = "_AdminClient", frozen)]
pub struct AdminClient {
    config: ClientConfig,
    /// The core client, connected by the first call that needs it.
    admin: Arc<OnceCell<strom_client::AdminClient>>,
    /// The bound of a call made without `request_timeout`: the larger of
    /// default.api.timeout.ms and request.timeout.ms, as the blocking
    /// clients use.
    default_timeout: Duration,
}

/// A `(name, value)` list of `(str, str)` pairs.
type Pairs = Vec<(String, String)>;

/// `(setting, AlterConfigOpType number, value)` operations.
type AlterOps = Vec<(String, i32, Option<String>)>;

#[pymethods]
impl AdminClient {
    #[new]
    #[pyo3(signature = (conf = None, **kwargs))]
    fn new(
        py: Python<'_>,
        conf: Option<&Bound<'_, PyDict>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<AdminClient> {
        let (config, _callbacks) = config::parse(py, conf, kwargs)?;
        let default_timeout = config.default_api_timeout.max(config.request_timeout);
        Ok(AdminClient {
            config,
            admin: Arc::new(OnceCell::new()),
            default_timeout,
        })
    }

    /// Creates topics, given as `(name, partitions, replication factor,
    /// [(setting, value)])`; the future gets `None` or an exception per
    /// topic.
    #[pyo3(signature = (topics, future, request_timeout = None, validate_only = false))]
    fn create_topics(
        &self,
        py: Python<'_>,
        topics: Vec<(String, i32, i32, Pairs)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
        validate_only: bool,
    ) -> PyResult<()> {
        let topics = topics
            .into_iter()
            .map(|(name, partitions, replication, configs)| {
                let replication = i16::try_from(replication).map_err(|_| {
                    invalid(
                        py,
                        format!("replication_factor {replication} is out of range"),
                    )
                })?;
                let mut topic = NewTopic::new(name, partitions, replication);
                topic.configs = configs;
                Ok(topic)
            })
            .collect::<PyResult<Vec<_>>>()?;
        let names: Vec<String> = topics.iter().map(|topic| topic.name.clone()).collect();
        self.run(
            py,
            future,
            request_timeout,
            "creating topics",
            move |admin| admin.create_topics(&topics, validate_only),
            move |py, outcomes| by_name(py, &names, outcomes, "creating"),
        )
    }

    /// Deletes topics; the future gets `None` or an exception per topic.
    #[pyo3(signature = (topics, future, request_timeout = None))]
    fn delete_topics(
        &self,
        py: Python<'_>,
        topics: Vec<String>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let names = topics.clone();
        self.run(
            py,
            future,
            request_timeout,
            "deleting topics",
            move |admin| {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                admin.delete_topics(&topics)
            },
            move |py, outcomes| by_name(py, &names, outcomes, "deleting"),
        )
    }

    /// Raises topics' partition counts, given as `(name, new total)`; the
    /// future gets `None` or an exception per topic.
    #[pyo3(signature = (partitions, future, request_timeout = None, validate_only = false))]
    fn create_partitions(
        &self,
        py: Python<'_>,
        partitions: Vec<(String, i32)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
        validate_only: bool,
    ) -> PyResult<()> {
        let names: Vec<String> = partitions.iter().map(|(name, _)| name.clone()).collect();
        self.run(
            py,
            future,
            request_timeout,
            "creating partitions",
            move |admin| {
                let totals: Vec<(&str, i32)> = partitions
                    .iter()
                    .map(|(name, total)| (name.as_str(), *total))
                    .collect();
                admin.create_partitions(&totals, validate_only)
            },
            move |py, outcomes| by_name(py, &names, outcomes, "adding partitions to"),
        )
    }

    /// Reads the configs of resources given as `(resource type, name)`;
    /// the future gets, per resource, a list of `(name, value, source,
    /// read only, default, sensitive)` or an exception.
    #[pyo3(signature = (resources, future, request_timeout = None))]
    fn describe_configs(
        &self,
        py: Python<'_>,
        resources: Vec<(i32, String)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let resources = resources
            .into_iter()
            .map(|(kind, name)| config_resource(py, kind, name))
            .collect::<PyResult<Vec<_>>>()?;
        self.run(
            py,
            future,
            request_timeout,
            "describing configs",
            move |admin| {
                each(resources, move |resource| {
                    admin.describe_configs(&resource, None)
                })
            },
            |py, outcomes| items(py, outcomes, config_entries),
        )
    }

    /// Alters the configs of resources given as `(resource type, name,
    /// [(setting, operation, value)])` (operations as confluent-kafka's
    /// `AlterConfigOpType` numbers them); the future gets `None` or an
    /// exception per resource.
    #[pyo3(signature = (resources, future, request_timeout = None, validate_only = false))]
    fn incremental_alter_configs(
        &self,
        py: Python<'_>,
        resources: Vec<(i32, String, AlterOps)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
        validate_only: bool,
    ) -> PyResult<()> {
        let resources = resources
            .into_iter()
            .map(|(kind, name, ops)| {
                let resource = config_resource(py, kind, name)?;
                let ops = ops
                    .into_iter()
                    .map(|(name, op, value)| alter_op(py, name, op, value))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok((resource, ops))
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.run(
            py,
            future,
            request_timeout,
            "altering configs",
            move |admin| {
                each(resources, move |(resource, ops)| {
                    admin.incremental_alter_configs(&resource, &ops, validate_only)
                })
            },
            |py, outcomes| items(py, outcomes, |py, ()| Ok(py.None())),
        )
    }

    /// Lists the cluster's groups; the future gets a list of `(group id,
    /// protocol type, state)`.
    #[pyo3(signature = (future, request_timeout = None))]
    fn list_consumer_groups(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        self.run(
            py,
            future,
            request_timeout,
            "listing groups",
            |admin| admin.list_groups(),
            |py, groups: Vec<GroupListing>| {
                let rows = groups
                    .into_iter()
                    .map(|group| (group.group_id, group.protocol_type, group.state));
                Ok(PyList::new(py, rows)?.into_any().unbind())
            },
        )
    }

    /// Describes groups; the future gets, per group, `(group id, state,
    /// protocol type, assignor, members, coordinator)` or an exception,
    /// each member as `(member id, client id, host, [TopicPartition],
    /// group instance id)` and the coordinator as `(id, host, port,
    /// rack)`.
    #[pyo3(signature = (group_ids, future, request_timeout = None))]
    fn describe_consumer_groups(
        &self,
        py: Python<'_>,
        group_ids: Vec<String>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        self.run(
            py,
            future,
            request_timeout,
            "describing groups",
            move |admin| {
                // The coordinators' addresses, for confluent-kafka's `Node`.
                let brokers = admin.metadata(Some(&[] as &[&str]));
                let described = each(group_ids, move |group| admin.describe_group(&group));
                async move {
                    let described = described.await?;
                    let brokers = brokers.await.map(|metadata| metadata.brokers).ok();
                    Ok((described, brokers.unwrap_or_default()))
                }
            },
            |py, (outcomes, brokers)| {
                items(py, outcomes, |py, group| {
                    group_description(py, group, &brokers)
                })
            },
        )
    }

    /// Reads groups' committed offsets, each request as `(group id,
    /// [TopicPartition] or None for every partition with an offset)`; the
    /// future gets a `[TopicPartition]` or an exception per group
    /// (partitions without a committed offset at `OFFSET_INVALID`).
    #[pyo3(signature = (requests, future, request_timeout = None))]
    fn list_consumer_group_offsets(
        &self,
        py: Python<'_>,
        requests: Vec<(String, Option<Vec<TopicPartition>>)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let requests: Vec<(String, Option<Vec<strom_client::TopicPartition>>)> = requests
            .into_iter()
            .map(|(group, partitions)| {
                let partitions = partitions
                    .map(|partitions| partitions.iter().map(TopicPartition::core).collect());
                (group, partitions)
            })
            .collect();
        self.run(
            py,
            future,
            request_timeout,
            "listing group offsets",
            move |admin| {
                each(requests, move |(group, partitions)| {
                    admin.list_group_offsets_of(&group, partitions.as_deref())
                })
            },
            |py, outcomes| items(py, outcomes, group_offsets),
        )
    }

    /// Commits offsets for groups without active members, each request as
    /// `(group id, [TopicPartition with its offset])`; the future gets the
    /// partitions committed or an exception per group.
    #[pyo3(signature = (requests, future, request_timeout = None))]
    fn alter_consumer_group_offsets(
        &self,
        py: Python<'_>,
        requests: Vec<(String, Vec<TopicPartition>)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let requests: Vec<(String, Vec<TopicPartition>)> = requests;
        let commits: Vec<(String, Vec<(strom_client::TopicPartition, i64)>)> = requests
            .iter()
            .map(|(group, partitions)| {
                let offsets = partitions.iter().map(|tp| (tp.core(), tp.offset)).collect();
                (group.clone(), offsets)
            })
            .collect();
        let committed: Vec<Vec<TopicPartition>> = requests
            .into_iter()
            .map(|(_, partitions)| partitions)
            .collect();
        self.run(
            py,
            future,
            request_timeout,
            "altering group offsets",
            move |admin| {
                each(commits, move |(group, offsets)| {
                    admin.alter_group_offsets(&group, &offsets)
                })
            },
            move |py, outcomes: Vec<Result<(), ClientError>>| {
                let entries = outcomes
                    .into_iter()
                    .zip(committed)
                    .map(|(outcome, partitions)| {
                        item(py, outcome, |py, ()| {
                            Ok(partition_list(py, partitions)?.into_any())
                        })
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, entries)?.into_any().unbind())
            },
        )
    }

    /// Deletes groups; the future gets `None` or an exception per group.
    #[pyo3(signature = (group_ids, future, request_timeout = None))]
    fn delete_consumer_groups(
        &self,
        py: Python<'_>,
        group_ids: Vec<String>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        self.run(
            py,
            future,
            request_timeout,
            "deleting groups",
            move |admin| {
                each(group_ids, move |group| {
                    let deleted = admin.delete_groups(&[group.as_str()]);
                    async move {
                        let outcome = deleted
                            .await?
                            .into_iter()
                            .next()
                            .map(|(_, outcome)| outcome);
                        outcome.unwrap_or_else(|| {
                            Err(ClientError::Protocol {
                                addr: "the group coordinator".into(),
                                reason: format!("DeleteGroups answered nothing for `{group}`"),
                            })
                        })
                    }
                })
            },
            |py, outcomes| items(py, outcomes, |py, ()| Ok(py.None())),
        )
    }

    /// Describes the cluster; the future gets `(cluster id, controller id,
    /// [(id, host, port, rack)])`.
    #[pyo3(signature = (future, request_timeout = None))]
    fn describe_cluster(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        self.run(
            py,
            future,
            request_timeout,
            "describing the cluster",
            |admin| admin.describe_cluster(),
            |py, cluster: ClusterDescription| {
                let nodes: Vec<_> = cluster.brokers.iter().map(node).collect();
                let row = (cluster.cluster_id, cluster.controller_id, nodes);
                Ok(row.into_pyobject(py)?.into_any().unbind())
            },
        )
    }

    /// Describes topics; the future gets, per topic, `(name, topic id
    /// bytes, internal, [(partition, leader, [replicas], [in sync])],
    /// {id: (id, host, port, rack)})` or an exception.
    #[pyo3(signature = (topics, future, request_timeout = None))]
    fn describe_topics(
        &self,
        py: Python<'_>,
        topics: Vec<String>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        self.run(
            py,
            future,
            request_timeout,
            "describing topics",
            move |admin| {
                each(topics, move |topic| {
                    let metadata = admin.metadata(Some(&[topic.as_str()]));
                    async move { described_topic(metadata.await?, &topic) }
                })
            },
            |py, outcomes| items(py, outcomes, topic_description),
        )
    }

    /// Looks up partition offsets, each query as `(TopicPartition, spec)`
    /// with confluent-kafka's `OffsetSpec` numbers (-2 earliest, -1
    /// latest, -3 max timestamp, else a timestamp in ms); the future gets
    /// `(offset, timestamp, leader epoch)` or an exception per query.
    #[pyo3(signature = (queries, future, request_timeout = None))]
    fn list_offsets(
        &self,
        py: Python<'_>,
        queries: Vec<(TopicPartition, i64)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let queries = queries
            .into_iter()
            .map(|(tp, spec)| Ok((tp.core(), offset_spec(py, spec)?)))
            .collect::<PyResult<Vec<_>>>()?;
        let asked: Vec<strom_client::TopicPartition> =
            queries.iter().map(|(tp, _)| tp.clone()).collect();
        self.run(
            py,
            future,
            request_timeout,
            "listing offsets",
            move |admin| admin.list_offsets(&queries),
            move |py, listed: Vec<ListedOffset>| {
                let found: HashMap<_, _> = listed
                    .into_iter()
                    .map(|entry| (entry.tp.clone(), entry))
                    .collect();
                let entries = asked.iter().map(|tp| {
                    let outcome = found
                        .get(tp)
                        .map(|entry| (entry.offset, entry.timestamp, entry.leader_epoch))
                        .ok_or_else(|| missing_answer("ListOffsets", tp));
                    item(py, outcome, |py, row| {
                        Ok(row.into_pyobject(py)?.into_any().unbind())
                    })
                });
                Ok(PyList::new(py, entries.collect::<PyResult<Vec<_>>>()?)?
                    .into_any()
                    .unbind())
            },
        )
    }

    /// Deletes records below each `TopicPartition`'s offset (-1: all); the
    /// future gets the partition's new low watermark or an exception per
    /// partition.
    #[pyo3(signature = (partitions, future, request_timeout = None))]
    fn delete_records(
        &self,
        py: Python<'_>,
        partitions: Vec<TopicPartition>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let requests: Vec<(strom_client::TopicPartition, i64)> =
            partitions.iter().map(|tp| (tp.core(), tp.offset)).collect();
        let asked: Vec<strom_client::TopicPartition> =
            requests.iter().map(|(tp, _)| tp.clone()).collect();
        self.run(
            py,
            future,
            request_timeout,
            "deleting records",
            move |admin| admin.delete_records(&requests),
            move |py, deleted: Vec<(strom_client::TopicPartition, i64)>| {
                let found: HashMap<_, _> = deleted.into_iter().collect();
                let entries = asked.iter().map(|tp| {
                    let outcome = found
                        .get(tp)
                        .copied()
                        .ok_or_else(|| missing_answer("DeleteRecords", tp));
                    item(py, outcome, |py, low| {
                        Ok(low.into_pyobject(py)?.into_any().unbind())
                    })
                });
                Ok(PyList::new(py, entries.collect::<PyResult<Vec<_>>>()?)?
                    .into_any()
                    .unbind())
            },
        )
    }

    /// Sets and deletes SCRAM credentials: `upserts` are (user, mechanism
    /// 1|2, iterations, password, salt or None), `deletions` (user,
    /// mechanism). The future gets, per user in order of first mention,
    /// `None` or an exception.
    #[pyo3(signature = (upserts, deletions, future, request_timeout = None))]
    fn alter_user_scram_credentials(
        &self,
        py: Python<'_>,
        upserts: Vec<ScramUpsert>,
        deletions: Vec<(String, i8)>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let changes = scram_changes(upserts, deletions).map_err(|e| to_py_err(py, &e))?;
        self.run(
            py,
            future,
            request_timeout,
            "changing SCRAM credentials",
            move |admin| async move {
                let outcomes = admin.alter_user_scram_credentials(&changes).await?;
                Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
            },
            |py, outcomes| items(py, outcomes, |py, ()| Ok(py.None())),
        )
    }

    /// Creates ACLs, each given as Kafka's codes (resource type, name,
    /// pattern type, principal, host, operation, permission). The future
    /// gets, per ACL in order, `None` or an exception.
    #[pyo3(signature = (acls, future, request_timeout = None))]
    fn create_acls(
        &self,
        py: Python<'_>,
        acls: Vec<AclRow>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let acls = acl_bindings(acls).map_err(|e| to_py_err(py, &e))?;
        self.run(
            py,
            future,
            request_timeout,
            "creating ACLs",
            move |admin| admin.create_acls(&acls),
            |py, outcomes| items(py, outcomes, |py, ()| Ok(py.None())),
        )
    }

    /// The ACLs a filter (codes; None strings match anything) selects. The
    /// future gets their rows of codes.
    #[pyo3(signature = (filter, future, request_timeout = None))]
    fn describe_acls(
        &self,
        py: Python<'_>,
        filter: AclFilterRow,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let filter = acl_filter(filter).map_err(|e| to_py_err(py, &e))?;
        self.run(
            py,
            future,
            request_timeout,
            "describing ACLs",
            move |admin| admin.describe_acls(&filter),
            acl_rows,
        )
    }

    /// Deletes what each filter selects. The future gets, per filter, the
    /// rows of the ACLs deleted or an exception.
    #[pyo3(signature = (filters, future, request_timeout = None))]
    fn delete_acls(
        &self,
        py: Python<'_>,
        filters: Vec<AclFilterRow>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        let filters = filters
            .into_iter()
            .map(acl_filter)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| to_py_err(py, &e))?;
        self.run(
            py,
            future,
            request_timeout,
            "deleting ACLs",
            move |admin| admin.delete_acls(&filters),
            |py, outcomes| items(py, outcomes, acl_rows),
        )
    }

    /// Describes SCRAM users (`users` empty: every user). The future gets
    /// `[(user, [(mechanism 1|2, iterations)] or an exception)]`.
    #[pyo3(signature = (users, future, request_timeout = None))]
    fn describe_user_scram_credentials(
        &self,
        py: Python<'_>,
        users: Vec<String>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
    ) -> PyResult<()> {
        self.run(
            py,
            future,
            request_timeout,
            "describing SCRAM credentials",
            move |admin| async move { admin.describe_user_scram_credentials(&users).await },
            scram_descriptions,
        )
    }

    /// The cluster's brokers and topics (only `topic` when given), waiting
    /// at most `timeout` seconds (`None` or negative: the client's default
    /// bound); Ctrl-C interrupts the wait.
    #[pyo3(signature = (topic = None, timeout = None))]
    fn list_topics(
        &self,
        py: Python<'_>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<ClusterMetadata> {
        let bound = timeout_arg(timeout).unwrap_or(self.default_timeout);
        let work =
            self.bounded(
                bound,
                "listing topics",
                LIST_TOPICS_TIMEOUT,
                move |admin| match &topic {
                    Some(topic) => admin.metadata(Some(&[topic.as_str()])),
                    None => admin.metadata(None),
                },
            );
        let runtime = shared_runtime(py)?;
        let metadata = run(
            py,
            &runtime,
            "listing topics",
            bound,
            LIST_TOPICS_TIMEOUT,
            work,
        )?;
        metadata::from_core(py, metadata)
    }
}

impl AdminClient {
    /// `work` on the core client, connecting it first if needed, bounded
    /// by `bound` as a whole.
    fn bounded<T, F>(
        &self,
        bound: Duration,
        what: &'static str,
        setting: &'static str,
        work: impl FnOnce(strom_client::AdminClient) -> F + Send + 'static,
    ) -> impl Future<Output = Result<T, ClientError>> + Send + 'static
    where
        F: Future<Output = Result<T, ClientError>> + Send + 'static,
    {
        let cell = self.admin.clone();
        let config = self.config.clone();
        async move {
            let attempt = async move {
                let admin = cell
                    .get_or_try_init(|| strom_client::AdminClient::new(config))
                    .await?
                    .clone();
                work(admin).await
            };
            match tokio::time::timeout(bound, attempt).await {
                Ok(outcome) => outcome,
                Err(_) => Err(ClientError::Timeout {
                    what: what.to_string(),
                    after: bound,
                    setting,
                }),
            }
        }
    }

    /// Runs `work` as a task; its outcome, through `convert`, completes
    /// `future`.
    fn run<T, F>(
        &self,
        py: Python<'_>,
        future: Py<PyAny>,
        request_timeout: Option<f64>,
        what: &'static str,
        work: impl FnOnce(strom_client::AdminClient) -> F + Send + 'static,
        convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
    ) -> PyResult<()>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, ClientError>> + Send + 'static,
    {
        let bound = timeout_arg(request_timeout).unwrap_or(self.default_timeout);
        let task = self.bounded(bound, what, REQUEST_TIMEOUT, work);
        futures::spawn(py, Target::Concurrent(future), task, convert)
    }
}
