//! Plain-text tables and the JSON form of consumed records.

use bytes::Bytes;
use serde_json::{json, Value};
use strom_client::ConsumerRecord;

/// Left-aligned columns separated by two spaces, header first.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.len());
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `[1, 2]` for a replica list.
pub fn node_list(nodes: &[i32]) -> String {
    let nodes: Vec<String> = nodes.iter().map(i32::to_string).collect();
    format!("[{}]", nodes.join(","))
}

/// Parses `key=value`; `what` names the flag in the error.
pub fn key_value(pair: &str, what: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("{what} expects KEY=VALUE, got `{pair}`")),
    }
}

/// One record as a JSON object. Keys, values and header values are UTF-8
/// text when they are valid UTF-8, else standard base64; the sibling
/// `*_encoding` field says which ("utf8" or "base64", null for null).
pub fn record_json(record: &ConsumerRecord) -> Value {
    let (key, key_encoding) = encode(record.key.as_ref());
    let (value, value_encoding) = encode(record.value.as_ref());
    let headers: Vec<Value> = record
        .headers
        .iter()
        .map(|(name, value)| {
            let (value, value_encoding) = encode(value.as_ref());
            json!({"key": name, "value": value, "value_encoding": value_encoding})
        })
        .collect();
    json!({
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": key,
        "key_encoding": key_encoding,
        "value": value,
        "value_encoding": value_encoding,
        "headers": headers,
    })
}

fn encode(bytes: Option<&Bytes>) -> (Value, Value) {
    match bytes {
        None => (Value::Null, Value::Null),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (json!(text), json!("utf8")),
            Err(_) => (json!(base64(bytes)), json!("base64")),
        },
    }
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (index, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if index <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn json_uses_text_for_utf8_and_base64_otherwise() {
        let record = ConsumerRecord {
            topic: "t".into(),
            partition: 1,
            offset: 7,
            timestamp: 9,
            key: Some(Bytes::from_static(b"k\xff")),
            value: Some(Bytes::from_static(b"hello")),
            headers: vec![("h".into(), None)],
        };
        let value = record_json(&record);
        assert_eq!(value["key"], "a/8=");
        assert_eq!(value["key_encoding"], "base64");
        assert_eq!(value["value"], "hello");
        assert_eq!(value["value_encoding"], "utf8");
        assert_eq!(value["headers"][0]["value"], Value::Null);
    }

    #[test]
    fn key_value_needs_a_key_and_an_equals_sign() {
        assert_eq!(
            key_value("a=b=c", "--set"),
            Ok(("a".to_string(), "b=c".to_string()))
        );
        assert!(key_value("novalue", "--set").is_err());
        assert!(key_value("=x", "--set").is_err());
    }

    #[test]
    fn table_pads_columns() {
        let text = table(&["A", "BB"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "A     BB\nlong  x\n");
    }
}
