//! `strom group`: list, describe (with lag), reset-offsets, delete.

use clap::{Args, Subcommand};
use strom_client::admin::OffsetSpec;
use strom_client::{AdminClient, TopicPartition};

use super::output::table;
use super::{report_outcomes, BrokersArg};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// List consumer groups.
    List,
    /// State, members, and per partition: committed offset, log end
    /// offset and lag.
    Describe {
        /// The group's id.
        group: String,
    },
    /// Move a group's committed offsets for a topic. Prints the plan
    /// without changing anything unless --execute is given; the group
    /// must have no active members.
    ResetOffsets {
        /// The group's id.
        group: String,
        /// The topic whose offsets move.
        #[arg(long)]
        topic: String,
        #[command(flatten)]
        target: ResetTarget,
        /// Apply the plan (default: dry run).
        #[arg(long)]
        execute: bool,
    },
    /// Delete groups (they must have no active members).
    Delete {
        /// The groups' ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

/// Where reset-offsets moves the group; exactly one is required.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResetTarget {
    /// Each partition's log start offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// Each partition's log end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// This offset, clamped to each partition's [log start, log end].
    #[arg(long, value_name = "N")]
    pub to_offset: Option<i64>,
}

pub async fn run(args: GroupArgs) -> Result<(), CliError> {
    let admin = AdminClient::new(args.brokers.client_config(&[], &[])?).await?;
    match args.command {
        GroupCommand::List => {
            let rows: Vec<Vec<String>> = admin
                .list_groups()
                .await?
                .into_iter()
                .map(|g| vec![g.group_id, g.state, g.protocol_type])
                .collect();
            print!("{}", table(&["GROUP", "STATE", "PROTOCOL-TYPE"], &rows));
            Ok(())
        }
        GroupCommand::Describe { group } => describe(&admin, &group).await,
        GroupCommand::ResetOffsets {
            group,
            topic,
            target,
            execute,
        } => reset_offsets(&admin, &group, &topic, &target, execute).await,
        GroupCommand::Delete { groups } => {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            report_outcomes("deleted", "groups", admin.delete_groups(&groups).await?)
        }
    }
}

async fn describe(admin: &AdminClient, group: &str) -> Result<(), CliError> {
    let description = admin.describe_group(group).await?;
    let offsets = admin.group_lag(group).await?;
    // Kafka describes an unknown group as Dead with no members; a group
    // that only has committed offsets is Empty, not Dead.
    if description.state == "Dead" && description.members.is_empty() && offsets.is_empty() {
        return Err(CliError::NoSuchGroup(group.to_string()));
    }
    println!("GROUP        {}", description.group_id);
    println!("STATE        {}", description.state);
    println!("COORDINATOR  {}", description.coordinator);
    println!("MEMBERS      {}", description.members.len());
    if !description.members.is_empty() {
        let rows: Vec<Vec<String>> = description
            .members
            .iter()
            .map(|m| {
                vec![
                    m.member_id.clone(),
                    m.client_id.clone(),
                    m.client_host.clone(),
                ]
            })
            .collect();
        println!();
        print!("{}", table(&["MEMBER-ID", "CLIENT-ID", "HOST"], &rows));
    }
    let total_lag: i64 = offsets.iter().filter_map(|o| o.lag).sum();
    println!("TOTAL-LAG    {total_lag}");
    println!();
    let dash = |value: Option<i64>| value.map_or_else(|| "-".to_string(), |v| v.to_string());
    let rows: Vec<Vec<String>> = offsets
        .iter()
        .map(|o| {
            vec![
                o.tp.topic.to_string(),
                o.tp.partition.to_string(),
                o.committed_offset.to_string(),
                dash(o.log_end_offset),
                dash(o.lag),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG"],
            &rows
        )
    );
    Ok(())
}

async fn reset_offsets(
    admin: &AdminClient,
    group: &str,
    topic: &str,
    target: &ResetTarget,
    execute: bool,
) -> Result<(), CliError> {
    let info = admin.describe_topics(&[topic]).await?.remove(0);
    let partitions: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
    let query = |spec: OffsetSpec| -> Vec<(TopicPartition, OffsetSpec)> {
        partitions
            .iter()
            .map(|p| (TopicPartition::new(topic, *p), spec))
            .collect()
    };
    let starts = admin.list_offsets(&query(OffsetSpec::Earliest)).await?;
    let ends = admin.list_offsets(&query(OffsetSpec::Latest)).await?;
    let committed = admin.list_group_offsets(group).await?;

    let mut plan: Vec<(i32, Option<i64>, i64)> = Vec::new();
    for partition in &partitions {
        let find = |listed: &[strom_client::admin::ListedOffset]| {
            listed
                .iter()
                .find(|o| o.tp.partition == *partition)
                .map_or(0, |o| o.offset)
        };
        let (start, end) = (find(&starts), find(&ends));
        let new_offset = match target.to_offset {
            Some(offset) => offset.clamp(start, end.max(start)),
            None if target.to_earliest => start,
            None => end,
        };
        let current = committed
            .iter()
            .find(|c| &*c.tp.topic == topic && c.tp.partition == *partition)
            .map(|c| c.committed_offset);
        plan.push((*partition, current, new_offset));
    }

    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|(partition, current, new_offset)| {
            vec![
                topic.to_string(),
                partition.to_string(),
                current.map_or_else(|| "-".to_string(), |c| c.to_string()),
                new_offset.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["TOPIC", "PARTITION", "CURRENT", "NEW"], &rows)
    );
    if !execute {
        println!("dry run: nothing changed; add --execute to apply");
        return Ok(());
    }
    let offsets: Vec<(TopicPartition, i64)> = plan
        .iter()
        .map(|(partition, _, new_offset)| (TopicPartition::new(topic, *partition), *new_offset))
        .collect();
    admin.alter_group_offsets(group, &offsets).await?;
    println!(
        "reset offsets of group {group} for {} partition(s)",
        offsets.len()
    );
    Ok(())
}
