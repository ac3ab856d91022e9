//! Standard-alphabet base64 (RFC 4648, with padding): SCRAM's salts,
//! proofs and signatures, and the `strom` commands' binary keys and values.
//! Decoding is strict: one text per byte string, so a proof or signature
//! cannot be smuggled in several spellings.

/// Base64 text of `data`, padded to a multiple of four characters.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let group = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        // n bytes fill n + 1 symbols; the rest of the four is padding.
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(symbol((group >> (18 - 6 * i)) as u8 & 63));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Bytes of base64 `text`. Refuses a length that is not a multiple of four,
/// characters outside the alphabet, padding anywhere but at the end, more
/// than two padding characters and non-zero bits in the dropped tail.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let quads = text.as_bytes().chunks_exact(4);
    if !quads.remainder().is_empty() {
        return None;
    }
    let groups = quads.len();
    let mut out = Vec::with_capacity(groups * 3);
    for (index, quad) in quads.enumerate() {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && index + 1 != groups) {
            return None;
        }
        let mut group = 0u32;
        for &c in quad.iter().take(4 - padding) {
            group = (group << 6) | u32::from(value(c)?);
        }
        group <<= 6 * padding;
        // The low bits of the last symbol that padding drops must be zero.
        if group & ((1 << (8 * padding)) - 1) != 0 {
            return None;
        }
        out.extend(group.to_be_bytes().iter().skip(1).take(3 - padding));
    }
    Some(out)
}

/// Bytes of unpadded base64url `text` (RFC 4648 §5, as JWTs use it).
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    if text.bytes().any(|c| matches!(c, b'+' | b'/' | b'=')) || text.len() % 4 == 1 {
        return None;
    }
    let mut standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    decode(&standard)
}

fn symbol(v: u8) -> char {
    char::from(match v {
        0..=25 => b'A' + v,
        26..=51 => b'a' + (v - 26),
        52..=61 => b'0' + (v - 52),
        62 => b'+',
        _ => b'/',
    })
}

fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 section 10.
    const VECTORS: &[(&str, &str)] = &[
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc4648_vectors() {
        for (plain, encoded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), *encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn round_trips_every_byte_value() {
        let data: Vec<u8> = (0..=255).collect();
        for len in 0..data.len() {
            let slice = &data[..len];
            assert_eq!(decode(&encode(slice)).unwrap(), slice);
        }
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "Zg", "Zg=", "Zm9", "Zg===", "====", "Z===", "Zg==Zm9v", "Zm=v", "Zm9v!A==", "Zh==",
            "Zm9=", "Zm 9v", "Zm9v\n",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base64url_without_padding_as_jwts_use_it() {
        assert_eq!(
            decode_url("eyJhbGciOiJSUzI1NiJ9").as_deref(),
            Some(&b"{\"alg\":\"RS256\"}"[..])
        );
        assert_eq!(decode_url("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode_url("").as_deref(), Some(&[][..]));
        assert!(
            decode_url("+/8").is_none()
                && decode_url("AA==").is_none()
                && decode_url("A").is_none()
        );
    }
}
