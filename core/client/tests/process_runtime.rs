//! The process-wide client runtime the blocking clients (and the
//! bindings) share: a thousand clients do not make a thousand runtimes,
//! and a child process after `fork()` gets a runtime of its own.
//!
//! Both tests look at the whole process (its thread count, a fork), so
//! they run one at a time, in a test binary of their own.

mod common;

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use common::{TestBroker, SAFETY_TIMEOUT};
use strom_client::admin::NewTopic;
use strom_client::blocking;
use strom_client::{runtime, ClientConfig, ProducerRecord, TopicPartition};

/// The tests of this file, one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// This process's threads by name (the in-process broker's runtime uses
/// tokio's default names; the client runtime names its threads
/// `strom-client`).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("list /proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect()
}

/// Threads the client library runs: those of its runtime, and any other
/// `strom-` thread (the per-client runtimes of old were `strom-producer`).
fn client_threads() -> usize {
    thread_names()
        .iter()
        .filter(|name| name.starts_with("strom-"))
        .count()
}

fn values_in(
    broker: &TestBroker,
    topic: &str,
    partitions: i32,
    expected: usize,
) -> BTreeSet<String> {
    let consumer =
        blocking::Consumer::new(broker.client_config(&[("auto.offset.reset", "earliest")]))
            .unwrap();
    let assignment: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    consumer.assign(&assignment).unwrap();
    let deadline = std::time::Instant::now() + SAFETY_TIMEOUT;
    let mut values = BTreeSet::new();
    while values.len() < expected && std::time::Instant::now() < deadline {
        for record in consumer.poll(Duration::from_millis(200)).unwrap() {
            values.insert(
                String::from_utf8_lossy(record.value.as_deref().unwrap_or_default()).into_owned(),
            );
        }
    }
    consumer.close(Duration::from_secs(5)).unwrap();
    values
}

const PRODUCERS: usize = 1_000;

#[test]
fn a_thousand_blocking_producers_share_one_runtime() {
    let _serial = serial();
    // Two connections per producer on each side of loopback.
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("many", 4, 1)).unwrap();
    // The shared runtime runs now (the admin client started it).
    let before = client_threads();

    let config: ClientConfig = broker.client_config(&[("linger.ms", "0")]);
    let producers: Vec<blocking::Producer> = (0..PRODUCERS)
        .map(|_| blocking::Producer::new(config.clone()).unwrap())
        .collect();
    let mut handles: Vec<_> = producers
        .iter()
        .enumerate()
        .map(|(i, producer)| producer.send(ProducerRecord::new("many", format!("from-{i}"))))
        .collect();
    for handle in &mut handles {
        handle
            .wait(SAFETY_TIMEOUT)
            .expect("every producer delivers");
    }
    let with_all = client_threads();

    // Per-client runtimes would run WORKER_THREADS threads per producer;
    // the shared one runs its workers and at most 16 blocking threads
    // (connecting), however many clients there are.
    eprintln!("client threads: {before} with one admin client, {with_all} with {PRODUCERS} producers more");
    assert!(
        with_all <= runtime::WORKER_THREADS + 16,
        "{PRODUCERS} producers run {with_all} client threads: {:?}",
        thread_names()
    );
    for producer in &producers {
        producer.close(Duration::from_secs(5)).unwrap();
    }
    drop(producers);
    let values = values_in(&broker, "many", 4, PRODUCERS);
    assert_eq!(values.len(), PRODUCERS);
}

#[test]
fn a_child_after_fork_gets_a_runtime_of_its_own() {
    let _serial = serial();
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin.create_topic(NewTopic::new("forked", 1, 1)).unwrap();
    // The parent's producer is running (the shared runtime has threads)
    // when the process forks, as in a pre-fork server or multiprocessing.
    let producer = blocking::Producer::new(broker.client_config(&[])).unwrap();
    producer
        .send(ProducerRecord::new("forked", "parent before fork"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();
    let outcome_file = tempfile::NamedTempFile::new().unwrap();
    let outcome_path = outcome_file.path().to_path_buf();

    match fork::fork().expect("fork") {
        fork::Fork::Child => {
            // The parent's producer cannot run here (its threads stayed in
            // the parent): it must say so, not hang.
            let inherited = producer
                .send(ProducerRecord::new("forked", "inherited"))
                .wait(Duration::from_secs(5));
            let inherited = match inherited {
                Ok(_) => "delivered".to_string(),
                Err(failure) => failure.error.to_string(),
            };
            // A new client in the child works.
            let fresh = blocking::Producer::new(broker.client_config(&[]))
                .and_then(|producer| {
                    let delivered = producer
                        .send(ProducerRecord::new("forked", "child after fork"))
                        .wait(SAFETY_TIMEOUT)
                        .map_err(|failure| failure.error);
                    producer.close(Duration::from_secs(5))?;
                    delivered
                })
                .map_or_else(|error| error.to_string(), |_| "delivered".to_string());
            let _ = std::fs::write(&outcome_path, format!("{inherited}\n{fresh}\n"));
            runtime::ClientRuntime::shutdown_shared(Duration::from_secs(2));
            std::process::exit(0);
        }
        fork::Fork::Parent(child) => {
            fork::waitpid(child).expect("wait for the child");
        }
    }
    let outcome = std::fs::read_to_string(&outcome_path).unwrap();
    let lines: Vec<&str> = outcome.lines().collect();
    assert_eq!(lines.len(), 2, "the child reported: {outcome:?}");
    assert!(
        lines[0].contains("fork"),
        "a pre-fork client in the child: {}",
        lines[0]
    );
    assert_eq!(lines[1], "delivered", "a new client in the child");

    // The parent's own producer goes on after the fork.
    producer
        .send(ProducerRecord::new("forked", "parent after fork"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();
    producer.close(Duration::from_secs(5)).unwrap();
    let values = values_in(&broker, "forked", 1, 3);
    let expected: BTreeSet<String> = [
        "parent before fork",
        "child after fork",
        "parent after fork",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(values, expected);
}

#[test]
fn shutting_the_shared_runtime_down_closes_its_clients_and_the_next_client_starts_another() {
    let _serial = serial();
    let broker = TestBroker::start();
    let admin = blocking::AdminClient::new(broker.client_config(&[])).unwrap();
    admin
        .create_topic(NewTopic::new("restarted", 1, 1))
        .unwrap();
    let before = blocking::Producer::new(broker.client_config(&[])).unwrap();
    before
        .send(ProducerRecord::new("restarted", "before"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();

    runtime::ClientRuntime::shutdown_shared(Duration::from_secs(5));
    assert_eq!(
        client_threads(),
        0,
        "its threads are gone: {:?}",
        thread_names()
    );
    // Clients of the stopped runtime fail at once, saying why.
    let failure = before
        .send(ProducerRecord::new("restarted", "too late"))
        .wait(Duration::from_secs(5))
        .unwrap_err();
    assert!(failure.error.is_fatal(), "{}", failure.error);
    assert_eq!(failure.error.name(), "_DESTROY");
    assert!(admin.list_topics(false).is_err());

    // A client made later runs on a new runtime.
    let after = blocking::Producer::new(broker.client_config(&[])).unwrap();
    after
        .send(ProducerRecord::new("restarted", "after"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();
    after.close(Duration::from_secs(5)).unwrap();
    let values = values_in(&broker, "restarted", 1, 2);
    let expected: BTreeSet<String> = ["before", "after"].into_iter().map(String::from).collect();
    assert_eq!(values, expected);
}

#[test]
fn blocking_clients_run_on_a_runtime_the_caller_owns() {
    let _serial = serial();
    let broker = TestBroker::start();
    let owned = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("app-runtime")
        .enable_all()
        .build()
        .unwrap();
    let on_it = runtime::ClientRuntime::from_handle(owned.handle().clone());
    let admin =
        blocking::AdminClient::with_runtime(broker.client_config(&[]), on_it.clone()).unwrap();
    admin.create_topic(NewTopic::new("own", 1, 1)).unwrap();
    let producer = blocking::Producer::with_runtime(broker.client_config(&[]), on_it).unwrap();
    let delivered = producer
        .send(ProducerRecord::new("own", "on the caller's runtime"))
        .wait(SAFETY_TIMEOUT)
        .unwrap();
    assert_eq!(delivered.offset, 0);
    producer.close(Duration::from_secs(5)).unwrap();
}
