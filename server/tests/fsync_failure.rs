//! A failing disk: once an fdatasync fails (an LD_PRELOAD shim makes it
//! fail with EIO, as a dying disk does), the broker acknowledges no write
//! in its data dir again, even after fsync works again (the page cache can
//! no longer be trusted), never shows the record whose fsync failed, keeps
//! serving reads, says why in its log, and exits non-zero at shutdown. A
//! restart recovers and takes writes again.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strom_client::admin::NewTopic;
use strom_client::consumer::StartOffset;
use strom_client::{AdminClient, ClientConfig, Consumer, Producer, ProducerRecord, TopicPartition};

const STROM: &str = env!("CARGO_BIN_EXE_strom");
const KAFKA_STORAGE_ERROR: i16 = 56;

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

/// A `strom server` child; its stderr is collected as it runs.
struct Broker {
    child: Child,
    address: String,
    log: Arc<Mutex<String>>,
}

impl Broker {
    fn start(data: &Path, shim: Option<(&Path, &Path)>) -> Broker {
        let mut command = Command::new(STROM);
        command
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some((library, trigger)) = shim {
            command
                .env("LD_PRELOAD", library)
                .env("STROM_TEST_FAIL_FSYNC_IF", trigger);
        }
        let mut child = command.spawn().unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        let address = ready
            .split_whitespace()
            .find(|word| word.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {ready:?}"))
            .to_string();
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let collected = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Broker {
            child,
            address,
            log,
        }
    }

    fn config(&self, extra: &[(&str, &str)]) -> ClientConfig {
        let mut pairs = vec![("bootstrap.servers", self.address.as_str())];
        pairs.extend_from_slice(extra);
        ClientConfig::from_pairs(pairs).unwrap()
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn produce(producer: &Producer, topic: &str, value: &str) -> Result<i64, i16> {
    producer
        .send(ProducerRecord::new(topic, value.to_string()))
        .await
        .map(|written| written.offset)
        .map_err(|failed| failed.error.kafka_code().unwrap_or(-1))
}

/// Every value in partition 0 of `topic`, read until `quiet` passes with
/// nothing new.
async fn read_all(broker: &Broker, topic: &str) -> Vec<String> {
    let consumer = Consumer::new(broker.config(&[])).await.unwrap();
    consumer
        .assign_at(&[(TopicPartition::new(topic, 0), StartOffset::Beginning)])
        .await
        .unwrap();
    let mut values = Vec::new();
    loop {
        let records = consumer.poll(Duration::from_millis(1500)).await.unwrap();
        if records.is_empty() {
            return values;
        }
        for record in records {
            let value = record.value.unwrap_or_default();
            values.push(String::from_utf8_lossy(&value).into_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_fdatasync_no_write_is_acknowledged_until_restart() {
    let dir = tempfile::tempdir().unwrap();
    let shim = build_shim(dir.path());
    let trigger = dir.path().join("disk-is-failing");
    let data = dir.path().join("data");
    let broker = Broker::start(&data, Some((&shim, &trigger)));

    let admin = AdminClient::new(broker.config(&[])).await.unwrap();
    for topic in ["events", "other"] {
        admin
            .create_topic(NewTopic::new(topic, 1, 1))
            .await
            .unwrap();
    }
    // No retries: each answer is the broker's own.
    let settings = [
        ("acks", "all"),
        ("retries", "0"),
        ("enable.idempotence", "false"),
    ];
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
    assert!(errors[0].contains("fdatasync"), "{log}");

    // A restart recovers from what is on disk and takes writes again.
    let broker = Broker::start(&data, None);
    let producer = Producer::new(broker.config(&settings)).await.unwrap();
    let offset = produce(&producer, "events", "later").await.unwrap();
    let values = read_all(&broker, "events").await;
    assert_eq!(values.first().map(String::as_str), Some("before"));
    assert_eq!(values.last().map(String::as_str), Some("later"));
    assert_eq!(values.len() as i64, offset + 1);
    assert_eq!(produce(&producer, "other", "fine").await, Ok(0));
}
