//! `strom produce`: one record per line of standard input, either the
//! line itself as the value (text) or a JSON object in the shape
//! `strom consume --format json` prints, so a consume piped into a
//! produce copies records with their keys and headers.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, ValueEnum};
use strom_client::{DeliveryFuture, Producer, ProducerRecord};
use strom_protocol::error_codes::UNKNOWN_TOPIC_OR_PARTITION;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::output::record_from_json;
use super::BrokersArg;
use crate::error::CliError;

/// Deliveries awaited in one go, so memory stays bounded however long the
/// input is while the producer still has plenty of records to batch.
const MAX_PENDING: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// The line is the value (split into key and value with --key-separator).
    Text,
    /// One JSON object per line, as `strom consume --format json` prints:
    /// key, value, headers ([{key, value}]), optional partition and
    /// timestamp; *_encoding "base64" marks base64 bytes (default "utf8").
    Json,
}

/// Produce one record per line of standard input, then flush and exit.
/// A summary (records, partitions) is printed on stderr.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    /// The topic to write to (see `strom topic create`).
    pub topic: String,
    #[arg(long, value_enum, default_value_t = InputFormat::Text)]
    pub format: InputFormat,
    /// Text input: split each line at the first SEP into key and value;
    /// lines without SEP get no key.
    #[arg(long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// none, gzip, snappy, lz4 or zstd [default: none, or -X
    /// compression.type]
    #[arg(long, value_name = "CODEC")]
    pub compression: Option<String>,
    /// 0, 1, all or -1 [default: all, or -X acks]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub acks: Option<String>,
    /// Write every record to this partition instead of partitioning by key.
    #[arg(long, value_name = "P")]
    pub partition: Option<i32>,
    /// JSON input: ignore each line's "partition" and partition by key
    /// (for copying into a topic with fewer partitions).
    #[arg(long, conflicts_with = "partition")]
    pub repartition: bool,
}

/// Outcome of the deliveries awaited so far.
#[derive(Default)]
struct Tally {
    delivered: u64,
    partitions: BTreeSet<i32>,
    failed: u64,
    first_error: Option<strom_client::ClientError>,
}

impl Tally {
    async fn settle(&mut self, pending: &mut Vec<DeliveryFuture>) {
        for delivery in pending.drain(..) {
            match delivery.await {
                Ok(metadata) => {
                    self.delivered += 1;
                    self.partitions.insert(metadata.partition);
                }
                Err(err) => {
                    self.failed += 1;
                    self.first_error.get_or_insert(err.error);
                }
            }
        }
    }
}

pub async fn run(args: ProduceArgs) -> Result<(), CliError> {
    let defaults = [
        ("compression.type", "none"),
        ("acks", "all"),
        // How long a missing topic may take to be auto-created (Kafka
        // creates it in the background) before the command gives up.
        ("max.block.ms", "5000"),
    ];
    let mut fixed = Vec::new();
    if let Some(codec) = &args.compression {
        fixed.push(("compression.type", codec.as_str()));
    }
    if let Some(acks) = &args.acks {
        fixed.push(("acks", acks.as_str()));
    }
    let config = args.brokers.client_config(&defaults, &fixed)?;
    if args.format == InputFormat::Json && args.key_separator.is_some() {
        return Err(CliError::Usage(
            "--key-separator applies to --format text; JSON input carries its own key".into(),
        ));
    }
    let delivery_timeout = config.delivery_timeout;
    let producer = Producer::new(config).await?;
    // Fail fast on a missing topic or partition instead of retrying every
    // record until delivery.timeout.ms. A broker that creates topics on
    // first use creates it here, as for any producer.
    let partitions = match producer.partitions_for(&args.topic).await {
        Ok(partitions) => partitions,
        Err(err) if err.kafka_code() == Some(UNKNOWN_TOPIC_OR_PARTITION) => {
            return Err(CliError::Usage(format!(
                "topic `{0}` does not exist and the broker does not create topics on first use \
                 (auto.create.topics.enable=false): create it with `strom topic create {0}`",
                args.topic
            )))
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(partition) = args.partition {
        if !partitions.iter().any(|p| p.partition == partition) {
            return Err(CliError::Usage(format!(
                "topic `{}` has {} partitions, not partition {partition}",
                args.topic,
                partitions.len()
            )));
        }
    }

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = Vec::new();
    let mut tally = Tally::default();
    let mut line_number = 0u64;
    while let Some(line) = lines.next_line().await.map_err(CliError::Stdin)? {
        line_number += 1;
        let mut record = match args.format {
            InputFormat::Json => record_from_json(&args.topic, &line)
                .map_err(|reason| CliError::Usage(format!("line {line_number}: {reason}")))?,
            InputFormat::Text => text_record(&args.topic, line, args.key_separator.as_deref()),
        };
        if args.partition.is_some() || args.repartition {
            record.partition = args.partition;
        }
        if let Some(partition) = record.partition {
            if !partitions.iter().any(|p| p.partition == partition) {
                return Err(CliError::Usage(format!(
                    "line {line_number}: topic `{}` has {} partitions, not partition {partition} \
                     (--repartition ignores the partition field and partitions by key)",
                    args.topic,
                    partitions.len()
                )));
            }
        }
        pending.push(producer.send(record));
        if pending.len() >= MAX_PENDING {
            tally.settle(&mut pending).await;
        }
    }
    let flushed = producer
        .close(delivery_timeout + Duration::from_secs(1))
        .await;
    tally.settle(&mut pending).await;
    eprintln!(
        "produced {} records to {} partition(s) of `{}`",
        tally.delivered,
        tally.partitions.len(),
        args.topic
    );
    if let Some(err) = tally.first_error {
        eprintln!(
            "strom: {} record(s) failed; the first error follows",
            tally.failed
        );
        return Err(err.into());
    }
    flushed?;
    Ok(())
}

fn text_record(topic: &str, line: String, key_separator: Option<&str>) -> ProducerRecord {
    match key_separator {
        Some(separator) if !separator.is_empty() => match line.split_once(separator) {
            Some((key, value)) => {
                ProducerRecord::new(topic, value.to_string()).with_key(Bytes::from(key.to_string()))
            }
            None => ProducerRecord::new(topic, line),
        },
        _ => ProducerRecord::new(topic, line),
    }
}
