//! The SASL login of a new connection (KIP-43 handshake, then KIP-152
//! SaslAuthenticate frames): PLAIN in one round, SCRAM in two, with the
//! broker's final signature checked, so a client never talks to a broker
//! that could not prove it knows the user's credential.

use bytes::Bytes;
use strom_protocol::error_codes;
use strom_protocol::messages::{
    ApiKey, Response, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
};
use strom_protocol::sasl::{plain_message, ScramClient};

use crate::connection::Connection;
use crate::error::{ClientError, Result};
use crate::security::SaslMechanism;

impl Connection {
    /// Logs in with the connection's SASL settings.
    pub(crate) async fn log_in(&self) -> Result<()> {
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
        match mechanism {
            SaslMechanism::Plain => {
                self.authenticate(plain_message(&username, &password))
                    .await?;
            }
            SaslMechanism::Scram(scram) => {
                let nonce = format!("{:032x}", rand::random::<u128>());
                let mut client = ScramClient::new(scram, &username, &password, nonce);
                let first = client
                    .client_first()
                    .map_err(|e| self.login_error(&e.to_string()))?;
                let server_first = self.authenticate(first).await?;
                let last = client
                    .server_first(&server_first)
                    .map_err(|e| self.login_error(&e.to_string()))?;
                let server_final = self.authenticate(last).await?;
                client
                    .server_final(&server_final)
                    .map_err(|e| self.login_error(&format!("the broker's proof is wrong: {e}")))?;
            }
        }
        tracing::debug!(
            broker = self.addr(),
            user = username,
            mechanism = mechanism.name(),
            "logged in"
        );
        Ok(())
    }

    /// One SaslAuthenticate round: the broker's bytes, or its refusal.
    async fn authenticate(&self, token: Vec<u8>) -> Result<Bytes> {
        let request = SaslAuthenticateRequest {
            auth_bytes: Bytes::from(token),
            ..Default::default()
        };
        let Response::SaslAuthenticate(SaslAuthenticateResponse {
            error_code,
            error_message,
            auth_bytes,
            ..
        }) = self
            .send(ApiKey::SaslAuthenticate, |_| request.into())
            .await?
        else {
            return Err(self.login_error("SaslAuthenticate was answered with another API"));
        };
        self.check(error_code, error_message, "SaslAuthenticate")?;
        Ok(auth_bytes)
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
