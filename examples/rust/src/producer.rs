//! Produce keyed records and print where each one landed.

use std::io::Write;
use std::time::Duration;

use strom_client::admin::NewTopic;
use strom_client::{AdminClient, Producer, ProducerRecord, RecordMetadata};
use strom_protocol::error_codes;

use crate::{client_config, ExampleError};

/// Creates `topic` (3 partitions) unless it exists, produces `count`
/// records keyed `key-<i>`, and prints one delivery line per record.
pub async fn run(
    bootstrap: &str,
    topic: &str,
    count: usize,
    out: &mut impl Write,
) -> Result<Vec<RecordMetadata>, ExampleError> {
    let config = client_config(bootstrap)?;
    let admin = AdminClient::new(config).await?;
    // TOPIC_ALREADY_EXISTS means the topic is there, which is all we need.
    match admin.create_topic(NewTopic::new(topic, 3, 1)).await {
        Err(err) if err.kafka_code() != Some(error_codes::TOPIC_ALREADY_EXISTS) => {
            return Err(err.into())
        }
        _ => {}
    }
    // The producer shares the admin client's connections.
    let producer = Producer::from_admin(&admin);

    // Queue everything first so the producer can batch, then await.
    let deliveries: Vec<_> = (0..count)
        .map(|i| {
            let record = ProducerRecord::new(topic, format!("value-{i}"))
                .with_key(format!("key-{i}"))
                .with_header("example", "producer");
            producer.send(record)
        })
        .collect();
    let mut delivered = Vec::with_capacity(count);
    for (i, delivery) in deliveries.into_iter().enumerate() {
        // A failed delivery hands the record back with the error; this
        // example only reports the error.
        let metadata = delivery.await.map_err(|failed| failed.error)?;
        writeln!(
            out,
            "key-{i} -> {topic} partition {} offset {}",
            metadata.partition, metadata.offset
        )?;
        delivered.push(metadata);
    }
    producer.close(Duration::from_secs(30)).await?;
    Ok(delivered)
}
