//! The SASL login of a new connection (KIP-43 handshake, then KIP-152
//! SaslAuthenticate frames): PLAIN in one round, SCRAM in two, with the
//! broker's final signature checked, so a client never talks to a broker
//! that could not prove it knows the user's credential.
//!
//! A broker with `connections.max.reauth.ms` says how long the login lasts
//! (KIP-368); the connection logs in again before then, as the Java client
//! does, at a random point between 85% and 95% of it.

use std::sync::Weak;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use strom_protocol::error_codes;
use strom_protocol::messages::{
    ApiKey, Response, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
};
use strom_protocol::sasl::{bearer_message, plain_message, ScramClient};

use crate::connection::{Connection, Inner};
use crate::error::{ClientError, Result};
use crate::security::SaslMechanism;

impl Connection {
    /// Logs in with the connection's SASL settings, and again before each
    /// login expires when the broker limits them.
    pub(crate) async fn log_in_and_keep_logged_in(&self) -> Result<()> {
        if let Some(lifetime) = self.log_in().await? {
            tokio::spawn(keep_logged_in(self.downgrade(), lifetime));
        }
        Ok(())
    }

    /// One login; how long it lasts, when the broker limits it.
    async fn log_in(&self) -> Result<Option<Duration>> {
        let security = self.security();
        let mechanism = security.sasl_mechanism;
        let handshake = SaslHandshakeRequest {
            mechanism: mechanism.name().to_string(),
            ..Default::default()
        };
        let Response::SaslHandshake(answer) = self
            .send(ApiKey::SaslHandshake, |_| handshake.into())
            .await?
        else {
            return Err(self.login_error("SaslHandshake was answered with another API"));
        };
        if answer.error_code == error_codes::UNSUPPORTED_SASL_MECHANISM {
            return Err(self.login_error(&format!(
                "the broker does not enable {} (it enables {}): set sasl.mechanisms to one of those",
                mechanism.name(),
                answer.mechanisms.join(", ")
            )));
        }
        self.check(answer.error_code, None, "SaslHandshake")?;
        let username = security.sasl_username.clone();
        let password = security.sasl_password.0.clone();
        let lifetime = match mechanism {
            SaslMechanism::Plain => {
                let (_, lifetime) = self
                    .authenticate(plain_message(&username, &password))
                    .await?;
                lifetime
            }
            SaslMechanism::OAuthBearer => {
                let token = self.oauth_token().await?;
                let (_, lifetime) = self.authenticate(bearer_message(&token)).await?;
                lifetime
            }
            SaslMechanism::Scram(scram) => {
                let nonce = format!("{:032x}", rand::random::<u128>());
                let mut client = ScramClient::new(scram, &username, &password, nonce);
                let first = client
                    .client_first()
                    .map_err(|e| self.login_error(&e.to_string()))?;
                let (server_first, _) = self.authenticate(first).await?;
                let last = client
                    .server_first(&server_first)
                    .map_err(|e| self.login_error(&e.to_string()))?;
                let (server_final, lifetime) = self.authenticate(last).await?;
                client
                    .server_final(&server_final)
                    .map_err(|e| self.login_error(&format!("the broker's proof is wrong: {e}")))?;
                lifetime
            }
        };
        tracing::debug!(
            broker = self.addr(),
            user = username,
            mechanism = mechanism.name(),
            lifetime_ms = lifetime,
            "logged in"
        );
        Ok(u64::try_from(lifetime)
            .ok()
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis))
    }

    /// One SaslAuthenticate round: the broker's bytes and the login's
    /// lifetime it gives (0: unlimited), or its refusal.
    async fn authenticate(&self, token: Vec<u8>) -> Result<(Bytes, i64)> {
        let request = SaslAuthenticateRequest {
            auth_bytes: Bytes::from(token),
            ..Default::default()
        };
        let Response::SaslAuthenticate(SaslAuthenticateResponse {
            error_code,
            error_message,
            auth_bytes,
            session_lifetime_ms,
            ..
        }) = self
            .send(ApiKey::SaslAuthenticate, |_| request.into())
            .await?
        else {
            return Err(self.login_error("SaslAuthenticate was answered with another API"));
        };
        self.check(error_code, error_message, "SaslAuthenticate")?;
        Ok((auth_bytes, session_lifetime_ms))
    }

    /// A token for this login: from the application's callback, else the
    /// token file, read afresh each time.
    async fn oauth_token(&self) -> Result<String> {
        let security = self.security();
        let token = match (&security.oauth_token_provider, &security.oauth_token_file) {
            (Some(provider), _) => provider
                .token()
                .await
                .map_err(|e| self.login_error(&format!("the token callback failed: {e}")))?,
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                self.login_error(&format!(
                    "cannot read the token file {}: {e}",
                    path.display()
                ))
            })?,
            (None, None) => return Err(self.login_error("OAUTHBEARER without a token source")),
        };
        let token = token.trim().to_string();
        if token.is_empty() {
            return Err(self.login_error("the OAUTHBEARER token is empty"));
        }
        Ok(token)
    }

    fn check(&self, code: i16, message: Option<String>, api: &str) -> Result<()> {
        if code == error_codes::NONE {
            return Ok(());
        }
        let reason = match message {
            Some(message) => format!("{api}: {message}"),
            None => format!("{api}: {}", error_codes::error_name(code)),
        };
        Err(self.login_error(&reason))
    }

    fn login_error(&self, reason: &str) -> ClientError {
        ClientError::Authentication {
            addr: self.addr().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Logs `connection` in again before each login expires, for as long as
/// the connection lives; a refused login closes it (its requests then fail
/// with the connection's error and the cluster layer reconnects).
async fn keep_logged_in(connection: Weak<Inner>, mut lifetime: Duration) {
    loop {
        let share = rand::thread_rng().gen_range(0.85..0.95);
        tokio::time::sleep(lifetime.mul_f64(share)).await;
        let Some(connection) = Connection::upgrade(&connection) else {
            return;
        };
        if connection.is_closed() {
            return;
        }
        match connection.log_in().await {
            Ok(Some(next)) => lifetime = next,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(broker = connection.addr(), "re-authentication failed: {e}");
                connection.close("re-authentication failed");
                return;
            }
        }
    }
}
