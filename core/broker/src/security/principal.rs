//! Who a connection is: `User:<name>` after a SASL login, `User:<DN>` for
//! a client certificate on an SSL listener, else `User:ANONYMOUS`, as
//! Kafka's default principal builder names them.
//!
//! The DN is written as Java's `X500Principal.getName()` writes it (RFC
//! 2253: the last RDN first, `CN=alice,OU=Test,O=Strom\, Inc.,C=DE`), so
//! ACLs and `super.users` written for Kafka name the same principals. Only
//! the subject is read from the certificate, by a small DER reader that
//! returns `None` on anything it does not understand.

/// The principal of a connection with no login and no certificate.
pub const ANONYMOUS: &str = "User:ANONYMOUS";

/// `User:<subject DN>` of a DER certificate.
pub fn from_certificate(der: &[u8]) -> Option<String> {
    Some(format!("User:{}", subject_dn(der)?))
}

/// The subject of a DER certificate in RFC 2253 form.
fn subject_dn(der: &[u8]) -> Option<String> {
    let (_, certificate, _) = tlv(der, SEQUENCE)?;
    let (_, tbs, _) = tlv(certificate, SEQUENCE)?;
    let mut rest = tbs;
    // Optional explicit [0] version.
    if rest.first() == Some(&0xA0) {
        rest = tlv(rest, 0xA0)?.2;
    }
    // serial, signature algorithm, issuer, validity, then the subject.
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE] {
        rest = tlv(rest, tag)?.2;
    }
    let (_, subject, _) = tlv(rest, SEQUENCE)?;
    let mut rdns = Vec::new();
    let mut sets = subject;
    while !sets.is_empty() {
        let (_, set, next) = tlv(sets, SET)?;
        sets = next;
        let mut attributes = Vec::new();
        let mut items = set;
        while !items.is_empty() {
            let (_, pair, next) = tlv(items, SEQUENCE)?;
            items = next;
            let (_, oid, value) = tlv(pair, OID)?;
            let (tag, text, _) = any_tlv(value)?;
            attributes.push(format!("{}={}", keyword(oid)?, escape(&string(tag, text)?)));
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;

/// The TLV at the start of `input` if its tag is `tag`: (tag, content, rest).
fn tlv(input: &[u8], tag: u8) -> Option<(u8, &[u8], &[u8])> {
    any_tlv(input).filter(|(found, _, _)| *found == tag)
}

fn any_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(count)?;
        let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, rest)
    };
    let (content, rest) = rest.split_at_checked(length)?;
    Some((tag, content, rest))
}

/// Java's keyword for an attribute type, else its dotted OID.
fn keyword(oid: &[u8]) -> Option<String> {
    let dotted = dotted_oid(oid)?;
    Some(
        match dotted.as_str() {
            "2.5.4.3" => "CN",
            "2.5.4.6" => "C",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.9" => "STREET",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "0.9.2342.19200300.100.1.25" => "DC",
            "0.9.2342.19200300.100.1.1" => "UID",
            _ => return Some(dotted),
        }
        .to_string(),
    )
}

fn dotted_oid(oid: &[u8]) -> Option<String> {
    let (&first, rest) = oid.split_first()?;
    let mut parts = vec![
        u64::from(first / 40).min(2),
        u64::from(first) - 40 * u64::from(first / 40).min(2),
    ];
    let mut value = 0u64;
    for &byte in rest {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            parts.push(value);
            value = 0;
        }
    }
    Some(
        parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The text of a directory string (UTF8String, PrintableString,
/// IA5String, TeletexString as Latin-1, BMPString).
fn string(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        0x0C | 0x13 | 0x16 => String::from_utf8(bytes.to_vec()).ok(),
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        0x1E => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// RFC 2253 escaping, as Java writes it.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (index, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (index == 0 && (c == '#' || c == ' '))
            || (index == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    use super::*;

    /// Made with `openssl req -x509 ... -subj "/C=DE/O=Strom, Inc./OU=Test/CN=alice-client"`;
    /// `openssl x509 -noout -subject -nameopt RFC2253` prints the expected DN.
    const CERTIFICATE: &[u8] = include_bytes!("test-client-dn.pem");

    #[test]
    fn the_subject_is_written_as_java_writes_it() {
        let der = CertificateDer::from_pem_slice(CERTIFICATE).unwrap();
        assert_eq!(
            from_certificate(&der).as_deref(),
            Some("User:CN=alice-client,OU=Test,O=Strom\\, Inc.,C=DE")
        );
    }

    #[test]
    fn anything_that_is_not_a_certificate_has_no_principal() {
        let der = CertificateDer::from_pem_slice(CERTIFICATE).unwrap();
        for cut in [0, 1, 10, der.len() / 2, der.len() - 1] {
            let _ = from_certificate(&der[..cut]); // never panics
        }
        assert_eq!(from_certificate(b""), None);
        assert_eq!(
            from_certificate(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }
}
