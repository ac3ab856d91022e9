//! `strom storage check DIR` on a broker's data dir: clean logs pass;
//! cut bytes, a flipped record byte, a flipped base offset and a broken
//! length are each reported with file, byte and offsets, and the broker
//! serves everything else.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{read_all_with_offsets, server_command, Broker, STROM};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord};
use strom_protocol::records::BatchHeader;

fn check(dir: &Path) -> (bool, String) {
    let output = Command::new(STROM)
        .args(["storage", "check"])
        .arg(dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// Byte positions of the batches in a segment file.
fn batch_positions(path: &Path) -> Vec<usize> {
    let bytes = std::fs::read(path).unwrap();
    let mut positions = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        positions.push(at);
        let header = BatchHeader::parse(&bytes[at..]).unwrap();
        at += header.validate_frame(bytes.len() - at).unwrap();
    }
    positions
}

fn segments(partition: &Path) -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(partition)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_damaged_spot_and_the_broker_serves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = Broker::start(server_command(&[], &data));
    let admin = AdminClient::new(broker.config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("events", 1, 1).with_config("segment.bytes", "8192"))
        .await
        .unwrap();
    let producer = Producer::new(broker.config(&[("linger.ms", "0")]))
        .await
        .unwrap();
    for i in 0..200 {
        producer
            .send(ProducerRecord::new("events", format!("{i:0>200}")))
            .await
            .unwrap();
    }
    drop(producer);
    drop(admin);
    assert!(broker.stop().success());

    let (ok, report) = check(&data);
    assert!(ok, "{report}");
    assert!(report.contains("no damage"), "{report}");

    let partition = data.join("events-0");
    let logs = segments(&partition);
    assert!(logs.len() >= 5, "{logs:?}");
    // 1. Seven bytes cut from the middle of the second segment.
    let mut bytes = std::fs::read(&logs[1]).unwrap();
    let middle = bytes.len() / 2;
    bytes.drain(middle..middle + 7);
    std::fs::write(&logs[1], bytes).unwrap();
    // 2. A flipped byte inside a record of the third segment's second batch.
    let second = batch_positions(&logs[2])[1];
    let mut bytes = std::fs::read(&logs[2]).unwrap();
    bytes[second + 100] ^= 0x20;
    std::fs::write(&logs[2], &bytes).unwrap();
    // 3. The fourth segment's second batch claims offsets 50 further on
    //    (the base offset is outside the CRC).
    let second = batch_positions(&logs[3])[1];
    let mut bytes = std::fs::read(&logs[3]).unwrap();
    let base = i64::from_be_bytes(bytes[second..second + 8].try_into().unwrap());
    bytes[second..second + 8].copy_from_slice(&(base + 50).to_be_bytes());
    std::fs::write(&logs[3], &bytes).unwrap();

    // 4. The fifth segment's second batch claims 16 MiB: a clean start
    //    trusts the index past it, so the first read meets it.
    let second_of_fifth = batch_positions(&logs[4])[1];
    let mut bytes = std::fs::read(&logs[4]).unwrap();
    bytes[second_of_fifth + 8..second_of_fifth + 12].copy_from_slice(&(1i32 << 24).to_be_bytes());
    std::fs::write(&logs[4], &bytes).unwrap();

    let (ok, report) = check(&data);
    assert!(!ok, "damage makes the check fail:\n{report}");
    let lines: Vec<&str> = report.lines().collect();
    assert!(report.contains("4 damaged spot(s)"), "{report}");
    let name = |path: &Path| path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(lines[0].contains(&name(&logs[1])), "{report}");
    assert!(
        lines[1].contains(&name(&logs[2])) && lines[1].contains("CRC"),
        "{report}"
    );
    assert!(
        lines[2].contains(&name(&logs[3]))
            && lines[2].contains(&format!("byte {second}"))
            && lines[2].contains("skip 50 offset(s)"),
        "{report}"
    );
    // The same report for the partition dir alone.
    let (_, alone) = check(&partition);
    assert!(
        lines[3].contains(&name(&logs[4])) && lines[3].contains(&format!("byte {second_of_fifth}")),
        "{report}"
    );
    assert!(alone.contains("4 damaged spot(s)"), "{alone}");

    // The broker starts on the damaged dir and serves everything the
    // damage spared, every record at its own offset (value i was written
    // at offset i, one record per batch): the cut costs the one batch it
    // falls in, the flipped byte its one batch, the flipped base offset
    // nothing, the broken length its one batch.
    let broker = Broker::start(server_command(&[], &data));
    let served = read_all_with_offsets(&broker, "events").await;
    for (offset, value) in &served {
        assert_eq!(value, &format!("{offset:0>200}"), "offset {offset}");
    }
    let offsets: Vec<i64> = served.iter().map(|(offset, _)| *offset).collect();
    let first_of = |log: &Path| -> i64 {
        let name = log.file_stem().unwrap().to_string_lossy().into_owned();
        name.parse().unwrap()
    };
    let fixed = first_of(&logs[3]) + 1;
    assert!(
        offsets.contains(&fixed),
        "the batch with the damaged base offset"
    );
    let lost: Vec<i64> = (0..200).filter(|o| !offsets.contains(o)).collect();
    assert_eq!(lost.len(), 3, "{lost:?}");
    assert!(
        (first_of(&logs[1])..first_of(&logs[2])).contains(&lost[0]),
        "{lost:?}"
    );
    assert_eq!(lost[1], first_of(&logs[2]) + 1, "{lost:?}");
    assert_eq!(lost[2], first_of(&logs[4]) + 1, "{lost:?}");
    assert_eq!(offsets.last(), Some(&199));
    assert!(broker.stop().success());

    // The intact batches after the cut, and after the broken length, now
    // start segments of their own; the damaged bytes stay where they were,
    // so the check still finds the same four spots, and nothing else.
    let split = segments(&partition);
    assert_eq!(split.len(), logs.len() + 2, "{split:?}");
    assert_eq!(first_of(&split[2]), lost[0] + 1);
    assert_eq!(first_of(&split[6]), lost[2] + 1);
    let (ok, again) = check(&data);
    assert!(!ok && again.contains("4 damaged spot(s)"), "{again}");
}
