//! A broker whose file descriptors run out refuses new connections, and
//! the producers it already serves keep writing: their segments still roll.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use common::{server_command, Broker};

use strom_client::admin::NewTopic;
use strom_client::blocking::{AdminClient, Producer};
use strom_client::{ClientConfig, ProducerRecord};

/// Soft and hard: the broker cannot raise it.
const FD_LIMIT: usize = 256;

/// True when the broker has closed `stream` (EOF or reset).
fn closed_by_broker(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("the broker sent bytes unasked"),
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// A broker on `data` that cannot raise its open-file limit above
/// [`FD_LIMIT`] (soft and hard).
fn limited_broker(data: &std::path::Path) -> Broker {
    let script = format!("ulimit -n {FD_LIMIT} && exec \"$@\"");
    Broker::start(server_command(&["sh", "-c", &script, "sh"], data))
}

#[test]
fn out_of_file_descriptors_new_connections_are_refused_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = limited_broker(&dir.path().join("data"));
    let address = broker.address.clone();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", broker.child.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(open_files.contains(&FD_LIMIT.to_string()), "{open_files}");

    let config = ClientConfig::with_bootstrap(&address).unwrap();
    let admin = AdminClient::new(config.clone()).unwrap();
    // Small segments: every 20 records roll one, which opens new files.
    admin
        .create_topic(NewTopic::new("rolling", 1, 1).with_config("segment.bytes", "20480"))
        .unwrap();
    let producer = Producer::new(config).unwrap();
    let value = vec![b'v'; 1000];
    let send = |count: usize| {
        for _ in 0..count {
            let mut delivery = producer.send(ProducerRecord::new("rolling", value.clone()));
            delivery
                .wait(Duration::from_secs(30))
                .expect("the append is acknowledged");
        }
    };
    send(10); // the producer's connections are open

    // More connections than the broker has descriptors for: it must
    // refuse some before it runs out.
    let streams: Vec<TcpStream> = (0..FD_LIMIT + 100)
        .map_while(|_| TcpStream::connect(&address).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let refused = streams.iter().filter(|s| closed_by_broker(s)).count();
    assert!(
        refused > 0,
        "the broker kept all {} connections",
        streams.len()
    );
    let held = streams.len() - refused;
    assert!(held > FD_LIMIT / 2, "only {held} connections admitted");

    // Ten segment rolls while the connections are held.
    send(200);
    drop(streams);
    drop(admin);
}

/// A topic with more partitions than the broker has descriptors for fails
/// with a storage error and leaves none of its partition dirs behind (the
/// one whose open failed included); a smaller topic is created after it.
#[test]
fn a_creation_that_runs_out_of_descriptors_leaves_no_partition_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = limited_broker(&data);
    let admin = AdminClient::new(ClientConfig::with_bootstrap(&broker.address).unwrap()).unwrap();
    let wide = admin.create_topic(NewTopic::new("wide", (FD_LIMIT * 2) as i32, 1));
    assert!(wide.is_err(), "{wide:?}");
    let left: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("wide-"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
    admin.create_topic(NewTopic::new("narrow", 10, 1)).unwrap();
    drop(admin);
}
