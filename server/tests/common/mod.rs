//! A `strom server` child process for the tests that run the binary,
//! with the client calls they share.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strom_client::consumer::StartOffset;
use strom_client::{ClientConfig, Consumer, Producer, ProducerRecord, TopicPartition};

pub const STROM: &str = env!("CARGO_BIN_EXE_strom");
pub const KAFKA_STORAGE_ERROR: i16 = 56;
/// Producer settings under which every answer is the broker's own: no
/// retries, acks from all replicas, no idempotence.
pub const ONE_TRY: [(&str, &str); 3] = [
    ("acks", "all"),
    ("retries", "0"),
    ("enable.idempotence", "false"),
];

/// `strom server --listen 127.0.0.1:0 --data-dir DATA`, to run as is or
/// wrapped (the caller may add environment or a launcher).
pub fn server_command(launcher: &[&str], data: &Path) -> Command {
    let (program, args) = match launcher.split_first() {
        Some((program, args)) => (*program, args),
        None => (STROM, &[][..]),
    };
    let mut command = Command::new(program);
    command.args(args);
    if !launcher.is_empty() {
        command.arg(STROM);
    }
    command
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A `strom server` child; its stderr is collected as it runs.
pub struct Broker {
    pub child: Child,
    pub address: String,
    pub log: Arc<Mutex<String>>,
}

impl Broker {
    /// Runs `command` (see [`server_command`]) and waits for its ready line.
    pub fn start(mut command: Command) -> Broker {
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

    pub fn config(&self, extra: &[(&str, &str)]) -> ClientConfig {
        let mut pairs = vec![("bootstrap.servers", self.address.as_str())];
        pairs.extend_from_slice(extra);
        ClientConfig::from_pairs(pairs).unwrap()
    }

    /// Runs `strom ARGS --brokers ADDRESS` with `stdin` as input.
    pub fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(STROM)
            .args(args)
            .args(["--brokers", &self.address])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that fails early may exit before reading its input;
        // the broken pipe that causes here is not what is under test.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, "")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_success(args, &output);
        String::from_utf8(output.stdout).unwrap()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
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

pub fn assert_success(args: &[&str], output: &Output) {
    assert!(
        output.status.success(),
        "strom {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub async fn produce(producer: &Producer, topic: &str, value: &str) -> Result<i64, i16> {
    producer
        .send(ProducerRecord::new(topic, value.to_string()))
        .await
        .map(|written| written.offset)
        .map_err(|failed| failed.error.kafka_code().unwrap_or(-1))
}

/// Every value in partition 0 of `topic`, read until `quiet` passes with
/// nothing new.
pub async fn read_all(broker: &Broker, topic: &str) -> Vec<String> {
    let records = read_all_with_offsets(broker, topic).await;
    records.into_iter().map(|(_, value)| value).collect()
}

/// [`read_all`] with each record's offset.
pub async fn read_all_with_offsets(broker: &Broker, topic: &str) -> Vec<(i64, String)> {
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
            values.push((record.offset, String::from_utf8_lossy(&value).into_owned()));
        }
    }
}
