//! The admin client against a real Strom broker. Topics, configs and
//! offsets are covered by the reference scenarios (`reference/mod.rs`),
//! which run against Strom and Apache Kafka.

mod common;

use common::TestBroker;
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, TopicPartition};

#[tokio::test]
async fn group_offsets_can_be_set_read_and_the_group_deleted() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("events", 2, 1))
        .await
        .unwrap();

    admin
        .alter_group_offsets(
            "audit",
            &[
                (TopicPartition::new("events", 0), 0),
                (TopicPartition::new("events", 1), 0),
            ],
        )
        .await
        .unwrap();
    let offsets = admin.list_group_offsets("audit").await.unwrap();
    assert_eq!(
        offsets
            .iter()
            .map(|o| (o.tp.partition, o.committed_offset))
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

#[tokio::test]
async fn group_offsets_of_named_partitions_include_those_never_committed() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("events", 3, 1))
        .await
        .unwrap();
    admin
        .alter_group_offsets("named", &[(TopicPartition::new("events", 1), 4)])
        .await
        .unwrap();

    let asked = [
        TopicPartition::new("events", 1),
        TopicPartition::new("events", 2),
    ];
    let offsets = admin
        .list_group_offsets_of("named", Some(&asked))
        .await
        .unwrap();
    assert_eq!(
        offsets
            .iter()
            .map(|o| (o.tp.partition, o.committed_offset))
            .collect::<Vec<_>>(),
        vec![(1, 4), (2, -1)]
    );
    // Without names, only what was committed.
    let all = admin.list_group_offsets_of("named", None).await.unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn append_and_subtract_change_a_list_setting() {
    use strom_client::admin::{AlterConfigOp, ConfigResource};

    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("listed", 1, 1))
        .await
        .unwrap();
    let topic = ConfigResource::Topic("listed".into());
    let policy = || async {
        let entries = admin
            .describe_configs(&topic, Some(&["cleanup.policy"]))
            .await
            .unwrap();
        entries[0].value.clone().unwrap_or_default()
    };

    let append = AlterConfigOp::Append("cleanup.policy".into(), "compact".into());
    admin
        .incremental_alter_configs(&topic, &[append], false)
        .await
        .unwrap();
    assert_eq!(policy().await, "delete,compact");

    let subtract = AlterConfigOp::Subtract("cleanup.policy".into(), "delete".into());
    admin
        .incremental_alter_configs(&topic, &[subtract], false)
        .await
        .unwrap();
    assert_eq!(policy().await, "compact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_described_member_carries_its_assignment() {
    use std::time::Duration;
    use strom_client::Consumer;

    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("assigned", 3, 1))
        .await
        .unwrap();
    let consumer = Consumer::new(broker.client_config(&[("group.id", "holders")]))
        .await
        .unwrap();
    consumer.subscribe(&["assigned"]).await.unwrap();
    let deadline = tokio::time::Instant::now() + common::SAFETY_TIMEOUT;
    while consumer.assignment().await.len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "never assigned");
        consumer.poll(Duration::from_millis(100)).await.unwrap();
    }

    let group = admin.describe_group("holders").await.unwrap();
    assert_eq!(group.members.len(), 1, "{group:?}");
    let partitions: Vec<i32> = group.members[0]
        .assignment
        .iter()
        .map(|tp| tp.partition)
        .collect();
    assert_eq!(partitions, vec![0, 1, 2]);
    assert!(group.members[0]
        .assignment
        .iter()
        .all(|tp| &*tp.topic == "assigned"));
    consumer.close(common::SAFETY_TIMEOUT).await.unwrap();
}
