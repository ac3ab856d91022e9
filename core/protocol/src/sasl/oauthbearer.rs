//! OAUTHBEARER's client message (RFC 7628 §3.1, as Kafka uses it,
//! KIP-255): a GS2 header, then `auth=Bearer <token>` and any extensions
//! as `key=value` pairs, each ended by 0x01, the whole ended by another.
//!
//! ```text
//! n,,\x01auth=Bearer eyJ...\x01\x01
//! ```

use std::collections::BTreeMap;

use super::SaslError;

const SEPARATOR: u8 = 0x01;

/// A client's OAUTHBEARER message, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerMessage {
    pub token: String,
    /// The GS2 authorization id (`a=`), if any.
    pub authzid: Option<String>,
    /// SASL extensions (KIP-342), by name.
    pub extensions: BTreeMap<String, String>,
}

/// The client's message carrying `token`.
pub fn bearer_message(token: &str) -> Vec<u8> {
    let mut message = b"n,,\x01auth=Bearer ".to_vec();
    message.extend_from_slice(token.as_bytes());
    message.extend_from_slice(b"\x01\x01");
    message
}

/// Parses a client's OAUTHBEARER message.
pub fn parse_bearer_message(message: &[u8]) -> Result<BearerMessage, SaslError> {
    let text = std::str::from_utf8(message).map_err(|_| SaslError::InvalidUtf8)?;
    let (gs2, rest) = text.split_once('\u{1}').ok_or(SaslError::Malformed(
        "OAUTHBEARER message without a separator",
    ))?;
    let authzid = match gs2.strip_suffix(',') {
        Some("n,") => None,
        Some(header) => match header.strip_prefix("n,a=") {
            Some(id) if !id.is_empty() => Some(id.to_string()),
            _ => return Err(SaslError::Malformed("OAUTHBEARER GS2 header")),
        },
        None if gs2.starts_with('y') || gs2.starts_with('p') => {
            return Err(SaslError::ChannelBindingUnsupported)
        }
        None => return Err(SaslError::Malformed("OAUTHBEARER GS2 header")),
    };
    let body = rest
        .strip_suffix("\u{1}\u{1}")
        .or_else(|| (rest == "\u{1}").then_some(""))
        .ok_or(SaslError::Malformed(
            "OAUTHBEARER message not ended by two separators",
        ))?;
    let mut token = None;
    let mut extensions = BTreeMap::new();
    for pair in body.split(char::from(SEPARATOR)) {
        let (key, value) = pair
            .split_once('=')
            .ok_or(SaslError::Malformed("OAUTHBEARER pair without ="))?;
        if key == "auth" {
            let bearer = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(SaslError::Malformed(
                    "OAUTHBEARER auth is not a Bearer token",
                ))?;
            if bearer.is_empty() || token.replace(bearer.to_string()).is_some() {
                return Err(SaslError::Malformed(
                    "OAUTHBEARER token empty or given twice",
                ));
            }
        } else if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(SaslError::Malformed("OAUTHBEARER extension name"));
        } else if extensions
            .insert(key.to_string(), value.to_string())
            .is_some()
        {
            return Err(SaslError::Malformed("OAUTHBEARER extension given twice"));
        }
    }
    let token = token.ok_or(SaslError::Malformed("OAUTHBEARER message without a token"))?;
    Ok(BearerMessage {
        token,
        authzid,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_extensions_are_read() {
        let parsed = parse_bearer_message(&bearer_message("abc.def.ghi")).expect("parses");
        assert_eq!(parsed.token, "abc.def.ghi");
        assert_eq!(parsed.authzid, None);
        let with = parse_bearer_message(b"n,a=alice,\x01auth=Bearer t\x01traceId=42\x01\x01")
            .expect("parses");
        assert_eq!(with.authzid.as_deref(), Some("alice"));
        assert_eq!(with.extensions["traceId"], "42");
    }

    #[test]
    fn hostile_messages_are_refused() {
        for bad in [
            &b""[..],
            b"n,,",
            b"n,,\x01auth=Bearer t\x01",
            b"n,,\x01auth=Basic dXNlcg==\x01\x01",
            b"n,,\x01auth=Bearer \x01\x01",
            b"n,,\x01auth=Bearer a\x01auth=Bearer b\x01\x01",
            b"y,,\x01auth=Bearer t\x01\x01",
            b"n,,\x01noequals\x01\x01",
            b"n,,\x01x=1\x01\x01",
            b"n,,\x01\xff=1\x01\x01",
        ] {
            assert!(parse_bearer_message(bad).is_err(), "{bad:?}");
        }
    }
}
