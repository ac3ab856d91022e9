//! `strom quota`: client quotas of a Strom or Kafka cluster (alter,
//! list), through AlterClientQuotas and DescribeClientQuotas:
//!
//! ```text
//! strom quota alter --client-id ingest --set producer_byte_rate=1048576
//! strom quota alter --user alice --delete consumer_byte_rate
//! strom quota alter --default-user --set request_percentage=50
//! strom quota list
//! ```

use clap::{Args, Subcommand};
use strom_client::admin::{QuotaAlteration, QuotaEntity, QuotaMatch};
use strom_client::AdminClient;

use super::output::table;
use super::BrokersArg;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct QuotaArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    #[command(subcommand)]
    pub command: QuotaCommand,
}

/// The entity a command names: a user and/or a client id, or a default.
#[derive(Debug, Args)]
pub struct EntityArgs {
    /// A user (the name it logs in with; ANONYMOUS without a login).
    #[arg(long, conflicts_with = "default_user")]
    user: Option<String>,
    /// The default of every user without a quota of its own.
    #[arg(long)]
    default_user: bool,
    /// A client id (the client.id clients set).
    #[arg(long, conflicts_with = "default_client_id")]
    client_id: Option<String>,
    /// The default of every client id without a quota of its own.
    #[arg(long)]
    default_client_id: bool,
}

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Set or remove quotas of one entity.
    Alter {
        #[command(flatten)]
        entity: EntityArgs,
        /// KEY=VALUE (repeatable): producer_byte_rate, consumer_byte_rate
        /// (bytes a second) or request_percentage (percent of one thread).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// KEY (repeatable): quotas to remove.
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// List quotas: every entity's, or those of the entities named.
    List {
        #[command(flatten)]
        entity: EntityArgs,
    },
}

pub async fn run(args: QuotaArgs) -> Result<(), CliError> {
    let admin = AdminClient::new(args.brokers.client_config(&[], &[])?).await?;
    match args.command {
        QuotaCommand::Alter {
            entity,
            set,
            delete,
        } => {
            let entity = entity_of(&entity)?;
            if set.is_empty() && delete.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: give --set KEY=VALUE or --delete KEY".into(),
                ));
            }
            let mut ops = Vec::new();
            for pair in &set {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("--set {pair}: expected KEY=VALUE")))?;
                let value: f64 = value.parse().map_err(|_| {
                    CliError::Usage(format!("--set {pair}: the value is not a number"))
                })?;
                ops.push((key.to_string(), Some(value)));
            }
            ops.extend(delete.into_iter().map(|key| (key, None)));
            let alteration = QuotaAlteration {
                entity: entity.clone(),
                ops,
            };
            let outcome = admin
                .alter_client_quotas(&[alteration], false)
                .await?
                .pop()
                .unwrap_or(Ok(()));
            outcome?;
            println!("altered {}", describe_entity(&entity));
            Ok(())
        }
        QuotaCommand::List { entity } => {
            let components: Vec<(String, QuotaMatch)> = entity_of(&entity)
                .unwrap_or_default()
                .into_iter()
                .map(|(kind, name)| {
                    let matching = name.map_or(QuotaMatch::Default, QuotaMatch::Exact);
                    (kind, matching)
                })
                .collect();
            let described = admin.describe_client_quotas(&components, false).await?;
            let mut rows: Vec<Vec<String>> = described
                .into_iter()
                .map(|e| {
                    let quotas: Vec<String> = e
                        .quotas
                        .iter()
                        .map(|(key, value)| format!("{key}={value}"))
                        .collect();
                    vec![describe_entity(&e.entity), quotas.join(",")]
                })
                .collect();
            rows.sort();
            print!("{}", table(&["ENTITY", "QUOTAS"], &rows));
            Ok(())
        }
    }
}

fn entity_of(args: &EntityArgs) -> Result<QuotaEntity, CliError> {
    let mut entity = Vec::new();
    if args.default_user || args.user.is_some() {
        entity.push(("user".to_string(), args.user.clone()));
    }
    if args.default_client_id || args.client_id.is_some() {
        entity.push(("client-id".to_string(), args.client_id.clone()));
    }
    if entity.is_empty() {
        return Err(CliError::Usage(
            "name an entity: --user, --default-user, --client-id or --default-client-id".into(),
        ));
    }
    Ok(entity)
}

/// `user=alice,client-id=<default>`.
fn describe_entity(entity: &QuotaEntity) -> String {
    entity
        .iter()
        .map(|(kind, name)| format!("{kind}={}", name.as_deref().unwrap_or("<default>")))
        .collect::<Vec<_>>()
        .join(",")
}
