//! `strom user`: SCRAM users of a Strom or Kafka cluster (create, delete,
//! list), through AlterUserScramCredentials and
//! DescribeUserScramCredentials. The password is salted and hashed by the
//! client; only the salted password goes over the wire.

use std::io::BufRead;

use clap::{Args, Subcommand};
use strom_client::admin::{UserScramChange, UserScramCredentials};
use strom_client::AdminClient;
use strom_protocol::sasl::ScramMechanism;

use super::output::table;
use super::{report_outcomes, BrokersArg};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user, or set a new password for one.
    Create {
        name: String,
        /// The password; read from the first line of stdin when not given
        /// (keeps it out of the process list and shell history).
        #[arg(long)]
        password: Option<String>,
        /// SCRAM-SHA-256 and/or SCRAM-SHA-512 (repeatable). Default: both.
        #[arg(long = "mechanism", value_name = "MECHANISM")]
        mechanisms: Vec<String>,
        /// PBKDF2 iterations (4096 to 16384).
        #[arg(long, default_value_t = ScramMechanism::MIN_ITERATIONS)]
        iterations: u32,
    },
    /// Delete users' credentials (all their mechanisms unless named).
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(long = "mechanism", value_name = "MECHANISM")]
        mechanisms: Vec<String>,
    },
    /// List users and their mechanisms (all users when none are named).
    List { names: Vec<String> },
}

pub async fn run(args: UserArgs) -> Result<(), CliError> {
    let admin = AdminClient::new(args.brokers.client_config(&[], &[])?).await?;
    match args.command {
        UserCommand::Create {
            name,
            password,
            mechanisms,
            iterations,
        } => {
            let password = match password {
                Some(password) => password,
                None => read_password()?,
            };
            let changes: Vec<UserScramChange> = mechanisms_or_both(&mechanisms)?
                .into_iter()
                .map(|mechanism| UserScramChange::Upsert {
                    user: name.clone(),
                    mechanism,
                    iterations,
                    password: password.clone(),
                    salt: None,
                })
                .collect();
            let outcomes = admin.alter_user_scram_credentials(&changes).await?;
            report_outcomes("created", "user", outcomes)
        }
        UserCommand::Delete { names, mechanisms } => {
            let described = admin.describe_user_scram_credentials(&names).await?;
            let wanted = mechanisms_or_both(&mechanisms)?;
            let mut changes = Vec::new();
            for (user, outcome) in described {
                let Ok(credentials) = outcome else {
                    return Err(CliError::Usage(format!("no user `{user}`")));
                };
                for (mechanism, _) in credentials.mechanisms {
                    if wanted.contains(&mechanism) {
                        changes.push(UserScramChange::Delete {
                            user: user.clone(),
                            mechanism,
                        });
                    }
                }
            }
            let outcomes = admin.alter_user_scram_credentials(&changes).await?;
            report_outcomes("deleted", "user", outcomes)
        }
        UserCommand::List { names } => {
            let described = admin.describe_user_scram_credentials(&names).await?;
            let mut rows = Vec::new();
            for (user, outcome) in described {
                let UserScramCredentials { mechanisms, .. } = outcome?;
                let listed: Vec<String> = mechanisms
                    .iter()
                    .map(|(m, iterations)| format!("{}({iterations})", m.name()))
                    .collect();
                rows.push(vec![user, listed.join(",")]);
            }
            print!("{}", table(&["USER", "MECHANISMS(ITERATIONS)"], &rows));
            Ok(())
        }
    }
}

fn mechanisms_or_both(names: &[String]) -> Result<Vec<ScramMechanism>, CliError> {
    if names.is_empty() {
        return Ok(vec![ScramMechanism::Sha256, ScramMechanism::Sha512]);
    }
    names
        .iter()
        .map(|name| {
            ScramMechanism::from_name(&name.to_ascii_uppercase()).ok_or_else(|| {
                CliError::Usage(format!(
                    "--mechanism {name}: expected SCRAM-SHA-256 or SCRAM-SHA-512"
                ))
            })
        })
        .collect()
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage(
            "no password: give --password or write it on stdin".into(),
        ));
    }
    Ok(password)
}
