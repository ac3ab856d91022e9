//! Topic and broker configs: DescribeConfigs and IncrementalAlterConfigs.

use std::future::Future;
use strom_protocol::messages::describe_configs_request::DescribeConfigsResource;
use strom_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use strom_protocol::messages::{
    ApiKey, DescribeConfigsRequest, IncrementalAlterConfigsRequest, Response,
};

use super::AdminClient;
use crate::cluster::unexpected;
use crate::error::{check_code, Result};

/// What a config belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResource {
    Topic(String),
    /// A broker, by node id.
    Broker(i32),
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(name) => (2, name.clone()),
            ConfigResource::Broker(id) => (4, id.to_string()),
        }
    }
}

/// One config value as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    pub is_default: bool,
    pub is_sensitive: bool,
    /// Kafka's ConfigSource id (1 dynamic topic, 4 static broker, 5 default...).
    pub source: i8,
}

/// One incremental change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    Set(String, String),
    /// Back to the default.
    Delete(String),
    /// Adds the comma-separated values to a list setting (those not in it
    /// yet), starting from its effective value (KIP-339 APPEND).
    Append(String, String),
    /// Removes the comma-separated values from a list setting (KIP-339
    /// SUBTRACT).
    Subtract(String, String),
}

impl AlterConfigOp {
    /// The setting's name, the operation's wire code and its value.
    fn wire(&self) -> (&str, i8, Option<&str>) {
        match self {
            AlterConfigOp::Set(name, value) => (name, 0, Some(value)),
            AlterConfigOp::Delete(name) => (name, 1, None),
            AlterConfigOp::Append(name, value) => (name, 2, Some(value)),
            AlterConfigOp::Subtract(name, value) => (name, 3, Some(value)),
        }
    }
}

impl AdminClient {
    /// All configs of a resource (or just `keys`, when given).
    pub fn describe_configs(
        &self,
        resource: &ConfigResource,
        keys: Option<&[&str]>,
    ) -> impl Future<Output = Result<Vec<ConfigEntry>>> + Send + 'static {
        let admin = self.clone();
        let resource = resource.clone();
        let keys: Option<Vec<String>> = keys.map(|k| k.iter().map(|s| s.to_string()).collect());
        async move {
            let resource = &resource;
            let keys: Option<Vec<&str>> = keys
                .as_ref()
                .map(|k| k.iter().map(String::as_str).collect());
            let keys = keys.as_deref();
            let (resource_type, resource_name) = resource.wire();
            let build = |_| {
                DescribeConfigsRequest {
                    resources: vec![DescribeConfigsResource {
                        resource_type,
                        resource_name: resource_name.clone(),
                        configuration_keys: keys
                            .map(|keys| keys.iter().map(|k| k.to_string()).collect()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }
                .into()
            };
            let response = match resource {
                ConfigResource::Broker(node) => {
                    admin
                        .cluster
                        .send(*node, ApiKey::DescribeConfigs, build)
                        .await?
                }
                ConfigResource::Topic(_) => {
                    admin
                        .cluster
                        .send_to_any(ApiKey::DescribeConfigs, build)
                        .await?
                }
            };
            let Response::DescribeConfigs(response) = response else {
                return Err(unexpected(ApiKey::DescribeConfigs, &response));
            };
            let mut entries = Vec::new();
            for result in response.results {
                check_code(
                    result.error_code,
                    || format!("describing configs of {resource:?}"),
                    result.error_message.as_deref(),
                )?;
                entries.extend(result.configs.into_iter().map(|c| ConfigEntry {
                    name: c.name,
                    value: c.value,
                    read_only: c.read_only,
                    // v1+ reports the source; DEFAULT_CONFIG is 5.
                    is_default: c.is_default || c.config_source == 5,
                    is_sensitive: c.is_sensitive,
                    source: c.config_source,
                }));
            }
            Ok(entries)
        }
    }

    /// Applies set/delete/append/subtract operations to a resource's configs.
    pub fn incremental_alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[AlterConfigOp],
        validate_only: bool,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let admin = self.clone();
        let resource = resource.clone();
        let ops = ops.to_vec();
        async move {
            let resource = &resource;
            let ops = &ops[..];
            let (resource_type, resource_name) = resource.wire();
            let configs: Vec<AlterableConfig> = ops
                .iter()
                .map(|op| {
                    let (name, config_operation, value) = op.wire();
                    AlterableConfig {
                        name: name.to_string(),
                        config_operation,
                        value: value.map(str::to_string),
                        ..Default::default()
                    }
                })
                .collect();
            let build = |_| {
                IncrementalAlterConfigsRequest {
                    resources: vec![AlterConfigsResource {
                        resource_type,
                        resource_name: resource_name.clone(),
                        configs: configs.clone(),
                        ..Default::default()
                    }],
                    validate_only,
                    ..Default::default()
                }
                .into()
            };
            let response = match resource {
                ConfigResource::Broker(node) => {
                    admin
                        .cluster
                        .send(*node, ApiKey::IncrementalAlterConfigs, build)
                        .await?
                }
                ConfigResource::Topic(_) => {
                    admin
                        .send_to_controller(ApiKey::IncrementalAlterConfigs, build)
                        .await?
                }
            };
            let Response::IncrementalAlterConfigs(response) = response else {
                return Err(unexpected(ApiKey::IncrementalAlterConfigs, &response));
            };
            for result in response.responses {
                check_code(
                    result.error_code,
                    || format!("altering configs of {resource:?}"),
                    result.error_message.as_deref(),
                )?;
            }
            Ok(())
        }
    }
}
