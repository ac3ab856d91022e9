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
