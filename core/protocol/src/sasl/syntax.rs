//! Pieces of the SCRAM message grammar (RFC 5802 section 7) shared by the
//! client and the server: `name=value` attributes, user name escaping,
//! nonces and extensions.

use std::collections::BTreeMap;

use crate::error::SaslError;

/// `bytes` as text: every SCRAM message is UTF-8.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, SaslError> {
    std::str::from_utf8(bytes).map_err(|_| SaslError::InvalidUtf8)
}

/// The value of attribute `part` if it is `<name>=value`; `missing` names
/// the attribute in the error when it is absent or another one.
pub(crate) fn attribute<'a>(
    part: Option<&'a str>,
    name: char,
    missing: &'static str,
) -> Result<&'a str, SaslError> {
    part.and_then(|p| p.strip_prefix(name))
        .and_then(|p| p.strip_prefix('='))
        .ok_or(SaslError::Malformed(missing))
}

/// `saslname` of RFC 5802: `,` and `=` are written `=2C` and `=3D`.
pub(crate) fn escape_username(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

/// The user name a `saslname` stands for. Any other `=` sequence is an
/// error, as are an empty name and NUL (not a `value-safe-char`).
pub(crate) fn unescape_username(saslname: &str) -> Result<String, SaslError> {
    if saslname.is_empty() {
        return Err(SaslError::Malformed("empty user name"));
    }
    let mut out = String::with_capacity(saslname.len());
    let mut chars = saslname.chars();
    while let Some(c) = chars.next() {
        match c {
            '=' => match (chars.next(), chars.next()) {
                (Some('2'), Some('C')) => out.push(','),
                (Some('3'), Some('D')) => out.push('='),
                _ => return Err(SaslError::Malformed("invalid escape in user name")),
            },
            '\0' => return Err(SaslError::Malformed("NUL in user name")),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A nonce is printable ASCII other than `,`, and not empty.
pub(crate) fn check_nonce(nonce: &str) -> Result<(), SaslError> {
    let printable = |b: &u8| (0x21..=0x7e).contains(b) && *b != b',';
    if nonce.is_empty() || !nonce.as_bytes().iter().all(printable) {
        return Err(SaslError::InvalidNonce);
    }
    Ok(())
}

/// Collects `key=value` extensions (Kafka sends `tokenauth=true`). Keys are
/// letters as in Kafka's grammar; `m` is the mandatory-extension marker of
/// RFC 5802, which we cannot honour whatever it asks for.
pub(crate) fn extensions<'a>(
    parts: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, SaslError> {
    let mut map = BTreeMap::new();
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or(SaslError::Malformed("extension without '='"))?;
        if key == "m" {
            return Err(SaslError::MandatoryExtension);
        }
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(SaslError::Malformed("extension name is not letters"));
        }
        if map.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(SaslError::Malformed("repeated extension"));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_escaping_round_trips() {
        assert_eq!(escape_username("a,b=c"), "a=2Cb=3Dc");
        assert_eq!(unescape_username("a=2Cb=3Dc").unwrap(), "a,b=c");
        for name in ["user", "a,b=c", "==,,", "=2C", "ünïcödé"] {
            assert_eq!(unescape_username(&escape_username(name)).unwrap(), name);
        }
    }

    #[test]
    fn bad_escapes_are_errors() {
        for bad in ["", "a=", "a=2", "a=2c", "a=3d", "a=41", "=", "a\0b"] {
            assert!(unescape_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nonces() {
        assert!(check_nonce("rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0").is_ok());
        for bad in ["", "a,b", "a b", "ü", "a\u{7f}"] {
            assert_eq!(check_nonce(bad), Err(SaslError::InvalidNonce), "{bad:?}");
        }
    }

    #[test]
    fn extension_rules() {
        let map = extensions(["tokenauth=true", "x=a=b"].into_iter()).unwrap();
        assert_eq!(map.get("tokenauth").map(String::as_str), Some("true"));
        assert_eq!(map.get("x").map(String::as_str), Some("a=b"));
        assert_eq!(
            extensions(["m=x"].into_iter()),
            Err(SaslError::MandatoryExtension)
        );
        for bad in [&["noequals"][..], &["=v"], &["k1=v"], &["a=1", "a=2"]] {
            assert!(extensions(bad.iter().copied()).is_err(), "{bad:?}");
        }
    }
}
