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
