//! The SASL exchange of one connection (KIP-43 handshake, KIP-152
//! SaslAuthenticate frames): PLAIN and SCRAM-SHA-256/512, checked against
//! [`ScramUsers`].
//!
//! A client learns only that its login failed, never why: an unknown user
//! runs the whole SCRAM exchange against a decoy credential and fails where
//! a wrong password fails, with the same message. The log says why.

use std::net::SocketAddr;

use bytes::Bytes;
use strom_protocol::error_codes;
use strom_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use strom_protocol::sasl::{parse_plain, ScramMechanism, ScramServer};

use super::users::ScramUsers;

/// What every failed login is told (Kafka's wording).
const FAILED: &str = "Authentication failed: Invalid username or password";

enum State {
    /// Waiting for SaslHandshake.
    Start,
    /// The handshake chose PLAIN.
    Plain,
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
    state: State,
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
    pub fn new(enabled: Vec<String>) -> Authenticator {
        Authenticator {
            enabled,
            state: State::Start,
        }
    }

    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Picks the mechanism. A second handshake, or one after logging in,
    /// is ILLEGAL_SASL_STATE.
    pub fn handshake(&mut self, request: SaslHandshakeRequest) -> SaslHandshakeResponse {
        let mut response = SaslHandshakeResponse {
            mechanisms: self.enabled.clone(),
            ..Default::default()
        };
        if !matches!(self.state, State::Start) {
            response.error_code = error_codes::ILLEGAL_SASL_STATE;
            return response;
        }
        let wanted = request.mechanism.to_ascii_uppercase();
        if !self.enabled.contains(&wanted) {
            response.error_code = error_codes::UNSUPPORTED_SASL_MECHANISM;
            return response;
        }
        self.state = match ScramMechanism::from_name(&wanted) {
            Some(mechanism) => State::ScramFirst(mechanism),
            None => State::Plain,
        };
        response
    }

    /// One SaslAuthenticate round.
    pub fn authenticate(
        &mut self,
        users: &ScramUsers,
        request: SaslAuthenticateRequest,
        peer: SocketAddr,
    ) -> Step {
        let bytes = &request.auth_bytes;
        match std::mem::replace(&mut self.state, State::Done) {
            State::Plain => self.plain(users, bytes, peer),
            State::ScramFirst(mechanism) => self.scram_first(users, mechanism, bytes, peer),
            State::ScramFinal {
                mut server,
                user,
                known,
            } => match server.client_final(bytes) {
                Ok(server_final) => {
                    tracing::info!(%peer, user, mechanism = %mechanism_of(&server), "authenticated");
                    success(server_final, user)
                }
                Err(e) => {
                    let why = if known {
                        e.to_string()
                    } else {
                        "unknown user".to_string()
                    };
                    refused(peer, &user, &why)
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

    fn plain(&mut self, users: &ScramUsers, bytes: &[u8], peer: SocketAddr) -> Step {
        let login = match parse_plain(bytes) {
            Ok(login) => login,
            Err(e) => return refused(peer, "?", &format!("malformed PLAIN message: {e}")),
        };
        // Check every stored credential, so an unknown user costs the same.
        let mut credentials = users.credentials_of(&login.username);
        let known = !credentials.is_empty();
        if !known {
            credentials.push(users.for_login(&login.username, ScramMechanism::Sha512).0);
        }
        let matched = credentials
            .iter()
            .fold(false, |ok, c| c.verify_password(&login.password) | ok);
        if matched && known {
            tracing::info!(%peer, user = login.username, mechanism = "PLAIN", "authenticated");
            return success(Vec::new(), login.username);
        }
        let why = if known {
            "wrong password"
        } else {
            "unknown user"
        };
        refused(peer, &login.username, why)
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
            Err(e) => return refused(peer, "?", &format!("malformed client-first message: {e}")),
        };
        if !first.extensions.is_empty() {
            // Delegation tokens (tokenauth=true) are not served.
            let names: Vec<&String> = first.extensions.keys().collect();
            return refused(
                peer,
                &first.username,
                &format!("unsupported SCRAM extensions {names:?}"),
            );
        }
        let (credential, known) = users.for_login(&first.username, mechanism);
        let server_first = match server.server_first(&credential) {
            Ok(message) => message,
            Err(e) => return refused(peer, &first.username, &e.to_string()),
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

/// 128 random bits as printable text (no commas: RFC 5802), about as long
/// as Kafka's: librdkafka 2.0 fails the exchange on much longer nonces.
fn server_nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    tracing::warn!(%peer, user, "authentication failed: {why}");
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
