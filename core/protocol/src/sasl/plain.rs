//! SASL/PLAIN (RFC 4616): `authzid NUL authcid NUL passwd` in one message.

use std::fmt;

use crate::error::SaslError;

/// RFC 4616 allows up to 255 bytes per part; more is no real login.
const MAX_PART_LEN: usize = 255;

/// The user name and password of a PLAIN message.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    pub username: String,
    pub password: String,
}

/// The password stays out of logs.
impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Parses a client's PLAIN message. The authzid must be empty or the user
/// name itself: Kafka has no impersonation.
pub fn parse_plain(message: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut parts = message.split(|&b| b == 0);
    let (authzid, username, password) = match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(u), Some(p)) => (a, u, p),
        _ => {
            return Err(SaslError::Malformed(
                "PLAIN needs authzid, user and password",
            ))
        }
    };
    if parts.next().is_some() {
        return Err(SaslError::Malformed("NUL in PLAIN password"));
    }
    if username.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed("empty PLAIN user or password"));
    }
    if [authzid, username, password]
        .iter()
        .any(|part| part.len() > MAX_PART_LEN)
    {
        return Err(SaslError::Malformed("PLAIN part longer than 255 bytes"));
    }
    let text = |part: &[u8]| {
        std::str::from_utf8(part)
            .map(str::to_owned)
            .map_err(|_| SaslError::InvalidUtf8)
    };
    let (authzid, username, password) = (text(authzid)?, text(username)?, text(password)?);
    if !authzid.is_empty() && authzid != username {
        return Err(SaslError::AuthzidMismatch);
    }
    Ok(PlainCredentials { username, password })
}

/// The client's PLAIN message, with an empty authzid as Kafka's client sends.
pub fn plain_message(username: &str, password: &str) -> Vec<u8> {
    [&b"\0"[..], username.as_bytes(), b"\0", password.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(username: &str, password: &str) -> PlainCredentials {
        PlainCredentials {
            username: username.into(),
            password: password.into(),
        }
    }

    #[test]
    fn parses_good_messages() {
        assert_eq!(
            parse_plain(b"\0alice\0secret"),
            Ok(creds("alice", "secret"))
        );
        assert_eq!(parse_plain(b"alice\0alice\0pw"), Ok(creds("alice", "pw")));
        assert_eq!(
            parse_plain(&plain_message("bob", "p w\u{e9}")),
            Ok(creds("bob", "p w\u{e9}"))
        );
    }

    #[test]
    fn refuses_bad_messages() {
        let long = [&[b'a'; 256][..], b"\0", b"pw"].concat();
        let long = [&b"\0"[..], &long].concat();
        let cases: &[(&[u8], SaslError)] = &[
            (b"mallory\0alice\0secret", SaslError::AuthzidMismatch),
            (
                b"",
                SaslError::Malformed("PLAIN needs authzid, user and password"),
            ),
            (
                b"\0alice",
                SaslError::Malformed("PLAIN needs authzid, user and password"),
            ),
            (
                b"\0alice\0",
                SaslError::Malformed("empty PLAIN user or password"),
            ),
            (
                b"\0\0secret",
                SaslError::Malformed("empty PLAIN user or password"),
            ),
            (
                b"\0alice\0se\0cret",
                SaslError::Malformed("NUL in PLAIN password"),
            ),
            (b"\0al\xffice\0secret", SaslError::InvalidUtf8),
            (
                &long,
                SaslError::Malformed("PLAIN part longer than 255 bytes"),
            ),
        ];
        for (message, error) in cases {
            assert_eq!(parse_plain(message).as_ref(), Err(error), "{message:?}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        assert!(!format!("{:?}", creds("alice", "hunter2")).contains("hunter2"));
    }
}
