//! SCRAM users (KIP-554): DescribeUserScramCredentials and
//! AlterUserScramCredentials, as Kafka's `Admin.describeUserScramCredentials`
//! and `alterUserScramCredentials` offer them. The password never leaves
//! the client: it is salted and hashed here, and only the salted password
//! is sent.

use std::future::Future;

use bytes::Bytes;
use strom_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use strom_protocol::messages::describe_user_scram_credentials_request::UserName;
use strom_protocol::messages::{
    AlterUserScramCredentialsRequest, ApiKey, DescribeUserScramCredentialsRequest, Response,
};
use strom_protocol::sasl::ScramMechanism;

use super::AdminClient;
use crate::cluster::unexpected;
use crate::error::{check_code, Result};

/// One change to a user's SCRAM credentials.
#[derive(Debug, Clone)]
pub enum UserScramChange {
    /// Sets (or replaces) the user's credential for `mechanism`.
    Upsert {
        user: String,
        mechanism: ScramMechanism,
        /// 4096 (Kafka's minimum) unless there is a reason for more.
        iterations: u32,
        password: String,
        /// The salt; a random one of 32 bytes when `None` (the usual).
        salt: Option<Vec<u8>>,
    },
    Delete {
        user: String,
        mechanism: ScramMechanism,
    },
}

impl UserScramChange {
    fn user(&self) -> &str {
        match self {
            UserScramChange::Upsert { user, .. } | UserScramChange::Delete { user, .. } => user,
        }
    }
}

/// A user's credentials as the broker describes them: mechanism and
/// iterations, never the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserScramCredentials {
    pub user: String,
    pub mechanisms: Vec<(ScramMechanism, u32)>,
}

impl AdminClient {
    /// Applies `changes`; one outcome per user, in order of first mention.
    pub fn alter_user_scram_credentials(
        &self,
        changes: &[UserScramChange],
    ) -> impl Future<Output = Result<Vec<(String, Result<()>)>>> + Send + 'static {
        let admin = self.clone();
        let mut request = AlterUserScramCredentialsRequest::default();
        let mut users: Vec<String> = Vec::new();
        for change in changes {
            if !users.iter().any(|u| u == change.user()) {
                users.push(change.user().to_string());
            }
            match change {
                UserScramChange::Upsert {
                    user,
                    mechanism,
                    iterations,
                    password,
                    salt,
                } => {
                    let salt = salt
                        .clone()
                        .unwrap_or_else(|| rand::random::<[u8; 32]>().to_vec());
                    let salted = mechanism.salted_password(password, &salt, *iterations);
                    request.upsertions.push(ScramCredentialUpsertion {
                        name: user.clone(),
                        mechanism: mechanism.kafka_type(),
                        iterations: i32::try_from(*iterations).unwrap_or(i32::MAX),
                        salt: Bytes::copy_from_slice(&salt),
                        salted_password: Bytes::from(salted),
                        ..Default::default()
                    });
                }
                UserScramChange::Delete { user, mechanism } => {
                    request.deletions.push(ScramCredentialDeletion {
                        name: user.clone(),
                        mechanism: mechanism.kafka_type(),
                        ..Default::default()
                    })
                }
            }
        }
        async move {
            let response = admin
                .send_to_controller(ApiKey::AlterUserScramCredentials, |_| {
                    request.clone().into()
                })
                .await?;
            let Response::AlterUserScramCredentials(response) = response else {
                return Err(unexpected(ApiKey::AlterUserScramCredentials, &response));
            };
            Ok(users
                .into_iter()
                .map(|user| {
                    let outcome = match response.results.iter().find(|r| r.user == user) {
                        Some(result) => check_code(
                            result.error_code,
                            || format!("changing the credentials of user `{user}`"),
                            result.error_message.as_deref(),
                        ),
                        None => Err(crate::ClientError::InvalidArgument(format!(
                            "the broker did not answer for user `{user}`"
                        ))),
                    };
                    (user, outcome)
                })
                .collect())
        }
    }

    /// Describes `users` (every user when empty).
    pub fn describe_user_scram_credentials(
        &self,
        users: &[String],
    ) -> impl Future<Output = Result<Vec<(String, Result<UserScramCredentials>)>>> + Send + 'static
    {
        let admin = self.clone();
        let request = DescribeUserScramCredentialsRequest {
            users: (!users.is_empty()).then(|| {
                users
                    .iter()
                    .map(|name| UserName {
                        name: name.clone(),
                        ..Default::default()
                    })
                    .collect()
            }),
            ..Default::default()
        };
        async move {
            let response = admin
                .send_to_controller(ApiKey::DescribeUserScramCredentials, |_| {
                    request.clone().into()
                })
                .await?;
            let Response::DescribeUserScramCredentials(response) = response else {
                return Err(unexpected(ApiKey::DescribeUserScramCredentials, &response));
            };
            check_code(
                response.error_code,
                || "describing SCRAM users".into(),
                response.error_message.as_deref(),
            )?;
            Ok(response
                .results
                .into_iter()
                .map(|result| {
                    let user = result.user.clone();
                    let outcome = check_code(
                        result.error_code,
                        || format!("describing user `{}`", result.user),
                        result.error_message.as_deref(),
                    )
                    .map(|()| UserScramCredentials {
                        user: result.user,
                        mechanisms: result
                            .credential_infos
                            .iter()
                            .filter_map(|info| {
                                let mechanism = ScramMechanism::from_kafka_type(info.mechanism)?;
                                Some((mechanism, u32::try_from(info.iterations).unwrap_or(0)))
                            })
                            .collect(),
                    });
                    (user, outcome)
                })
                .collect())
        }
    }
}
