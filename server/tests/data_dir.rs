//! `strom server` processes and their data dir: one broker per dir.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const STROM: &str = env!("CARGO_BIN_EXE_strom");

fn server(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(STROM);
    command
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Kills the child on drop, so a failed assertion leaves no broker behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_broker_on_a_data_dir_in_use_exits_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut first = Running(server(&data).spawn().unwrap());
    let mut ready = String::new();
    BufReader::new(first.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("strom ready"), "{ready:?}");

    let second = server(&data).output().unwrap();
    assert!(!second.status.success(), "the second broker must not start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("in use by process {}", first.0.id())),
        "stderr: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&second.stdout).contains("strom ready"),
        "the second broker announced itself"
    );

    // The lock goes with its process, however it ends: no stale lock.
    drop(first);
    let mut third = Running(server(&data).spawn().unwrap());
    let mut ready = String::new();
    BufReader::new(third.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("strom ready"), "{ready:?}");
}

/// Runs a client command against the broker at `address`.
fn client(address: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(STROM)
        .args(args)
        .args(["--brokers", address])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "strom {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Starts a broker and returns it with its address.
fn start(data: &std::path::Path) -> (Running, String) {
    let mut running = Running(server(data).spawn().unwrap());
    let mut ready = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let address = ready
        .split_whitespace()
        .find(|word| word.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {ready:?}"))
        .to_string();
    (running, address)
}

#[test]
fn a_restart_logs_one_line_for_the_consumer_groups_not_one_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (first, address) = start(&data);
    client(&address, &["produce", "events"], "a\n");
    let args = [
        "consume",
        "events",
        "--group",
        "g",
        "--from-beginning",
        "-n",
        "1",
    ];
    client(&address, &args, "");
    drop(first);

    let (mut second, address) = start(&data);
    // Describing the group waits for the groups to be loaded.
    let described = client(&address, &["group", "describe", "g"], "");
    assert!(String::from_utf8_lossy(&described.stdout).contains("events"));
    let _ = second.0.kill();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut log).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("__consumer_offsets"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("groups=1"), "{log}");
}
