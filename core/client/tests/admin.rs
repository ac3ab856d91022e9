//! The admin client against a real Strom broker.

mod common;

use common::TestBroker;
use strom_client::admin::{AlterConfigOp, ConfigResource, NewTopic, OffsetSpec};
use strom_client::AdminClient;

#[tokio::test]
async fn topics_can_be_created_described_grown_and_deleted() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();

    admin
        .create_topic(NewTopic::new("orders", 3, 1).with_config("retention.ms", "3600000"))
        .await
        .unwrap();
    let again = admin
        .create_topic(NewTopic::new("orders", 3, 1))
        .await
        .unwrap_err();
    assert_eq!(again.kafka_name(), Some("TOPIC_ALREADY_EXISTS"), "{again}");
    assert!(!again.is_retriable());

    let checked = admin
        .create_topics(&[NewTopic::new("dry-run", 1, 1)], true)
        .await
        .unwrap();
    assert!(checked[0].1.is_ok());
    assert_eq!(
        admin.list_topics(false).await.unwrap(),
        vec!["orders".to_string()]
    );

    let described = admin.describe_topics(&["orders"]).await.unwrap();
    assert_eq!(described[0].partitions.len(), 3);
    assert!(described[0].partitions.iter().all(|p| p.leader >= 0));

    let grown = admin
        .create_partitions(&[("orders", 5)], false)
        .await
        .unwrap();
    assert!(grown[0].1.is_ok(), "{:?}", grown[0].1);
    assert_eq!(
        admin.describe_topics(&["orders"]).await.unwrap()[0]
            .partitions
            .len(),
        5
    );

    let resource = ConfigResource::Topic("orders".into());
    let retention = |entries: Vec<strom_client::admin::ConfigEntry>| {
        entries
            .into_iter()
            .find(|e| e.name == "retention.ms")
            .and_then(|e| e.value)
    };
    let entries = admin.describe_configs(&resource, None).await.unwrap();
    assert_eq!(retention(entries).as_deref(), Some("3600000"));
    admin
        .incremental_alter_configs(
            &resource,
            &[AlterConfigOp::Set("retention.ms".into(), "60000".into())],
            false,
        )
        .await
        .unwrap();
    let entries = admin
        .describe_configs(&resource, Some(&["retention.ms"]))
        .await
        .unwrap();
    assert_eq!(retention(entries).as_deref(), Some("60000"));

    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
    assert_eq!(cluster.brokers[0].port, i32::from(broker.addr.port()));

    let ends = admin
        .list_offsets(&[
            ("orders", 0, OffsetSpec::Earliest),
            ("orders", 1, OffsetSpec::Latest),
        ])
        .await
        .unwrap();
    assert_eq!((ends[0].offset, ends[1].offset), (0, 0));

    let deleted = admin.delete_topics(&["orders"]).await.unwrap();
    assert!(deleted[0].1.is_ok());
    assert!(admin.list_topics(false).await.unwrap().is_empty());
}

#[tokio::test]
async fn group_offsets_can_be_set_read_and_the_group_deleted() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("events", 2, 1))
        .await
        .unwrap();

    admin
        .alter_group_offsets("audit", &[("events", 0, 0), ("events", 1, 0)])
        .await
        .unwrap();
    let offsets = admin.list_group_offsets("audit").await.unwrap();
    assert_eq!(
        offsets
            .iter()
            .map(|o| (o.partition, o.committed_offset))
            .collect::<Vec<_>>(),
        vec![(0, 0), (1, 0)]
    );

    let lag = admin.group_lag("audit").await.unwrap();
    assert!(
        lag.iter()
            .all(|o| o.lag == Some(0) && o.log_end_offset == Some(0)),
        "{lag:?}"
    );

    let groups = admin.list_groups().await.unwrap();
    assert!(groups.iter().any(|g| g.group_id == "audit"), "{groups:?}");
    let described = admin.describe_group("audit").await.unwrap();
    assert!(described.members.is_empty());

    let deleted = admin.delete_groups(&["audit"]).await.unwrap();
    assert!(deleted[0].1.is_ok(), "{:?}", deleted[0].1);
    assert!(admin.list_group_offsets("audit").await.unwrap().is_empty());
}
