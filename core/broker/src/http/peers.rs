//! The console's cluster-wide view. Each broker knows the offsets and
//! traffic of the partitions it holds and the groups it coordinates; in a
//! cluster, a console answer gathers the other live brokers' own answers
//! (`?local=1`) from their HTTP listeners, whose addresses they register
//! with the controller, and merges them: a partition's figures come from
//! its leader, traffic adds up, a group comes from its coordinator and its
//! lag from the partitions' leaders. A broker that does not answer within
//! [`PEER_TIMEOUT`] is left out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::state::Broker;

/// How long a peer may take to answer.
const PEER_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest answer read from a peer.
const MAX_ANSWER: usize = 16 << 20;
/// Gatherings under way at once (each holds up to one answer per peer);
/// more wait their turn, up to [`PEER_TIMEOUT`].
static GATHERING: Semaphore = Semaphore::const_new(8);

/// `?local=1`: this broker's own view only (what peers ask each other).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Scope {
    local: Option<String>,
}

/// The broker, when the answer must gather the others': in a cluster,
/// unless the request asked for this broker's own view.
pub fn gathering(broker: Option<Arc<Broker>>, scope: &Scope) -> Option<Arc<Broker>> {
    broker.filter(|b| scope.local.is_none() && b.cluster().is_some())
}

/// Every other live broker's answer to `path` (which carries `local=1`),
/// with its id; only 200 answers.
pub async fn ask_all(broker: &Broker, path: &str) -> Vec<(i32, Value)> {
    ask_each(broker, Request::get(path))
        .await
        .into_iter()
        .filter(|(_, status, _)| *status == 200)
        .map(|(id, _, value)| (id, value))
        .collect()
}

/// A request to a peer's HTTP listener.
#[derive(Clone)]
pub struct Request {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(path: &str) -> Request {
        Request {
            method: "GET",
            path: path.to_string(),
            body: None,
        }
    }

    /// An action, with the header the console's guard asks of actions.
    pub fn post(path: &str, body: &Value) -> Request {
        Request {
            method: "POST",
            path: path.to_string(),
            body: Some(body.to_string().into_bytes()),
        }
    }
}

/// Every other live broker's answer (id, HTTP status, JSON body) to
/// `request`, those that answered in time.
pub async fn ask_each(broker: &Broker, request: Request) -> Vec<(i32, u16, Value)> {
    let Ok(Ok(_turn)) = tokio::time::timeout(PEER_TIMEOUT, GATHERING.acquire()).await else {
        tracing::debug!(
            "too many console requests gathering from the other brokers; answering alone"
        );
        return Vec::new();
    };
    let peers: Vec<(i32, String)> = broker
        .table()
        .brokers()
        .filter(|b| b.id != broker.node_id && !b.fenced)
        .filter_map(|b| Some((b.id, b.http.clone()?)))
        .collect();
    let mut asking = JoinSet::new();
    for (id, address) in peers {
        let request = request.clone();
        asking.spawn(async move { (id, send(&address, &request).await) });
    }
    let mut answers = Vec::new();
    while let Some(done) = asking.join_next().await {
        if let Ok((id, Some((status, value)))) = done {
            answers.push((id, status, value));
        }
    }
    answers.sort_by_key(|(id, _, _)| *id);
    answers
}

/// `text` for a URL's path segment or query value: every byte but the
/// unreserved characters percent-escaped.
pub fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A peer's status and JSON answer, or `None` when it did not answer in
/// time or not with JSON.
async fn send(address: &str, request: &Request) -> Option<(u16, Value)> {
    let attempt = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        let body = request.body.as_deref().unwrap_or_default();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\nConnection: close\r\n",
            request.method, request.path
        );
        if request.body.is_some() {
            head += &format!(
                "{}: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                super::guard::ACTION_HEADER,
                body.len()
            );
        }
        head += "\r\n";
        stream.write_all(head.as_bytes()).await.ok()?;
        stream.write_all(body).await.ok()?;
        let mut answer = Vec::new();
        stream
            .take(MAX_ANSWER as u64 + 1)
            .read_to_end(&mut answer)
            .await
            .ok()?;
        (answer.len() <= MAX_ANSWER).then_some(answer)
    };
    let answer = tokio::time::timeout(PEER_TIMEOUT, attempt).await.ok()??;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..split])
        .ok()?
        .to_ascii_lowercase();
    let status: u16 = head.strip_prefix("http/1.1 ")?.get(..3)?.parse().ok()?;
    let body = &answer[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        unchunk(body)?
    } else {
        body.to_vec()
    };
    Some((status, serde_json::from_slice(&body).ok()?))
}

/// The body of a chunked transfer encoding.
fn unchunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// A topic list (or one topic) with every partition's figures from the
/// broker that leads it (else any that holds it), and traffic added up.
pub fn merge_topics(mut local: Value, node_id: i32, peers: &[(i32, Value)]) -> Value {
    let mut peer_topics: HashMap<String, Vec<(i32, &Value)>> = HashMap::new();
    for (id, answer) in peers {
        for topic in topic_list(answer) {
            if let Some(name) = topic["name"].as_str() {
                peer_topics
                    .entry(name.to_string())
                    .or_default()
                    .push((*id, topic));
            }
        }
    }
    for topic in topic_list_mut(&mut local) {
        let name = topic["name"].as_str().unwrap_or_default().to_string();
        let Some(theirs) = peer_topics.get(&name) else {
            continue;
        };
        for field in ["records_in_total", "bytes_in_total", "bytes_out_total"] {
            let total: u64 = theirs.iter().filter_map(|(_, t)| t[field].as_u64()).sum();
            topic[field] = json!(topic[field].as_u64().unwrap_or(0) + total);
        }
        let Some(partitions) = topic["partitions"].as_array_mut() else {
            continue;
        };
        for partition in partitions {
            let index = partition["partition"].as_i64();
            let leader = partition["leader"].as_i64();
            let held_here = partition.get("high_watermark").is_some();
            if held_here && leader == Some(i64::from(node_id)) {
                continue;
            }
            let held_by = |id: i32| {
                theirs
                    .iter()
                    .find(|(peer, _)| *peer == id)
                    .and_then(|(_, t)| {
                        t["partitions"].as_array()?.iter().find(|p| {
                            p["partition"].as_i64() == index && p.get("high_watermark").is_some()
                        })
                    })
            };
            let from_leader = leader.and_then(|l| held_by(i32::try_from(l).ok()?));
            let from_any = || theirs.iter().find_map(|(id, _)| held_by(*id));
            let chosen = match from_leader {
                Some(p) => Some(p),
                None if held_here => None,
                None => from_any(),
            };
            if let Some(p) = chosen {
                *partition = p.clone();
            }
        }
    }
    local
}

fn topic_list(answer: &Value) -> Vec<&Value> {
    match answer.get("topics") {
        Some(Value::Array(topics)) => topics.iter().collect(),
        _ if answer.get("partitions").is_some() => vec![answer],
        _ => Vec::new(),
    }
}

fn topic_list_mut(answer: &mut Value) -> Vec<&mut Value> {
    if answer.get("topics").is_some() {
        return match answer.get_mut("topics") {
            Some(Value::Array(topics)) => topics.iter_mut().collect(),
            _ => Vec::new(),
        };
    }
    if answer.get("partitions").is_some() {
        return vec![answer];
    }
    Vec::new()
}

/// Every broker's groups (each coordinator lists its own), by name.
pub fn merge_groups(mut local: Value, peers: &[(i32, Value)], cap: usize) -> Value {
    let mut by_name: BTreeMap<String, Value> = BTreeMap::new();
    let mut omitted = 0;
    for answer in std::iter::once(&local).chain(peers.iter().map(|(_, a)| a)) {
        omitted += answer["omitted"].as_u64().unwrap_or(0);
        for group in answer["groups"].as_array().into_iter().flatten() {
            if let Some(name) = group["group"].as_str() {
                by_name
                    .entry(name.to_string())
                    .or_insert_with(|| group.clone());
            }
        }
    }
    omitted += by_name.len().saturating_sub(cap) as u64;
    let groups: Vec<Value> = by_name.into_values().take(cap).collect();
    local["groups"] = Value::Array(groups);
    local["omitted"] = json!(omitted);
    local
}

/// The partitions of a topic list (or one topic) that carry offsets:
/// (topic, index, the partition's figures).
fn held_partitions(answer: &Value) -> impl Iterator<Item = (&str, i32, &Value)> {
    topic_list(answer).into_iter().flat_map(|topic| {
        let name = topic["name"].as_str().unwrap_or_default();
        topic["partitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p.get("high_watermark").is_some())
            .filter_map(move |p| {
                let index = i32::try_from(p["partition"].as_i64()?).ok()?;
                Some((name, index, p))
            })
    })
}

/// The high watermark of every partition the answering brokers hold.
pub fn high_watermarks(answers: &[(i32, Value)]) -> HashMap<(String, i32), i64> {
    let mut ends = HashMap::new();
    for (_, answer) in answers {
        for (name, index, p) in held_partitions(answer) {
            if let Some(end) = p["high_watermark"].as_i64() {
                let known = ends.entry((name.to_string(), index)).or_insert(end);
                *known = (*known).max(end);
            }
        }
    }
    ends
}

/// (log start, high watermark) by partition of `topic` in merged topics.
pub fn ends(topics: &Value, topic: &str) -> HashMap<i32, (i64, i64)> {
    held_partitions(topics)
        .filter(|(name, _, _)| *name == topic)
        .filter_map(|(_, index, p)| {
            Some((
                index,
                (
                    p["log_start_offset"].as_i64()?,
                    p["high_watermark"].as_i64()?,
                ),
            ))
        })
        .collect()
}

/// Fills in the lags a group's coordinator could not know (partitions it
/// does not hold) from the merged topics' high watermarks.
pub fn fill_lags(group: &mut Value, topics: &Value) {
    let ends: HashMap<(&str, i32), i64> = held_partitions(topics)
        .filter_map(|(name, index, p)| Some(((name, index), p["high_watermark"].as_i64()?)))
        .collect();
    let mut total = Some(0i64);
    for offset in group["offsets"].as_array_mut().into_iter().flatten() {
        if offset["lag"].is_null() {
            let index = offset["partition"]
                .as_i64()
                .and_then(|i| i32::try_from(i).ok());
            let key = (
                offset["topic"].as_str().unwrap_or_default(),
                index.unwrap_or(-1),
            );
            if let (Some(end), Some(committed)) = (ends.get(&key), offset["committed"].as_i64()) {
                offset["lag"] = json!((end - committed).max(0));
            }
        }
        total = total
            .zip(offset["lag"].as_i64())
            .map(|(sum, lag)| sum + lag);
    }
    group["total_lag"] = json!(total);
}

/// Records from every broker, newest first, cut to `limit`.
pub fn merge_records(mut local: Value, peers: &[(i32, Value)], limit: usize) -> Value {
    let mut all: Vec<Value> = Vec::new();
    for answer in std::iter::once(&local).chain(peers.iter().map(|(_, a)| a)) {
        all.extend(answer["records"].as_array().into_iter().flatten().cloned());
    }
    all.sort_by_key(|r| {
        let n = |field: &str| r[field].as_i64().unwrap_or(-1);
        (
            std::cmp::Reverse(n("timestamp")),
            n("partition"),
            std::cmp::Reverse(n("offset")),
        )
    });
    all.truncate(limit);
    local["records"] = Value::Array(all);
    local
}

/// Traffic samples of every broker added up, newest aligned with newest
/// (each samples every 5 s on its own clock).
pub fn merge_history(mut local: Value, peers: &[(i32, Value)]) -> Value {
    let Some(mine) = local["samples"].as_array_mut() else {
        return local;
    };
    for (_, answer) in peers {
        let theirs = answer["samples"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (sample, other) in mine.iter_mut().rev().zip(theirs.iter().rev()) {
            for field in ["records_in", "bytes_in", "bytes_out"] {
                if let (Some(a), Some(b)) = (sample[field].as_u64(), other[field].as_u64()) {
                    sample[field] = json!(a + b);
                }
            }
        }
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_takes_its_leaders_figures_and_traffic_adds_up() {
        let local = json!({"topics": [{"name": "t", "records_in_total": 1, "bytes_in_total": 10, "bytes_out_total": 0,
            "partitions": [{"partition": 0, "leader": 2, "replicas": [1, 2]},
                           {"partition": 1, "leader": 1, "high_watermark": 7}]}], "omitted": 0});
        let peer2 = json!({"topics": [{"name": "t", "records_in_total": 5, "bytes_in_total": 50, "bytes_out_total": 3,
            "partitions": [{"partition": 0, "leader": 2, "high_watermark": 42},
                           {"partition": 1, "leader": 1, "high_watermark": 6}]}]});
        let merged = merge_topics(local, 1, &[(2, peer2)]);
        let topic = &merged["topics"][0];
        assert_eq!(topic["partitions"][0]["high_watermark"], 42);
        assert_eq!(
            topic["partitions"][1]["high_watermark"], 7,
            "this broker leads partition 1"
        );
        assert_eq!(topic["records_in_total"], 6);
        assert_eq!(topic["bytes_out_total"], 3);
    }

    #[test]
    fn lags_unknown_to_the_coordinator_come_from_the_leaders() {
        let topics = json!({"topics": [{"name": "t", "partitions": [{"partition": 0, "high_watermark": 42}]}]});
        let mut group = json!({"group": "g", "offsets": [{"topic": "t", "partition": 0, "committed": 40, "lag": null}]});
        fill_lags(&mut group, &topics);
        assert_eq!(group["offsets"][0]["lag"], 2);
        assert_eq!(group["total_lag"], 2);
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            unchunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(unchunk(b"ff\r\nabc"), None);
    }
}
