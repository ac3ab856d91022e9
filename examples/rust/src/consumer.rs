//! A manual-assignment consumer: read every partition of a topic from the
//! beginning up to the end it had when the consumer started.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use strom_client::admin::OffsetSpec;
use strom_client::{AdminClient, ClientConfig, Consumer, ConsumerRecord, TopicPartition};

use crate::ExampleError;

/// Prints every record of `topic` that existed at start and returns them.
pub async fn run(
    bootstrap: &str,
    topic: &str,
    out: &mut impl Write,
) -> Result<Vec<ConsumerRecord>, ExampleError> {
    let config = ClientConfig::from_pairs([
        ("bootstrap.servers", bootstrap),
        ("auto.offset.reset", "earliest"),
    ])?;
    let admin = AdminClient::new(config.clone()).await?;
    let partitions: Vec<i32> = admin.describe_topics(&[topic]).await?[0]
        .partitions
        .iter()
        .map(|p| p.partition)
        .collect();

    // Where to stop: each partition's log end offset right now.
    let queries: Vec<_> = partitions
        .iter()
        .map(|p| (TopicPartition::new(topic, *p), OffsetSpec::Latest))
        .collect();
    let mut end_of: HashMap<i32, i64> = admin
        .list_offsets(&queries)
        .await?
        .into_iter()
        .map(|listed| (listed.tp.partition, listed.offset))
        .collect();

    let consumer = Consumer::new(config).await?;
    let assignment: Vec<TopicPartition> = partitions
        .iter()
        .map(|p| TopicPartition::new(topic, *p))
        .collect();
    consumer.assign(&assignment).await;

    let mut records = Vec::new();
    loop {
        // Done once every partition's position reached its end.
        for tp in &assignment {
            let position = consumer.position(tp.clone()).await;
            if end_of
                .get(&tp.partition)
                .is_some_and(|end| position >= Some(*end))
            {
                end_of.remove(&tp.partition);
            }
        }
        if end_of.is_empty() {
            break;
        }
        for record in consumer.poll(Duration::from_secs(1)).await? {
            writeln!(
                out,
                "partition {} offset {}: {} = {}",
                record.partition,
                record.offset,
                text(record.key.as_deref()),
                text(record.value.as_deref())
            )?;
            records.push(record);
        }
    }
    Ok(records)
}

/// Bytes as text for printing (invalid UTF-8 replaced).
fn text(bytes: Option<&[u8]>) -> String {
    String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned()
}
