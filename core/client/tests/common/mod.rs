//! A real Strom broker, in-process on 127.0.0.1, for the client's tests.
//! It runs on its own tokio runtime (standing in for the broker process)
//! and can be stopped and reopened on the same data dir and the same port,
//! so a client's bootstrap address stays valid across a restart.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strom_broker::config::BrokerConfig;
use strom_broker::state::Broker;
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, ClientConfig, Consumer, ConsumerRecord};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Safety net for anything a test waits on; never a pass/fail timing.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct TestBroker {
    dir: TempDir,
    pub addr: SocketAddr,
    settings: Vec<(String, String)>,
    running: Option<Running>,
}

struct Running {
    runtime: Runtime,
    shutdown: oneshot::Sender<()>,
    served: JoinHandle<()>,
}

impl TestBroker {
    pub fn start() -> TestBroker {
        TestBroker::start_with(&[])
    }

    /// Starts a broker with extra broker settings (`log.dirs` is set here).
    pub fn start_with(settings: &[(&str, &str)]) -> TestBroker {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("bound address");
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let running = launch(&dir, &settings, listener);
        TestBroker {
            dir,
            addr,
            settings,
            running: Some(running),
        }
    }

    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// A client config for this broker plus `extra` settings.
    pub fn client_config(&self, extra: &[(&str, &str)]) -> ClientConfig {
        let mut pairs = vec![("bootstrap.servers".to_string(), self.bootstrap())];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ClientConfig::from_pairs(pairs).expect("valid client config")
    }

    /// Clean stop: every log is closed; the port is released.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.shutdown.send(());
        tokio::time::timeout(SAFETY_TIMEOUT, running.served)
            .await
            .expect("broker stops in time")
            .expect("serve task did not panic");
        running.runtime.shutdown_background();
    }

    /// Starts again on the same data dir and port.
    pub async fn reopen(&mut self) {
        assert!(self.running.is_none(), "stop the broker first");
        let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
        let listener = loop {
            match std::net::TcpListener::bind(self.addr) {
                Ok(listener) => break listener,
                Err(error) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "rebind {}: {error}",
                        self.addr
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        self.running = Some(launch(&self.dir, &self.settings, listener));
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
        }
    }
}

fn launch(
    dir: &TempDir,
    settings: &[(String, String)],
    listener: std::net::TcpListener,
) -> Running {
    let data_dir = dir.path().to_str().expect("utf-8 temp dir").to_string();
    let mut pairs = vec![("log.dirs", data_dir.as_str())];
    pairs.extend(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let config = BrokerConfig::from_pairs(&pairs).expect("broker config");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let port = listener.local_addr().expect("bound address").port();
    let broker =
        Arc::new(Broker::open(config, "127.0.0.1".into(), i32::from(port)).expect("broker opens"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("broker runtime");
    let (shutdown, stop) = oneshot::channel::<()>();
    let served = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        strom_broker::server::serve(broker, listener, async move {
            if stop.await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .expect("the broker shuts down cleanly");
    });
    Running {
        runtime,
        shutdown,
        served,
    }
}

/// Creates `topic` with `partitions` partitions (replication factor 1).
pub async fn create_topic(broker: &TestBroker, topic: &str, partitions: i32) {
    let admin = AdminClient::new(broker.client_config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new(topic, partitions, 1))
        .await
        .unwrap();
}

/// Reads partitions 0..`partitions` of `topic` from the beginning until
/// `expected` records came, then polls once more so that records beyond
/// those (duplicates) show up in the result too.
pub async fn read_all(
    broker: &TestBroker,
    topic: &str,
    partitions: i32,
    expected: usize,
) -> Vec<ConsumerRecord> {
    let consumer = Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    let assignment = strom_client::tps((0..partitions).map(|p| (topic, p)));
    consumer.assign(&assignment).await;
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    let mut records = Vec::new();
    while records.len() < expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read {} of {expected} records",
            records.len()
        );
        records.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    records.extend(consumer.poll(Duration::from_millis(300)).await.unwrap());
    records
}
