//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics,
//! and DescribeConfigs for this broker's static settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use strom_protocol::error_codes;
use strom_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use strom_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};

use crate::config::{
    apply_incremental_alter, AlterConfigOp, AlterOpType, ConfigEntry, TopicConfigs,
};
use crate::error::ApiError;
use crate::state::Broker;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// The config rows of a topic with these overrides (CreateTopics v5+).
pub fn describe_topic_overrides(
    broker: &Broker,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    TopicConfigs::new(overrides.clone())
        .map(|c| c.describe(&broker.config))
        .unwrap_or_default()
}

pub fn describe(
    broker: &Arc<Broker>,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let mut result = DescribeConfigsResult {
                resource_type: resource.resource_type,
                resource_name: resource.resource_name.clone(),
                ..Default::default()
            };
            match entries_for(broker, resource.resource_type, &resource.resource_name) {
                Ok(entries) => {
                    result.configs = entries
                        .into_iter()
                        .filter(|e| {
                            resource
                                .configuration_keys
                                .as_ref()
                                .is_none_or(|keys| keys.contains(&e.name))
                        })
                        .map(|e| {
                            to_wire(
                                e,
                                request.include_synonyms,
                                request.include_documentation,
                                version,
                            )
                        })
                        .collect();
                }
                Err(e) => {
                    result.error_code = e.code;
                    result.error_message = Some(e.message);
                }
            }
            result
        })
        .collect();
    DescribeConfigsResponse {
        results,
        ..Default::default()
    }
}

fn entries_for(
    broker: &Broker,
    resource_type: i8,
    name: &str,
) -> Result<Vec<ConfigEntry>, ApiError> {
    match resource_type {
        RESOURCE_TOPIC => {
            let configs = broker.existing_topic(name)?.configs.clone();
            Ok(configs.describe(&broker.config))
        }
        RESOURCE_BROKER => {
            if !name.is_empty() && name != broker.node_id.to_string() {
                return Err(ApiError::new(
                    error_codes::INVALID_REQUEST,
                    format!("this is broker {}, not broker '{name}'", broker.node_id),
                ));
            }
            Ok(broker.config.describe())
        }
        other => Err(ApiError::new(
            error_codes::INVALID_REQUEST,
            format!("config resource type {other} is not supported"),
        )),
    }
}

fn to_wire(
    entry: ConfigEntry,
    synonyms: bool,
    documentation: bool,
    version: i16,
) -> DescribeConfigsResourceResult {
    DescribeConfigsResourceResult {
        name: entry.name,
        value: entry.value,
        read_only: entry.read_only,
        is_default: entry.is_default,
        config_source: if version >= 1 {
            entry.source.code()
        } else {
            -1
        },
        is_sensitive: entry.is_sensitive,
        synonyms: if synonyms {
            entry
                .synonyms
                .into_iter()
                .map(|s| DescribeConfigsSynonym {
                    name: s.name,
                    value: s.value,
                    source: s.source.code(),
                    ..Default::default()
                })
                .collect()
        } else {
            Vec::new()
        },
        config_type: entry.config_type.code(),
        documentation: documentation.then(|| entry.documentation.to_string()),
        ..Default::default()
    }
}

/// Checks the resource is a topic that exists and returns its configs.
fn topic_configs(broker: &Broker, resource_type: i8, name: &str) -> Result<TopicConfigs, ApiError> {
    if resource_type != RESOURCE_TOPIC {
        return Err(ApiError::new(
            error_codes::INVALID_REQUEST,
            "only topic configs can be altered; broker settings are static (set them in the config file, STROM_ variables or --set)",
        ));
    }
    Ok(broker.existing_topic(name)?.configs.clone())
}

async fn store(
    broker: &Broker,
    name: &str,
    configs: TopicConfigs,
    validate_only: bool,
) -> Result<(), ApiError> {
    configs.effective(&broker.config);
    if validate_only {
        return Ok(());
    }
    broker.set_topic_configs(name, configs).await
}

/// AlterConfigs replaces a topic's whole set of overrides.
pub async fn alter(broker: &Arc<Broker>, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let outcome = async {
            topic_configs(broker, resource.resource_type, &resource.resource_name)?;
            let overrides: BTreeMap<String, String> = resource
                .configs
                .into_iter()
                .filter_map(|c| c.value.map(|v| (c.name, v)))
                .collect();
            let configs = TopicConfigs::new(overrides)
                .map_err(|e| ApiError::new(e.kafka_error_code(), e.to_string()))?;
            store(
                broker,
                &resource.resource_name,
                configs,
                request.validate_only,
            )
            .await
        }
        .await;
        let (error_code, error_message) = split(outcome);
        responses.push(alter_configs_response::AlterConfigsResourceResponse {
            error_code,
            error_message,
            resource_type: resource.resource_type,
            resource_name: resource.resource_name,
            ..Default::default()
        });
    }
    AlterConfigsResponse {
        responses,
        ..Default::default()
    }
}

pub async fn incremental_alter(
    broker: &Arc<Broker>,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let outcome = async {
            let current = topic_configs(broker, resource.resource_type, &resource.resource_name)?;
            let ops = resource
                .configs
                .into_iter()
                .map(|c| {
                    let op = AlterOpType::from_code(c.config_operation).ok_or_else(|| {
                        ApiError::new(
                            error_codes::INVALID_REQUEST,
                            format!(
                                "unknown config operation {} for {}",
                                c.config_operation, c.name
                            ),
                        )
                    })?;
                    Ok(AlterConfigOp {
                        name: c.name,
                        op,
                        value: c.value,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let next = apply_incremental_alter(&current, &ops, &broker.config)
                .map_err(|e| ApiError::new(e.kafka_error_code(), e.to_string()))?;
            store(broker, &resource.resource_name, next, request.validate_only).await
        }
        .await;
        let (error_code, error_message) = split(outcome);
        responses.push(
            incremental_alter_configs_response::AlterConfigsResourceResponse {
                error_code,
                error_message,
                resource_type: resource.resource_type,
                resource_name: resource.resource_name,
                ..Default::default()
            },
        );
    }
    IncrementalAlterConfigsResponse {
        responses,
        ..Default::default()
    }
}

fn split(outcome: Result<(), ApiError>) -> (i16, Option<String>) {
    match outcome {
        Ok(()) => (error_codes::NONE, None),
        Err(e) => (e.code, Some(e.message)),
    }
}
