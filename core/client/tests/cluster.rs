//! Connections and the metadata cache against a real Strom broker.

mod common;

use common::TestBroker;
use strom_client::cluster::Cluster;
use strom_client::connection::Connection;
use strom_client::ClientError;
use strom_protocol::messages::{ApiKey, ApiVersionsRequest, Response};

#[tokio::test]
async fn connection_negotiates_versions_and_pipelines_requests() {
    let broker = TestBroker::start();
    let config = broker.client_config(&[]);
    let connection = Connection::connect(&broker.bootstrap(), (&config).into())
        .await
        .unwrap();
    let version = connection.version_for(ApiKey::Metadata).unwrap();
    assert!(version >= 1, "broker speaks Metadata v{version}");

    // Many requests in flight at once, each answered with its own response.
    let requests = (0..20).map(|_| {
        let connection = connection.clone();
        async move {
            connection
                .send(ApiKey::ApiVersions, |_| {
                    ApiVersionsRequest::default().into()
                })
                .await
        }
    });
    for response in futures_join_all(requests).await {
        assert!(matches!(response.unwrap(), Response::ApiVersions(r) if r.error_code == 0));
    }
}

#[tokio::test]
async fn cluster_bootstraps_and_finds_brokers() {
    let broker = TestBroker::start();
    let cluster = Cluster::connect(broker.client_config(&[])).await.unwrap();
    let metadata = cluster.metadata();
    assert_eq!(metadata.brokers.len(), 1);
    let node = *metadata.brokers.keys().next().unwrap();
    assert_eq!(metadata.brokers[&node].port, i32::from(broker.addr.port()));

    let error = cluster.leader_for("no-such-topic", 0).await.unwrap_err();
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
    let error = match Cluster::connect(config).await {
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
