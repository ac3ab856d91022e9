//! The member's loop: subscribe, then poll, print each record, commit the
//! next offsets synchronously after every non-empty poll (printing
//! "committed" or "commit_failed"), answer "status", and on "close" close
//! the consumer (LeaveGroup for a dynamic member) and print "closed".
//!
//! The rebalance callbacks run inside `poll`, where the consumer cannot be
//! asked for its member id, so they only note the change; the loop prints
//! one "assignment" per change as soon as `poll` returns, before that
//! poll's records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};
use strom_client::{ClientConfig, Consumer, ConsumerRecord, TopicPartition};

use crate::commands::{Command, Commands};
use crate::config::MemberConfig;
use crate::error::MemberError;
use crate::events::{emit, membership};

const POLL_TIMEOUT: Duration = Duration::from_millis(200);
/// Below the suite's CLOSE_TIMEOUT_S (30 s), so a slow close reports its
/// own error rather than being killed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(20);
/// Between polls that failed, so a lasting error does not spin.
const POLL_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// A change of the assignment, as a rebalance callback saw it.
enum Change {
    Assigned(Vec<i32>),
    /// Revoked or lost: either way the member no longer holds them.
    Released(Vec<i32>),
}

type ChangeLog = Arc<Mutex<Vec<Change>>>;

struct Member {
    consumer: Consumer,
    topic: String,
    owned: BTreeSet<i32>,
    changes: ChangeLog,
}

pub async fn run(config: MemberConfig) -> Result<(), MemberError> {
    let mut commands = Commands::listen()?;
    let client_config = ClientConfig::from_pairs(config.client_settings())
        .map_err(MemberError::client("consumer settings"))?;
    let consumer = Consumer::new(client_config)
        .await
        .map_err(MemberError::client("starting the consumer"))?;
    let changes: ChangeLog = Arc::default();
    let topic = config.topic.clone();
    consumer
        .on_assigned(note(&changes, &topic, Change::Assigned))
        .await;
    consumer
        .on_revoked(note(&changes, &topic, Change::Released))
        .await;
    consumer
        .on_lost(note(&changes, &topic, Change::Released))
        .await;
    consumer
        .subscribe(&[&config.topic])
        .await
        .map_err(MemberError::client("subscribing"))?;
    let mut member = Member {
        consumer,
        topic,
        owned: BTreeSet::new(),
        changes,
    };
    loop {
        while let Some(command) = commands.next() {
            match command {
                Command::Status => emit("status", member.status().await),
                Command::Close => return member.close().await,
            }
        }
        // A close does not wait for the poll: dropping `poll` loses no
        // record and no join result (its documented contract).
        let polled = tokio::select! {
            polled = member.consumer.poll(POLL_TIMEOUT) => Some(polled),
            () = commands.close_requested() => None,
        };
        member.report_changes().await;
        match polled {
            None => return member.close().await,
            Some(Ok(records)) => member.consume(records).await,
            Some(Err(error)) => {
                emit("consume_error", json!({ "message": error.to_string() }));
                tokio::time::sleep(POLL_ERROR_BACKOFF).await;
            }
        }
    }
}

/// A rebalance callback that records the partitions of `topic` it got.
fn note(
    changes: &ChangeLog,
    topic: &str,
    change: fn(Vec<i32>) -> Change,
) -> impl Fn(&[TopicPartition]) + Send + Sync + 'static {
    let changes = changes.clone();
    let topic = topic.to_string();
    move |partitions: &[TopicPartition]| {
        let ours = partitions
            .iter()
            .filter(|tp| *tp.topic == *topic)
            .map(|tp| tp.partition)
            .collect();
        lock(&changes).push(change(ours));
    }
}

/// The lock, even if a callback panicked while holding it: the change log
/// stays usable (a panic there is reported by the test anyway).
fn lock(changes: &ChangeLog) -> MutexGuard<'_, Vec<Change>> {
    changes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Member {
    async fn status(&self) -> Value {
        membership(
            &self.owned,
            self.consumer.generation_id().await,
            self.consumer.member_id().await,
        )
    }

    /// Prints an "assignment" (the whole set held) for every change the
    /// callbacks noted since the last call, in order.
    async fn report_changes(&mut self) {
        let changes = std::mem::take(&mut *lock(&self.changes));
        for change in changes {
            match change {
                Change::Assigned(partitions) => self.owned.extend(partitions),
                Change::Released(partitions) => {
                    for partition in partitions {
                        self.owned.remove(&partition);
                    }
                }
            }
            emit("assignment", self.status().await);
        }
    }

    /// Prints the records (each before its offset is committed), then
    /// commits the offset after the last one of each partition.
    async fn consume(&mut self, records: Vec<ConsumerRecord>) {
        let mut next_offsets: BTreeMap<i32, i64> = BTreeMap::new();
        for record in records.iter().filter(|r| *r.topic == *self.topic) {
            let key = record
                .key
                .as_ref()
                .map(|key| String::from_utf8_lossy(key).into_owned());
            emit(
                "record",
                json!({ "partition": record.partition, "offset": record.offset, "key": key }),
            );
            next_offsets.insert(record.partition, record.offset + 1);
        }
        if next_offsets.is_empty() {
            return;
        }
        let offsets: Vec<(TopicPartition, i64)> = next_offsets
            .iter()
            .map(|(partition, next)| (TopicPartition::new(self.topic.as_str(), *partition), *next))
            .collect();
        match self.consumer.commit_offsets(&offsets).await {
            Ok(()) => {
                let committed: Map<String, Value> = next_offsets
                    .iter()
                    .map(|(partition, next)| (partition.to_string(), Value::from(*next)))
                    .collect();
                emit("committed", json!({ "offsets": committed }));
            }
            // A rebalance got in the way; the partition's next owner re-reads.
            Err(error) => emit("commit_failed", json!({ "message": error.to_string() })),
        }
    }

    /// Closes the consumer (its `on_revoked` runs, then LeaveGroup for a
    /// dynamic member) and prints "closed"; a failed close is an error, so
    /// the process exits non-zero without "closed".
    async fn close(mut self) -> Result<(), MemberError> {
        let closed = self.consumer.close(CLOSE_TIMEOUT).await;
        self.report_changes().await;
        closed.map_err(MemberError::client("closing the consumer"))?;
        emit("closed", json!({}));
        Ok(())
    }
}
