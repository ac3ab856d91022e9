//! `strom cluster status`: the brokers, the metadata quorum (Raft leader,
//! epoch, each voter's progress) and the partitions that need attention:
//! under-replicated (an ISR smaller than the replica set) and offline (no
//! leader). Works against any Kafka cluster in KRaft mode as well.

use clap::{Args, Subcommand};
use strom_client::AdminClient;

use super::output::{node_list, table};
use super::BrokersArg;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Brokers, the metadata quorum, under-replicated and offline partitions.
    Status,
}

pub async fn run(args: ClusterArgs) -> Result<(), CliError> {
    let admin = AdminClient::new(args.brokers.client_config(&[], &[])?).await?;
    match args.command {
        ClusterCommand::Status => status(&admin).await,
    }
}

async fn status(admin: &AdminClient) -> Result<(), CliError> {
    let cluster = admin.describe_cluster().await?;
    println!(
        "cluster {}  controller {}",
        cluster.cluster_id.as_deref().unwrap_or("-"),
        cluster.controller_id
    );
    let brokers: Vec<Vec<String>> = cluster
        .brokers
        .iter()
        .map(|b| vec![b.node_id.to_string(), format!("{}:{}", b.host, b.port)])
        .collect();
    print!("\nBROKERS\n{}", table(&["ID", "ADDRESS"], &brokers));

    match admin.describe_quorum().await {
        Ok(quorum) => {
            println!(
                "\nMETADATA QUORUM\nleader {}  epoch {}  high watermark {}",
                quorum.leader_id, quorum.leader_epoch, quorum.high_watermark
            );
            let rows: Vec<Vec<String>> = quorum
                .voters
                .iter()
                .map(|v| ("voter", v))
                .chain(quorum.observers.iter().map(|o| ("observer", o)))
                .map(|(role, r)| {
                    let lag = if r.log_end_offset >= 0 {
                        (quorum.high_watermark - r.log_end_offset)
                            .max(0)
                            .to_string()
                    } else {
                        "-".into()
                    };
                    vec![
                        r.replica_id.to_string(),
                        role.into(),
                        r.log_end_offset.to_string(),
                        lag,
                    ]
                })
                .collect();
            print!("{}", table(&["ID", "ROLE", "LOG END", "LAG"], &rows));
        }
        Err(e) => println!("\nMETADATA QUORUM\nnot available: {e}"),
    }

    let metadata = admin.metadata(None).await?;
    let mut under = Vec::new();
    let mut offline = Vec::new();
    let mut names: Vec<&String> = metadata.topics.keys().collect();
    names.sort();
    for name in names {
        for p in &metadata.topics[name].partitions {
            let row = vec![
                name.clone(),
                p.partition.to_string(),
                p.leader.to_string(),
                node_list(&p.replicas),
                node_list(&p.in_sync_replicas),
            ];
            if p.leader < 0 {
                offline.push(row);
            } else if p.in_sync_replicas.len() < p.replicas.len() {
                under.push(row);
            }
        }
    }
    let header = ["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"];
    println!("\nUNDER-REPLICATED PARTITIONS: {}", under.len());
    if !under.is_empty() {
        print!("{}", table(&header, &under));
    }
    println!("\nOFFLINE PARTITIONS: {}", offline.len());
    if !offline.is_empty() {
        print!("{}", table(&header, &offline));
    }
    Ok(())
}
