//! Plain-text tables and the JSON form of consumed records.

use bytes::Bytes;
use serde_json::{json, Value};
use strom_client::{ConsumerRecord, ProducerRecord};

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
        "topic": &*record.topic,
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

/// The record of one JSON input line of `strom produce --format json`:
/// the shape `record_json` prints (topic and offset are ignored; the
/// record goes to the command's topic).
pub fn record_from_json(topic: &str, line: &str) -> Result<ProducerRecord, String> {
    let object: Value = serde_json::from_str(line).map_err(|err| format!("not JSON: {err}"))?;
    let Value::Object(fields) = &object else {
        return Err("expected a JSON object per line".into());
    };
    let bytes_field = |name: &str| {
        decode(
            fields.get(name),
            fields.get(&format!("{name}_encoding")),
            name,
        )
    };
    let mut record = ProducerRecord::new(topic, Bytes::new());
    record.key = bytes_field("key")?;
    record.value = bytes_field("value")?;
    if let Some(partition) = fields.get("partition").filter(|v| !v.is_null()) {
        let partition = partition.as_i64().and_then(|p| i32::try_from(p).ok());
        record.partition = Some(partition.ok_or("partition must be a 32-bit integer")?);
    }
    if let Some(timestamp) = fields.get("timestamp").filter(|v| !v.is_null()) {
        record.timestamp = Some(
            timestamp
                .as_i64()
                .ok_or("timestamp must be an integer (ms)")?,
        );
    }
    match fields.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(headers)) => {
            for header in headers {
                let name = header.get("key").and_then(Value::as_str);
                let name = name.ok_or("each header needs a string \"key\"")?;
                let value = decode(
                    header.get("value"),
                    header.get("value_encoding"),
                    "header value",
                )?;
                record.headers.push((name.to_string(), value));
            }
        }
        Some(_) => return Err("headers must be an array of {key, value} objects".into()),
    }
    Ok(record)
}

/// A key, value or header value: null, UTF-8 text, or base64 when its
/// encoding says so.
fn decode(
    value: Option<&Value>,
    encoding: Option<&Value>,
    what: &str,
) -> Result<Option<Bytes>, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text,
        Some(_) => return Err(format!("{what} must be a string or null")),
    };
    match encoding.and_then(Value::as_str).unwrap_or("utf8") {
        "utf8" => Ok(Some(Bytes::from(text.clone()))),
        "base64" => unbase64(text)
            .map(|bytes| Some(Bytes::from(bytes)))
            .ok_or_else(|| format!("{what} is not valid base64")),
        other => Err(format!(
            "unknown {what} encoding `{other}` (utf8 or base64)"
        )),
    }
}

pub use strom_protocol::base64::{decode as unbase64, encode as base64};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_record_reads_back_as_the_same_record() {
        let consumed = ConsumerRecord {
            topic: "t".into(),
            partition: 2,
            offset: 7,
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(&[0xff, 0x00, 0x41])),
            headers: vec![
                ("h".into(), Some(Bytes::from_static(b"v"))),
                ("n".into(), None),
            ],
            leader_epoch: Some(3),
        };
        let line = record_json(&consumed).to_string();
        let record = record_from_json("copy", &line).unwrap();
        assert_eq!(record.topic, "copy");
        assert_eq!(record.partition, Some(2));
        assert_eq!(record.timestamp, Some(1_700_000_000_000));
        assert_eq!(record.key, consumed.key);
        assert_eq!(record.value, consumed.value);
        assert_eq!(record.headers, consumed.headers);
    }

    #[test]
    fn bad_json_input_names_the_problem() {
        let cases = [
            ("[1]", "JSON object"),
            (r#"{"value": 5}"#, "value must be"),
            (
                r#"{"value": "%%", "value_encoding": "base64"}"#,
                "not valid base64",
            ),
            (
                r#"{"value": "x", "value_encoding": "hex"}"#,
                "unknown value encoding",
            ),
            (r#"{"partition": "one"}"#, "partition"),
            (r#"{"headers": [{"value": "v"}]}"#, "header needs"),
        ];
        for (line, expected) in cases {
            let error = record_from_json("t", line).unwrap_err();
            assert!(error.contains(expected), "{line}: {error}");
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
            leader_epoch: None,
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
