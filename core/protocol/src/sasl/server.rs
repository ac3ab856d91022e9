//! The server side of a SCRAM exchange (RFC 5802 section 5), as the broker
//! runs it inside SaslAuthenticate requests.

use std::collections::BTreeMap;
use std::mem;

use super::scram::{constant_time_eq, xor, ScramCredential, ScramMechanism};
use super::syntax::{attribute, check_nonce, extensions, unescape_username, utf8};
use crate::base64;
use crate::error::SaslError;

/// What the client's first message says. The caller looks up the
/// credential of `username` (or makes a decoy) and decides what the
/// extensions mean (`tokenauth=true`: a delegation token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    pub username: String,
    pub extensions: BTreeMap<String, String>,
}

#[derive(Debug)]
enum State {
    Start,
    ClientFirst {
        gs2_header: String,
        client_first_bare: String,
        client_nonce: String,
    },
    ServerFirst {
        gs2_header: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
        credential: ScramCredential,
    },
    Done,
    Failed,
}

/// One SCRAM exchange, server side: `client_first`, `server_first`,
/// `client_final`, in that order. Any error, including a step out of
/// order, fails the exchange for good; once complete, it stays complete.
#[derive(Debug)]
pub struct ScramServer {
    mechanism: ScramMechanism,
    server_nonce: String,
    state: State,
}

impl ScramServer {
    /// `server_nonce` must be random, printable ASCII and without commas;
    /// if it is not, `client_first` fails with `InvalidNonce`.
    pub fn new(mechanism: ScramMechanism, server_nonce: String) -> Self {
        Self {
            mechanism,
            server_nonce,
            state: State::Start,
        }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// Whether `client_final` accepted the client's proof.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Parses `gs2-header [reserved-mext ","] username "," nonce
    /// ["," extensions]`.
    pub fn client_first(&mut self, message: &[u8]) -> Result<ClientFirst, SaslError> {
        let State::Start = self.take_state("client_first")? else {
            return Err(SaslError::OutOfOrder("client_first"));
        };
        check_nonce(&self.server_nonce)?;
        let text = utf8(message)?;
        let mut header = text.splitn(3, ',');
        let (flag, authzid, bare) = match (header.next(), header.next(), header.next()) {
            (Some(flag), Some(authzid), Some(bare)) => (flag, authzid, bare),
            _ => return Err(SaslError::Malformed("missing gs2 header")),
        };
        // "y": the client supports channel binding but thinks we do not,
        // which is true; "p=": it demands binding, which we cannot do.
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(SaslError::ChannelBindingUnsupported),
            _ => return Err(SaslError::Malformed("invalid gs2 channel binding flag")),
        }
        let mut parts = bare.split(',');
        let first = parts.next();
        if first.is_some_and(|p| p.starts_with("m=")) {
            return Err(SaslError::MandatoryExtension);
        }
        let username = unescape_username(attribute(first, 'n', "missing n=")?)?;
        let client_nonce = attribute(parts.next(), 'r', "missing r=")?;
        check_nonce(client_nonce)?;
        let extensions = extensions(parts)?;
        // Kafka has no impersonation: an authzid may only repeat the name.
        if !authzid.is_empty() {
            let authzid = unescape_username(attribute(Some(authzid), 'a', "invalid authzid")?)?;
            if authzid != username {
                return Err(SaslError::AuthzidMismatch);
            }
        }
        self.state = State::ClientFirst {
            gs2_header: format!("{flag},{authzid},"),
            client_first_bare: bare.to_owned(),
            client_nonce: client_nonce.to_owned(),
        };
        Ok(ClientFirst {
            username,
            extensions,
        })
    }

    /// `r=<client nonce><server nonce>,s=<salt>,i=<iterations>` for the
    /// user's credential (or a decoy, which must be indistinguishable).
    pub fn server_first(&mut self, credential: &ScramCredential) -> Result<Vec<u8>, SaslError> {
        let State::ClientFirst {
            gs2_header,
            client_first_bare,
            client_nonce,
        } = self.take_state("server_first")?
        else {
            return Err(SaslError::OutOfOrder("server_first"));
        };
        if credential.mechanism != self.mechanism {
            return Err(SaslError::MechanismMismatch {
                credential: credential.mechanism.name(),
                exchange: self.mechanism.name(),
            });
        }
        let nonce = format!("{client_nonce}{}", self.server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            base64::encode(&credential.salt),
            credential.iterations
        );
        let message = server_first.clone().into_bytes();
        self.state = State::ServerFirst {
            gs2_header,
            client_first_bare,
            server_first,
            nonce,
            credential: credential.clone(),
        };
        Ok(message)
    }

    /// Checks `c=<gs2 header>,r=<nonce>[,extensions],p=<proof>` and returns
    /// `v=<server signature>`. Every check runs before any is reported, so
    /// that the time taken does not say which one failed.
    pub fn client_final(&mut self, message: &[u8]) -> Result<Vec<u8>, SaslError> {
        let State::ServerFirst {
            gs2_header,
            client_first_bare,
            server_first,
            nonce,
            credential,
        } = self.take_state("client_final")?
        else {
            return Err(SaslError::OutOfOrder("client_final"));
        };
        let text = utf8(message)?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(SaslError::Malformed("missing p="))?;
        let proof = base64::decode(proof).ok_or(SaslError::InvalidBase64)?;
        let mut parts = without_proof.split(',');
        let binding = base64::decode(attribute(parts.next(), 'c', "missing c=")?)
            .ok_or(SaslError::InvalidBase64)?;
        let client_nonce = attribute(parts.next(), 'r', "missing r=")?;
        extensions(parts)?;

        let binding_ok = binding == gs2_header.as_bytes();
        // Kafka accepts a final nonce that *ends* with the combined one:
        // librdkafka up to 2.x sends its own nonce again in front of it.
        // The proof covers the message as sent either way.
        let nonce_ok = client_nonce.ends_with(nonce.as_str());
        let m = self.mechanism;
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let client_signature = m.hmac(&credential.stored_key, auth_message.as_bytes());
        let client_key = xor(&proof, &client_signature);
        let proof_ok = (proof.len() == client_signature.len())
            & constant_time_eq(&m.hash(&client_key), &credential.stored_key);
        if !binding_ok {
            return Err(SaslError::ChannelBindingMismatch);
        }
        if !nonce_ok {
            return Err(SaslError::NonceMismatch);
        }
        if !proof_ok {
            return Err(SaslError::InvalidProof);
        }
        let signature = m.hmac(&credential.server_key, auth_message.as_bytes());
        self.state = State::Done;
        Ok(format!("v={}", base64::encode(&signature)).into_bytes())
    }

    /// Takes the state for a step, leaving `Failed` behind: a step that
    /// succeeds stores the next state, so any other outcome (an error, or a
    /// state the step does not expect) leaves the exchange failed. A
    /// finished exchange stays finished: a stray call after it is refused
    /// without undoing the login.
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

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

    fn credential() -> ScramCredential {
        let salt = base64::decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        ScramCredential::from_password(ScramMechanism::Sha256, "pencil", salt, 4096)
    }

    fn new_server() -> ScramServer {
        ScramServer::new(ScramMechanism::Sha256, SERVER_NONCE.to_owned())
    }

    /// RFC 7677 section 3, the server's half.
    #[test]
    fn rfc7677_server() {
        let mut server = new_server();
        let first = server
            .client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            .unwrap();
        assert_eq!(first.username, "user");
        assert!(first.extensions.is_empty());
        let server_first = server.server_first(&credential()).unwrap();
        assert_eq!(
            server_first,
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        assert!(!server.is_complete());
        let server_final = server
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                  p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .unwrap();
        assert_eq!(
            server_final,
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert!(server.is_complete());
        assert_eq!(
            server.client_final(b"c=biws"),
            Err(SaslError::OutOfOrder("client_final"))
        );
        assert!(server.is_complete());
    }

    #[test]
    fn client_first_variants() {
        let ok = |msg: &str| new_server().client_first(msg.as_bytes());
        assert_eq!(ok("y,,n=user,r=abc").unwrap().username, "user");
        assert_eq!(ok("n,a=user,n=user,r=abc").unwrap().username, "user");
        assert_eq!(ok("n,a=a=2Cb,n=a=2Cb,r=abc").unwrap().username, "a,b");
        let first = ok("n,,n=user,r=abc,tokenauth=true").unwrap();
        assert_eq!(first.extensions.get("tokenauth").unwrap(), "true");

        use SaslError::*;
        let cases: &[(&[u8], SaslError)] = &[
            (b"", Malformed("missing gs2 header")),
            (b"n,,", Malformed("missing n=")),
            (b"n,,n=user", Malformed("missing r=")),
            (b"n,,r=abc,n=user", Malformed("missing n=")),
            (b"n,,n=,r=abc", Malformed("empty user name")),
            (b"n,,n=a=41,r=abc", Malformed("invalid escape in user name")),
            (b"n,,n=user,r=", InvalidNonce),
            (b"n,,n=user,r=a\x01b", InvalidNonce),
            (
                b"x,,n=user,r=abc",
                Malformed("invalid gs2 channel binding flag"),
            ),
            (b"p=tls-unique,,n=user,r=abc", ChannelBindingUnsupported),
            (b"n,a=other,n=user,r=abc", AuthzidMismatch),
            (b"n,b=user,n=user,r=abc", Malformed("invalid authzid")),
            (b"n,,m=ext,n=user,r=abc", MandatoryExtension),
            (b"n,,n=user,r=abc,m=ext", MandatoryExtension),
            (b"n,,n=us\xffer,r=abc", InvalidUtf8),
        ];
        for (message, error) in cases {
            assert_eq!(new_server().client_first(message).as_ref(), Err(error));
        }
    }

    #[test]
    fn client_final_malformed() {
        let cases: &[(&[u8], SaslError)] = &[
            (b"", SaslError::Malformed("missing p=")),
            (b"c=biws,r=x", SaslError::Malformed("missing p=")),
            (b"c=biws,r=x,p=!!!!", SaslError::InvalidBase64),
            (b"c=biws,p=AAAA", SaslError::Malformed("missing r=")),
            (b"r=x,p=AAAA", SaslError::Malformed("missing c=")),
            (b"c=bi,r=x,p=AAAA", SaslError::InvalidBase64),
            (
                b"c=biws,r=x,1=2,p=AAAA",
                SaslError::Malformed("extension name is not letters"),
            ),
            (b"c=biws,r=\xff,p=AAAA", SaslError::InvalidUtf8),
        ];
        for (message, error) in cases {
            let mut server = new_server();
            server.client_first(b"n,,n=user,r=abc").unwrap();
            server.server_first(&credential()).unwrap();
            assert_eq!(server.client_final(message).as_ref(), Err(error));
            assert_eq!(server.client_final(message), Err(SaslError::AlreadyFailed));
        }
    }

    #[test]
    fn steps_out_of_order_fail_the_exchange() {
        let mut server = new_server();
        assert_eq!(
            server.server_first(&credential()),
            Err(SaslError::OutOfOrder("server_first"))
        );
        assert_eq!(
            server.client_first(b"n,,n=user,r=abc"),
            Err(SaslError::AlreadyFailed)
        );

        let mut server = new_server();
        server.client_first(b"n,,n=user,r=abc").unwrap();
        assert_eq!(
            server.client_final(b"c=biws,r=abc,p=AAAA"),
            Err(SaslError::OutOfOrder("client_final"))
        );

        let mut server = new_server();
        server.client_first(b"n,,n=user,r=abc").unwrap();
        assert_eq!(
            server.client_first(b"n,,n=user,r=abc"),
            Err(SaslError::OutOfOrder("client_first"))
        );
    }

    #[test]
    fn refuses_bad_server_nonce_and_wrong_mechanism() {
        let mut server = ScramServer::new(ScramMechanism::Sha256, "a,b".to_owned());
        assert_eq!(
            server.client_first(b"n,,n=user,r=abc"),
            Err(SaslError::InvalidNonce)
        );
        let mut server = ScramServer::new(ScramMechanism::Sha512, "abc".to_owned());
        server.client_first(b"n,,n=user,r=abc").unwrap();
        assert!(matches!(
            server.server_first(&credential()),
            Err(SaslError::MechanismMismatch { .. })
        ));
    }
}
