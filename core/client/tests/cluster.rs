//! Connections and the metadata cache against a real Strom broker, seen
//! through the admin client (the connection and cluster modules are
//! private).

mod common;

use std::time::Duration;

use common::{create_topic, TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::OffsetSpec;
use strom_client::{AdminClient, ClientError, Producer, ProducerRecord, TopicPartition};

#[tokio::test]
async fn connection_negotiates_versions_and_pipelines_requests() {
    const PARTITIONS: i32 = 20;
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    // Requests go out at a version both sides speak (from ApiVersions),
    // so the broker answers them.
    let cluster = admin.describe_cluster().await.unwrap();
    assert!(cluster.cluster_id.is_some(), "{cluster:?}");
    assert!(cluster.controller_id >= 0, "{cluster:?}");

    // Partition p holds p records, so each answer tells which request it
    // belongs to.
    create_topic(&broker, "pipelined", PARTITIONS).await;
    let producer = Producer::from_admin(&admin);
    let deliveries: Vec<_> = (0..PARTITIONS)
        .flat_map(|p| (0..p).map(move |i| (p, i)))
        .map(|(p, i)| {
            producer.send(ProducerRecord::new("pipelined", format!("{i}")).with_partition(p))
        })
        .collect();
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close(common::SAFETY_TIMEOUT).await.unwrap();

    // Many requests in flight at once on the one connection to the
    // leader, each answered with its own response.
    let requests = (0..PARTITIONS).map(|p| {
        let admin = admin.clone();
        async move {
            let tp = TopicPartition::new("pipelined", p);
            (p, admin.list_offsets(&[(tp, OffsetSpec::Latest)]).await)
        }
    });
    for (p, response) in futures_join_all(requests).await {
        let listed = response.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].tp, TopicPartition::new("pipelined", p));
        assert_eq!(listed[0].offset, i64::from(p), "{listed:?}");
    }
}

#[tokio::test]
async fn cluster_bootstraps_and_finds_brokers() {
    let broker = TestBroker::start();
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
    let node = cluster.brokers[0].node_id;
    assert_eq!(cluster.brokers[0].port, i32::from(broker.addr.port()));
    // The metadata cache knows the broker as the leader of a new topic.
    create_topic(&broker, "led", 1).await;
    let described = admin.describe_topics(&["led"]).await.unwrap();
    assert_eq!(described[0].partitions[0].leader, node);

    // Looking up the leader of a partition of an unknown topic.
    let error = admin
        .list_offsets(&[(TopicPartition::new("no-such-topic", 0), OffsetSpec::Latest)])
        .await
        .unwrap_err();
    assert_eq!(error.kafka_code(), Some(3), "{error}");
}

#[tokio::test]
async fn unreachable_bootstrap_names_the_address_and_what_to_check() {
    // Bind then drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = strom_client::ClientConfig::from_pairs([
        ("bootstrap.servers", format!("127.0.0.1:{port}")),
        ("socket.connection.setup.timeout.ms", "2000".to_string()),
    ])
    .unwrap();
    let error = match AdminClient::new(config).await {
        Err(error) => error,
        Ok(_) => panic!("connected to a closed port"),
    };
    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.is_retriable());
    let message = error.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("bootstrap.servers"),
        "{message}"
    );
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

/// `take_errors`: a broker that goes away is reported once per outage
/// (not once per reconnect attempt), with "all brokers down" when it was
/// the only one; a reconnect ends the outage, and the next one is
/// reported again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_broker_is_a_client_error_once_per_outage() {
    let mut broker = TestBroker::start();
    let producer = Producer::new(broker.client_config(&[
        ("reconnect.backoff.ms", "10"),
        ("reconnect.backoff.max.ms", "50"),
        ("delivery.timeout.ms", "60000"),
    ]))
    .await
    .unwrap();
    producer
        .send(ProducerRecord::new("outage", "before"))
        .await
        .unwrap();
    assert!(producer.take_errors().is_empty());

    broker.stop().await;
    let during = producer.send(ProducerRecord::new("outage", "during"));
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    let mut heard = Vec::new();
    while !heard
        .iter()
        .any(|e: &ClientError| e.name() == "_ALL_BROKERS_DOWN")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "heard only {heard:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        heard.extend(producer.take_errors());
    }
    // Many reconnect attempts later, still one report of each kind.
    tokio::time::sleep(Duration::from_millis(500)).await;
    heard.extend(producer.take_errors());
    let all_down = heard
        .iter()
        .filter(|e| e.name() == "_ALL_BROKERS_DOWN")
        .count();
    assert_eq!(all_down, 1, "{heard:?}");
    assert!(heard.len() <= 3, "{heard:?}");

    broker.reopen().await;
    during.await.unwrap();
    let after = producer.take_errors();
    assert!(
        after.iter().all(|e| e.name() != "_ALL_BROKERS_DOWN"),
        "{after:?}"
    );
    producer.close(SAFETY_TIMEOUT).await.unwrap();
}
