//! The `strom` client commands, run as a user runs them: the built binary
//! against a `strom server` process this test starts on a free port.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{assert_success, server_command, STROM};
use serde_json::Value;

/// A `strom server` on 127.0.0.1:<free port> in a temporary data dir,
/// killed on drop.
struct Broker {
    server: common::Broker,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        Broker::start_with(&[])
    }

    /// A broker with `--set KEY=VALUE` for each of `settings`.
    fn start_with(settings: &[&str]) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let mut command = server_command(&[], &dir.path().join("data"));
        command.args(settings.iter().flat_map(|s| ["--set", s]));
        Broker {
            server: common::Broker::start(command),
            _dir: dir,
        }
    }
}

impl Broker {
    /// The first segment of partition `partition` of `topic`.
    fn first_segment(&self, topic: &str, partition: i32) -> Vec<u8> {
        let path = self
            ._dir
            .path()
            .join("data")
            .join(format!("{topic}-{partition}"))
            .join(format!("{:020}.log", 0));
        std::fs::read(path).unwrap()
    }
}

impl std::ops::Deref for Broker {
    type Target = common::Broker;

    fn deref(&self) -> &common::Broker {
        &self.server
    }
}

/// The whitespace-split cells of the table row starting with `first`.
fn row<'a>(text: &'a str, first: &str, second: &str) -> Vec<&'a str> {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&first) && cells.get(1) == Some(&second))
        .unwrap_or_else(|| panic!("no row {first} {second} in:\n{text}"))
}

#[test]
fn topics_are_created_listed_described_configured_and_deleted() {
    let broker = Broker::start();
    let created = broker.ok(&[
        "topic",
        "create",
        "orders",
        "-p",
        "3",
        "-c",
        "retention.ms=3600000",
    ]);
    assert_eq!(created.trim(), "created orders");
    assert_eq!(broker.ok(&["topic", "list"]).trim(), "orders");

    let described = broker.ok(&["topic", "describe", "orders"]);
    assert!(described.contains("retention.ms=3600000"), "{described}");
    assert!(
        !described.contains("cleanup.policy="),
        "defaults are hidden: {described}"
    );
    for partition in ["0", "1", "2"] {
        // PARTITION LEADER REPLICAS ISR LOG-START LOG-END
        let cells = row(&described, partition, "0");
        assert_eq!(cells[2..], ["[0]", "[0]", "0", "0"], "{described}");
    }

    broker.ok(&[
        "topic",
        "alter-config",
        "orders",
        "--set",
        "retention.ms=60000",
    ]);
    let described = broker.ok(&["topic", "describe", "orders"]);
    assert!(described.contains("retention.ms=60000"), "{described}");
    broker.ok(&[
        "topic",
        "alter-config",
        "orders",
        "--delete",
        "retention.ms",
    ]);
    let described = broker.ok(&["topic", "describe", "orders"]);
    assert!(!described.contains("retention.ms"), "{described}");

    assert_eq!(
        broker.ok(&["topic", "delete", "orders"]).trim(),
        "deleted orders"
    );
    assert_eq!(broker.ok(&["topic", "list"]).trim(), "");
}

#[test]
fn produced_lines_come_back_as_json_records() {
    let broker = Broker::start();
    broker.ok(&["topic", "create", "lines", "-p", "3"]);
    let input: String = (0..100).map(|i| format!("key-{i}:value {i}\n")).collect();
    let produced = broker.run_with_input(&["produce", "lines", "--key-separator", ":"], &input);
    assert_success(&["produce"], &produced);
    let summary = String::from_utf8_lossy(&produced.stderr);
    assert!(summary.contains("produced 100 records"), "{summary}");

    let consumed = broker.ok(&[
        "consume",
        "lines",
        "--from-beginning",
        "--count",
        "100",
        "--format",
        "json",
    ]);
    let records: Vec<Value> = consumed
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 100);
    let mut pairs: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            assert_eq!(r["topic"], "lines");
            assert_eq!(r["key_encoding"], "utf8");
            (
                r["key"].as_str().unwrap().to_string(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    pairs.sort();
    let mut expected: Vec<(String, String)> = (0..100)
        .map(|i| (format!("key-{i}"), format!("value {i}")))
        .collect();
    expected.sort();
    assert_eq!(pairs, expected);
    // Keyed records of one key stay in one partition, in order.
    for partition in 0..3 {
        let offsets: Vec<i64> = records
            .iter()
            .filter(|r| r["partition"] == partition)
            .map(|r| r["offset"].as_i64().unwrap())
            .collect();
        let in_order: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, in_order, "partition {partition}");
    }
}

#[test]
fn consume_as_json_piped_into_produce_as_json_copies_records_with_headers() {
    let broker = Broker::start();
    broker.ok(&["topic", "create", "source", "-p", "3"]);
    broker.ok(&["topic", "create", "copy", "-p", "3"]);
    // Binary values and headers (base64), a null key, a fixed partition.
    let input: String = (0..30)
        .map(|i| {
            let key = if i % 10 == 0 { "null".to_string() } else { format!("\"k{}\"", i % 7) };
            format!(
                r#"{{"key":{key},"value":"/wA{}","value_encoding":"base64","headers":[{{"key":"seq","value":"{i}"}},{{"key":"none","value":null}}]{}}}"#,
                ["A", "B", "C", "D"][i % 4],
                if i == 29 { r#","partition":1"# } else { "" }
            ) + "\n"
        })
        .collect();
    let produced = broker.run_with_input(&["produce", "source", "--format", "json"], &input);
    assert_success(&["produce", "--format", "json"], &produced);

    let consume = |topic: &str| {
        let out = broker.ok(&[
            "consume",
            topic,
            "--from-beginning",
            "-n",
            "30",
            "--format",
            "json",
        ]);
        let mut records: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        records.sort_by_key(|r| {
            r["headers"][0]["value"]
                .as_str()
                .unwrap()
                .parse::<i32>()
                .unwrap()
        });
        records
    };
    let source = consume("source");
    assert_eq!(source.len(), 30);
    assert_eq!(source[29]["partition"], 1);
    assert_eq!(source[3]["value"], "/wAD");
    assert_eq!(source[3]["value_encoding"], "base64");
    assert_eq!(source[0]["key"], Value::Null);
    assert_eq!(source[0]["headers"][1]["value"], Value::Null);

    let lines: String = source.iter().map(|r| format!("{r}\n")).collect();
    let copied = broker.run_with_input(&["produce", "copy", "--format", "json"], &lines);
    assert_success(&["produce", "copy", "--format", "json"], &copied);
    let copy = consume("copy");
    for (a, b) in source.iter().zip(&copy) {
        for field in [
            "partition",
            "offset",
            "timestamp",
            "key",
            "value",
            "headers",
        ] {
            assert_eq!(a[field], b[field], "{field} of {a} vs {b}");
        }
    }

    let bad = broker.run_with_input(&["produce", "copy", "--format", "json"], "{\"value\": 1}\n");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("line 1") && stderr.contains("value must be"),
        "{stderr}"
    );
}

#[test]
fn group_offsets_show_lag_and_reset_only_with_execute() {
    let broker = Broker::start();
    broker.ok(&["topic", "create", "events", "-p", "1"]);
    let input: String = (0..100).map(|i| format!("event {i}\n")).collect();
    assert_success(
        &["produce"],
        &broker.run_with_input(&["produce", "events"], &input),
    );

    // A group consume commits the position reached at exit.
    let consumed = broker.ok(&[
        "consume",
        "events",
        "--group",
        "g",
        "--from-beginning",
        "-n",
        "30",
        "--format",
        "text",
    ]);
    assert_eq!(consumed.lines().next(), Some("event 0"));
    assert_eq!(consumed.lines().count(), 30);
    let described = broker.ok(&["group", "describe", "g"]);
    // TOPIC PARTITION COMMITTED LOG-END LAG
    assert_eq!(
        row(&described, "events", "0")[2..],
        ["30", "100", "70"],
        "{described}"
    );
    let groups = broker.ok(&["group", "list"]);
    row(&groups, "g", "Empty");

    let plan = broker.ok(&[
        "group",
        "reset-offsets",
        "g",
        "--topic",
        "events",
        "--to-offset",
        "90",
    ]);
    assert_eq!(row(&plan, "events", "0")[2..], ["30", "90"], "{plan}");
    assert!(plan.contains("dry run"), "{plan}");
    let described = broker.ok(&["group", "describe", "g"]);
    assert_eq!(
        row(&described, "events", "0")[4],
        "70",
        "dry run changed nothing"
    );

    broker.ok(&[
        "group",
        "reset-offsets",
        "g",
        "--topic",
        "events",
        "--to-offset",
        "90",
        "--execute",
    ]);
    let described = broker.ok(&["group", "describe", "g"]);
    assert_eq!(
        row(&described, "events", "0")[2..],
        ["90", "100", "10"],
        "{described}"
    );

    // The next group consume starts at the committed offset.
    let resumed = broker.ok(&[
        "consume", "events", "--group", "g", "-n", "1", "--format", "text",
    ]);
    assert_eq!(resumed.trim(), "event 90");

    broker.ok(&[
        "group",
        "reset-offsets",
        "g",
        "--topic",
        "events",
        "--to-earliest",
        "--execute",
    ]);
    let described = broker.ok(&["group", "describe", "g"]);
    assert_eq!(row(&described, "events", "0")[4], "100", "{described}");

    assert_eq!(broker.ok(&["group", "delete", "g"]).trim(), "deleted g");
}

#[test]
fn unreachable_broker_and_unknown_topic_fail_with_one_line() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let output = Command::new(STROM)
        .args([
            "topic",
            "list",
            "--brokers",
            &format!("127.0.0.1:{closed_port}"),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("strom: ") && stderr.contains("unreachable"),
        "{stderr}"
    );

    let broker = Broker::start();
    for args in [
        &["consume", "missing", "-n", "1"][..],
        &["topic", "describe", "missing"][..],
    ] {
        let output = broker.run_with_input(args, "a line\n");
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn produce_to_a_missing_topic_follows_the_brokers_auto_create_setting() {
    let broker = Broker::start();
    let produced = broker.run_with_input(&["produce", "fresh"], "a\nb\n");
    assert_success(&["produce", "fresh"], &produced);
    let described = broker.ok(&["topic", "describe", "fresh"]);
    assert!(described.contains("fresh"), "{described}");
    let consumed = broker.ok(&[
        "consume",
        "fresh",
        "--from-beginning",
        "-n",
        "2",
        "--format",
        "text",
    ]);
    assert_eq!(consumed, "a\nb\n");

    let strict = Broker::start_with(&["auto.create.topics.enable=false"]);
    let refused = strict.run_with_input(&["produce", "missing"], "a line\n");
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("strom topic create missing"), "{stderr}");
}

#[test]
fn describing_a_group_that_does_not_exist_fails() {
    let broker = Broker::start();
    let output = broker.run(&["group", "describe", "nobody"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("group 'nobody' does not exist"), "{stderr}");
}

#[test]
fn a_json_copy_into_fewer_partitions_names_the_line_or_repartitions() {
    let broker = Broker::start();
    broker.ok(&["topic", "create", "wide", "-p", "4"]);
    broker.ok(&["topic", "create", "narrow", "-p", "2"]);
    let lines: String = (0..20)
        .map(|i| {
            format!(
                r#"{{"key":"k{}","value":"v{i}","partition":{}}}"#,
                i % 5,
                i % 4
            ) + "\n"
        })
        .collect();
    let produced = broker.run_with_input(&["produce", "wide", "--format", "json"], &lines);
    assert_success(&["produce", "wide"], &produced);
    let copy = broker.ok(&[
        "consume",
        "wide",
        "--from-beginning",
        "-n",
        "20",
        "--format",
        "json",
    ]);

    let refused = broker.run_with_input(&["produce", "narrow", "--format", "json"], &copy);
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains("has 2 partitions, not partition") && stderr.contains("--repartition"),
        "{stderr}"
    );
    let args = ["produce", "narrow", "--format", "json", "--repartition"];
    assert_success(&args, &broker.run_with_input(&args, &copy));
    let copied = broker.ok(&[
        "consume",
        "narrow",
        "--from-beginning",
        "-n",
        "20",
        "--format",
        "json",
    ]);
    // Partitioned by key: every record of one key lands in one partition.
    let mut partition_of_key = std::collections::HashMap::new();
    for line in copied.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let partition = record["partition"].as_i64().unwrap();
        assert!((0..2).contains(&partition), "{record}");
        let key = record["key"].as_str().unwrap().to_string();
        assert_eq!(*partition_of_key.entry(key).or_insert(partition), partition);
    }
    assert_eq!(partition_of_key.len(), 5);
}

#[test]
fn server_help_names_the_environment_variables_and_the_precedence() {
    let output = Command::new(STROM)
        .args(["server", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "STROM_",
        "--set",
        "--config FILE",
        "one broker per data dir",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
    for (command, argument) in [("produce", "<TOPIC>"), ("consume", "<TOPIC>")] {
        // -h: the short help, one line per argument.
        let output = Command::new(STROM).args([command, "-h"]).output().unwrap();
        let help = String::from_utf8(output.stdout).unwrap();
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(argument) && line.len() > argument.len() + 4)
            .unwrap_or_else(|| {
                panic!("{argument} has no help text in `strom {command} --help`:\n{help}")
            });
        assert!(line.contains("topic"), "{line}");
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_group_consume_which_commits_what_it_printed() {
    let broker = Broker::start();
    broker.ok(&["topic", "create", "pinned", "-p", "2"]);
    let input: String = (0..10).map(|i| format!("line {i}\n")).collect();
    let produced = broker.run_with_input(
        &[
            "produce",
            "pinned",
            "--partition",
            "1",
            "--compression",
            "zstd",
            "--acks",
            "1",
        ],
        &input,
    );
    assert_success(&["produce"], &produced);
    let summary = String::from_utf8_lossy(&produced.stderr);
    assert!(
        summary.contains("10 records to 1 partition(s)"),
        "{summary}"
    );

    let mut consume = Command::new(STROM)
        .args(["consume", "pinned", "--group", "live", "--from-beginning"])
        .args(["--format", "text", "--brokers", &broker.address])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(consume.stdout.take().unwrap()).lines();
    for i in 0..10 {
        assert_eq!(lines.next().unwrap().unwrap(), format!("line {i}"));
    }
    // No --count: only the interrupt ends it.
    let interrupted = Command::new("kill")
        .args(["-INT", &consume.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = consume.wait_with_output().unwrap();
    assert_success(&["consume"], &output);

    let described = broker.ok(&["group", "describe", "live"]);
    assert_eq!(
        row(&described, "pinned", "1")[2..],
        ["10", "10", "0"],
        "{described}"
    );
}

/// A `strom server` child with `extra` flags, once it printed its ready
/// line (stdout is then closed), with its temporary dir.
fn ready_server(extra: &[&str], stdin: Stdio) -> (std::process::Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = server_command(&[], &dir.path().join("data"))
        .args(extra)
        .stdin(stdin)
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("strom ready"), "{ready}");
    (child, dir)
}

#[test]
fn a_broker_whose_output_pipes_closed_still_stops_cleanly() {
    // Its stdout and stderr readers gone (a supervisor or a test runner
    // that died): the log lines of the shutdown are lost, the shutdown is
    // not (the logger reporting its own write failure used to panic).
    let (mut child, _dir) = ready_server(&[], Stdio::null());
    drop(child.stderr.take());
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn stop_on_stdin_close_stops_the_broker_when_its_parent_lets_go_of_stdin() {
    let (mut child, _dir) = ready_server(&["--stop-on-stdin-close"], Stdio::piped());
    // Still serving while the pipe is open.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "stopped early");
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// `-X` reaches the client as the user wrote it: a command's own defaults
/// (consume from the end, produce uncompressed) yield to it, and its flags
/// win over it.
#[test]
fn client_settings_given_with_x_win_over_the_commands_defaults() {
    let broker = Broker::start();
    broker.ok(&["topic", "create", "settings", "-p", "1"]);
    let produced = broker.run_with_input(
        &["produce", "settings", "-X", "compression.type=gzip"],
        "a\nb\nc\n",
    );
    assert_success(&["produce"], &produced);
    // Attributes (the 2 bytes at 21 of a batch) name the codec: gzip is 1.
    let segment = broker.first_segment("settings", 0);
    assert_eq!(segment[22] & 0x07, 1, "the batch is gzip-compressed");

    // From the earliest offset: without it, a consumer at the end would
    // wait here for records that never come.
    let earliest = consume_within_30s(&broker, &["settings", "-X", "auto.offset.reset=earliest"]);
    assert_eq!(earliest, "a\nb\nc\n");
    // The command's flag wins over -X.
    let flag = consume_within_30s(
        &broker,
        &[
            "settings",
            "--from-beginning",
            "-X",
            "auto.offset.reset=latest",
        ],
    );
    assert_eq!(flag, "a\nb\nc\n");
}

/// `strom consume ARGS -n 3 --format text`'s output; killed (and failed)
/// if it has not finished in 30 s.
fn consume_within_30s(broker: &Broker, args: &[&str]) -> String {
    let mut consume = Command::new(STROM)
        .arg("consume")
        .args(args)
        .args(["-n", "3", "--format", "text", "--brokers", &broker.address])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while consume.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = consume.kill();
    let output = consume.wait_with_output().unwrap();
    assert_success(&["consume"], &output);
    String::from_utf8(output.stdout).unwrap()
}
