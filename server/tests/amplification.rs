//! Requests that name one thing many times: the broker answers each name
//! once, so its memory stays near what it holds anyway. Measured as a user
//! would, on the `strom server` process: its peak RSS (VmHWM) while four
//! clients send 3 MB Metadata requests naming one topic 150,000 times, and
//! Fetch requests naming one 8 MB partition 25 times with a 2 GiB limit.
//! (Answered once per name, the first took a broker past 20 GB and the
//! second made 200 MB responses.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use bytes::BytesMut;
use common::{server_command, Broker};
use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord};
use strom_protocol::frame::encode_request;
use strom_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use strom_protocol::messages::metadata_request::MetadataRequestTopic;
use strom_protocol::messages::{FetchRequest, MetadataRequest, Request, RequestHeader};

/// The process's peak resident set, in MiB (Linux `VmHWM`).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024
}

/// Sends one request and returns the size of its response.
fn call(address: &str, version: i16, request: Request) -> usize {
    let header = RequestHeader {
        request_api_key: request.api_key() as i16,
        request_api_version: version,
        correlation_id: 1,
        client_id: Some("amplification".into()),
        ..Default::default()
    };
    let mut frame = BytesMut::new();
    encode_request(&header, &request, &mut frame).unwrap();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(&frame).unwrap();
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).unwrap();
    let size = i32::from_be_bytes(prefix) as usize;
    std::io::copy(&mut (&mut stream).take(size as u64), &mut std::io::sink()).unwrap();
    size
}

fn metadata_naming(topic: &str, times: usize) -> Request {
    let named = MetadataRequestTopic {
        name: Some(topic.to_string()),
        ..Default::default()
    };
    MetadataRequest {
        topics: Some(vec![named; times]),
        ..Default::default()
    }
    .into()
}

fn fetch_naming(topic: &str, times: usize) -> Request {
    let partition = FetchPartition {
        partition: 0,
        fetch_offset: 0,
        partition_max_bytes: i32::MAX,
        ..Default::default()
    };
    FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes: i32::MAX,
        topics: vec![FetchTopic {
            topic: topic.to_string(),
            partitions: vec![partition; times],
            ..Default::default()
        }],
        ..Default::default()
    }
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_names_do_not_multiply_the_brokers_memory() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(server_command(&[], &dir.path().join("data")));
    let admin = AdminClient::new(broker.config(&[])).await.unwrap();
    admin
        .create_topic(NewTopic::new("big", 1, 1))
        .await
        .unwrap();
    let producer = Producer::new(broker.config(&[("linger.ms", "5")]))
        .await
        .unwrap();
    let value = "v".repeat(100_000);
    let deliveries: Vec<_> = (0..80)
        .map(|_| producer.send(ProducerRecord::new("big", value.clone())))
        .collect();
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    drop(producer);
    drop(admin);
    let before = peak_rss_mib(broker.child.id());

    let address = broker.address.clone();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || {
                let metadata = call(&address, 12, metadata_naming("big", 150_000));
                let fetch = call(&address, 12, fetch_naming("big", 25));
                (metadata, fetch)
            })
        })
        .collect();
    for client in clients {
        let (metadata, fetch) = client.join().unwrap();
        assert!(
            metadata < 10_000,
            "metadata answered once: {metadata} bytes"
        );
        assert!(
            (8_000_000..12_000_000).contains(&fetch),
            "the partition read once: {fetch} bytes"
        );
    }
    let after = peak_rss_mib(broker.child.id());
    eprintln!("broker peak RSS: {before} MiB before the requests, {after} MiB after");
    assert!(
        after < before + 256,
        "peak RSS went from {before} MiB to {after} MiB"
    );
}
