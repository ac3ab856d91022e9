//! The client against Apache Kafka itself (the reference broker), started
//! from the Maven jars by `scripts/kafka`. Slow (~20 s to start), so it
//! runs only with `STROM_TEST_KAFKA=1 cargo test -p strom-client --test apache_kafka`
//! after `scripts/setup` has fetched the jars.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use strom_client::admin::{NewTopic, OffsetSpec};
use strom_client::{AdminClient, ClientConfig, Consumer, Producer, ProducerRecord};
use strom_protocol::murmur2::partition_for_key;

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

#[tokio::test]
async fn admin_producer_and_consumer_work_against_apache_kafka() {
    let Some(kafka) = start_kafka() else { return };
    let config = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("bootstrap.servers", kafka.bootstrap.as_str())];
        pairs.extend_from_slice(extra);
        ClientConfig::from_pairs(pairs).unwrap()
    };
    let admin = AdminClient::new(config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("ref", 3, 1))
        .await
        .unwrap();
    assert!(admin
        .list_topics(false)
        .await
        .unwrap()
        .contains(&"ref".to_string()));

    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let producer = Producer::new(config(&[("compression.type", codec)]))
            .await
            .unwrap();
        let deliveries: Vec<_> = (0..20)
            .map(|i| {
                producer.send(
                    ProducerRecord::new("ref", format!("{codec}-{i}"))
                        .with_key(format!("k{i}"))
                        .with_header("h", "v"),
                )
            })
            .collect();
        for (i, delivery) in deliveries.into_iter().enumerate() {
            let metadata = delivery.await.unwrap();
            assert_eq!(
                Some(metadata.partition),
                partition_for_key(format!("k{i}").as_bytes(), 3)
            );
        }
        producer.close(Duration::from_secs(30)).await.unwrap();
    }
    let ends = admin
        .list_offsets(&[
            ("ref", 0, OffsetSpec::Latest),
            ("ref", 1, OffsetSpec::Latest),
            ("ref", 2, OffsetSpec::Latest),
        ])
        .await
        .unwrap();
    assert_eq!(ends.iter().map(|e| e.offset).sum::<i64>(), 100);

    let mut consumer = Consumer::new(config(&[("auto.offset.reset", "earliest")]))
        .await
        .unwrap();
    consumer.assign(&[("ref", 0), ("ref", 1), ("ref", 2)]);
    let mut records = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while records.len() < 100 && tokio::time::Instant::now() < deadline {
        records.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
    }
    assert_eq!(records.len(), 100);
    assert!(records
        .iter()
        .all(|r| r.headers == vec![("h".to_string(), Some("v".into()))]));

    admin
        .alter_group_offsets("ref-group", &[("ref", 0, 1)])
        .await
        .unwrap();
    let offsets = admin.list_group_offsets("ref-group").await.unwrap();
    assert_eq!(offsets[0].committed_offset, 1);
}
