//! `strom consume`: records to standard output, as JSON lines or text.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use clap::{Args, ValueEnum};
use strom_client::{AdminClient, Consumer, ConsumerRecord, TopicPartition};

use super::output::record_json;
use super::BrokersArg;
use crate::error::CliError;

/// How long one poll waits before checking Ctrl-C and --count again.
const POLL_WAIT: Duration = Duration::from_millis(500);
/// How long `close` may take to commit and leave the group.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line: topic, partition, offset, timestamp, key,
    /// value, headers. Bytes that are valid UTF-8 are text, others base64;
    /// key_encoding / value_encoding say which ("utf8" or "base64").
    Json,
    /// The value alone, one per line (invalid UTF-8 replaced).
    Text,
}

/// Consume records until --count are printed or Ctrl-C.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    /// The topic to read.
    pub topic: String,
    /// Consume as a member of this consumer group: partitions are shared
    /// with the group's other members, reading starts at the group's
    /// committed offsets, and the positions of the records printed are
    /// committed at exit (count reached, Ctrl-C, closed stdout).
    #[arg(long, value_name = "GROUP", conflicts_with = "partitions")]
    pub group: Option<String>,
    /// Start from the earliest offset instead of the end (for partitions
    /// the group has no committed offset for, with --group); the same as
    /// -X auto.offset.reset=earliest.
    #[arg(long)]
    pub from_beginning: bool,
    /// Exit after this many records.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Only these partitions (repeatable). Default: all.
    #[arg(short = 'p', long = "partition", value_name = "P")]
    pub partitions: Vec<i32>,
}

pub async fn run(args: ConsumeArgs) -> Result<(), CliError> {
    // The command commits what it printed itself, at exit.
    let mut fixed = vec![("enable.auto.commit", "false")];
    if args.from_beginning {
        fixed.push(("auto.offset.reset", "earliest"));
    }
    if let Some(group) = &args.group {
        fixed.push(("group.id", group.as_str()));
    }
    let config = args
        .brokers
        .client_config(&[("auto.offset.reset", "latest")], &fixed)?;
    let admin = AdminClient::new(config.clone()).await?;
    let topic = admin.describe_topics(&[&args.topic]).await?.remove(0);
    let consumer = Consumer::new(config).await?;
    if args.group.is_some() {
        consumer.subscribe(&[&args.topic]).await?;
    } else {
        let partitions: Vec<i32> = if args.partitions.is_empty() {
            topic.partitions.iter().map(|p| p.partition).collect()
        } else {
            for partition in &args.partitions {
                if topic.partition(*partition).is_none() {
                    return Err(CliError::Usage(format!(
                        "topic `{}` has {} partitions, not partition {partition}",
                        args.topic,
                        topic.partitions.len()
                    )));
                }
            }
            args.partitions.clone()
        };
        let assignment: Vec<TopicPartition> = partitions
            .iter()
            .map(|p| TopicPartition::new(args.topic.as_str(), *p))
            .collect();
        consumer.assign(&assignment).await;
    }

    // Next offset per partition after the last record printed: what the
    // group commits at exit (records fetched but not printed stay unread).
    let mut next_offsets: BTreeMap<i32, i64> = BTreeMap::new();
    let printed = print_records(&consumer, &args, &mut next_offsets).await;
    if let Some(group) = &args.group {
        let offsets: Vec<(TopicPartition, i64)> = next_offsets
            .iter()
            .map(|(partition, offset)| {
                (
                    TopicPartition::new(args.topic.as_str(), *partition),
                    *offset,
                )
            })
            .collect();
        if !offsets.is_empty() {
            consumer.commit_offsets(&offsets).await?;
            eprintln!(
                "committed offsets of {} partition(s) for group `{group}`",
                offsets.len()
            );
        }
    }
    consumer.close(CLOSE_TIMEOUT).await?;
    let printed = printed?;
    eprintln!("consumed {printed} records from `{}`", args.topic);
    Ok(())
}

/// Polls and prints until --count, Ctrl-C, or a closed stdout.
async fn print_records(
    consumer: &Consumer,
    args: &ConsumeArgs,
    next_offsets: &mut BTreeMap<i32, i64>,
) -> Result<u64, CliError> {
    let limit = args.count.unwrap_or(u64::MAX);
    let mut printed = 0;
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    let stdout = std::io::stdout();
    while printed < limit {
        let records = tokio::select! {
            // A failure to install the handler disables this branch.
            Ok(()) = &mut interrupted => break,
            polled = consumer.poll(POLL_WAIT) => polled?,
        };
        let mut out = stdout.lock();
        for record in records {
            if printed >= limit {
                break;
            }
            match write_record(&mut out, &record, args.format) {
                Ok(()) => {}
                // The reader went away (e.g. `| head`): stop quietly.
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => return Ok(printed),
                Err(err) => return Err(CliError::Stdout(err)),
            }
            next_offsets.insert(record.partition, record.offset + 1);
            printed += 1;
        }
        match out.flush() {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => return Ok(printed),
            Err(err) => return Err(CliError::Stdout(err)),
        }
    }
    Ok(printed)
}

fn write_record(
    out: &mut impl Write,
    record: &ConsumerRecord,
    format: Format,
) -> std::io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", record_json(record)),
        Format::Text => {
            let value = record.value.as_deref().unwrap_or_default();
            writeln!(out, "{}", String::from_utf8_lossy(value))
        }
    }
}
