//! The SASL exchange of one connection (KIP-43 handshake, KIP-152
//! SaslAuthenticate frames): PLAIN and SCRAM-SHA-256/512, checked against
//! [`ScramUsers`].
//!
//! A client learns only that its login failed, never why: an unknown user
//! runs the whole SCRAM exchange against a decoy credential and fails where
//! a wrong password fails, with the same message. The log says why.
//!
//! With `connections.max.reauth.ms` a login lasts that long (KIP-368): the
//! client is told in SaslAuthenticate and logs in again, with the same
//! mechanism and as the same user, on the same connection; a connection
//! whose login expired is closed at its next other request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use strom_protocol::error_codes;
use strom_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use strom_protocol::sasl::{parse_bearer_message, parse_plain, ScramMechanism, ScramServer};

use super::oauth::TokenValidator;
use super::users::ScramUsers;

/// What every failed login is told (Kafka's wording).
const FAILED: &str = "Authentication failed: Invalid username or password";

enum State {
    /// Waiting for SaslHandshake.
    Start,
    /// The handshake chose PLAIN.
    Plain,
    /// The handshake chose OAUTHBEARER.
    OAuthBearer,
    /// The handshake chose SCRAM; the exchange has not started.
    ScramFirst(ScramMechanism),
    /// Server-first sent: waiting for client-final.
    ScramFinal {
        server: Box<ScramServer>,
        user: String,
        known: bool,
    },
    Done,
}

pub struct Authenticator {
    /// `sasl.enabled.mechanisms`.
    enabled: Vec<String>,
    /// Checks OAUTHBEARER tokens (when that mechanism is enabled).
    oauth: Option<Arc<TokenValidator>>,
    state: State,
    /// `connections.max.reauth.ms`; `None`: a login lasts.
    session: Option<Duration>,
    /// Who logged in, and with which mechanism, once a login succeeded.
    login: Option<(String, String)>,
    /// When the current login ends.
    expires: Option<Instant>,
}

/// The answer to one SaslAuthenticate and what it did to the connection.
pub struct Step {
    pub response: SaslAuthenticateResponse,
    pub outcome: Outcome,
}

pub enum Outcome {
    /// The exchange goes on.
    Continue,
    /// Logged in as this user.
    Authenticated(String),
    /// Refused (logged): answer, then close the connection.
    Failed,
}

impl Authenticator {
    /// `reauth_ms`: `connections.max.reauth.ms` (0: a login lasts).
    pub fn new(
        enabled: Vec<String>,
        reauth_ms: i64,
        oauth: Option<Arc<TokenValidator>>,
    ) -> Authenticator {
        Authenticator {
            enabled,
            oauth,
            state: State::Start,
            session: u64::try_from(reauth_ms)
                .ok()
                .filter(|&ms| ms > 0)
                .map(Duration::from_millis),
            login: None,
            expires: None,
        }
    }

    /// Whether a login succeeded (and no login failed since).
    pub fn is_authenticated(&self) -> bool {
        self.login.is_some()
    }

    /// Whether the login's session ran out without a new login.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires.is_some_and(|end| now >= end)
    }

    /// Picks the mechanism. A second handshake in one exchange, or one
    /// after logging in where logins do not expire, is ILLEGAL_SASL_STATE;
    /// a re-authentication must keep the mechanism.
    pub fn handshake(&mut self, request: SaslHandshakeRequest) -> SaslHandshakeResponse {
        let mut response = SaslHandshakeResponse {
            mechanisms: self.enabled.clone(),
            ..Default::default()
        };
        let may_start = match self.state {
            State::Start => true,
            // A login that expires (connections.max.reauth.ms, or a token's
            // lifetime) may be renewed on the same connection.
            State::Done => self.expires.is_some() && self.login.is_some(),
            _ => false,
        };
        if !may_start {
            response.error_code = error_codes::ILLEGAL_SASL_STATE;
            return response;
        }
        let wanted = request.mechanism.to_ascii_uppercase();
        let same_as_before = self.login.as_ref().is_none_or(|(_, m)| *m == wanted);
        if !self.enabled.contains(&wanted) || !same_as_before {
            response.error_code = error_codes::UNSUPPORTED_SASL_MECHANISM;
            return response;
        }
        self.state = match ScramMechanism::from_name(&wanted) {
            Some(mechanism) => State::ScramFirst(mechanism),
            None if wanted == "OAUTHBEARER" => State::OAuthBearer,
            None => State::Plain,
        };
        response
    }

    /// One SaslAuthenticate round.
    pub async fn authenticate(
        &mut self,
        users: &ScramUsers,
        request: SaslAuthenticateRequest,
        peer: SocketAddr,
    ) -> Step {
        let bytes = &request.auth_bytes;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Plain => self.plain(users, bytes, peer).await,
            State::OAuthBearer => self.oauth_bearer(bytes, peer),
            State::ScramFirst(mechanism) => self.scram_first(users, mechanism, bytes, peer),
            State::ScramFinal {
                mut server,
                user,
                known,
            } => match server.client_final(bytes) {
                Ok(server_final) => self.logged_in(peer, user, mechanism_of(&server), server_final),
                Err(e) => {
                    let why = if known {
                        e.to_string()
                    } else {
                        "unknown user".to_string()
                    };
                    self.refused(peer, &user, &why)
                }
            },
            State::Start | State::Done => {
                self.state = State::Done;
                Step {
                    response: error_response(
                        error_codes::ILLEGAL_SASL_STATE,
                        "SaslAuthenticate outside a SASL exchange",
                    ),
                    outcome: Outcome::Failed,
                }
            }
        }
    }

    async fn plain(&mut self, users: &ScramUsers, bytes: &[u8], peer: SocketAddr) -> Step {
        let login = match parse_plain(bytes) {
            Ok(login) => login,
            Err(e) => return self.refused(peer, "?", &format!("malformed PLAIN message: {e}")),
        };
        // One derivation per mechanism, the user's credential or a decoy,
        // so every login costs the same whoever it names. PBKDF2 takes
        // milliseconds: it runs off the connection threads, so a flood of
        // logins cannot stall other clients' requests.
        let known = !users.credentials_of(&login.username).is_empty();
        let credentials: Vec<_> = [ScramMechanism::Sha256, ScramMechanism::Sha512]
            .into_iter()
            .map(|mechanism| users.for_login(&login.username, mechanism).0)
            .collect();
        let password = login.password.clone();
        let matched = tokio::task::spawn_blocking(move || {
            credentials
                .iter()
                .fold(false, |ok, c| c.verify_password(&password) | ok)
        })
        .await
        .unwrap_or(false);
        if matched && known {
            return self.logged_in(peer, login.username, "PLAIN", Vec::new());
        }
        let why = if known {
            "wrong password"
        } else {
            "unknown user"
        };
        self.refused(peer, &login.username, why)
    }

    /// Validates the token; its subject is the user, and the login lasts
    /// no longer than the token.
    fn oauth_bearer(&mut self, bytes: &[u8], peer: SocketAddr) -> Step {
        let Some(validator) = self.oauth.clone() else {
            return self.refused(peer, "?", "OAUTHBEARER without a token validator");
        };
        let message = match parse_bearer_message(bytes) {
            Ok(message) => message,
            Err(e) => {
                return self.refused(peer, "?", &format!("malformed OAUTHBEARER message: {e}"))
            }
        };
        let token = match validator.validate(&message.token, SystemTime::now()) {
            Ok(token) => token,
            Err(why) => {
                return self.refused(peer, "?", &format!("OAUTHBEARER token refused: {why}"))
            }
        };
        if message
            .authzid
            .as_ref()
            .is_some_and(|a| *a != token.principal)
        {
            let why = "the authorization id differs from the token's subject";
            return self.refused(peer, &token.principal, why);
        }
        let remaining = token
            .expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        self.logged_in_until(
            peer,
            token.principal,
            "OAUTHBEARER",
            Vec::new(),
            Some(remaining),
        )
    }

    /// A login succeeded: a re-authentication must be the same user.
    fn logged_in(
        &mut self,
        peer: SocketAddr,
        user: String,
        mechanism: &str,
        auth_bytes: Vec<u8>,
    ) -> Step {
        self.logged_in_until(peer, user, mechanism, auth_bytes, None)
    }

    /// As [`Self::logged_in`], for a credential that itself expires after
    /// `credential_lifetime` (a token): the login ends then at the latest.
    fn logged_in_until(
        &mut self,
        peer: SocketAddr,
        user: String,
        mechanism: &str,
        auth_bytes: Vec<u8>,
        credential_lifetime: Option<Duration>,
    ) -> Step {
        if let Some((first, _)) = &self.login {
            if *first != user {
                let why = format!("re-authenticated as `{user}` on a connection of `{first}`");
                return self.refused(peer, &user, &why);
            }
            tracing::debug!(%peer, user, mechanism, "re-authenticated");
        } else {
            tracing::info!(%peer, user, mechanism, "authenticated");
        }
        self.login = Some((user.clone(), mechanism.to_string()));
        let lifetime = match (self.session, credential_lifetime) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.expires = lifetime.map(|lifetime| Instant::now() + lifetime);
        let mut step = success(auth_bytes, user);
        step.response.session_lifetime_ms = lifetime.map_or(0, |s| {
            i64::try_from(s.as_millis()).unwrap_or(i64::MAX).max(1)
        });
        step
    }

    /// A login failed: the connection is no longer logged in.
    fn refused(&mut self, peer: SocketAddr, user: &str, why: &str) -> Step {
        self.login = None;
        refused(peer, user, why)
    }

    fn scram_first(
        &mut self,
        users: &ScramUsers,
        mechanism: ScramMechanism,
        bytes: &[u8],
        peer: SocketAddr,
    ) -> Step {
        let mut server = Box::new(ScramServer::new(mechanism, server_nonce()));
        let first = match server.client_first(bytes) {
            Ok(first) => first,
            Err(e) => {
                return self.refused(peer, "?", &format!("malformed client-first message: {e}"))
            }
        };
        if !first.extensions.is_empty() {
            // Delegation tokens (tokenauth=true) are not served.
            let names: Vec<&String> = first.extensions.keys().collect();
            let why = format!("unsupported SCRAM extensions {names:?}");
            return self.refused(peer, &first.username, &why);
        }
        let (credential, known) = users.for_login(&first.username, mechanism);
        let server_first = match server.server_first(&credential) {
            Ok(message) => message,
            Err(e) => return self.refused(peer, &first.username, &e.to_string()),
        };
        self.state = State::ScramFinal {
            server,
            user: first.username,
            known,
        };
        Step {
            response: SaslAuthenticateResponse {
                auth_bytes: Bytes::from(server_first),
                ..Default::default()
            },
            outcome: Outcome::Continue,
        }
    }
}

/// SaslAuthenticate on a listener without SASL.
pub fn outside_sasl_listener() -> Step {
    Step {
        response: error_response(
            error_codes::ILLEGAL_SASL_STATE,
            "this listener does not use SASL",
        ),
        outcome: Outcome::Failed,
    }
}

fn mechanism_of(server: &ScramServer) -> &'static str {
    server.mechanism().name()
}

/// 128 random bits in hex: printable, no commas (RFC 5802), about as long
/// as Kafka's nonces.
fn server_nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn success(auth_bytes: Vec<u8>, user: String) -> Step {
    Step {
        response: SaslAuthenticateResponse {
            auth_bytes: Bytes::from(auth_bytes),
            ..Default::default()
        },
        outcome: Outcome::Authenticated(user),
    }
}

fn refused(peer: SocketAddr, user: &str, why: &str) -> Step {
    if let Some(left_out) = super::LOGIN_FAILURES.admit() {
        tracing::warn!(%peer, user, left_out, "authentication failed: {why}");
    }
    Step {
        response: error_response(error_codes::SASL_AUTHENTICATION_FAILED, FAILED),
        outcome: Outcome::Failed,
    }
}

fn error_response(code: i16, message: &str) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse {
        error_code: code,
        error_message: Some(message.to_string()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use strom_protocol::sasl::{plain_message, ScramCredential};

    use super::*;
    use crate::security::users::CredentialChange;

    fn users(dir: &std::path::Path) -> ScramUsers {
        let users = ScramUsers::open(dir).unwrap();
        let changes = ["alice", "bob"]
            .into_iter()
            .map(|user| {
                let credential = ScramCredential::from_password(
                    ScramMechanism::Sha256,
                    &format!("{user}-secret"),
                    b"salt".to_vec(),
                    4096,
                );
                CredentialChange::Upsert(user.to_string(), credential)
            })
            .collect();
        users.apply(changes).unwrap();
        users
    }

    async fn plain_login(auth: &mut Authenticator, users: &ScramUsers, user: &str) -> Outcome {
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let handshake = auth.handshake(SaslHandshakeRequest {
            mechanism: "PLAIN".into(),
            ..Default::default()
        });
        if handshake.error_code != error_codes::NONE {
            return Outcome::Failed;
        }
        let request = SaslAuthenticateRequest {
            auth_bytes: Bytes::from(plain_message(user, &format!("{user}-secret"))),
            ..Default::default()
        };
        auth.authenticate(users, request, peer).await.outcome
    }

    #[tokio::test]
    async fn a_login_expires_and_may_be_renewed_only_as_the_same_user() {
        let dir = tempfile::tempdir().unwrap();
        let users = users(dir.path());
        let mut auth = Authenticator::new(vec!["PLAIN".into()], 60_000, None);
        assert!(matches!(
            plain_login(&mut auth, &users, "alice").await,
            Outcome::Authenticated(_)
        ));
        assert!(!auth.is_expired(Instant::now()));
        assert!(auth.is_expired(Instant::now() + Duration::from_secs(61)));
        assert!(matches!(
            plain_login(&mut auth, &users, "alice").await,
            Outcome::Authenticated(_)
        ));
        assert!(matches!(
            plain_login(&mut auth, &users, "bob").await,
            Outcome::Failed
        ));
        assert!(
            !auth.is_authenticated(),
            "a refused re-login ends the session"
        );
    }

    #[tokio::test]
    async fn without_expiry_a_second_login_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let users = users(dir.path());
        let mut auth = Authenticator::new(vec!["PLAIN".into()], 0, None);
        assert!(matches!(
            plain_login(&mut auth, &users, "alice").await,
            Outcome::Authenticated(_)
        ));
        assert!(!auth.is_expired(Instant::now() + Duration::from_secs(86_400)));
        assert!(matches!(
            plain_login(&mut auth, &users, "alice").await,
            Outcome::Failed
        ));
    }
}
