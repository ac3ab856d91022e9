//! A full disk: the broker refuses writes with KAFKA_STORAGE_ERROR and
//! keeps everything it acknowledged; it starts again on the full disk and
//! serves reads; it takes writes again once space returns.
//!
//! The disk is a 4 MiB tmpfs mounted in a private mount namespace
//! (`unshare`; with a user namespace when not run as root), held open by
//! a `sleep` whose namespace each broker joins (`nsenter`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{produce, read_all, server_command, Broker, KAFKA_STORAGE_ERROR, ONE_TRY};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord};

const DISK: &str = "4m";
const RECORD: usize = 1000;

/// The small disk: a tmpfs at `mount_point`, seen only by processes that
/// join the holder's mount namespace. Dropping it unmounts it.
struct SmallDisk {
    holder: Child,
    mount_point: PathBuf,
    as_root: bool,
}

impl SmallDisk {
    fn mount(mount_point: &Path) -> SmallDisk {
        std::fs::create_dir_all(mount_point).unwrap();
        let uid = Command::new("id").arg("-u").output().unwrap().stdout;
        let as_root = String::from_utf8_lossy(&uid).trim() == "0";
        let mut unshare = Command::new("unshare");
        if !as_root {
            unshare.arg("--map-root-user");
        }
        let mut holder = unshare
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o size={DISK} tmpfs \"$0\" && echo mounted && exec sleep 3600"
            ))
            .arg(mount_point)
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) runs");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "mounted",
            "cannot mount a tmpfs in a namespace"
        );
        SmallDisk {
            holder,
            mount_point: mount_point.to_path_buf(),
            as_root,
        }
    }

    /// `nsenter` arguments that run a program inside the disk's namespace.
    fn launcher(&self) -> Vec<String> {
        let mut launcher = vec!["nsenter".to_string()];
        if !self.as_root {
            launcher.extend(["--preserve-credentials".to_string(), "-U".to_string()]);
        }
        launcher.extend([
            "-m".to_string(),
            "-t".to_string(),
            self.holder.id().to_string(),
            "--".to_string(),
        ]);
        launcher
    }

    fn run(&self, script: &str) {
        let launcher = self.launcher();
        let status = Command::new(&launcher[0])
            .args(&launcher[1..])
            .args(["sh", "-c", script])
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    }

    fn broker(&self) -> Broker {
        let launcher = self.launcher();
        let launcher: Vec<&str> = launcher.iter().map(String::as_str).collect();
        Broker::start(server_command(&launcher, &self.mount_point.join("data")))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn value(i: usize) -> String {
    format!("{i:0>width$}", width = RECORD)
}

/// Writes records of [`RECORD`] bytes (values counting from `first`), a
/// hundred queued at a time, until the broker refuses one; returns the
/// values acknowledged, in offset order, and the first refusal's code.
async fn fill(producer: &Producer, first: usize) -> (Vec<String>, i16) {
    let mut acknowledged = std::collections::BTreeMap::new();
    let mut sent = first;
    loop {
        let values: Vec<String> = (sent..sent + 100).map(value).collect();
        sent += values.len();
        // `send` queues at once; the deliveries are awaited after.
        let deliveries: Vec<_> = values
            .iter()
            .map(|v| producer.send(ProducerRecord::new("events", v.clone())))
            .collect();
        let mut refused = None;
        for (delivery, value) in deliveries.into_iter().zip(values) {
            match delivery.await {
                Ok(written) => {
                    acknowledged.insert(written.offset, value);
                }
                Err(failed) => refused = refused.or(Some(failed.error.kafka_code().unwrap_or(-1))),
            }
        }
        if let Some(code) = refused {
            return (acknowledged.into_values().collect(), code);
        }
        assert!(sent < 20_000, "a {DISK} disk never filled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_what_it_acknowledged_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("disk"));
    // Space to give back at the end.
    let ballast = disk.mount_point.join("ballast");
    disk.run(&format!("head -c 524288 /dev/zero > {}", ballast.display()));
    let broker = disk.broker();
    let admin = AdminClient::new(broker.config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("events", 1, 1).with_config("segment.bytes", "262144"))
        .await
        .unwrap();
    let mut settings = ONE_TRY.to_vec();
    settings.push(("linger.ms", "20"));
    let producer = Producer::new(broker.config(&settings)).await.unwrap();
    let (mut acknowledged, refused) = fill(&producer, 0).await;
    assert_eq!(
        refused, KAFKA_STORAGE_ERROR,
        "a full disk is a storage error"
    );
    assert!(acknowledged.len() > 1000, "{} records", acknowledged.len());
    assert_eq!(read_all(&broker, "events").await, acknowledged);
    drop(producer);
    drop(admin);
    let log = broker.log.clone();
    assert!(
        !broker.stop().success(),
        "a shutdown that could not write its checkpoints exits non-zero"
    );
    let log = log.lock().unwrap().clone();
    let disk_full_lines = log.lines().filter(|l| l.contains("disk full")).count();
    assert!(
        disk_full_lines <= 3,
        "a full disk is reported, not once per write:\n{log}"
    );

    // Whatever the stop left free is taken too: the disk is full to the byte.
    let filler = disk.mount_point.join("filler");
    disk.run(&format!("cat /dev/zero > {} || true", filler.display()));

    // The broker starts on the full disk and serves what it acknowledged.
    let broker = disk.broker();
    assert_eq!(read_all(&broker, "events").await, acknowledged);
    // Writes go on only as far as the last partly used pages allow.
    let producer = Producer::new(broker.config(&settings)).await.unwrap();
    let (more, refused) = fill(&producer, acknowledged.len()).await;
    assert_eq!(refused, KAFKA_STORAGE_ERROR);
    acknowledged.extend(more);
    assert_eq!(read_all(&broker, "events").await, acknowledged);

    // Space returns: writes are taken again, after the last acknowledged.
    disk.run(&format!("rm {} {}", filler.display(), ballast.display()));
    let next = acknowledged.len() as i64;
    assert_eq!(produce(&producer, "events", "space again").await, Ok(next));
    drop(producer);
    let log = broker.log.clone();
    let stopped = broker.stop();
    assert!(
        stopped.success(),
        "a clean shutdown once there is space:\n{}",
        log.lock().unwrap()
    );
    let broker = disk.broker();
    let values = read_all(&broker, "events").await;
    assert_eq!(values.len(), acknowledged.len() + 1);
    assert_eq!(values.last().map(String::as_str), Some("space again"));
}
