//! The reference scenarios (`reference/mod.rs`) against Strom; the same
//! scenarios run against Apache Kafka in `apache_kafka.rs`.

mod common;
mod reference;

use common::TestBroker;

#[tokio::test]
async fn admin_topics_configs_and_offsets() {
    let broker = TestBroker::start();
    reference::admin_topics_configs_and_offsets(&broker.bootstrap()).await;
}

#[tokio::test]
async fn producer_codecs_acks_and_partitioning() {
    let broker = TestBroker::start();
    reference::producer_codecs_acks_and_partitioning(&broker.bootstrap()).await;
}

#[tokio::test]
async fn producer_partitions_for_creates_a_missing_topic() {
    let broker = TestBroker::start();
    reference::producer_partitions_for_creates_a_missing_topic(&broker.bootstrap()).await;
}

#[tokio::test]
async fn range_group_members_share_partitions_and_commit() {
    let broker = TestBroker::start();
    reference::group_members_share_partitions_and_commit(&broker.bootstrap(), "range").await;
}

#[tokio::test]
async fn roundrobin_group_members_share_partitions_and_commit() {
    let broker = TestBroker::start();
    reference::group_members_share_partitions_and_commit(&broker.bootstrap(), "roundrobin").await;
}

#[tokio::test]
async fn cooperative_sticky_group_members_share_partitions_and_commit() {
    let broker = TestBroker::start();
    reference::group_members_share_partitions_and_commit(&broker.bootstrap(), "cooperative-sticky")
        .await;
}
