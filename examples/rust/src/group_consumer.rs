//! A consumer-group member: joins a group (cooperative-sticky, so a
//! rebalance only moves the partitions that must move), reads from the
//! group's committed offsets, commits what it printed and leaves the group.

use std::io::Write;
use std::time::Duration;

use strom_client::{ClientConfig, Consumer, ConsumerRecord};

use crate::ExampleError;

/// Reads records of `topic` as a member of `group` until no record has
/// arrived for `idle` (a group has no "end": this is the example's stop
/// rule), commits the offsets of what it read, leaves the group and
/// returns the records.
pub async fn run(
    bootstrap: &str,
    topic: &str,
    group: &str,
    idle: Duration,
    out: &mut impl Write,
) -> Result<Vec<ConsumerRecord>, ExampleError> {
    let config = ClientConfig::from_pairs([
        ("bootstrap.servers", bootstrap),
        ("group.id", group),
        ("partition.assignment.strategy", "cooperative-sticky"),
        // Where to start in partitions the group has no offset for yet.
        ("auto.offset.reset", "earliest"),
        // Commit by hand below, after the records are printed.
        ("enable.auto.commit", "false"),
    ])?;
    let consumer = Consumer::new(config).await?;
    consumer
        .on_assigned(|partitions| eprintln!("assigned: {partitions:?}"))
        .await;
    consumer.subscribe(&[topic]).await?;

    let mut records = Vec::new();
    // The first polls join the group; the idle clock starts once this
    // member has partitions.
    let mut last_record = tokio::time::Instant::now();
    while consumer.assignment().await.is_empty() || last_record.elapsed() < idle {
        let polled = consumer.poll(Duration::from_millis(200)).await?;
        if !polled.is_empty() || consumer.assignment().await.is_empty() {
            last_record = tokio::time::Instant::now();
        }
        for record in polled {
            writeln!(
                out,
                "partition {} offset {}: {}",
                record.partition,
                record.offset,
                String::from_utf8_lossy(record.value.as_deref().unwrap_or_default())
            )?;
            records.push(record);
        }
    }
    consumer.commit_sync().await?;
    consumer.close(Duration::from_secs(10)).await?;
    Ok(records)
}
