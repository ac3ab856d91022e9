//! `strom acl`: ACLs of a Strom or Kafka cluster (create, list, delete),
//! through CreateAcls, DescribeAcls and DeleteAcls, with rpk's flags:
//!
//! ```text
//! strom acl create --allow-principal User:alice --operation write --topic orders
//! strom acl list --principal User:alice
//! strom acl delete --topic orders --operation write
//! ```

use clap::{Args, Subcommand};
use strom_client::admin::{
    AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use strom_client::AdminClient;
use strom_protocol::acl::{CLUSTER_NAME, WILDCARD};

use super::output::table;
use super::{partial, report_outcomes, BrokersArg};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct AclArgs {
    #[command(flatten)]
    pub brokers: BrokersArg,
    #[command(subcommand)]
    pub command: AclCommand,
}

/// The resources an ACL command names.
#[derive(Debug, Args)]
pub struct Resources {
    /// Topic names (repeatable); `*` for every topic.
    #[arg(long = "topic", value_name = "NAME")]
    topics: Vec<String>,
    /// Consumer group names (repeatable); `*` for every group.
    #[arg(long = "group", value_name = "NAME")]
    groups: Vec<String>,
    /// Transactional ids (repeatable).
    #[arg(long = "transactional-id", value_name = "ID")]
    transactional_ids: Vec<String>,
    /// The cluster itself (creating topics, describing the cluster, ACLs).
    #[arg(long)]
    cluster: bool,
    /// literal or prefixed; for list and delete also match (every ACL that
    /// applies to the names) or any. Default: literal for create, any for
    /// list and delete.
    #[arg(long, value_name = "TYPE")]
    resource_pattern_type: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AclCommand {
    /// Allow or deny principals operations on resources.
    Create {
        #[command(flatten)]
        resources: Resources,
        /// Principals to allow (repeatable): User:alice, or User:* for all.
        #[arg(long = "allow-principal", value_name = "PRINCIPAL")]
        allow_principals: Vec<String>,
        /// Principals to deny (repeatable).
        #[arg(long = "deny-principal", value_name = "PRINCIPAL")]
        deny_principals: Vec<String>,
        /// Hosts the allowed principals may connect from (default: *).
        #[arg(long = "allow-host", value_name = "IP")]
        allow_hosts: Vec<String>,
        /// Hosts the denied principals are denied from (default: *).
        #[arg(long = "deny-host", value_name = "IP")]
        deny_hosts: Vec<String>,
        /// Operations (repeatable): all, read, write, create, delete,
        /// alter, describe, cluster-action, describe-configs,
        /// alter-configs, idempotent-write.
        #[arg(long = "operation", value_name = "OP", required = true)]
        operations: Vec<String>,
    },
    /// List ACLs (all of them unless filtered).
    List {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Delete the ACLs the filters select.
    Delete {
        #[command(flatten)]
        filter: FilterArgs,
        /// Delete every ACL when no filter is given.
        #[arg(long)]
        all: bool,
    },
}

/// What `list` and `delete` select, beyond the resources.
#[derive(Debug, Args)]
pub struct FilterArgs {
    #[command(flatten)]
    resources: Resources,
    #[arg(long, value_name = "PRINCIPAL")]
    principal: Option<String>,
    #[arg(long, value_name = "IP")]
    host: Option<String>,
    #[arg(long, value_name = "OP")]
    operation: Option<String>,
    /// allow or deny.
    #[arg(long, value_name = "PERMISSION")]
    permission: Option<String>,
}

pub async fn run(args: AclArgs) -> Result<(), CliError> {
    let admin = AdminClient::new(args.brokers.client_config(&[], &[])?).await?;
    match args.command {
        AclCommand::Create {
            resources,
            allow_principals,
            deny_principals,
            allow_hosts,
            deny_hosts,
            operations,
        } => {
            let bindings = bindings(
                &resources,
                &[
                    (AclPermission::Allow, allow_principals, allow_hosts),
                    (AclPermission::Deny, deny_principals, deny_hosts),
                ],
                &operations,
            )?;
            let outcomes = admin.create_acls(&bindings).await?;
            let named = bindings.iter().map(AclBinding::describe).zip(outcomes);
            report_outcomes("created", "ACL", named.collect())
        }
        AclCommand::List { filter } => {
            let mut acls = Vec::new();
            for filter in filters(&filter)? {
                acls.extend(admin.describe_acls(&filter).await?);
            }
            acls.sort();
            acls.dedup();
            let rows: Vec<Vec<String>> = acls
                .into_iter()
                .map(|acl| {
                    vec![
                        acl.principal,
                        acl.host,
                        acl.resource_type.name().to_string(),
                        acl.resource_name,
                        acl.pattern_type.name().to_string(),
                        acl.operation.name().to_string(),
                        acl.permission.name().to_string(),
                    ]
                })
                .collect();
            let header = [
                "PRINCIPAL",
                "HOST",
                "RESOURCE-TYPE",
                "RESOURCE-NAME",
                "PATTERN",
                "OPERATION",
                "PERMISSION",
            ];
            print!("{}", table(&header, &rows));
            Ok(())
        }
        AclCommand::Delete { filter, all } => {
            let filters = filters(&filter)?;
            if !all && is_unfiltered(&filter) {
                return Err(CliError::Usage(
                    "no filter given: name resources, a principal or an operation, or pass --all to delete every ACL".into(),
                ));
            }
            let outcomes = admin.delete_acls(&filters).await?;
            let total = outcomes.len();
            let mut failed = 0;
            for outcome in outcomes {
                match outcome {
                    Ok(deleted) => {
                        for acl in deleted {
                            println!("deleted {}", acl.describe());
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("strom: {e}");
                    }
                }
            }
            partial(failed, total, "ACL filter")
        }
    }
}

/// The resources named, as (type, name).
fn named(resources: &Resources) -> Vec<(ResourceType, String)> {
    let mut named = Vec::new();
    let mut add = |kind, names: &[String]| {
        named.extend(names.iter().map(|n| (kind, n.clone())));
    };
    add(ResourceType::Topic, &resources.topics);
    add(ResourceType::Group, &resources.groups);
    add(ResourceType::TransactionalId, &resources.transactional_ids);
    if resources.cluster {
        named.push((ResourceType::Cluster, CLUSTER_NAME.to_string()));
    }
    named
}

/// Every (resource, principal, host, operation) combination to create.
fn bindings(
    resources: &Resources,
    grants: &[(AclPermission, Vec<String>, Vec<String>)],
    operations: &[String],
) -> Result<Vec<AclBinding>, CliError> {
    let named = named(resources);
    if named.is_empty() {
        return Err(CliError::Usage(
            "name at least one resource: --topic, --group, --transactional-id or --cluster".into(),
        ));
    }
    if grants
        .iter()
        .all(|(_, principals, _)| principals.is_empty())
    {
        return Err(CliError::Usage(
            "name at least one --allow-principal or --deny-principal".into(),
        ));
    }
    let pattern = match resources.resource_pattern_type.as_deref() {
        None => PatternType::Literal,
        Some(name) => PatternType::from_name(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--resource-pattern-type {name}: creating takes literal or prefixed"
            ))
        })?,
    };
    let operations: Vec<AclOperation> = operations
        .iter()
        .map(|o| operation(o))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (permission, principals, hosts) in grants {
        let hosts = if hosts.is_empty() {
            vec![WILDCARD.to_string()]
        } else {
            hosts.clone()
        };
        for (resource_type, name) in &named {
            for principal in principals {
                for host in &hosts {
                    for op in &operations {
                        let binding = AclBinding::from_codes(
                            *resource_type as i8,
                            name.clone(),
                            pattern as i8,
                            principal.clone(),
                            host.clone(),
                            *op as i8,
                            *permission as i8,
                        )
                        .map_err(CliError::Usage)?;
                        out.push(binding);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn operation(name: &str) -> Result<AclOperation, CliError> {
    AclOperation::from_name(name).ok_or_else(|| {
        CliError::Usage(format!(
            "--operation {name}: expected one of all, read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs, idempotent-write"
        ))
    })
}

fn is_unfiltered(args: &FilterArgs) -> bool {
    named(&args.resources).is_empty()
        && args.principal.is_none()
        && args.host.is_none()
        && args.operation.is_none()
        && args.permission.is_none()
}

/// One filter per named resource, or one for every resource.
fn filters(args: &FilterArgs) -> Result<Vec<AclFilter>, CliError> {
    let (pattern_type, matching) = match args.resources.resource_pattern_type.as_deref() {
        None | Some("any") => (None, false),
        Some("match") => (None, true),
        Some(name) => (
            Some(PatternType::from_name(name).ok_or_else(|| {
                CliError::Usage(format!(
                    "--resource-pattern-type {name}: expected literal, prefixed, match or any"
                ))
            })?),
            false,
        ),
    };
    let permission = match args.permission.as_deref() {
        None => None,
        Some(p) if p.eq_ignore_ascii_case("allow") => Some(AclPermission::Allow),
        Some(p) if p.eq_ignore_ascii_case("deny") => Some(AclPermission::Deny),
        Some(p) => {
            return Err(CliError::Usage(format!(
                "--permission {p}: expected allow or deny"
            )))
        }
    };
    let base = AclFilter {
        pattern_type,
        matching,
        principal: args.principal.clone(),
        host: args.host.clone(),
        operation: args.operation.as_deref().map(operation).transpose()?,
        permission,
        ..Default::default()
    };
    let named = named(&args.resources);
    if named.is_empty() {
        return Ok(vec![base]);
    }
    Ok(named
        .into_iter()
        .map(|(resource_type, name)| AclFilter {
            resource_type: Some(resource_type),
            resource_name: Some(name),
            ..base.clone()
        })
        .collect())
}
