//! The client against Apache Kafka itself (the reference broker), started
//! in KRaft mode from the Maven Central jars by `scripts/kafka`. It runs
//! with `STROM_TEST_KAFKA=1` (as `scripts/test` sets it, after
//! `scripts/setup` has fetched the jars); without it the test only says it
//! skipped, so a plain `cargo test` needs no JVM.

mod reference;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Kafka {
    child: Child,
    bootstrap: String,
    _dir: tempfile::TempDir,
}

impl Drop for Kafka {
    fn drop(&mut self) {
        // SIGTERM lets scripts/kafka's trap stop the JVM it started;
        // SIGKILL (Child::kill) would orphan the JVM.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn start_kafka() -> Option<Kafka> {
    if std::env::var("STROM_TEST_KAFKA").as_deref() != Ok("1") {
        eprintln!("skipping: set STROM_TEST_KAFKA=1 to test against Apache Kafka (scripts/kafka)");
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(script)
        .arg("--dir")
        .arg(dir.path())
        // Kafka's first retention pass (30 s after start) would delete the
        // records the scenarios stamp in 2023.
        .args(["--set", "log.initial.task.delay.ms=3600000"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("scripts/kafka starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let bootstrap = line
        .split_whitespace()
        .find(|word| word.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected scripts/kafka output: {line:?}"))
        .to_string();
    Some(Kafka {
        child,
        bootstrap,
        _dir: dir,
    })
}

/// Every reference scenario against one Kafka broker (one JVM start for
/// all of them); the same scenarios run against Strom in
/// `reference_on_strom.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_scenarios_pass_against_apache_kafka() {
    let Some(kafka) = start_kafka() else { return };
    let bootstrap = kafka.bootstrap.as_str();
    reference::admin_topics_configs_and_offsets(bootstrap).await;
    reference::producer_codecs_acks_and_partitioning(bootstrap).await;
    reference::producer_partitions_for_creates_a_missing_topic(bootstrap).await;
    reference::group_members_share_partitions_and_commit(bootstrap, "range").await;
    reference::group_members_share_partitions_and_commit(bootstrap, "roundrobin").await;
    reference::group_members_share_partitions_and_commit(bootstrap, "cooperative-sticky").await;
}
