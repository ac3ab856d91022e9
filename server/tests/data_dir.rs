//! `strom server` processes and their data dir: one broker per dir.

mod common;

use common::{assert_success, server_command, Broker};

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
