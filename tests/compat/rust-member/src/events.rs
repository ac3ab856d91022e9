//! The JSON lines the member prints on stdout, one per event, flushed at
//! once so a SIGKILL loses nothing already printed (see groups_member.py
//! for the list of events and their fields).

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{json, Map, Value};

/// Prints one event: `{"event": kind, ...fields}`.
pub fn emit(kind: &str, fields: Value) {
    let mut event = Map::new();
    event.insert("event".to_string(), Value::from(kind));
    if let Value::Object(fields) = fields {
        event.extend(fields);
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout means the test is gone; its stdin closes too, which
    // closes the member, so a failed write needs no handling here.
    let _ = writeln!(out, "{}", Value::Object(event));
    let _ = out.flush();
}

/// The fields of "assignment" and "status": the partitions held, the
/// generation and member id.
pub fn membership(
    owned: &BTreeSet<i32>,
    generation: Option<i32>,
    member_id: Option<String>,
) -> Value {
    json!({
        "partitions": owned.iter().collect::<Vec<_>>(),
        "generation": generation,
        "member_id": member_id,
    })
}
