//! `strom topic`: create, list, describe, delete, alter-config.

use clap::{Args, Subcommand};
use strom_client::admin::{AlterConfigOp, ConfigResource, NewTopic, OffsetSpec};
use strom_client::{AdminClient, TopicPartition};

use super::output::{key_value, node_list, table};
use super::{report_outcomes, BrokersArg};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct TopicArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    #[command(subcommand)]
    pub command: TopicCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// The new topic's name.
        name: String,
        /// Partition count. Default: the broker's num.partitions
        #[arg(short, long)]
        partitions: Option<i32>,
        /// Replication factor. Default: the broker's default.replication.factor
        #[arg(short = 'r', long = "replicas")]
        replicas: Option<i16>,
        /// A topic config, e.g. -c retention.ms=3600000 (repeatable).
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// List topics.
    List {
        /// Include internal topics such as __consumer_offsets.
        #[arg(long)]
        internal: bool,
    },
    /// Partitions (leader, replicas, ISR, log start/end offsets) and the
    /// configs that differ from the defaults.
    Describe {
        /// The topic's name.
        name: String,
    },
    /// Delete topics.
    Delete {
        /// The topics' names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Set or remove (back to the default) topic configs.
    AlterConfig {
        /// The topic's name.
        name: String,
        /// Set a config (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Remove a config so the default applies (repeatable).
        #[arg(long = "delete", value_name = "KEY")]
        deletes: Vec<String>,
    },
}

pub async fn run(args: TopicArgs) -> Result<(), CliError> {
    let admin = AdminClient::new(args.brokers.client_config(&[], &[])?).await?;
    match args.command {
        TopicCommand::Create {
            name,
            partitions,
            replicas,
            configs,
        } => {
            let mut topic = NewTopic::new(&name, partitions.unwrap_or(-1), replicas.unwrap_or(-1));
            for pair in &configs {
                let (key, value) = key_value(pair, "--config").map_err(CliError::Usage)?;
                topic = topic.with_config(key, value);
            }
            admin.create_topic(topic).await?;
            println!("created {name}");
            Ok(())
        }
        TopicCommand::List { internal } => {
            for name in admin.list_topics(internal).await? {
                println!("{name}");
            }
            Ok(())
        }
        TopicCommand::Describe { name } => describe(&admin, &name).await,
        TopicCommand::Delete { names } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            report_outcomes("deleted", "topics", admin.delete_topics(&names).await?)
        }
        TopicCommand::AlterConfig {
            name,
            sets,
            deletes,
        } => {
            if sets.is_empty() && deletes.is_empty() {
                return Err(CliError::Usage(
                    "alter-config needs at least one --set KEY=VALUE or --delete KEY".into(),
                ));
            }
            let mut ops = Vec::new();
            for pair in &sets {
                let (key, value) = key_value(pair, "--set").map_err(CliError::Usage)?;
                ops.push(AlterConfigOp::Set(key, value));
            }
            ops.extend(deletes.into_iter().map(AlterConfigOp::Delete));
            admin
                .incremental_alter_configs(&ConfigResource::Topic(name.clone()), &ops, false)
                .await?;
            println!("altered {name}");
            Ok(())
        }
    }
}

async fn describe(admin: &AdminClient, name: &str) -> Result<(), CliError> {
    let topic = admin.describe_topics(&[name]).await?.remove(0);
    let earliest: Vec<_> = topic
        .partitions
        .iter()
        .map(|p| (TopicPartition::new(name, p.partition), OffsetSpec::Earliest))
        .collect();
    let latest: Vec<_> = topic
        .partitions
        .iter()
        .map(|p| (TopicPartition::new(name, p.partition), OffsetSpec::Latest))
        .collect();
    let starts = admin.list_offsets(&earliest).await?;
    let ends = admin.list_offsets(&latest).await?;
    let offset_of = |listed: &[strom_client::admin::ListedOffset], partition: i32| {
        listed
            .iter()
            .find(|o| o.tp.partition == partition)
            .map_or_else(|| "-".to_string(), |o| o.offset.to_string())
    };
    let configs = admin
        .describe_configs(&ConfigResource::Topic(name.to_string()), None)
        .await?;

    println!("NAME        {}", topic.name);
    println!("INTERNAL    {}", topic.is_internal);
    println!("PARTITIONS  {}", topic.partitions.len());
    let replicas = topic.partitions.first().map_or(0, |p| p.replicas.len());
    println!("REPLICAS    {replicas}");
    println!();
    println!("CONFIGS (not defaults)");
    let mut set: Vec<_> = configs.into_iter().filter(|c| !c.is_default).collect();
    set.sort_by(|a, b| a.name.cmp(&b.name));
    if set.is_empty() {
        println!("  (none)");
    }
    for config in set {
        let value = if config.is_sensitive {
            "(sensitive)".to_string()
        } else {
            config.value.unwrap_or_default()
        };
        println!("  {}={value}", config.name);
    }
    println!();
    let rows: Vec<Vec<String>> = topic
        .partitions
        .iter()
        .map(|p| {
            vec![
                p.partition.to_string(),
                p.leader.to_string(),
                node_list(&p.replicas),
                node_list(&p.in_sync_replicas),
                offset_of(&starts, p.partition),
                offset_of(&ends, p.partition),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "PARTITION",
                "LEADER",
                "REPLICAS",
                "ISR",
                "LOG-START",
                "LOG-END"
            ],
            &rows
        )
    );
    Ok(())
}
