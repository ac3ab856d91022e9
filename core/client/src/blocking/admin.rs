//! The blocking admin client: every call of [`crate::AdminClient`], run on
//! the client's own runtime and bounded by its api timeout.

use std::time::Duration;

use strom_protocol::acl::{AclBinding, AclFilter};

use super::{api_timeout_for, API_TIMEOUT_SETTING};
use crate::admin::{
    AlterConfigOp, ClusterDescription, ConfigEntry, ConfigResource, GroupDescription, GroupListing,
    GroupOffset, ListedOffset, NewTopic, OffsetSpec,
};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::metadata::TopicInfo;
use crate::runtime::ClientRuntime;
use crate::TopicPartition;

/// A blocking [`crate::AdminClient`]. Each call blocks the calling thread
/// until the cluster answers, at most the api timeout (see
/// [`AdminClient::set_api_timeout`]); each request inside it is also
/// bounded by request.timeout.ms. `Send + Sync` and cheap to clone:
/// share it between threads.
#[derive(Clone)]
pub struct AdminClient {
    admin: crate::AdminClient,
    api_timeout: Duration,
    runtime: ClientRuntime,
}

impl AdminClient {
    /// Connects to the cluster (bounded by the api timeout), on the
    /// process's shared client runtime.
    pub fn new(config: ClientConfig) -> Result<AdminClient> {
        AdminClient::with_runtime(config, ClientRuntime::shared()?)
    }

    /// [`AdminClient::new`] on the given runtime.
    pub fn with_runtime(config: ClientConfig, runtime: ClientRuntime) -> Result<AdminClient> {
        let admin = runtime.block_on(
            "connecting the admin client",
            api_timeout_for(&config),
            API_TIMEOUT_SETTING,
            crate::AdminClient::new(config.clone()),
        )?;
        Ok(AdminClient::from_async(admin, &config, runtime))
    }

    /// The blocking admin client over an async one connected on
    /// `runtime`, for a binding that connects it in interruptible slices.
    pub fn from_async(
        admin: crate::AdminClient,
        config: &ClientConfig,
        runtime: ClientRuntime,
    ) -> AdminClient {
        AdminClient {
            admin,
            api_timeout: api_timeout_for(config),
            runtime,
        }
    }

    /// Client-level errors since the last call (see
    /// [`crate::Producer::take_errors`]).
    pub fn take_errors(&self) -> Vec<ClientError> {
        self.admin.take_errors()
    }

    /// The longest any call waits; by default the larger of
    /// default.api.timeout.ms (60 s) and request.timeout.ms.
    pub fn api_timeout(&self) -> Duration {
        self.api_timeout
    }

    pub fn set_api_timeout(&mut self, timeout: Duration) {
        self.api_timeout = timeout;
    }

    fn call<T>(
        &self,
        what: &str,
        future: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.runtime
            .block_on(what, self.api_timeout, API_TIMEOUT_SETTING, future)
    }

    /// See [`crate::AdminClient::create_topics`].
    pub fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<()>)>> {
        self.call(
            "creating topics",
            self.admin.create_topics(topics, validate_only),
        )
    }

    /// See [`crate::AdminClient::create_topic`].
    pub fn create_topic(&self, topic: NewTopic) -> Result<()> {
        self.call("creating a topic", self.admin.create_topic(topic))
    }

    /// See [`crate::AdminClient::delete_topics`].
    pub fn delete_topics(&self, names: &[&str]) -> Result<Vec<(String, Result<()>)>> {
        self.call("deleting topics", self.admin.delete_topics(names))
    }

    /// See [`crate::AdminClient::list_topics`].
    pub fn list_topics(&self, include_internal: bool) -> Result<Vec<String>> {
        self.call("listing topics", self.admin.list_topics(include_internal))
    }

    /// The cluster's brokers and topics from one Metadata request (see
    /// [`crate::AdminClient::metadata`]).
    pub fn metadata(&self, topics: Option<&[&str]>) -> Result<crate::metadata::Metadata> {
        self.call("reading metadata", self.admin.metadata(topics))
    }

    /// See [`crate::AdminClient::describe_topics`].
    pub fn describe_topics(&self, names: &[&str]) -> Result<Vec<TopicInfo>> {
        self.call("describing topics", self.admin.describe_topics(names))
    }

    /// See [`crate::AdminClient::create_partitions`].
    pub fn create_partitions(
        &self,
        totals: &[(&str, i32)],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<()>)>> {
        self.call(
            "creating partitions",
            self.admin.create_partitions(totals, validate_only),
        )
    }

    /// See [`crate::AdminClient::describe_cluster`].
    pub fn describe_cluster(&self) -> Result<ClusterDescription> {
        self.call("describing the cluster", self.admin.describe_cluster())
    }

    /// See [`crate::AdminClient::describe_configs`].
    pub fn describe_configs(
        &self,
        resource: &ConfigResource,
        keys: Option<&[&str]>,
    ) -> Result<Vec<ConfigEntry>> {
        self.call(
            "describing configs",
            self.admin.describe_configs(resource, keys),
        )
    }

    /// See [`crate::AdminClient::incremental_alter_configs`].
    pub fn incremental_alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[AlterConfigOp],
        validate_only: bool,
    ) -> Result<()> {
        self.call(
            "altering configs",
            self.admin
                .incremental_alter_configs(resource, ops, validate_only),
        )
    }

    /// See [`crate::AdminClient::find_coordinator`].
    pub fn find_coordinator(&self, group: &str) -> Result<i32> {
        self.call(
            "finding a group coordinator",
            self.admin.find_coordinator(group),
        )
    }

    /// See [`crate::AdminClient::list_groups`].
    pub fn list_groups(&self) -> Result<Vec<GroupListing>> {
        self.call("listing groups", self.admin.list_groups())
    }

    /// See [`crate::AdminClient::describe_group`].
    pub fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        self.call("describing a group", self.admin.describe_group(group))
    }

    /// See [`crate::AdminClient::describe_groups`].
    pub fn describe_groups(&self, groups: &[&str]) -> Result<Vec<GroupDescription>> {
        self.call("describing groups", self.admin.describe_groups(groups))
    }

    /// See [`crate::AdminClient::delete_groups`].
    pub fn delete_groups(&self, groups: &[&str]) -> Result<Vec<(String, Result<()>)>> {
        self.call("deleting groups", self.admin.delete_groups(groups))
    }

    /// See [`crate::AdminClient::list_group_offsets`].
    pub fn list_group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>> {
        self.call(
            "listing a group's offsets",
            self.admin.list_group_offsets(group),
        )
    }

    /// See [`crate::AdminClient::list_group_offsets_of`].
    pub fn list_group_offsets_of(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<GroupOffset>> {
        self.call(
            "listing a group's offsets",
            self.admin.list_group_offsets_of(group, partitions),
        )
    }

    /// See [`crate::AdminClient::alter_group_offsets`].
    pub fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<()> {
        self.call(
            "altering a group's offsets",
            self.admin.alter_group_offsets(group, offsets),
        )
    }

    /// See [`crate::AdminClient::group_lag`].
    pub fn group_lag(&self, group: &str) -> Result<Vec<GroupOffset>> {
        self.call("computing a group's lag", self.admin.group_lag(group))
    }

    /// See [`crate::AdminClient::list_offsets`].
    pub fn list_offsets(
        &self,
        queries: &[(TopicPartition, OffsetSpec)],
    ) -> Result<Vec<ListedOffset>> {
        self.call("listing offsets", self.admin.list_offsets(queries))
    }

    /// See [`crate::AdminClient::delete_records`].
    pub fn delete_records(
        &self,
        requests: &[(TopicPartition, i64)],
    ) -> Result<Vec<(TopicPartition, i64)>> {
        self.call("deleting records", self.admin.delete_records(requests))
    }

    /// See [`crate::AdminClient::create_acls`].
    pub fn create_acls(&self, acls: &[AclBinding]) -> Result<Vec<Result<()>>> {
        self.call("creating ACLs", self.admin.create_acls(acls))
    }

    /// See [`crate::AdminClient::describe_acls`].
    pub fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>> {
        self.call("describing ACLs", self.admin.describe_acls(filter))
    }

    /// See [`crate::AdminClient::delete_acls`].
    pub fn delete_acls(&self, filters: &[AclFilter]) -> Result<Vec<Result<Vec<AclBinding>>>> {
        self.call("deleting ACLs", self.admin.delete_acls(filters))
    }
}
