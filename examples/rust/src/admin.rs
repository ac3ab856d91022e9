//! Admin tour: create a topic, describe it, list its offsets, delete it.

use std::io::Write;

use strom_client::admin::{ListedOffset, NewTopic, OffsetSpec};
use strom_client::{AdminClient, TopicPartition};

use crate::{client_config, ExampleError};

/// Runs the tour on a topic named `topic`, which must not exist yet.
pub async fn run(bootstrap: &str, topic: &str, out: &mut impl Write) -> Result<(), ExampleError> {
    let admin = AdminClient::new(client_config(bootstrap)?).await?;

    admin
        .create_topic(NewTopic::new(topic, 2, 1).with_config("retention.ms", "86400000"))
        .await?;
    writeln!(out, "created {topic}")?;

    for info in admin.describe_topics(&[topic]).await? {
        for partition in &info.partitions {
            writeln!(
                out,
                "{} partition {}: leader {} replicas {:?} isr {:?}",
                info.name,
                partition.partition,
                partition.leader,
                partition.replicas,
                partition.in_sync_replicas
            )?;
        }
    }

    let partitions = admin.describe_topics(&[topic]).await?.remove(0).partitions;
    let query = |spec: OffsetSpec| -> Vec<(TopicPartition, OffsetSpec)> {
        partitions
            .iter()
            .map(|p| (TopicPartition::new(topic, p.partition), spec))
            .collect()
    };
    let earliest = admin.list_offsets(&query(OffsetSpec::Earliest)).await?;
    let latest = admin.list_offsets(&query(OffsetSpec::Latest)).await?;
    for partition in &partitions {
        let offset_of = |listed: &[ListedOffset]| {
            listed
                .iter()
                .find(|o| o.tp.partition == partition.partition)
                .map_or(-1, |o| o.offset)
        };
        writeln!(
            out,
            "{topic} partition {}: earliest offset {}, latest offset {}",
            partition.partition,
            offset_of(&earliest),
            offset_of(&latest)
        )?;
    }

    for (name, outcome) in admin.delete_topics(&[topic]).await? {
        outcome?;
        writeln!(out, "deleted {name}")?;
    }
    Ok(())
}
