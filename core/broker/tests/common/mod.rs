//! Test harness shared by the broker's integration tests: a real broker on
//! `127.0.0.1:0` ([`TestBroker`]), a minimal Kafka client ([`Client`]) and
//! helpers that build record batches and typical requests.
//!
//! Each broker runs on its own tokio runtime, standing in for the broker
//! process: a clean stop resolves the shutdown future and waits for `serve`
//! to close every log; a crash shuts the runtime down in the background with
//! no close at all, which is what `kill -9` does to a process (files stay as
//! the page cache holds them; nothing is checkpointed or marked clean).

#![allow(dead_code)] // every test binary uses a different subset

pub mod client;
pub mod requests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use strom_broker::config::BrokerConfig;
use strom_broker::state::Broker;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use client::Client;
#[allow(unused_imports)] // not every test binary uses the helpers
pub use requests::*;

/// Safety net for anything a test waits on; never a pass/fail timing.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(20);

/// A broker serving on a loopback port, with its data in a temp dir that
/// outlives restarts.
pub struct TestBroker {
    dir: TempDir,
    settings: Vec<(String, String)>,
    pub addr: SocketAddr,
    running: Option<Running>,
}

struct Running {
    runtime: Runtime,
    shutdown: oneshot::Sender<()>,
    served: JoinHandle<()>,
    broker: Arc<Broker>,
}

impl TestBroker {
    /// A broker with Kafka's defaults.
    pub fn start() -> TestBroker {
        TestBroker::start_with(&[])
    }

    /// A broker with extra settings (Kafka names, e.g. `num.partitions`).
    pub fn start_with(settings: &[(&str, &str)]) -> TestBroker {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (addr, running) = launch(dir.path(), &settings);
        TestBroker {
            dir,
            settings,
            addr,
            running: Some(running),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The broker's in-memory state, for assertions a client cannot make.
    pub fn broker(&self) -> Arc<Broker> {
        self.running
            .as_ref()
            .expect("broker running")
            .broker
            .clone()
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Clean shutdown: `serve` returns after closing every log.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.shutdown.send(());
        tokio::time::timeout(SAFETY_TIMEOUT, running.served)
            .await
            .expect("broker shut down in time")
            .expect("serve task finished without panicking");
        drop(running.broker);
        running.runtime.shutdown_background();
    }

    /// Simulated process crash: the runtime and every task on it are
    /// dropped mid-flight; no log is closed.
    pub fn crash(&mut self) {
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
            // Dropping the sender does not trigger a clean stop (see launch).
            drop(running.shutdown);
            drop(running.broker);
        }
    }

    /// Opens a new broker on the same data dir (after `stop` or `crash`).
    /// It listens on a new port.
    pub fn reopen(&mut self) {
        assert!(self.running.is_none(), "stop or crash the broker first");
        let (addr, running) = launch(self.dir.path(), &self.settings);
        self.addr = addr;
        self.running = Some(running);
    }

    pub async fn restart_cleanly(&mut self) {
        self.stop().await;
        self.reopen();
    }

    pub fn crash_and_reopen(&mut self) {
        self.crash();
        self.reopen();
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        // A runtime may not be dropped inside another runtime's task.
        if let Some(running) = self.running.take() {
            running.runtime.shutdown_background();
        }
    }
}

fn launch(dir: &Path, settings: &[(String, String)]) -> (SocketAddr, Running) {
    let data_dir = dir.to_str().expect("utf-8 temp dir").to_string();
    let mut pairs: Vec<(&str, &str)> = vec![("log.dirs", data_dir.as_str())];
    pairs.extend(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let config = BrokerConfig::from_pairs(&pairs).expect("valid test config");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let addr = listener.local_addr().expect("bound address");
    let broker = Arc::new(
        Broker::open(config, "127.0.0.1".into(), i32::from(addr.port())).expect("broker opens"),
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("broker runtime");
    let (shutdown, stop) = oneshot::channel::<()>();
    let served_broker = broker.clone();
    let served = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        strom_broker::server::serve(served_broker, listener, async move {
            // Only an explicit send stops the broker cleanly; a dropped
            // sender (a crash) must not.
            if stop.await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .expect("the broker shuts down cleanly");
    });
    (
        addr,
        Running {
            runtime,
            shutdown,
            served,
            broker,
        },
    )
}

/// Polls `condition` until it holds; panics after [`SAFETY_TIMEOUT`].
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SAFETY_TIMEOUT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
