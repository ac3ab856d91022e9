//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554):
//! the SCRAM users SASL logins are checked against. Clients send the
//! salted password, never the password itself.

use std::collections::{BTreeSet, HashMap};

use strom_protocol::error_codes;
use strom_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use strom_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use strom_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use strom_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use strom_protocol::sasl::{ScramCredential, ScramMechanism};

use crate::cluster::requests::ControllerRequest;
use crate::file_work::off_the_worker;
use crate::security::users::{CredentialChange, StoredCredential};
use crate::state::Broker;

pub fn describe(
    broker: &Broker,
    request: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let known = broker.users.describe();
    let info = |mechanisms: &[(ScramMechanism, u32)]| -> Vec<CredentialInfo> {
        mechanisms
            .iter()
            .map(|(mechanism, iterations)| CredentialInfo {
                mechanism: mechanism.kafka_type(),
                iterations: i32::try_from(*iterations).unwrap_or(i32::MAX),
                ..Default::default()
            })
            .collect()
    };
    let wanted: Vec<String> = request
        .users
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.name)
        .collect();
    let results = if wanted.is_empty() {
        known
            .iter()
            .map(|(user, mechanisms)| DescribeUserScramCredentialsResult {
                user: user.clone(),
                credential_infos: info(mechanisms),
                ..Default::default()
            })
            .collect()
    } else {
        let mut seen = HashMap::new();
        for name in &wanted {
            *seen.entry(name.as_str()).or_insert(0) += 1;
        }
        let mut reported = BTreeSet::new();
        wanted
            .iter()
            .filter(|name| reported.insert(name.as_str()))
            .map(|name| {
                let mut result = DescribeUserScramCredentialsResult {
                    user: name.clone(),
                    ..Default::default()
                };
                if seen.get(name.as_str()).copied().unwrap_or(0) > 1 {
                    result.error_code = error_codes::DUPLICATE_RESOURCE;
                    result.error_message = Some("the user is asked for more than once".into());
                } else if let Some((_, mechanisms)) = known.iter().find(|(user, _)| user == name) {
                    result.credential_infos = info(mechanisms);
                } else {
                    result.error_code = error_codes::RESOURCE_NOT_FOUND;
                    result.error_message =
                        Some("Attempt to describe a user credential that does not exist".into());
                }
                result
            })
            .collect()
    };
    DescribeUserScramCredentialsResponse {
        results,
        ..Default::default()
    }
}

/// A user's changes, or the first thing wrong with them (code, message).
type UserOutcome = Result<Vec<CredentialChange>, (i16, String)>;

pub async fn alter(
    broker: &Broker,
    request: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    // Each user's outcome: its changes, or the first thing wrong with them.
    let mut users: Vec<(String, UserOutcome)> = Vec::new();
    let mut touched: HashMap<(String, i8), usize> = HashMap::new();
    let deletions = request
        .deletions
        .into_iter()
        .map(|d| (d.name, d.mechanism, None));
    let upsertions = request
        .upsertions
        .into_iter()
        .map(|u| (u.name.clone(), u.mechanism, Some(u)));
    for (name, mechanism, upsert) in deletions.chain(upsertions) {
        *touched.entry((name.clone(), mechanism)).or_insert(0) += 1;
        let change = check_change(broker, &name, mechanism, upsert);
        let index = match users.iter().position(|(user, _)| *user == name) {
            Some(index) => index,
            None => {
                users.push((name.clone(), Ok(Vec::new())));
                users.len() - 1
            }
        };
        let outcome = &mut users[index].1;
        match (outcome.as_mut(), change) {
            (Ok(changes), Ok(change)) => changes.push(change),
            (Ok(_), Err(error)) => *outcome = Err(error),
            (Err(_), _) => {}
        }
    }
    for (user, outcome) in &mut users {
        let twice = touched.iter().any(|((name, _), n)| name == user && *n > 1);
        if twice {
            *outcome = Err((
                error_codes::DUPLICATE_RESOURCE,
                "A user credential cannot be altered twice in the same request".into(),
            ));
        }
    }
    let changes: Vec<CredentialChange> = users
        .iter_mut()
        .filter_map(|(_, outcome)| outcome.as_mut().ok().map(std::mem::take))
        .flatten()
        .collect();
    let stored = if changes.is_empty() {
        Ok(())
    } else if let Some(node) = broker.cluster() {
        // The metadata log carries them to every broker.
        let mut upserts = Vec::new();
        let mut deletions = Vec::new();
        for change in changes {
            match change {
                CredentialChange::Upsert(user, credential) => {
                    upserts.push((user, StoredCredential::from(&credential)))
                }
                CredentialChange::Delete(user, mechanism) => {
                    deletions.push((user, mechanism.name().to_string()))
                }
            }
        }
        node.ask(ControllerRequest::AlterScramCredentials { upserts, deletions })
            .await
            .map(|_| ())
            .map_err(|e| (e.code, e.message))
    } else {
        off_the_worker(|| broker.users.apply(changes)).map_err(|e| {
            tracing::error!("cannot store SCRAM credentials: {e}");
            (error_codes::UNKNOWN_SERVER_ERROR, e.to_string())
        })
    };
    let results = users
        .into_iter()
        .map(|(user, outcome)| {
            let (error_code, error_message) = match (outcome, &stored) {
                (Err((code, message)), _) => (code, Some(message)),
                (Ok(_), Err((code, message))) => (*code, Some(message.clone())),
                (Ok(_), Ok(())) => {
                    tracing::info!(user, "SCRAM credentials changed");
                    (error_codes::NONE, None)
                }
            };
            AlterUserScramCredentialsResult {
                user,
                error_code,
                error_message,
                ..Default::default()
            }
        })
        .collect();
    AlterUserScramCredentialsResponse {
        results,
        ..Default::default()
    }
}

/// One deletion (`upsert` None) or upsertion, checked as Kafka checks it.
fn check_change(
    broker: &Broker,
    name: &str,
    mechanism: i8,
    upsert: Option<ScramCredentialUpsertion>,
) -> Result<CredentialChange, (i16, String)> {
    if name.is_empty() {
        return Err((
            error_codes::UNACCEPTABLE_CREDENTIAL,
            "Username must not be empty".into(),
        ));
    }
    let mechanism = ScramMechanism::from_kafka_type(mechanism).ok_or_else(|| {
        (
            error_codes::UNSUPPORTED_SASL_MECHANISM,
            format!("Unknown SCRAM mechanism {mechanism}"),
        )
    })?;
    let Some(upsert) = upsert else {
        if broker.users.credential(name, mechanism).is_none() {
            return Err((
                error_codes::RESOURCE_NOT_FOUND,
                "Attempt to delete a user credential that does not exist".into(),
            ));
        }
        return Ok(CredentialChange::Delete(name.to_string(), mechanism));
    };
    let iterations = u32::try_from(upsert.iterations).unwrap_or(0);
    if !(ScramMechanism::MIN_ITERATIONS..=ScramMechanism::MAX_ITERATIONS).contains(&iterations) {
        return Err((
            error_codes::UNACCEPTABLE_CREDENTIAL,
            format!(
                "Iterations must be between {} and {}",
                ScramMechanism::MIN_ITERATIONS,
                ScramMechanism::MAX_ITERATIONS
            ),
        ));
    }
    if upsert.salt.is_empty() || upsert.salted_password.is_empty() {
        return Err((
            error_codes::UNACCEPTABLE_CREDENTIAL,
            "Salt and salted password must not be empty".into(),
        ));
    }
    let credential = ScramCredential::from_salted_password(
        mechanism,
        upsert.salt.to_vec(),
        iterations,
        &upsert.salted_password,
    );
    Ok(CredentialChange::Upsert(name.to_string(), credential))
}
