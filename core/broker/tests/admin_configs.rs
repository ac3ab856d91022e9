//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs.

mod common;

use common::*;
use strom_protocol::error_codes;
use strom_protocol::messages::describe_configs_request::DescribeConfigsResource;
use strom_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use strom_protocol::messages::{
    alter_configs_request, incremental_alter_configs_request, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use strom_protocol::records::CompressionType;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;

async fn describe(
    client: &mut Client,
    resource_type: i8,
    name: &str,
) -> (i16, Vec<DescribeConfigsResourceResult>) {
    let mut response: DescribeConfigsResponse = client
        .call(
            4,
            DescribeConfigsRequest {
                resources: vec![DescribeConfigsResource {
                    resource_type,
                    resource_name: name.into(),
                    configuration_keys: None,
                    ..Default::default()
                }],
                include_synonyms: true,
                ..Default::default()
            },
        )
        .await;
    let result = response.results.remove(0);
    (result.error_code, result.configs)
}

async fn topic_config(client: &mut Client, topic: &str, key: &str) -> (Option<String>, i8) {
    let (code, configs) = describe(client, TOPIC, topic).await;
    assert_eq!(code, 0);
    let entry = configs
        .into_iter()
        .find(|c| c.name == key)
        .expect("config listed");
    (entry.value, entry.config_source)
}

async fn incremental(
    client: &mut Client,
    topic: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> i16 {
    let response: IncrementalAlterConfigsResponse = client
        .call(
            1,
            IncrementalAlterConfigsRequest {
                resources: vec![incremental_alter_configs_request::AlterConfigsResource {
                    resource_type: TOPIC,
                    resource_name: topic.into(),
                    configs: ops
                        .iter()
                        .map(|(name, op, value)| {
                            incremental_alter_configs_request::AlterableConfig {
                                name: name.to_string(),
                                config_operation: *op,
                                value: value.map(str::to_string),
                                ..Default::default()
                            }
                        })
                        .collect(),
                    ..Default::default()
                }],
                validate_only,
                ..Default::default()
            },
        )
        .await;
    response.responses[0].error_code
}

async fn alter(
    client: &mut Client,
    topic: &str,
    configs: &[(&str, &str)],
    validate_only: bool,
) -> i16 {
    let response: AlterConfigsResponse = client
        .call(
            2,
            AlterConfigsRequest {
                resources: vec![alter_configs_request::AlterConfigsResource {
                    resource_type: TOPIC,
                    resource_name: topic.into(),
                    configs: configs
                        .iter()
                        .map(|(k, v)| alter_configs_request::AlterableConfig {
                            name: k.to_string(),
                            value: Some(v.to_string()),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                validate_only,
                ..Default::default()
            },
        )
        .await;
    response.responses[0].error_code
}

#[tokio::test]
async fn topic_configs_report_their_source() {
    let broker = TestBroker::start_with(&[("log.retention.ms", "5000")]);
    let mut client = broker.connect().await;
    create_topic(&mut client, "sourced", 1, &[("cleanup.policy", "compact")]).await;
    assert_eq!(
        topic_config(&mut client, "sourced", "cleanup.policy").await,
        (Some("compact".into()), 1)
    );
    assert_eq!(
        topic_config(&mut client, "sourced", "retention.ms").await,
        (Some("5000".into()), 4)
    );
    assert_eq!(
        topic_config(&mut client, "sourced", "segment.bytes").await,
        (Some("1073741824".into()), 5)
    );
    let (code, _) = describe(&mut client, TOPIC, "absent").await;
    assert_eq!(code, error_codes::UNKNOWN_TOPIC_OR_PARTITION);
}

#[tokio::test]
async fn the_broker_resource_lists_its_settings() {
    let broker = TestBroker::start_with(&[("num.partitions", "4")]);
    let mut client = broker.connect().await;
    for name in ["", "0"] {
        let (code, configs) = describe(&mut client, BROKER, name).await;
        assert_eq!(code, 0, "broker '{name}'");
        let partitions = configs
            .iter()
            .find(|c| c.name == "num.partitions")
            .expect("num.partitions");
        assert_eq!(partitions.value.as_deref(), Some("4"));
        assert_eq!(partitions.config_source, 4, "STATIC_BROKER_CONFIG");
        let replication = configs
            .iter()
            .find(|c| c.name == "default.replication.factor")
            .expect("default.replication.factor");
        assert_eq!(replication.config_source, 5, "DEFAULT_CONFIG");
    }
    let (code, _) = describe(&mut client, BROKER, "7").await;
    assert_ne!(code, 0, "another broker's id");
}

#[tokio::test]
async fn incremental_alter_sets_and_deletes_overrides() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "inc", 1, &[]).await;

    assert_eq!(
        incremental(
            &mut client,
            "inc",
            &[("retention.ms", SET, Some("60000"))],
            true
        )
        .await,
        0
    );
    assert_eq!(
        topic_config(&mut client, "inc", "retention.ms").await.1,
        5,
        "validate_only changed nothing"
    );

    assert_eq!(
        incremental(
            &mut client,
            "inc",
            &[("retention.ms", SET, Some("60000"))],
            false
        )
        .await,
        0
    );
    assert_eq!(
        topic_config(&mut client, "inc", "retention.ms").await,
        (Some("60000".into()), 1)
    );

    assert_eq!(
        incremental(
            &mut client,
            "inc",
            &[("retention.ms", SET, Some("never"))],
            false
        )
        .await,
        error_codes::INVALID_CONFIG
    );
    assert_eq!(
        incremental(&mut client, "inc", &[("made.up", SET, Some("1"))], false).await,
        error_codes::INVALID_CONFIG
    );
    assert_eq!(
        topic_config(&mut client, "inc", "retention.ms")
            .await
            .0
            .as_deref(),
        Some("60000")
    );

    assert_eq!(
        incremental(&mut client, "inc", &[("retention.ms", DELETE, None)], false).await,
        0
    );
    assert_eq!(topic_config(&mut client, "inc", "retention.ms").await.1, 5);
    assert_eq!(
        incremental(
            &mut client,
            "absent",
            &[("retention.ms", DELETE, None)],
            false
        )
        .await,
        error_codes::UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[tokio::test]
async fn alter_configs_replaces_every_override() {
    let broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(
        &mut client,
        "alt",
        1,
        &[("retention.ms", "1000"), ("segment.ms", "2000")],
    )
    .await;

    assert_eq!(
        alter(&mut client, "alt", &[("segment.ms", "3000")], true).await,
        0
    );
    assert_eq!(
        topic_config(&mut client, "alt", "segment.ms")
            .await
            .0
            .as_deref(),
        Some("2000")
    );

    assert_eq!(
        alter(&mut client, "alt", &[("segment.ms", "3000")], false).await,
        0
    );
    assert_eq!(
        topic_config(&mut client, "alt", "segment.ms").await,
        (Some("3000".into()), 1)
    );
    assert_eq!(
        topic_config(&mut client, "alt", "retention.ms").await.1,
        5,
        "not in the new set: back to default"
    );
    assert_eq!(
        alter(&mut client, "alt", &[("segment.ms", "-5")], false).await,
        error_codes::INVALID_CONFIG
    );
}

#[tokio::test]
async fn an_altered_max_message_bytes_applies_to_the_next_produce_and_survives_restart() {
    let mut broker = TestBroker::start();
    let mut client = broker.connect().await;
    create_topic(&mut client, "limit", 1, &[]).await;
    let big = batch(CompressionType::None, now_ms(), &[&"x".repeat(500)]);
    assert_eq!(produce_ok(&mut client, "limit", 0, big.clone()).await, 0);
    assert_eq!(
        incremental(
            &mut client,
            "limit",
            &[("max.message.bytes", SET, Some("300"))],
            false
        )
        .await,
        0
    );
    assert_eq!(
        produce(&mut client, "limit", 0, big.clone())
            .await
            .error_code,
        error_codes::MESSAGE_TOO_LARGE
    );
    drop(client);
    broker.restart_cleanly().await;
    let mut client = broker.connect().await;
    assert_eq!(
        topic_config(&mut client, "limit", "max.message.bytes").await,
        (Some("300".into()), 1)
    );
    assert_eq!(
        produce(&mut client, "limit", 0, big).await.error_code,
        error_codes::MESSAGE_TOO_LARGE
    );
}
