//! `strom server` processes and their data dir: one broker per dir.

mod common;

use common::{assert_success, read_all_with_offsets, server_command, Broker};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord};

#[test]
fn a_second_broker_on_a_data_dir_in_use_exits_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Broker::start(server_command(&[], &data));

    let second = server_command(&[], &data).output().unwrap();
    assert!(!second.status.success(), "the second broker must not start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("in use by process {}", first.child.id())),
        "stderr: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&second.stdout).contains("strom ready"),
        "the second broker announced itself"
    );

    // The lock goes with its process, however it ends: no stale lock.
    drop(first);
    let third = Broker::start(server_command(&[], &data));
    assert!(third.address.starts_with("127.0.0.1:"));
}

#[test]
fn a_restart_logs_one_line_for_the_consumer_groups_not_one_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Broker::start(server_command(&[], &data));
    let produce = ["produce", "events"];
    assert_success(&produce, &first.run_with_input(&produce, "a\n"));
    first.ok(&[
        "consume",
        "events",
        "--group",
        "g",
        "--from-beginning",
        "-n",
        "1",
    ]);
    drop(first);

    let second = Broker::start(server_command(&[], &data));
    // Describing the group waits for the groups to be loaded.
    let described = second.ok(&["group", "describe", "g"]);
    assert!(described.contains("events"), "{described}");
    let log = second.log.clone();
    second.stop();
    let log = log.lock().unwrap().clone();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("__consumer_offsets"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("groups=1"), "{log}");
}

/// A page-cache broker, SIGKILLed: at the restart every acknowledged
/// record is served (its recovery rechecks what the crash left), appends
/// go on after them, and so again after a second crash before the
/// recovered segment was ever synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_page_cache_broker_serves_every_acknowledged_record_after_each_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let page_cache = |data: &std::path::Path| {
        let mut command = server_command(&[], data);
        command.args(["--set", "strom.flush.policy=page-cache"]);
        Broker::start(command)
    };
    let mut expected = Vec::new();
    for round in 0..3 {
        let broker = page_cache(&data);
        if round > 0 {
            assert_eq!(read_all_with_offsets(&broker, "events").await, expected);
        } else {
            let admin = AdminClient::new(broker.config(&[])).await.unwrap();
            admin
                .create_topic(NewTopic::new("events", 1, 1).with_config("segment.bytes", "16384"))
                .await
                .unwrap();
        }
        let producer = Producer::new(broker.config(&[("acks", "1"), ("linger.ms", "0")]))
            .await
            .unwrap();
        for i in 0..60 {
            let value = format!("{round}-{i:0>300}");
            let written = producer
                .send(ProducerRecord::new("events", value.clone()))
                .await
                .unwrap();
            expected.push((written.offset, value));
        }
        drop(producer);
        drop(broker); // SIGKILL
    }
    let offsets: Vec<i64> = expected.iter().map(|(offset, _)| *offset).collect();
    assert_eq!(offsets, (0..180).collect::<Vec<_>>());
    let broker = page_cache(&data);
    assert_eq!(read_all_with_offsets(&broker, "events").await, expected);
}
