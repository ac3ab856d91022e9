//! The client side of a SCRAM exchange (RFC 5802 section 5), for logging in
//! to a Kafka broker.

use std::fmt;
use std::mem;

use super::scram::{constant_time_eq, xor, ScramMechanism};
use super::syntax::{attribute, check_nonce, escape_username, extensions, utf8};
use crate::base64;
use crate::error::SaslError;

/// A bound on what a server may ask for: PBKDF2 runs that many HMACs, so a
/// hostile server could otherwise keep the client busy for hours. Kafka
/// itself stores at most `MAX_ITERATIONS`; other servers may ask for more.
const MAX_SERVER_ITERATIONS: u32 = 1_000_000;

/// `base64("n,,")`: no channel binding and no authzid.
const CHANNEL_BINDING: &str = "biws";

enum State {
    Start,
    ClientFirstSent { client_first_bare: String },
    ClientFinalSent { server_signature: Vec<u8> },
    Done,
    Failed,
}

/// One SCRAM exchange, client side: `client_first`, `server_first`,
/// `server_final`, in that order. Any error, including a step out of order,
/// fails the exchange for good; once complete, it stays complete.
pub struct ScramClient {
    mechanism: ScramMechanism,
    username: String,
    password: String,
    client_nonce: String,
    state: State,
}

impl ScramClient {
    /// `client_nonce` must be random, printable ASCII and without commas;
    /// if it is not, `client_first` fails with `InvalidNonce`.
    pub fn new(
        mechanism: ScramMechanism,
        username: &str,
        password: &str,
        client_nonce: String,
    ) -> Self {
        Self {
            mechanism,
            username: username.to_owned(),
            password: password.to_owned(),
            client_nonce,
            state: State::Start,
        }
    }

    /// Whether the server proved that it knows the credential.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// `n,,n=<user>,r=<client nonce>`.
    pub fn client_first(&mut self) -> Result<Vec<u8>, SaslError> {
        let State::Start = self.take_state("client_first")? else {
            return Err(SaslError::OutOfOrder("client_first"));
        };
        check_nonce(&self.client_nonce)?;
        let bare = format!(
            "n={},r={}",
            escape_username(&self.username),
            self.client_nonce
        );
        let message = format!("n,,{bare}").into_bytes();
        self.state = State::ClientFirstSent {
            client_first_bare: bare,
        };
        Ok(message)
    }

    /// Reads `r=<nonce>,s=<salt>,i=<iterations>` and returns the client-final
    /// message with the proof; `e=` from the server is `ServerError`.
    pub fn server_first(&mut self, message: &[u8]) -> Result<Vec<u8>, SaslError> {
        let State::ClientFirstSent { client_first_bare } = self.take_state("server_first")? else {
            return Err(SaslError::OutOfOrder("server_first"));
        };
        let text = utf8(message)?;
        let mut parts = text.split(',');
        let first = parts.next();
        if let Some(error) = first.and_then(|p| p.strip_prefix("e=")) {
            return Err(SaslError::ServerError(error.to_owned()));
        }
        if first.is_some_and(|p| p.starts_with("m=")) {
            return Err(SaslError::MandatoryExtension);
        }
        let nonce = attribute(first, 'r', "missing r=")?;
        let salt = base64::decode(attribute(parts.next(), 's', "missing s=")?)
            .ok_or(SaslError::InvalidBase64)?;
        let iterations = parse_iterations(attribute(parts.next(), 'i', "missing i=")?)?;
        extensions(parts)?;
        check_nonce(nonce)?;
        // The server must extend our nonce, not replace it: that is what
        // makes the exchange fresh for us.
        if nonce.len() <= self.client_nonce.len() || !nonce.starts_with(&self.client_nonce) {
            return Err(SaslError::NonceMismatch);
        }
        if salt.is_empty() {
            return Err(SaslError::Malformed("empty salt"));
        }
        if !(ScramMechanism::MIN_ITERATIONS..=MAX_SERVER_ITERATIONS).contains(&iterations) {
            return Err(SaslError::IterationsOutOfRange(iterations));
        }

        let m = self.mechanism;
        let salted = m.salted_password(&self.password, &salt, iterations);
        let client_key = m.hmac(&salted, b"Client Key");
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c={CHANNEL_BINDING},r={nonce}");
        let auth_message = format!("{client_first_bare},{text},{without_proof}");
        let client_signature = m.hmac(&stored_key, auth_message.as_bytes());
        let proof = xor(&client_key, &client_signature);
        let server_key = m.hmac(&salted, b"Server Key");
        self.state = State::ClientFinalSent {
            server_signature: m.hmac(&server_key, auth_message.as_bytes()),
        };
        Ok(format!("{without_proof},p={}", base64::encode(&proof)).into_bytes())
    }

    /// Checks the server's `v=<signature>`; `e=` is `ServerError`.
    pub fn server_final(&mut self, message: &[u8]) -> Result<(), SaslError> {
        let State::ClientFinalSent { server_signature } = self.take_state("server_final")? else {
            return Err(SaslError::OutOfOrder("server_final"));
        };
        let text = utf8(message)?;
        let mut parts = text.split(',');
        let first = parts.next();
        if let Some(error) = first.and_then(|p| p.strip_prefix("e=")) {
            return Err(SaslError::ServerError(error.to_owned()));
        }
        let signature =
            base64::decode(attribute(first, 'v', "missing v=")?).ok_or(SaslError::InvalidBase64)?;
        extensions(parts)?;
        if !constant_time_eq(&signature, &server_signature) {
            return Err(SaslError::ServerSignatureMismatch);
        }
        self.state = State::Done;
        Ok(())
    }

    /// See `ScramServer::take_state`.
    fn take_state(&mut self, step: &'static str) -> Result<State, SaslError> {
        match mem::replace(&mut self.state, State::Failed) {
            State::Failed => Err(SaslError::AlreadyFailed),
            State::Done => {
                self.state = State::Done;
                Err(SaslError::OutOfOrder(step))
            }
            state => Ok(state),
        }
    }
}

/// Decimal digits only (`u32::from_str` would also take a `+`).
fn parse_iterations(text: &str) -> Result<u32, SaslError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SaslError::Malformed("iteration count is not a number"));
    }
    text.parse()
        .map_err(|_| SaslError::Malformed("iteration count does not fit 32 bits"))
}

/// The password stays out of logs.
impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn new_client() -> ScramClient {
        ScramClient::new(
            ScramMechanism::Sha256,
            "user",
            "pencil",
            CLIENT_NONCE.to_owned(),
        )
    }

    /// RFC 7677 section 3, the client's half.
    #[test]
    fn rfc7677_client() {
        let mut client = new_client();
        assert_eq!(
            client.client_first().unwrap(),
            b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        );
        assert_eq!(
            client.server_first(SERVER_FIRST).unwrap(),
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
                .as_slice()
        );
        assert!(!client.is_complete());
        client
            .server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(client.is_complete());
        assert_eq!(
            client.server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(SaslError::OutOfOrder("server_final"))
        );
        assert!(client.is_complete());
    }

    #[test]
    fn refuses_a_forged_server_signature() {
        let mut client = new_client();
        client.client_first().unwrap();
        client.server_first(SERVER_FIRST).unwrap();
        assert_eq!(
            client.server_final(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(SaslError::ServerSignatureMismatch)
        );
        assert!(!client.is_complete());
    }

    #[test]
    fn server_final_errors() {
        let cases: &[(&[u8], SaslError)] = &[
            (
                b"e=invalid-proof",
                SaslError::ServerError("invalid-proof".into()),
            ),
            (b"", SaslError::Malformed("missing v=")),
            (b"v=???", SaslError::InvalidBase64),
            (b"x=abcd", SaslError::Malformed("missing v=")),
        ];
        for (message, error) in cases {
            let mut client = new_client();
            client.client_first().unwrap();
            client.server_first(SERVER_FIRST).unwrap();
            assert_eq!(client.server_final(message).as_ref(), Err(error));
            assert_eq!(client.server_final(message), Err(SaslError::AlreadyFailed));
        }
    }

    #[test]
    fn server_first_errors() {
        use SaslError::*;
        let cases: &[(&[u8], SaslError)] = &[
            (b"", Malformed("missing r=")),
            (b"e=unknown-user", ServerError("unknown-user".into())),
            (
                b"m=x,r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=4096",
                MandatoryExtension,
            ),
            (b"r=rOprNGfwEbeRWgbNEkqOx", Malformed("missing s=")),
            (b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD", Malformed("missing i=")),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,i=4096,s=QUJD",
                Malformed("missing s="),
            ),
            (b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJ,i=4096", InvalidBase64),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096",
                Malformed("empty salt"),
            ),
            (b"r=rOprNGfwEbeRWgbNEkqO,s=QUJD,i=4096", NonceMismatch),
            (b"r=XOprNGfwEbeRWgbNEkqOx,s=QUJD,i=4096", NonceMismatch),
            (b"r=rOprNGfwEbeRWgbNEkqO x,s=QUJD,i=4096", InvalidNonce),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=4095",
                IterationsOutOfRange(4095),
            ),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=1000001",
                IterationsOutOfRange(1_000_001),
            ),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=4294967295",
                IterationsOutOfRange(u32::MAX),
            ),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=99999999999999999999",
                Malformed("iteration count does not fit 32 bits"),
            ),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=+4096",
                Malformed("iteration count is not a number"),
            ),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=QUJD,i=",
                Malformed("iteration count is not a number"),
            ),
            (b"r=rOprNGfwEbeRWgbNEkqO\xff,s=QUJD,i=4096", InvalidUtf8),
        ];
        for (message, error) in cases {
            let mut client = new_client();
            client.client_first().unwrap();
            assert_eq!(
                client.server_first(message).as_ref(),
                Err(error),
                "{message:?}"
            );
        }
    }

    #[test]
    fn steps_out_of_order_fail_the_exchange() {
        let mut client = new_client();
        assert_eq!(
            client.server_first(SERVER_FIRST),
            Err(SaslError::OutOfOrder("server_first"))
        );
        assert_eq!(client.client_first(), Err(SaslError::AlreadyFailed));

        let mut client = new_client();
        client.client_first().unwrap();
        assert_eq!(
            client.client_first(),
            Err(SaslError::OutOfOrder("client_first"))
        );

        let mut client = ScramClient::new(ScramMechanism::Sha256, "u", "p", "a,b".to_owned());
        assert_eq!(client.client_first(), Err(SaslError::InvalidNonce));
    }

    #[test]
    fn escapes_the_user_name_and_hides_the_password() {
        let mut client = ScramClient::new(ScramMechanism::Sha512, "a,b=c", "hunter2", "n".into());
        assert_eq!(client.client_first().unwrap(), b"n,,n=a=2Cb=3Dc,r=n");
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}
