//! A failing disk: once a sync fails (an LD_PRELOAD shim makes fsync,
//! fdatasync and syncfs fail with EIO, as a dying disk does), the broker
//! acknowledges no write in its data dir again, even after fsync works again (the page cache can
//! no longer be trusted), never shows the record whose fsync failed, keeps
//! serving reads, says why in its log, and exits non-zero at shutdown. A
//! restart recovers and takes writes again.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{produce, read_all, server_command, Broker, KAFKA_STORAGE_ERROR, ONE_TRY};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer};

/// Builds the shim with the system C compiler.
fn build_shim(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fault/fail_fsync.c");
    let library = dir.join("libfail_fsync.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .status()
        .expect("a C compiler (cc) builds the fault shim");
    assert!(status.success(), "cc failed on {}", source.display());
    library
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_fdatasync_no_write_is_acknowledged_until_restart() {
    let dir = tempfile::tempdir().unwrap();
    let shim = build_shim(dir.path());
    let trigger = dir.path().join("disk-is-failing");
    let data = dir.path().join("data");
    let mut command = server_command(&[], &data);
    command
        .env("LD_PRELOAD", &shim)
        .env("STROM_TEST_FAIL_FSYNC_IF", &trigger);
    let broker = Broker::start(command);

    let admin = AdminClient::new(broker.config(&[])).await.unwrap();
    for topic in ["events", "other"] {
        admin
            .create_topic(NewTopic::new(topic, 1, 1))
            .await
            .unwrap();
    }
    let settings = ONE_TRY;
    let producer = Producer::new(broker.config(&settings)).await.unwrap();
    assert_eq!(produce(&producer, "events", "before").await, Ok(0));

    std::fs::write(&trigger, b"").unwrap();
    assert_eq!(
        produce(&producer, "events", "doomed").await,
        Err(KAFKA_STORAGE_ERROR),
        "the write whose fdatasync failed is not acknowledged"
    );
    // The disk "recovers": a retried fsync would succeed, but the pages it
    // dropped are gone, so nothing is acknowledged in this data dir again.
    std::fs::remove_file(&trigger).unwrap();
    for topic in ["events", "other"] {
        assert_eq!(
            produce(&producer, topic, "after").await,
            Err(KAFKA_STORAGE_ERROR),
            "{topic}: writes stay refused until restart"
        );
    }
    // Reads go on, and the failed record never shows.
    assert_eq!(read_all(&broker, "events").await, ["before"]);
    drop(producer);
    drop(admin);

    let log = broker.log.clone();
    let status = broker.stop();
    assert!(
        !status.success(),
        "a shutdown that could not flush exits non-zero"
    );
    let log = log.lock().unwrap().clone();
    let errors: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("no longer accepts writes"))
        .collect();
    assert_eq!(errors.len(), 1, "one ERROR names the failure:\n{log}");
    // Acknowledgements wait for a syncfs of the data dir's filesystem.
    assert!(errors[0].contains("syncfs"), "{log}");

    // A restart recovers from what is on disk and takes writes again.
    let broker = Broker::start(server_command(&[], &data));
    let producer = Producer::new(broker.config(&settings)).await.unwrap();
    let offset = produce(&producer, "events", "later").await.unwrap();
    let values = read_all(&broker, "events").await;
    assert_eq!(values.first().map(String::as_str), Some("before"));
    assert_eq!(values.last().map(String::as_str), Some("later"));
    assert_eq!(values.len() as i64, offset + 1);
    assert_eq!(produce(&producer, "other", "fine").await, Ok(0));
}
