//! Runs each example's body against a real Strom broker started in this
//! process, and checks what it printed and returned.

use std::sync::Arc;

use std::time::Duration;
use strom_broker::config::BrokerConfig;
use strom_broker::state::Broker;
use strom_client::AdminClient;

use strom_examples::{admin, client_config, consumer, group_consumer, producer, EXAMPLE_TOPIC};

/// Starts a broker on 127.0.0.1:<free port> on the test's runtime; it
/// stops when the runtime (the test) ends. Returns its bootstrap address.
async fn start_broker(data_dir: &std::path::Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = data_dir.to_str().unwrap();
    let config = BrokerConfig::from_pairs(&[("log.dirs", dir)]).unwrap();
    let broker = Arc::new(Broker::open(config, "127.0.0.1".into(), i32::from(port)).unwrap());
    tokio::spawn(strom_broker::server::serve(
        broker,
        listener,
        std::future::pending(),
    ));
    format!("127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_then_consumer_examples_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = start_broker(dir.path()).await;

    let mut printed = Vec::new();
    let delivered = producer::run(&bootstrap, EXAMPLE_TOPIC, 25, &mut printed)
        .await
        .unwrap();
    assert_eq!(delivered.len(), 25);
    let printed = String::from_utf8(printed).unwrap();
    assert_eq!(printed.lines().count(), 25);
    let first = &delivered[0];
    assert!(printed.starts_with(&format!(
        "key-0 -> {EXAMPLE_TOPIC} partition {} offset {}",
        first.partition, first.offset
    )));

    let mut printed = Vec::new();
    let records = consumer::run(&bootstrap, EXAMPLE_TOPIC, &mut printed)
        .await
        .unwrap();
    assert_eq!(records.len(), 25);
    for (i, sent) in delivered.iter().enumerate() {
        let record = records
            .iter()
            .find(|r| r.partition == sent.partition && r.offset == sent.offset)
            .unwrap_or_else(|| panic!("record {i} at {sent:?} was not consumed"));
        assert_eq!(record.key.as_deref(), Some(format!("key-{i}").as_bytes()));
        assert_eq!(
            record.value.as_deref(),
            Some(format!("value-{i}").as_bytes())
        );
    }
    let printed = String::from_utf8(printed).unwrap();
    assert_eq!(printed.lines().count(), 25);
    assert!(printed.contains("key-24 = value-24"), "{printed}");

    // Producing again reuses the existing topic.
    let again = producer::run(&bootstrap, EXAMPLE_TOPIC, 1, &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_consumer_example_resumes_from_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = start_broker(dir.path()).await;
    let idle = Duration::from_millis(500);
    producer::run(&bootstrap, EXAMPLE_TOPIC, 12, &mut Vec::new())
        .await
        .unwrap();

    let mut printed = Vec::new();
    let first = group_consumer::run(&bootstrap, EXAMPLE_TOPIC, "g", idle, &mut printed)
        .await
        .unwrap();
    assert_eq!(first.len(), 12);
    let printed = String::from_utf8(printed).unwrap();
    assert_eq!(printed.lines().count(), 12);
    assert!(printed.contains(": value-11"), "{printed}");

    // The group committed: a second run reads only what came since.
    producer::run(&bootstrap, EXAMPLE_TOPIC, 3, &mut Vec::new())
        .await
        .unwrap();
    let second = group_consumer::run(&bootstrap, EXAMPLE_TOPIC, "g", idle, &mut Vec::new())
        .await
        .unwrap();
    let values: Vec<_> = second.iter().map(|r| r.value.clone().unwrap()).collect();
    assert_eq!(values.len(), 3, "{values:?}");
    assert!(values
        .iter()
        .all(|v| v.starts_with(b"value-") && v.len() == 7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_example_leaves_no_topic_behind() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = start_broker(dir.path()).await;

    let mut printed = Vec::new();
    admin::run(&bootstrap, "tour", &mut printed).await.unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(printed.starts_with("created tour\n"), "{printed}");
    assert!(
        printed.contains("tour partition 1: leader 0 replicas [0] isr [0]"),
        "{printed}"
    );
    assert!(
        printed.contains("tour partition 1: earliest offset 0, latest offset 0"),
        "{printed}"
    );
    assert!(printed.ends_with("deleted tour\n"), "{printed}");

    let check = AdminClient::new(client_config(&bootstrap).unwrap())
        .await
        .unwrap();
    assert!(check.list_topics(false).await.unwrap().is_empty());
}

#[tokio::test]
async fn examples_report_an_unreachable_broker() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = admin::run(&format!("127.0.0.1:{closed_port}"), "x", &mut Vec::new())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("unreachable"), "{error}");
}
